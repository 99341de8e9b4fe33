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

Everything the server or the network supplied reaches the page through `_tag`,
which escapes every text it is given; only markup built here is `Markup`.
"""

from __future__ import annotations

import html
import itertools
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from siptest import __version__
from siptest.analysis.model import Check, Report
from siptest.report.text import check_status, response_line
from siptest.report.trace import Traced, body, heading, note_kind, note_of, traced, write_private
from siptest.sipmessage import contact_address
from siptest.ua.events import (
    Event,
    MediaSampled,
    MediaTick,
    MessageDropped,
    RequestReceived,
    RequestSent,
    ResponseReceived,
    StreamStats,
    TransportFailed,
    WireMessage,
)

if TYPE_CHECKING:
    from siptest.doctor.model import DoctorReport
    from siptest.scenario.runner import ScenarioRuns


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


# -- markup -------------------------------------------------------------------------


class Markup(str):
    """Markup built in this module: the only text `_tag` does not escape."""


def _tag(name: str, *children: str | Markup, **attrs: object) -> Markup:
    """An element; plain-str children and every attribute value are escaped.

    Attribute names come from this module only (`class_` stands for `class`,
    underscores for dashes); values and text may be anything a server sent.
    """
    parts = [name]
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        attr = key.rstrip("_").replace("_", "-")
        parts.append(attr if value is True else f'{attr}="{html.escape(str(value), quote=True)}"')
    inner = "".join(c if isinstance(c, Markup) else html.escape(c, quote=True) for c in children)
    return Markup(f"<{' '.join(parts)}>{inner}</{name}>")


def _join(items: Iterable[str | Markup]) -> Markup:
    return Markup("".join(i if isinstance(i, Markup) else html.escape(i) for i in items))


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
    head = _join(
        [
            Markup('<meta charset="utf-8">'),
            _tag("meta", http_equiv="Content-Security-Policy", content=_POLICY),
            Markup('<meta name="viewport" content="width=device-width, initial-scale=1">'),
            Markup('<meta name="referrer" content="no-referrer">'),
            _tag("title", f"siptest {verdict}: {title}"),
            _tag("style", Markup(_STYLE)),
        ]
    )
    top = _tag(
        "header",
        _tag("h1", _tag("span", verdict, class_=f"verdict {verdict}", id="verdict"), " ", title),
        _tag(
            "p",
            f"siptest {__version__}, written {generated}. Credentials are redacted: "
            "Authorization headers keep only the user name, realm, URI and algorithm.",
            class_="meta",
        ),
    )
    page = _tag("html", _tag("head", head), _tag("body", top, *parts), lang="en")
    return "<!DOCTYPE html>\n" + page + "\n"


def write_html(path: Path, title: str, verdict: str, sections: Sequence[ReportSection]) -> None:
    """Written like traces: owner-only, never through a link or into a FIFO."""
    write_private(path, render_html(title, verdict, sections))


def _section(index: int, section: ReportSection, headed: bool) -> Markup:
    prefix = f"s{index}"
    parts: list[str | Markup] = []
    if headed:
        parts.append(
            _tag("h2", _tag("span", section.verdict, class_=f"verdict {section.verdict}"), " ",
                 section.title)
        )  # fmt: skip
    if section.report.insecure:
        parts.append(
            _tag(
                "p",
                "INSECURE: TLS certificate checks were switched off; "
                "the server was not authenticated.",
                class_="banner",
            )
        )
    if section.error:
        parts.append(_tag("p", f"Could not run: {section.error}", class_="banner"))
    parts.append(_tag("h3" if headed else "h2", "Checks"))
    if not section.report.checks:
        parts.append(_tag("p", "No check was run."))
    parts.extend(_check(check) for check in section.report.checks)
    findings = _findings(section)
    if findings:
        parts.append(_tag("h3" if headed else "h2", "Network and TLS"))
        parts.append(findings)
    parts.extend(_exchange(section.events, prefix, "h3" if headed else "h2"))
    return _tag("section", *parts, class_="run", id=prefix)


def _exchange(events: Sequence[Event], prefix: str, level: str) -> list[Markup]:
    """Audio of answered calls, the SIP ladder and every message."""
    parts: list[Markup] = []
    samples = [e for e in events if isinstance(e, MediaSampled)]
    if samples:
        parts.append(_tag(level, "Audio"))
        parts.extend(_audio(sample) for sample in samples)
    messages = traced(events)
    parts.append(_tag(level, "SIP ladder"))
    if messages:
        parts.append(_ladder(messages, prefix))
        parts.append(_tag(level, "Messages"))
        parts.extend(_message(i, event, prefix) for i, event in enumerate(messages))
    else:
        parts.append(_tag("p", "No SIP message was sent or received.", class_="empty"))
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
    return _tag(
        "article",
        _tag("span", status, class_=f"verdict {status}"),
        " ",
        _tag("strong", title),
        f"{where}{via}{timing}",
        _tag("dl", *(_join([_tag("dt", k), _tag("dd", v)]) for k, v in rows)),
        class_=f"check {'ok' if check.ok else 'failed'}",
    )


def _findings(section: ReportSection) -> Markup | None:
    """NAT and TLS: what the server saw of our address, NAT notes, TLS failures."""
    items: list[Markup] = []
    if section.report.insecure:
        items.append(_tag("li", "TLS: the certificate was not verified (--tls-insecure)."))
    for check in section.report.checks:
        binding = check.binding
        if check.kind == "register" and binding is not None and binding.via_received:
            port = f":{binding.via_rport}" if binding.via_rport else ""
            items.append(
                _tag(
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
            items.append(_tag("li", f"{label}: {diagnosis.title}. {diagnosis.explanation}"))
    for event in section.events:
        if isinstance(event, TransportFailed) and event.cause in ("tls", "not_tls", "tls_version"):
            items.append(_tag("li", f"TLS with {event.remote}: {event.detail}"))
    return _tag("ul", *items, class_="findings") if items else None


# -- audio --------------------------------------------------------------------------


def _audio(sampled: MediaSampled) -> Markup:
    sample = sampled.sample
    meta = (
        f"Codec {sample.codec or 'unknown'}, far end's RTP address "
        f"{sample.remote_rtp or 'unknown'}, {sample.duration:.1f} s measured"
        + (f", round trip {sample.rtt_ms:.1f} ms." if sample.rtt_ms is not None else ".")
    )
    table = _tag(
        "table",
        _tag("tr", *(_tag("th", h) for h in ("direction", "packets", "lost", "loss", "jitter"))),
        _stats_row("from the far end (received)", sample.received),
        _stats_row("to the far end (as it reported)", sample.sent),
    )
    ticks = sample.timeline
    if len(ticks) < 2:
        charts: Markup = _tag("p", "No samples over time were kept for this call.", class_="meta")
    else:
        charts = _tag(
            "div",
            _direction_charts("From the far end (received)", ticks, received=True),
            _direction_charts("To the far end (from its RTCP reports)", ticks, received=False),
            class_="charts",
        )
    return _tag("div", _tag("p", meta), table, charts, class_="audio")


def _stats_row(label: str, stats: StreamStats) -> Markup:
    jitter = f"{stats.jitter_ms:.2f} ms" if stats.jitter_ms is not None else "unknown"
    return _tag(
        "tr",
        _tag("td", label),
        _tag("td", str(stats.packets)),
        _tag("td", str(stats.lost)),
        _tag("td", f"{stats.loss_percent:.1f} %"),
        _tag("td", jitter),
    )


def _direction_charts(label: str, ticks: Sequence[MediaTick], received: bool) -> Markup:
    times = [t.at for t in ticks]
    if received:
        counts = [t.received for t in ticks]
        lost = [float(t.received_lost) for t in ticks]
        jitter = [t.received_jitter_ms for t in ticks]
        rate_label = "packets/s received"
    else:
        counts = [t.sent for t in ticks]
        lost = [float(t.reported_lost) for t in ticks]
        jitter = [t.reported_jitter_ms for t in ticks]
        rate_label = "packets/s sent"
    # The first tick counts from the answer (time 0).
    before = [(0.0, 0), *zip(times, counts, strict=True)]
    rates = [
        max(0, count - earlier) / max(at - then, 1e-3)
        for (then, earlier), (at, count) in itertools.pairwise(before)
    ]
    parts = [
        _tag("strong", label),
        _sparkline(rate_label, times, [float(r) for r in rates]),
        _sparkline("packets lost (total)", times, lost),
    ]
    if any(j is not None for j in jitter):
        parts.append(_sparkline("jitter (ms)", times, jitter))
    else:
        parts.append(_tag("p", "jitter: no report", class_="meta"))
    if not received and not any(t.reports for t in ticks):
        parts.append(
            _tag("p", "The far end sent no RTCP report: what it received is unknown.",
                 class_="meta")
        )  # fmt: skip
    return _tag("div", *parts, class_="direction")


def _sparkline(label: str, times: Sequence[float], values: Sequence[float | None]) -> Markup:
    """A small line chart over the call: time across, the value up, its range written."""
    width, height, left, top = 260.0, 56.0, 4.0, 14.0
    known = [v for v in values if v is not None]
    high = max(known, default=0.0) or 1.0
    span = (times[-1] - times[0]) or 1.0
    plot_w, plot_h = width - 2 * left, height - top - 12
    points = " ".join(
        f"{left + (t - times[0]) / span * plot_w:.1f},{top + plot_h - v / high * plot_h:.1f}"
        for t, v in zip(times, values, strict=True)
        if v is not None
    )
    peak = max(known, default=0.0)
    return _tag(
        "svg",
        _tag("title", f"{label} over {span:.1f} s"),
        _tag("text", f"{label}: max {peak:.1f}", x=left, y=10),
        _tag("rect", x=left, y=top, width=plot_w, height=plot_h, fill="#f3f3f8"),
        _tag("polyline", points=points, fill="none", stroke="#1b6a8a", stroke_width=1.5),
        _tag("text", f"{times[0]:.1f} s", x=left, y=height - 1),
        _tag("text", f"{times[-1]:.1f} s", x=width - left, y=height - 1, text_anchor="end"),
        class_="chart",
        width=width,
        height=height,
        viewBox=f"0 0 {width:g} {height:g}",
        xmlns="http://www.w3.org/2000/svg",
        role="img",
    )


# -- the ladder ---------------------------------------------------------------------

_COLUMN_GAP = 300
_ROW = 38
_TOP = 72
_GUTTER = 90
_LABEL_MAX = 40


def _ladder(messages: Sequence[Traced], prefix: str) -> Markup:
    """One arrow per message on the wire, in the trace's order, with its time."""
    local = next((m.local for m in messages if m.local), "")
    remotes: list[str] = []
    for m in messages:
        address = m.remote or "an unknown address"
        if address not in remotes:
            remotes.append(address)
    first = next((m.remote for m in messages if isinstance(m, RequestSent)), remotes[0])
    labels = {address: ("server" if address == first else "other address") for address in remotes}
    far = _far_end(messages, [local, *remotes])
    columns = [("siptest", local or "this machine", "")]
    columns += [(labels[a], a, "") for a in remotes]
    if far is not None:
        columns.append(("far end", far, "its Contact, through the server"))
    x = {i: _GUTTER + 40 + i * _COLUMN_GAP for i in range(len(columns))}
    height = _TOP + _ROW * len(messages) + 20
    width = x[len(columns) - 1] + 180
    parts: list[Markup] = []
    for i, (name, address, how) in enumerate(columns):
        parts.append(
            _tag(
                "g",
                _tag("text", name, x=x[i], y=16, text_anchor="middle"),
                _tag("text", _short(address, 40), x=x[i], y=31, text_anchor="middle"),
                *(
                    [_tag("text", how, x=x[i], y=46, text_anchor="middle", class_="how")]
                    if how
                    else []
                ),
                _tag("line", x1=x[i], y1=52, x2=x[i], y2=height - 8, stroke="#aab"),
                class_="column",
            )
        )
    column_of = {address: remotes.index(address) + 1 for address in remotes}
    for n, message in enumerate(messages):
        y = _TOP + n * _ROW + 18
        remote_x = x[column_of[message.remote or "an unknown address"]]
        far_x = x[len(columns) - 1] if far is not None and _touches(message, far) else None
        parts.append(_arrow(n, message, prefix, x[0], remote_x, far_x, y))
    legend = (
        "Columns: siptest, then each address siptest exchanged SIP messages with "
        "(the first one its requests went to is the server)."
    )
    if far is not None:
        legend += (
            " The far end is not on siptest's wire: its messages were relayed by the server; "
            "a dashed line is that hop, as the message's Contact or Request-URI says."
        )
    elif any(isinstance(m, WireMessage) and m.message.method == "INVITE" for m in messages):
        legend += (
            " No far end column: no answer to the INVITE named an address other than "
            "those siptest talked to."
        )
    svg = _tag(
        "svg",
        _tag("title", "SIP ladder"),
        *parts,
        width=width,
        height=height,
        viewBox=f"0 0 {width} {height}",
        xmlns="http://www.w3.org/2000/svg",
        role="img",
    )
    return _join([_tag("div", svg, class_="ladder"), _tag("p", legend, class_="meta")])


def _arrow(
    n: int,
    message: Traced,
    prefix: str,
    local_x: int,
    remote_x: int,
    far_x: int | None,
    y: int,
) -> Markup:
    sent = isinstance(message, WireMessage) and message.direction == "sent"
    start, end = (local_x, remote_x) if sent else (remote_x, local_x)
    classes = ["arrow", "sent" if sent else "received"]
    note = note_of(message)
    if note:
        classes.append("note")
    tag = _tag_word(message)
    if tag:
        classes.append(tag.lower().replace(" ", "-"))
    head = 8 if end > start else -8
    label = _label(message)
    items: list[str | Markup] = [
        _tag("title", heading(message)),
        _tag("text", f"+{message.at * 1000:.1f} ms", x=6, y=y + 4),
        _tag("line", x1=start, y1=y, x2=end - head, y2=y),
        _tag("polygon", points=f"{end},{y} {end - head},{y - 4} {end - head},{y + 4}"),
        _tag(
            "text",
            _tag("tspan", _short(label, _LABEL_MAX)),
            *([_tag("tspan", f"  {tag}", class_="tag")] if tag else []),
            x=(start + end) / 2,
            y=y - 6,
            text_anchor="middle",
        ),
    ]
    if far_x is not None:
        items.append(_tag("line", x1=remote_x, y1=y, x2=far_x, y2=y, class_="relay"))
    return _tag(
        "g",
        _tag("a", *items, href=f"#{prefix}-msg-{n}"),
        class_=" ".join(classes),
        data_message=n,
    )


def _tag_word(message: Traced) -> str:
    """The trace's note for the message, in one or two words for the arrow."""
    kind = note_kind(message)
    if kind == "answered" and isinstance(message, RequestReceived):
        return f"ANSWERED {message.refused}"
    return _TAG_WORDS.get(kind or "", "")


_TAG_WORDS = {
    "dropped": "REFUSED",
    "blocked": "NOT SENT",
    "stray": "STRAY",
    "elsewhere": "OTHER ADDRESS",
    "cut": "CUT",
}


def _label(message: Traced) -> str:
    if isinstance(message, MessageDropped) or not message.message.start_line:
        return "(unreadable bytes)"
    sip = message.message
    if sip.code is not None:
        return f"{sip.code} {sip.reason}".strip()
    return sip.method or sip.start_line.split(" ", 1)[0]


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _far_end(messages: Sequence[Traced], seen: Sequence[str]) -> str | None:
    """The far end of a call, when its answer names one siptest never talked to.

    The Contact of a 1xx/2xx with a tag to our INVITE is the far end's address
    (RFC 3261 12.1.2); behind a proxy it is not an address on siptest's wire.
    """
    for m in messages:
        if not isinstance(m, ResponseReceived) or m.stray or m.message.method != "INVITE":
            continue
        code, contact = m.message.code or 0, m.message.header("contact")
        if 100 < code < 300 and contact:
            address = contact_address(contact)
            hostport = address.split("@", 1)[-1].removeprefix("sip:").removeprefix("sips:")
            if hostport and hostport not in seen:
                return address
    return None


def _touches(message: Traced, far: str) -> bool:
    """The message came from the far end or goes to it, as its own headers say."""
    if not isinstance(message, WireMessage):
        return False
    sip = message.message
    if isinstance(message, RequestSent) and sip.code is None:
        parts = sip.start_line.split(" ")
        return len(parts) > 1 and contact_address(parts[1]) == far
    if isinstance(message, (ResponseReceived, RequestReceived)):
        contact = sip.header("contact")
        return contact is not None and contact_address(contact) == far
    return False


# -- messages -----------------------------------------------------------------------


def _message(n: int, message: Traced, prefix: str) -> Markup:
    return _tag(
        "details",
        _tag("summary", f"#{n + 1} {_short(_label(message), 60)}: {heading(message)}"),
        _tag("pre", body(message)),
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
            _tag(
                "p",
                "INSECURE: TLS certificate checks were switched off (--tls-insecure); "
                "the server was not authenticated.",
                class_="banner",
            )
        )
    if report.interrupted:
        parts.append(_tag("p", "INTERRUPTED: the run was stopped; this report is partial."))
    cause = report.verdict
    rows = [("Why", cause.explanation), ("Fix", cause.fix)]
    rows += [("See", cause.rfc)] if cause.rfc else []
    rows += [("Id", cause.id)]
    decided = (
        f" (decided by the {STEP_TITLES[report.decided_by]} step)" if report.decided_by else ""
    )
    parts.append(_tag("h2", "Verdict"))
    parts.append(
        _tag(
            "article",
            _tag("strong", cause.title),
            decided,
            _tag("dl", *(_join([_tag("dt", k), _tag("dd", v)]) for k, v in rows)),
            class_=f"check verdict-cause {'ok' if report.ok else 'failed'}",
        )
    )
    parts.append(_tag("h2", "Steps"))
    for n, step in enumerate(report.steps):
        status = step_status(step)
        shown = {"SKIP": "NOTE"}.get(status, status)
        evidence = json.dumps(step.evidence, indent=2, ensure_ascii=False, default=str)
        details = [_tag("summary", "Evidence"), _tag("pre", evidence)]
        parts.append(
            _tag(
                "article",
                _tag("span", status, class_=f"verdict {shown}"),
                " ",
                _tag("strong", STEP_TITLES[step.name]),
                " ",
                step.summary,
                *(
                    [_tag("p", f"{step.diagnosis.title}. {step.diagnosis.fix}", class_="meta")]
                    if step.diagnosis is not None and not step.ok
                    else []
                ),
                _tag("details", *details),
                class_=f"check step {'ok' if step.ok else 'failed'}",
                id=f"step-{n}",
            )
        )
    parts.append(
        _tag(
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
