"""The HTML report (`--report`) on recorded and hand-built event streams.

The page is read back with the standard library's HTML parser: what matters is
which elements and attributes a browser would build, not how the text looks.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

from streams import Stream

from siptest.analysis.model import Check, Report
from siptest.knowledge import Diagnosis as Verdict
from siptest.report.html import ReportSection, render_html, write_html
from siptest.report.trace import body, format_trace, traced
from siptest.ua.base import Response
from siptest.ua.mediaevents import MediaSample, MediaSampled, MediaTick, StreamStats
from siptest.ua.recording import events_from_json, events_to_json

EVENTS = Path(__file__).parents[1] / "data" / "events"


class Page(HTMLParser):
    """Every element of a page with its attributes, and the text of some of them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.texts: dict[str, list[str]] = {}
        self._open: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag not in ("meta", "polygon", "line", "rect", "polyline"):
            self._open.append(tag)
            self.texts.setdefault(tag, []).append("")

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for tag in set(self._open):
            self.texts[tag][-1] += data

    def tags(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.elements if tag == name]

    def with_class(self, tag: str, word: str) -> list[dict[str, str | None]]:
        return [a for a in self.tags(tag) if word in (a.get("class") or "").split()]


def recorded(name: str) -> tuple:
    return tuple(events_from_json((EVENTS / f"{name}.jsonl").read_text()))


def ok_report(kind: str = "call") -> Report:
    verdict = Verdict("ok.answered", "none", "info", "The call was answered", "It rang.", "-")
    return Report(checks=(Check(kind, True, verdict, target="sip:7000@127.0.0.1"),))


def page_of(events, report: Report | None = None, verdict: str = "PASS") -> str:
    report = report or ok_report()
    return render_html("call 7000", verdict, [ReportSection("call 7000", report, events, verdict)])


def trace_messages(events) -> int:
    return sum(
        1 for line in format_trace(events).splitlines() if re.match(r"^(-->|<--|xx>) ", line)
    )


def test_the_ladder_has_one_arrow_per_message_of_the_trace_in_its_order():
    events = recorded("lab-call-answered")
    page = Page(page_of(events))
    arrows = page.with_class("g", "arrow")
    assert len(arrows) == trace_messages(events) == 9
    assert [a["data-message"] for a in arrows] == [str(n) for n in range(9)]
    # each arrow links to its message, which is there, closed, in the same order
    links = [a["href"] for a in page.tags("a")]
    ids = [d["id"] for d in page.tags("details")]
    assert ids == [f"s0-msg-{n}" for n in range(9)]
    assert links == [f"#{i}" for i in ids]


def test_the_arrows_name_each_message_and_its_time():
    events = recorded("lab-call-answered")
    text = html.unescape(page_of(events))
    for label in ("INVITE", "407 Proxy Authentication Required", "180 Ringing", "200 OK", "BYE"):
        assert f"<tspan>{label}</tspan>" in text
    first = traced(events)[0]
    assert f"+{first.at * 1000:.1f} ms" in text


def test_each_message_is_shown_exactly_as_the_trace_shows_it():
    events = recorded("lab-call-answered")
    page = Page(page_of(events))
    assert page.texts["pre"] == [body(event) for event in traced(events)]


def test_a_call_answered_behind_the_server_gets_a_far_end_column_from_its_contact():
    events = recorded("lab-call-answered")
    page = Page(page_of(events))
    text = " ".join(page.texts["svg"])
    assert "far end" in text and "sip:127.0.0.1:59944" in text
    # 180, 200, ACK and BYE went to or came from the far end through the server
    assert len(page.tags("line")) - len(page.with_class("line", "relay")) > 0
    assert len(page.with_class("line", "relay")) == 4


def test_a_registration_has_no_far_end_column():
    events = recorded("lab-registered")
    page = Page(page_of(events, ok_report("register")))
    assert "far end" not in " ".join(page.texts["svg"])
    assert page.with_class("line", "relay") == []
    assert len(page.with_class("g", "arrow")) == trace_messages(events)


def test_the_verdict_and_every_field_of_a_diagnosis_are_shown():
    diagnosis = Verdict(
        "credentials.password_invalid", "credentials", "error", "The SIP password is wrong",
        "The server says the password is not valid.", "Copy the SIP password again.",
        "RFC 3261 §22.2",
    )  # fmt: skip
    response = Response("REGISTER", 401, "This password is not valid", "remote", 0.1)
    report = Report(checks=(Check("register", False, diagnosis, response=response),))
    page = Page(page_of(recorded("lab-wrong-password"), report, "FAIL"))
    dl = page.texts["dl"][0]
    for text in (diagnosis.title, diagnosis.explanation, diagnosis.fix, "RFC 3261 §22.2",
                 "401 This password is not valid (sent by the server)"):  # fmt: skip
        assert text in dl
    assert page.texts["span"][0] == "FAIL"
    assert "FAIL" in page.with_class("span", "verdict")[0]["class"]


def hostile_stream() -> Stream:
    stream = Stream()
    stream.sent(
        "REGISTER sip:example.com SIP/2.0\r\nCall-ID: a\r\nCSeq: 1 REGISTER\r\n"
        'Authorization: Digest username="1001", realm="x", nonce="n", uri="sip:example.com", '
        'response="0123456789abcdef-s3cret-digest"\r\nContent-Length: 0\r\n\r\n'
    )
    stream.received(
        "SIP/2.0 403 <script>alert('reason')</script>\r\nCall-ID: a\r\nCSeq: 1 REGISTER\r\n"
        'X-Evil: "><img src=x onerror=alert(1)><a href="https://evil.example/">\r\n'
        "Content-Length: 0\r\n\r\n"
    )
    return stream


def test_html_in_a_reason_phrase_or_a_header_is_shown_as_text():
    stream = hostile_stream()
    response = Response("REGISTER", 403, "<script>alert('reason')</script>", "remote", 0.1)
    verdict = Verdict("x", "account", "error", "Refused: <script>alert(2)</script>", "<b>", "<i>")
    report = Report(checks=(Check("register", False, verdict, response=response),))
    text = page_of(tuple(stream.events), report, "FAIL")
    page = Page(text)
    assert {tag for tag, _ in page.elements}.isdisjoint({"script", "img", "iframe", "b", "i"})
    assert not [a for a in page.tags("a") if not (a.get("href") or "").startswith("#")]
    assert all(not key.startswith("on") for _, attrs in page.elements for key in attrs)
    # ... and it is all there to read, as text
    assert "<script>alert('reason')</script>" in " ".join(page.texts["pre"])
    assert '"><img src=x onerror=alert(1)>' in " ".join(page.texts["pre"])
    assert "403 <script>alert('reason')</script>" in " ".join(page.texts["svg"])
    assert "Refused: <script>alert(2)</script>" in page.texts["dl"][0]


def test_a_page_without_hostile_text_builds_the_same_elements():
    """The twin: the same stream with harmless text has the same structure, so the test
    above fails if escaping were dropped (its tags would then appear)."""
    plain = Stream()
    plain.sent("REGISTER sip:example.com SIP/2.0\r\nCall-ID: a\r\nCSeq: 1 REGISTER\r\n\r\n")
    plain.received("SIP/2.0 403 Forbidden\r\nCall-ID: a\r\nCSeq: 1 REGISTER\r\n\r\n")
    hostile = hostile_stream()
    shape = [tag for tag, _ in Page(page_of(tuple(plain.events))).elements]
    assert shape == [tag for tag, _ in Page(page_of(tuple(hostile.events))).elements]


def test_the_credentials_never_reach_the_page():
    stream = hostile_stream()
    assert b"s3cret-digest" in stream.events[0].data  # the stream does carry them
    text = page_of(tuple(stream.events))
    assert "s3cret-digest" not in text
    assert "&lt;credentials redacted&gt;" in text


def test_bytes_that_are_not_utf8_are_shown_as_in_the_trace():
    stream = Stream()
    stream.sent("REGISTER sip:example.com SIP/2.0\r\nCall-ID: b\r\nCSeq: 1 REGISTER\r\n\r\n")
    stream.received(
        b"SIP/2.0 403 F\xfcr Sie nicht\r\nVia: SIP/2.0/UDP 192.0.2.9:5060;rport;"
        b"branch=z9hG4bK-b-1\r\nCall-ID: b\r\nCSeq: 1 REGISTER\r\nX-Nul: a\x00b\r\n\r\n"
    )
    text = page_of(tuple(stream.events))
    text.encode("utf-8")  # the page itself is valid UTF-8
    page = Page(text)
    assert "403 F\\xfcr Sie nicht" in " ".join(page.texts["svg"])
    assert "X-Nul: a\\x00b" in page.texts["pre"][1]
    assert "F\\xfcr Sie nicht" in format_trace(stream.events)


def test_an_empty_message_list_says_so_and_draws_no_ladder():
    report = Report(checks=())
    page = Page(render_html("register", "FAIL", [ReportSection("register", report, (), "FAIL")]))
    assert page.with_class("g", "arrow") == [] and page.tags("details") == []
    assert "No SIP message was sent or received." in page.texts["p"]
    assert "No check was run." in page.texts["p"]
    assert page.texts["span"][0] == "FAIL"


def test_the_page_fetches_nothing():
    page = Page(page_of(recorded("lab-call-answered")))
    policy = next(m for m in page.tags("meta") if m.get("http-equiv"))
    assert policy["content"].startswith("default-src 'none'")
    for _, attrs in page.elements:
        assert "src" not in attrs
        assert (attrs.get("href") or "#").startswith("#")
    assert {tag for tag, _ in page.elements}.isdisjoint({"script", "link", "img", "iframe"})


def stalled_ticks(count: int, reports: bool = True) -> tuple[MediaTick, ...]:
    """Audio at 50 packets/s both ways; the far end stops sending halfway."""
    ticks = []
    for n in range(1, count + 1):
        at = n * 0.2
        received = 10 * min(n, count // 2)
        ticks.append(
            MediaTick(
                at=at,
                received=received,
                received_lost=n // 3,
                received_jitter_ms=0.5 + n / 10,
                sent=10 * n,
                reports=n // 5 if reports else 0,
                reported=10 * n if reports else 0,
                reported_lost=0,
                reported_jitter_ms=1.0 if reports else None,
            )
        )
    return tuple(ticks)


def sampled(ticks: tuple[MediaTick, ...]) -> MediaSampled:
    sample = MediaSample(
        "PCMA", "127.0.0.1:4000", StreamStats(100, 0, 1.0), StreamStats(50, 3, 2.5), None,
        duration=2.0, timeline=ticks,
    )  # fmt: skip
    return MediaSampled(2.0, "call-1", sample)


def test_audio_is_charted_per_direction_from_the_ticks():
    page = Page(page_of((sampled(stalled_ticks(10)),)))
    charts = page.with_class("svg", "chart")
    assert len(charts) == 6  # packets/s, lost, jitter for each direction
    lines = page.tags("polyline")
    assert all(len(line["points"].split()) == 10 for line in lines)
    # the far end stopped: its packets/s fall to 0 in the second half
    received_rate = [float(p.split(",")[1]) for p in lines[0]["points"].split()]
    assert received_rate[-1] > received_rate[2]  # y grows downwards: 0 packets/s is lowest
    assert "packets/s received: max 50.0" in " ".join(page.texts["svg"])
    rows = page.texts["tr"]
    assert any("from the far end (received)" in r and "3" in r and "5.7 %" in r for r in rows)


def test_no_rtcp_from_the_far_end_is_said_rather_than_charted_as_zero_loss():
    page = Page(page_of((sampled(stalled_ticks(10, reports=False)),)))
    assert "The far end sent no RTCP report: what it received is unknown." in page.texts["p"]
    assert len(page.with_class("svg", "chart")) == 5  # no jitter chart toward the far end


def test_a_sample_without_ticks_shows_totals_only():
    page = Page(page_of((sampled(()),)))
    assert page.with_class("svg", "chart") == []
    assert "No samples over time were kept for this call." in page.texts["p"]
    assert len(page.tags("tr")) == 3


def test_recorded_media_with_its_timeline_survives_a_recording():
    events = [sampled(stalled_ticks(4))]
    assert events_from_json(events_to_json(events)) == events


def test_the_traces_notes_mark_the_arrows():
    stream = Stream()
    stream.sent("REGISTER sip:example.com SIP/2.0\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n\r\n")
    # an answer to nothing we sent, then bytes the stack refused, then a cut datagram
    stream.received("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK-other\r\n"
                    "Call-ID: z\r\nCSeq: 9 REGISTER\r\n\r\n")  # fmt: skip
    stream.dropped(b"\x16\x03\x01 not sip", "malformed")
    stream.received("SIP/2.0 401 Unauthorized\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n\r\n", cut=True)
    page = Page(page_of(tuple(stream.events)))
    arrows = page.with_class("g", "arrow")
    assert len(arrows) == trace_messages(stream.events) == 4
    assert [a["class"] for a in arrows] == [
        "arrow sent",
        "arrow received note stray",
        "arrow received note refused",
        "arrow received note cut",
    ]
    spans = zip(page.tags("tspan"), page.texts["tspan"], strict=True)
    tags = [text.strip() for attrs, text in spans if attrs.get("class")]
    assert tags == ["STRAY", "REFUSED", "CUT"]


def test_scenarios_get_a_section_each_with_ids_of_their_own(tmp_path):
    events = recorded("lab-registered")
    sections = [
        ReportSection(f"scenario {n}", ok_report("register"), events, "PASS") for n in range(2)
    ]
    path = tmp_path / "report.html"
    write_html(path, "run a, b", "PASS", sections)
    page = Page(path.read_text())
    ids = [attrs["id"] for _, attrs in page.elements if attrs.get("id")]
    assert len(ids) == len(set(ids))
    assert len(page.with_class("section", "run")) == 2
    assert page.texts["h2"][:2] == ["PASS scenario 0", "PASS scenario 1"]
    assert path.stat().st_mode & 0o777 == 0o600


def doctor_report(summary: str, ok: bool = False):
    from siptest.doctor.model import DoctorReport, Step
    from siptest.knowledge.model import Diagnosis

    cause = Diagnosis(
        "doctor.udp_blocked", "network", "error", "UDP is blocked",
        "UDP gets no answer but TCP does.", "Set the device's transport to TCP.",
    )  # fmt: skip
    steps = (
        Step("dns", True, "127.0.0.1 is an address: no DNS needed", {"probed": False}),
        Step("udp", ok, summary, {"targets": [{"detail": summary}]}, None if ok else cause),
    )
    return DoctorReport("1001@127.0.0.1:5060", steps, cause, ok, "udp")


def test_a_doctor_page_shows_each_step_and_the_verdict_with_its_fix():
    from siptest.report.html import render_doctor_html

    page = render_doctor_html(doctor_report("127.0.0.1:5060 silent"), ())
    assert page.count('class="check step') == 2
    assert ">SKIP<" in page and ">FAIL<" in page and 'id="verdict">FAIL<' in page
    assert "Set the device&#x27;s transport to TCP." in page
    assert "decided by the UDP step" in page
    assert "No SIP message was sent or received." in page


def test_a_doctor_page_keeps_what_the_server_said_as_text():
    from siptest.report.html import render_doctor_html

    hostile = "<script>alert(1)</script>"
    page = render_doctor_html(doctor_report(hostile), ())
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
