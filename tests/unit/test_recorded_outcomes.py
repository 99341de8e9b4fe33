"""The analyser on event streams recorded from real runs (tests/data/events/).

Recorded by tests/integration/test_recorded_streams.py against the lab's Kamailio
and scripted peers, through the real pjsua2 agent; that test also checks the
recordings still match what the stack does today.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from siptest.analysis.calls import analyse_call
from siptest.analysis.registration import analyse_registration
from siptest.knowledge import load_knowledge
from siptest.report.trace import format_trace
from siptest.ua.base import AccountSpec
from siptest.ua.calls import CallSpec
from siptest.ua.events import CallStateChanged, RequestSent, ResponseReceived
from siptest.ua.mediaevents import MediaSampled
from siptest.ua.outcomes import CallEnd, call_outcome, registration_outcome
from siptest.ua.recording import events_from_json

EVENTS = Path(__file__).parents[1] / "data" / "events"


def account(user: str, events: list | None = None) -> AccountSpec:
    """The recorded account: its domain (host:port of that run) read from its From."""
    domain = "127.0.0.1"
    for event in events or []:
        if isinstance(event, RequestSent):
            sent_from = event.message.header("from") or ""
            domain = sent_from.split("@", 1)[1].split(">", 1)[0].split(";", 1)[0]
            break
    return AccountSpec(user=user, domain=domain, registrar="127.0.0.1", port=None,
                       transport="udp", auth_user=user, password="-")  # fmt: skip


@pytest.mark.parametrize(
    ("name", "user", "code", "origin", "cause", "requests", "credentials", "diagnosis"),
    [
        ("lab-registered", "1001", 200, "remote", None, 2, True, "ok.registered"),
        ("lab-wrong-password", "1001", 401, "remote", None, 2, True,
         "credentials.password_invalid"),
        ("lab-suspended-account", "1009", 403, "remote", None, 2, True, "account.invalid"),
        ("peer-fresh-nonce-wrong-password", "1001", 401, "remote", None, 2, True,
         "credentials.rejected"),
        # the stack answered the challenge it read (its first 4,000 bytes) once
        ("peer-challenge-over-the-packet-limit", "1001", 401, "local", "too_large", 2, True,
         "siptest.packet_limit"),
        ("peer-silent", "1001", 408, "none", "timeout", 1, False, "network.no_response"),
        ("peer-challenge-then-ok-tcp", "1001", 200, "remote", None, 2, True, "ok.registered"),
    ],
)  # fmt: skip
def test_a_recorded_register_chain_is_read_as_it_happened(
    name, user, code, origin, cause, requests, credentials, diagnosis
):
    events = events_from_json((EVENTS / f"{name}.jsonl").read_text())
    outcome = registration_outcome(events, account(user, events))
    assert outcome.response.code == code
    assert outcome.response.origin == origin
    assert outcome.response.local_cause == cause
    assert outcome.requests_sent == requests
    assert outcome.credentials_sent is credentials
    check = analyse_registration(
        outcome, account(user, events), load_knowledge(None), timeout=1.0, duration_ms=1.0
    )
    assert check.diagnosis is not None and check.diagnosis.id == diagnosis


def test_a_recorded_answer_over_the_limit_is_marked_cut_and_shown_whole_up_to_there():
    events = events_from_json((EVENTS / "peer-challenge-over-the-packet-limit.jsonl").read_text())
    cut = [e for e in events if isinstance(e, ResponseReceived) and e.cut]
    assert cut and len(cut[0].data) == 4000
    assert "(CUT: the datagram filled the 4,000 bytes" in format_trace(events)


def test_recordings_hold_no_digest_response():
    credentialed = 0
    for path in EVENTS.glob("*.jsonl"):
        for event in events_from_json(path.read_text()):
            if isinstance(event, RequestSent) and event.message.header("authorization"):
                credentialed += 1
                assert b"<credentials redacted>" in event.data, path.name
                assert b'response="' not in event.data, path.name
    assert credentialed >= 5


def replay_call(name: str, number: str):
    events = events_from_json((EVENTS / f"{name}.jsonl").read_text())
    call_id = next(e.message.header("call-id") for e in events if isinstance(e, RequestSent))
    states = [e for e in events if isinstance(e, CallStateChanged)]
    cancelled = any(isinstance(e, RequestSent) and e.message.method == "CANCEL" for e in events)
    media = next((e.sample for e in events if isinstance(e, MediaSampled)), None)
    end = CallEnd(states[-1].code, states[-1].reason, "")
    answered = any(s.state == "CONFIRMED" for s in states)
    spec = CallSpec(number=number)
    hangup = "us" if answered else None
    outcome = call_outcome(events, spec, f"sip:{number}@127.0.0.1", end, call_id or "",
                           answered, cancelled, hangup, 1.0, media, "")  # fmt: skip
    check = analyse_call(outcome, account("1001"), spec, load_knowledge(None), timeout=1.0,
                         duration_ms=1.0)  # fmt: skip
    return outcome, check


@pytest.mark.parametrize(
    ("name", "number", "code", "provisional", "answered", "cancelled", "diagnosis"),
    [
        ("lab-call-answered", "7000", 200, (100, 180), True, False, "ok.answered"),
        ("lab-call-busy", "999486", 486, (), False, False, "callee.busy"),
        ("lab-call-ring-timeout", "7001", 487, (100, 180), False, True,
         "callee.ring_timeout"),
        ("lab-call-not-found", "0441234567", 404, (), False, False, "number.not_found"),
    ],
)  # fmt: skip
def test_a_recorded_call_is_read_as_it_happened(
    name, number, code, provisional, answered, cancelled, diagnosis
):
    outcome, check = replay_call(name, number)
    assert outcome.response.code == code
    assert outcome.response.origin == "remote"
    assert outcome.provisional == provisional
    assert outcome.answered is answered
    assert outcome.cancelled_by_us is cancelled
    assert outcome.requests_sent == 2  # the INVITE, and again with credentials
    assert check.diagnosis is not None and check.diagnosis.id == diagnosis


def test_a_recorded_answered_call_carries_its_media_sample():
    outcome, _ = replay_call("lab-call-answered", "7000")
    assert outcome.media is not None
    assert outcome.media.received.packets > 0 and outcome.media.codec.upper().startswith("PCM")
