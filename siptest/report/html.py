"""The HTML report (`--report PATH.html`): one page to attach to a ticket.

One self-contained document: inline CSS and inline SVG, no script, no font, no
image to fetch, and a Content-Security-Policy that forbids fetching anything, so
it opens offline and stays inert. It shows, for each run (a command, or each
scenario of `siptest run`):

* the verdict of every check, with the diagnosis and its fix;
* network and TLS findings (NAT evidence, TLS failures, INSECURE);
* the audio of each answered call, per direction, over time (`MediaTick`s);
* a SIP ladder: one arrow per message of the trace, same order, same notes;
* every message whole, behind `<details>`, exactly as the trace shows it
  (`siptest.report.trace`: the same redaction, the same `\\xNN` for odd bytes).

`siptest doctor` has a page of its own (`render_doctor_html`): its verdict, each step
with its evidence, then the same audio, ladder and messages of its REGISTER and call.

Everything the server or the network supplied reaches the page through
`siptest.report.markup.tag`; the ladder and the audio charts are `ladder.py` and
`charts.py`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from siptest import __version__
from siptest.analysis.model import Check, Report
from siptest.report.charts import audio
from siptest.report.ladder import arrow_label, ladder, short
from siptest.report.markup import Markup, join, tag
from siptest.report.text import check_status, response_line
from siptest.report.trace import Traced, body, heading, traced, write_private
from siptest.ua.events import Event, TransportFailed
from siptest.ua.mediaevents import MediaSampled

if TYPE_CHECKING:
    from siptest.doctor.model import DoctorReport
    from siptest.scenario.results import ScenarioRuns


@dataclass(frozen=True)
class ReportSection:
    """One run's part of the page: what it found and what its agent observed."""

    title: str
    """What was run, e.g. "register sip:1001@host via host:port over UDP"."""
    report: Report
    events: tuple[Event, ...]
    verdict: str
    """PASS, FAIL, ERROR or INTERRUPTED."""
    error: str | None = None
    """Why the run could not run (a scenario's error), when it could not."""


def section_verdict(report: Report) -> str:
    if report.interrupted:
        return "INTERRUPTED"
    return "PASS" if report.ok else "FAIL"


_SCENARIO_VERDICT = {"passed": "PASS", "failed": "FAIL", "error": "ERROR"}


def scenario_sections(runs: ScenarioRuns) -> list[ReportSection]:
    """A section per scenario run, in the order they ran."""
    return [
        ReportSection(
            title=f"scenario {run.scenario.name} ({run.scenario.path})",
            report=run.report,
            events=run.events,
            verdict=_SCENARIO_VERDICT.get(run.status, "INTERRUPTED"),
            error=run.error,
        )
        for run in runs.runs
    ]


_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1100px;padding:1em 1.5em;color:#1d1f21;background:#fff}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.25em;margin:1.5em 0 .4em;
border-bottom:2px solid #ccd;padding-bottom:.2em}h3{font-size:1.05em;margin:1.2em 0 .3em}
.verdict{display:inline-block;font-weight:700;padding:.1em .6em;border-radius:.3em;
color:#fff;background:#555}
.PASS,.OK{background:#1f7a35}.FAIL,.STOP,.ERROR{background:#b3261e}
.WARN,.INTERRUPTED{background:#a15c00}.NOTE{background:#1b6a8a}
.meta{color:#555;font-size:.9em}.banner{border-left:4px solid #b3261e;padding:.3em .8em;
background:#fbeaea;font-weight:600}
.check{border:1px solid #dde;border-radius:.4em;padding:.5em .9em;margin:.6em 0}
.check dl{display:grid;grid-template-columns:8em 1fr;gap:.15em .8em;margin:.4em 0 0}
.check dt{color:#555}.check dd{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}
table{border-collapse:collapse;margin:.3em 0}td,th{border:1px solid #dde;padding:.2em .6em;
text-align:right}th{background:#f3f3f8}td:first-child,th:first-child{text-align:left}
.direction{display:flex;flex-wrap:wrap;gap:.3em 1.2em;margin:.6em 0}
.direction>strong,.direction>p{flex-basis:100%;margin:0}.chart text{font-size:10px;fill:#444}
.ladder{overflow-x:auto;border:1px solid #dde;border-radius:.4em;background:#fcfcfe}
.ladder text{font:12px ui-monospace,Menlo,Consolas,monospace;fill:#1d1f21}
.ladder .column text{font-weight:700}.ladder .column .how{font-weight:400;fill:#666}
.ladder .arrow line{stroke:#335;stroke-width:1.4}
.ladder .arrow polygon{fill:#335}.ladder .arrow.note line{stroke:#b3261e}
.ladder .arrow.note polygon{fill:#b3261e}.ladder .arrow .tag{fill:#b3261e;font-weight:700}
.ladder .arrow.blocked line{stroke-dasharray:2 4}.ladder .relay{stroke:#889;
stroke-dasharray:5 4}.ladder a:hover text{text-decoration:underline}
details{border-bottom:1px solid #eee;padding:.2em 0}
summary{cursor:pointer;font:13px ui-monospace,Menlo,Consolas,monospace}
pre{font:12px/1.35 ui-monospace,Menlo,Consolas,monospace;background:#f6f6f9;padding:.6em;
overflow-x:auto;white-space:pre-wrap;overflow-wrap:anywhere;margin:.3em 0}
@media print{details{page-break-inside:avoid}}
"""

# Nothing may be fetched: not a script, not a style sheet, not an image, not a font.
_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'"


def render_html(title: str, verdict: str, sections: Sequence[ReportSection]) -> str:
    """The whole page."""
    return _page(
        title,
        verdict,
        [_section(index, section, len(sections) > 1) for index, section in enumerate(sections)],
    )


def _page(title: str, verdict: str, parts: Sequence[Markup]) -> str:
    generated = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    head = join(
        [
            Markup('<meta charset="utf-8">'),
            tag("meta", http_equiv="Content-Security-Policy", content=_POLICY),
            Markup('<meta name="viewport" content="width=device-width, initial-scale=1">'),
            Markup('<meta name="referrer" content="no-referrer">'),
            tag("title", f"siptest {verdict}: {title}"),
            tag("style", Markup(_STYLE)),
        ]
    )
    top = tag(
        "header",
        tag("h1", tag("span", verdict, class_=f"verdict {verdict}", id="verdict"), " ", title),
        tag(
            "p",
            f"siptest {__version__}, written {generated}. Credentials are redacted: "
            "Authorization headers keep only the user name, realm, URI and algorithm.",
            class_="meta",
        ),
    )
    page = tag("html", tag("head", head), tag("body", top, *parts), lang="en")
    return "<!DOCTYPE html>\n" + page + "\n"


def write_html(path: Path, title: str, verdict: str, sections: Sequence[ReportSection]) -> None:
    """Written like traces: owner-only, never through a link or into a FIFO."""
    write_private(path, render_html(title, verdict, sections))


def _section(index: int, section: ReportSection, headed: bool) -> Markup:
    prefix = f"s{index}"
    parts: list[str | Markup] = []
    if headed:
        parts.append(
            tag("h2", tag("span", section.verdict, class_=f"verdict {section.verdict}"), " ",
                 section.title)
        )  # fmt: skip
    if section.report.insecure:
        parts.append(
            tag(
                "p",
                "INSECURE: TLS certificate checks were switched off; "
                "the server was not authenticated.",
                class_="banner",
            )
        )
    if section.error:
        parts.append(tag("p", f"Could not run: {section.error}", class_="banner"))
    parts.append(tag("h3" if headed else "h2", "Checks"))
    if not section.report.checks:
        parts.append(tag("p", "No check was run."))
    parts.extend(_check(check) for check in section.report.checks)
    findings = _findings(section)
    if findings:
        parts.append(tag("h3" if headed else "h2", "Network and TLS"))
        parts.append(findings)
    parts.extend(_exchange(section.events, prefix, "h3" if headed else "h2"))
    return tag("section", *parts, class_="run", id=prefix)


def _exchange(events: Sequence[Event], prefix: str, level: str) -> list[Markup]:
    """Audio of answered calls, the SIP ladder and every message."""
    parts: list[Markup] = []
    samples = [e for e in events if isinstance(e, MediaSampled)]
    if samples:
        parts.append(tag(level, "Audio"))
        parts.extend(audio(sample) for sample in samples)
    messages = traced(events)
    parts.append(tag(level, "SIP ladder"))
    if messages:
        parts.append(ladder(messages, prefix))
        parts.append(tag(level, "Messages"))
        parts.extend(_message(i, event, prefix) for i, event in enumerate(messages))
    else:
        parts.append(tag("p", "No SIP message was sent or received.", class_="empty"))
    return parts


# -- verdicts -----------------------------------------------------------------------


def _check(check: Check) -> Markup:
    status, title = check_status(check)
    where = f" {check.target}" if check.target else ""
    via = f" over {check.transport.upper()}" if check.transport else ""
    timing = f" in {check.duration_ms:g} ms" if check.duration_ms is not None else ""
    rows: list[tuple[str, str]] = []
    details = check.details
    facts = check.step
    if facts is not None and facts.step_name:
        rows.append(("Step", facts.step_name))
    if check.response is not None:
        rows.append(("Answer", response_line(check.response)))
        if check.response.warning:
            rows.append(("Warning", check.response.warning))
    media = check.media
    if check.kind == "media" and media is not None and media.summary:
        rows.append(("Audio", media.summary))
    if check.kind == "call" and details.get("provisional"):
        rows.append(("Progress", " ".join(str(c) for c in details["provisional"])))
    if facts is not None and facts.unmet:
        rows.append(("Expected", "NOT MET: " + "; ".join(facts.unmet)))
    diagnosis = check.diagnosis
    if diagnosis is not None:
        rows.append(("What", diagnosis.title))
        rows.append(("Why", diagnosis.explanation))
        rows.append(("Fix", diagnosis.fix))
        if diagnosis.rfc:
            rows.append(("See", diagnosis.rfc))
    return tag(
        "article",
        tag("span", status, class_=f"verdict {status}"),
        " ",
        tag("strong", title),
        f"{where}{via}{timing}",
        tag("dl", *(join([tag("dt", k), tag("dd", v)]) for k, v in rows)),
        class_=f"check {'ok' if check.ok else 'failed'}",
    )


def _findings(section: ReportSection) -> Markup | None:
    """NAT and TLS: what the server saw of our address, NAT notes, TLS failures."""
    items: list[Markup] = []
    if section.report.insecure:
        items.append(tag("li", "TLS: the certificate was not verified (--tls-insecure)."))
    for check in section.report.checks:
        binding = check.binding
        if check.kind == "register" and binding is not None and binding.via_received:
            port = f":{binding.via_rport}" if binding.via_rport else ""
            items.append(
                tag(
                    "li",
                    f"The registrar saw siptest at {binding.via_received}{port} "
                    "(Via received/rport, RFC 3581).",
                )
            )
        diagnosis = check.diagnosis
        nat = check.nat is not None
        tls = diagnosis is not None and diagnosis.category == "tls"
        if diagnosis is not None and (nat or tls):
            label = "NAT" if nat else "TLS"
            items.append(tag("li", f"{label}: {diagnosis.title}. {diagnosis.explanation}"))
    for event in section.events:
        if isinstance(event, TransportFailed) and event.cause in ("tls", "not_tls", "tls_version"):
            items.append(tag("li", f"TLS with {event.remote}: {event.detail}"))
    return tag("ul", *items, class_="findings") if items else None


# -- messages -----------------------------------------------------------------------


def _message(n: int, message: Traced, prefix: str) -> Markup:
    return tag(
        "details",
        tag("summary", f"#{n + 1} {short(arrow_label(message), 60)}: {heading(message)}"),
        tag("pre", body(message)),
        id=f"{prefix}-msg-{n}",
        class_="message",
    )


# -- siptest doctor -----------------------------------------------------------------


def render_doctor_html(report: DoctorReport, events: Sequence[Event]) -> str:
    """`siptest doctor --report`: the verdict, each step with its evidence, and the SIP
    exchange of its REGISTER and call (ladder, messages, audio)."""
    from siptest.report.doctor import STEP_TITLES, doctor_verdict, step_status

    verdict = doctor_verdict(report)
    parts: list[Markup] = []
    if report.insecure:
        parts.append(
            tag(
                "p",
                "INSECURE: TLS certificate checks were switched off (--tls-insecure); "
                "the server was not authenticated.",
                class_="banner",
            )
        )
    if report.interrupted:
        parts.append(tag("p", "INTERRUPTED: the run was stopped; this report is partial."))
    cause = report.verdict
    rows = [("Why", cause.explanation), ("Fix", cause.fix)]
    rows += [("See", cause.rfc)] if cause.rfc else []
    rows += [("Id", cause.id)]
    decided = (
        f" (decided by the {STEP_TITLES[report.decided_by]} step)" if report.decided_by else ""
    )
    parts.append(tag("h2", "Verdict"))
    parts.append(
        tag(
            "article",
            tag("strong", cause.title),
            decided,
            tag("dl", *(join([tag("dt", k), tag("dd", v)]) for k, v in rows)),
            class_=f"check verdict-cause {'ok' if report.ok else 'failed'}",
        )
    )
    parts.append(tag("h2", "Steps"))
    for n, step in enumerate(report.steps):
        status = step_status(step)
        shown = {"SKIP": "NOTE"}.get(status, status)
        evidence = json.dumps(step.evidence, indent=2, ensure_ascii=False, default=str)
        details = [tag("summary", "Evidence"), tag("pre", evidence)]
        parts.append(
            tag(
                "article",
                tag("span", status, class_=f"verdict {shown}"),
                " ",
                tag("strong", STEP_TITLES[step.name]),
                " ",
                step.summary,
                *(
                    [tag("p", f"{step.diagnosis.title}. {step.diagnosis.fix}", class_="meta")]
                    if step.diagnosis is not None and not step.ok
                    else []
                ),
                tag("details", *details),
                class_=f"check step {'ok' if step.ok else 'failed'}",
                id=f"step-{n}",
            )
        )
    parts.append(
        tag(
            "p",
            "The ladder below is the REGISTER and the call as siptest's SIP stack exchanged "
            "them; the OPTIONS probes and the TLS handshake of the UDP, TCP and TLS steps "
            "are in those steps' evidence.",
            class_="meta",
        )
    )
    parts.extend(_exchange(events, "d0", "h2"))
    return _page(f"doctor {report.target}", verdict, parts)


def write_doctor_html(path: Path, report: DoctorReport, events: Sequence[Event]) -> None:
    """Written like traces: owner-only, never through a link or into a FIFO."""
    write_private(path, render_doctor_html(report, events))
