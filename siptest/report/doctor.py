"""`siptest doctor`'s report: one line per step, then the verdict; or one JSON object."""

from __future__ import annotations

import json
import textwrap

from siptest.doctor.model import DoctorReport, Step
from siptest.report.text import wrap_field as _wrap

_WIDTH = 88

STEP_TITLES = {
    "dns": "DNS",
    "udp": "UDP",
    "tcp": "TCP",
    "tls": "TLS",
    "register": "REGISTER",
    "nat": "NAT/ALG",
    "call": "Call",
}


def step_status(step: Step) -> str:
    """OK, FAIL, or SKIP for a step that probed nothing."""
    if not step.evidence.get("probed", True):
        return "SKIP"
    return "OK" if step.ok else "FAIL"


def doctor_verdict(report: DoctorReport) -> str:
    """PASS, FAIL or INTERRUPTED: the page's and the summary line's word."""
    if report.interrupted:
        return "INTERRUPTED"
    return "PASS" if report.ok else "FAIL"


def render_doctor_text(report: DoctorReport) -> str:
    lines = [f"siptest doctor {report.target}"]
    if report.insecure:
        lines.append(
            "INSECURE: TLS certificate checks were switched off (--tls-insecure); "
            "the server was not authenticated."
        )
    for step in report.steps:
        label = f"[{step_status(step):<4}] {STEP_TITLES[step.name]:<9} "
        lines.extend(
            textwrap.wrap(step.summary, _WIDTH, initial_indent=label, subsequent_indent=" " * 17)
            or [label.rstrip()]
        )
    verdict = report.verdict
    lines.append(f"Verdict: {verdict.title}")
    lines.extend(_wrap("Why:", verdict.explanation))
    lines.extend(_wrap("Fix:", verdict.fix))
    if verdict.rfc:
        lines.extend(_wrap("See:", verdict.rfc))
    lines.extend(_wrap("Id:", verdict.id))
    if report.interrupted:
        lines.append("INTERRUPTED: the run was stopped; the report above is partial.")
    elif report.ok:
        warned = verdict.severity != "ok"
        lines.append("PASS: the account works" + ("; see the warning above." if warned else "."))
    else:
        lines.append("FAIL: the cause is in the verdict above.")
    return "\n".join(lines) + "\n"


def render_doctor_json(report: DoctorReport) -> str:
    return json.dumps(report.as_json(), ensure_ascii=False)
