"""The event streams the analyser's unit tests replay, recorded from real runs.

Each case registers against a real peer (the lab's Kamailio, or a scripted peer)
through the real pjsua2 agent and records the chain's events. With
SIPTEST_RECORD_EVENTS=1 the recordings are written to tests/data/events/;
otherwise this test checks that a fresh recording still comes to the same
outcome as the stored one, so the fixtures cannot drift from what the stack does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sippeer import Request, always, challenge, message, ok, raw, response_head, silence

from siptest.ua.base import AccountSpec
from siptest.ua.calls import CallSpec
from siptest.ua.events import CallStateChanged, WireMessage
from siptest.ua.outcomes import CallEnd, call_outcome, registration_outcome
from siptest.ua.recording import events_from_json

HERE = Path(__file__).parent
EVENTS = HERE.parent / "data" / "events"
RECORD = os.environ.get("SIPTEST_RECORD_EVENTS") == "1"


def padded_challenge(request: Request) -> bytes:
    www = ("WWW-Authenticate", 'Digest realm="peer.test", nonce="abc", algorithm=MD5')
    return message(response_head(request, 401, "Unauthorized", [www, ("X-Pad", "p" * 4_800)]))


def outcome_of(text: str, user: str):
    events = events_from_json(text)
    sent_from = next(
        (e.message.header("from") or "" for e in events if isinstance(e, WireMessage)), ""
    )
    domain = sent_from.split("@", 1)[-1].split(">", 1)[0].split(";", 1)[0]
    account = AccountSpec(user=user, domain=domain, registrar="127.0.0.1", port=None,
                          transport="udp", auth_user=user, password="-")  # fmt: skip
    outcome = registration_outcome(events, account)
    response = outcome.response
    return (response.code, response.origin, response.local_cause, outcome.requests_sent,
            outcome.credentials_sent, outcome.credentials_rejected)  # fmt: skip


def record(port: int, transport: str, user: str, password: str, *call: str) -> str:
    done = subprocess.run(
        [sys.executable, str(HERE / "record_stream.py"), str(port), transport, user, "1", *call],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "SIPTEST_PASSWORD": password},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


PEER_CASES = {
    "peer-fresh-nonce-wrong-password": ("udp", lambda: always(challenge(nonce=None))),
    "peer-challenge-over-the-packet-limit": ("udp", lambda: always(raw(padded_challenge))),
    "peer-silent": ("udp", lambda: always(silence())),
    "peer-challenge-then-ok-tcp": ("tcp", lambda: [challenge(), ok(), ok()]),
}
LAB_CASES = {
    "lab-registered": ("1001", "lab-1001-pass"),
    "lab-wrong-password": ("1001", "not-the-password"),
    "lab-suspended-account": ("1009", "lab-1009-pass"),
}


def check_or_store(name: str, fresh: str, user: str) -> None:
    path = EVENTS / f"{name}.jsonl"
    if RECORD:
        path.write_text(fresh)
    assert path.exists(), f"no recording {path}: run with SIPTEST_RECORD_EVENTS=1"
    assert outcome_of(fresh, user) == outcome_of(path.read_text(), user)
    # The tap names both sides of every message.
    messages = [e for e in events_from_json(fresh) if isinstance(e, WireMessage)]
    assert messages and all(m.local.startswith("127.0.0.1:") for m in messages)
    assert all(m.remote.startswith("127.0.0.1:") for m in messages)


@pytest.mark.parametrize("name", PEER_CASES)
def test_a_recorded_peer_stream_still_comes_to_the_same_outcome(sip_peer, name):
    transport, script = PEER_CASES[name]
    peer = sip_peer(transport, script())
    check_or_store(name, record(peer.port, transport, "1001", "peer-test-pass"), "1001")


CALL_CASES = {
    "lab-call-answered": ("7000", "5", "1"),
    "lab-call-busy": ("999486", "5", "1"),
    "lab-call-ring-timeout": ("7001", "1", "1"),
    "lab-call-not-found": ("0441234567", "5", "1"),
}


def call_outcome_of(text: str):
    spec = CallSpec(number="-")
    events = events_from_json(text)
    call_id = next(e.message.header("call-id") for e in events if isinstance(e, WireMessage))
    states = [e for e in events if isinstance(e, CallStateChanged)]
    end = CallEnd(states[-1].code, states[-1].reason, "")
    answered = any(s.state == "CONFIRMED" for s in states)
    cancelled = any(
        isinstance(e, WireMessage) and e.message.method == "CANCEL" and e.direction == "sent"
        for e in events
    )
    outcome = call_outcome(events, spec, "sip:-", end, call_id or "", answered, cancelled,
                           None, 0.0, None, "")  # fmt: skip
    response = outcome.response
    return (response.code, response.origin, response.local_cause, outcome.requests_sent,
            outcome.provisional, outcome.answered)  # fmt: skip


@pytest.mark.parametrize("name", CALL_CASES)
def test_a_recorded_call_stream_still_comes_to_the_same_outcome(lab, name):
    number, ring, talk = CALL_CASES[name]
    fresh = record(lab.sip_port, "udp", "1001", "lab-1001-pass", number, ring, talk)
    path = EVENTS / f"{name}.jsonl"
    if RECORD:
        path.write_text(fresh)
    assert path.exists(), f"no recording {path}: run with SIPTEST_RECORD_EVENTS=1"
    assert call_outcome_of(fresh) == call_outcome_of(path.read_text())


@pytest.mark.parametrize("name", LAB_CASES)
def test_a_recorded_lab_stream_still_comes_to_the_same_outcome(lab, name):
    user, password = LAB_CASES[name]
    check_or_store(name, record(lab.sip_port, "udp", user, password), user)
