"""The plain-words report a person reads in a terminal."""

from __future__ import annotations

import textwrap
from functools import partial
from typing import Any

from siptest.analysis.model import Check, Report
from siptest.ua.base import Response

FIXED_WIDTH = 88
"""Columns of the text report when it is not shown on a terminal (piped, in a file)."""
MIN_WIDTH, MAX_WIDTH = 60, 120
"""On a terminal the report fills its width, within these bounds (long lines read badly)."""
_ORIGIN = {
    "remote": "sent by the server",
    "local": "made up by siptest's SIP stack",
    "none": "no answer from the server",
}
CHECK_TITLES = {
    "register": "Registration",
    "unregister": "Clean-up (un-REGISTER)",
    "call": "Call",
    "media": "Media",
    "preflight": "Before sending",
    "hangup": "Hang-up (BYE)",
    "resolution": "Server lookup (DNS)",
}


def report_width(is_tty: bool, columns: int | None = None) -> int:
    """Columns to wrap the report at: the terminal's (COLUMNS, else the terminal's own
    size) within MIN_WIDTH..MAX_WIDTH on a terminal, FIXED_WIDTH otherwise."""
    if not is_tty:
        return FIXED_WIDTH
    if columns is None:
        import shutil

        columns = shutil.get_terminal_size((FIXED_WIDTH, 24)).columns
    return max(MIN_WIDTH, min(MAX_WIDTH, columns))


def wrap_field(label: str, text: str, width: int = FIXED_WIDTH) -> list[str]:
    """One labelled field of a check, wrapped at `width` columns."""
    return textwrap.wrap(
        text, width, initial_indent=f"  {label:<13} ", subsequent_indent=" " * 16
    ) or [f"  {label}"]


def response_line(response: Response) -> str:
    reason = f" {response.reason}" if response.reason else ""
    line = f"{response.code}{reason} ({_ORIGIN.get(response.origin, response.origin)})"
    if response.origin != "remote" and response.detail and response.detail != response.reason:
        line += f" - {response.detail}"
    return line


def check_status(check: Check) -> tuple[str, str]:
    """The verdict word of a check (OK, FAIL, WARN, STOP, NOTE) and its title."""
    status = "OK" if check.ok else "FAIL"
    if check.kind == "preflight":
        status = "WARN" if check.ok else "STOP"
    title = CHECK_TITLES.get(check.kind, check.kind)
    if check.nat is not None:
        title, status = "Network (NAT)", "NOTE"
    if check.ok and check.diagnosis is not None and check.diagnosis.severity == "warning":
        status = "WARN"
    return status, title


def render_check(check: Check, width: int = FIXED_WIDTH) -> list[str]:
    wrap = partial(wrap_field, width=width)
    lines: list[str] = []
    status, title = check_status(check)
    status = f"{status:<4}"
    where = f" {check.target}" if check.target else ""
    via = f" over {check.transport.upper()}" if check.transport else ""
    timing = f" in {check.duration_ms:g} ms" if check.duration_ms is not None else ""
    # The heading wraps too (a long address, a narrow terminal), never inside a word.
    heading = f"[{status}] {title}{where}{via}{timing}"
    lines.extend(
        textwrap.wrap(heading, width, subsequent_indent=" " * 7, break_long_words=False)
        or [heading]
    )
    if check.response is not None:
        lines.extend(wrap("Answer:", response_line(check.response)))
        if check.response.warning:
            lines.extend(wrap("Warning:", check.response.warning))
    details = check.details
    media = check.media
    if check.kind == "media" and media is not None:
        summary = media.summary or (check.diagnosis.title if check.diagnosis else "")
        if summary:
            lines.extend(wrap("Audio:", str(summary)))
    if check.kind == "call" and details.get("provisional"):
        lines.extend(wrap("Progress:", " ".join(str(c) for c in details["provisional"])))
    dtmf = details.get("dtmf")
    if check.kind == "call" and isinstance(dtmf, dict) and dtmf.get("sent") is not None:
        lines.extend(wrap("DTMF:", _dtmf_line(dtmf)))
    binding = check.binding
    if check.kind == "register" and check.ok and binding and binding.expires_granted:
        lines.extend(
            wrap(
                "Expiry:",
                f"asked for {binding.expires_requested} s, "
                f"server granted {binding.expires_granted} s",
            )
        )
    if check.kind == "resolution":
        lines.extend(_resolution_lines(details, width))
    diagnosis = check.diagnosis
    if diagnosis is not None and not (check.ok and diagnosis.category == "none"):
        lines.extend(wrap("What:", diagnosis.title))
        lines.extend(wrap("Why:", diagnosis.explanation))
        lines.extend(wrap("Fix:", diagnosis.fix))
        if diagnosis.rfc:
            lines.extend(wrap("See:", diagnosis.rfc))
    return lines


def _resolution_lines(details: dict[str, Any], width: int) -> list[str]:
    """The records that led to the targets, and which targets were tried."""
    wrap = partial(wrap_field, width=width)
    lines: list[str] = []
    resolution = details.get("resolution") or {}
    found = [r for r in resolution.get("records", []) if r.get("outcome") == "answer"]
    for record in found:
        answers = "; ".join(str(a) for a in record.get("answers", []))
        lines.extend(wrap("Record:", f"{record.get('name')} {record.get('type')}: {answers}"))
    if resolution.get("dns_server"):
        lines.extend(wrap("DNS server:", str(resolution["dns_server"])))
    for tried in (details.get("failover") or {}).get("tried", []):
        cause = tried.get("failover")
        result = f"moved on ({cause.replace('_', ' ')})" if cause else "answered"
        where = f"{tried.get('address')}:{tried.get('port')} over {tried.get('transport')}"
        lines.extend(wrap("Tried:", f"{tried.get('host')} {where}: {result}"))
    return lines


def _dtmf_line(dtmf: dict[str, Any]) -> str:
    method = "SIP INFO" if dtmf.get("method") == "info" else "RFC 4733 events"
    sent = dtmf.get("sent") or ""
    line = f"sent '{sent}' as {method}" if sent else f"nothing sent ({method})"
    if dtmf.get("received"):
        line += f"; received '{dtmf['received']}' back"
    if dtmf.get("refused"):
        line += (
            f"; the far end refused the SIP INFO requests ({dtmf['refused']}): it does not "
            "take DTMF that way, try --dtmf-method rfc4733"
        )
    return line


def render_text(report: Report, width: int = FIXED_WIDTH) -> str:
    lines: list[str] = []
    if report.insecure:
        lines.append(
            "INSECURE: TLS certificate checks were switched off (--tls-insecure); "
            "the server was not authenticated."
        )
    for check in report.checks:
        lines.extend(render_check(check, width))
    failed = sum(1 for check in report.checks if not check.ok)
    stopped = any(c.kind == "preflight" and not c.ok for c in report.checks)
    if stopped and not any(c.kind in ("register", "call") for c in report.checks):
        lines.append("Nothing was sent. Pass --force to dial the number as typed anyway.")
    if report.interrupted:
        lines.append("INTERRUPTED: the run was stopped; the report above is partial.")
    elif report.ok:
        lines.append("PASS: every check passed.")
    else:
        lines.append(f"FAIL: {failed} check{'s' if failed != 1 else ''} failed.")
    return "\n".join(lines) + "\n"


_COLOURS = {
    "[OK  ]": "32",  # green
    "PASS:": "32",
    "[FAIL]": "31",  # red
    "FAIL:": "31",
    "[STOP]": "31",
    "INSECURE:": "31",
    "[WARN]": "33",  # yellow
    "INTERRUPTED:": "33",
    "[NOTE]": "36",  # cyan
}


def colourize(text: str) -> str:
    """The report with its verdict words in colour (ANSI SGR), for a terminal."""
    out = []
    for line in text.split("\n"):
        for start, code in _COLOURS.items():
            if line.startswith(start):
                line = f"\x1b[1;{code}m{start}\x1b[0m{line[len(start) :]}"
                break
        out.append(line)
    return "\n".join(out)


def wants_colour(is_tty: bool, environ: dict[str, str] | None = None) -> bool:
    """NO_COLOR (any value, no-color.org) switches colour off; FORCE_COLOR (not empty or
    "0") switches it on even when piped; otherwise colour only on a terminal."""
    import os

    env = os.environ if environ is None else environ
    if "NO_COLOR" in env and env["NO_COLOR"] != "":
        return False
    force = env.get("FORCE_COLOR", "")
    if force and force != "0":
        return True
    return is_tty and env.get("TERM", "") != "dumb"
