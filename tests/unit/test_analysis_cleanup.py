"""Un-REGISTER clean-up and Retry-After in call reports, from captured exchanges."""

from __future__ import annotations

import pytest
from streams import Stream

from siptest.analysis.calls import analyse_call
from siptest.analysis.registration import analyse_unregistration
from siptest.knowledge import load_knowledge
from siptest.ua.base import AccountSpec, Response
from siptest.ua.calls import CallCompleted, CallSpec
from siptest.ua.outcomes import registration_outcome

ACCOUNT = AccountSpec(
    user="1001", domain="example.com", registrar="example.com", port=None,
    transport="udp", auth_user="1001", password="pw",
)  # fmt: skip
HEAD = (
    "Via: SIP/2.0/UDP 192.0.2.5:5060;rport;branch=z9hG4bK9\r\nCall-ID: abc\r\n"
    "From: <sip:1001@example.com>;tag=a\r\nTo: <sip:1001@example.com>\r\nCSeq: 5 REGISTER\r\n"
)
OURS = "<sip:1001@192.0.2.5:5060;ob>"


def removal(answer_contacts: str) -> Stream:
    stream = Stream()
    stream.sent(f"REGISTER sip:example.com SIP/2.0\r\n{HEAD}Contact: {OURS};expires=0\r\n\r\n")
    stream.received(f"SIP/2.0 200 OK\r\n{HEAD}{answer_contacts}\r\n")
    return stream


@pytest.mark.parametrize(
    ("contacts", "ok", "left"),
    [
        ("", True, None),  # nothing listed: gone
        ("Contact: <sip:1001@198.51.100.9:5060>;expires=1800\r\n", True, None),  # others stay
        ("Expires: 3600\r\n", True, None),  # not about our binding
        (f"Contact: {OURS};expires=0\r\n", True, None),
        # RFC 3261 10.3: the 2xx lists the bindings that remain, and ours is one
        (f"Contact: {OURS};expires=3412, <sip:1001@198.51.100.9>;expires=9\r\n", False, 3412),
    ],
)
def test_the_clean_up_fails_when_the_server_keeps_our_binding(contacts, ok, left):
    stream = removal(contacts)
    events = stream.state(200, "OK", answered=True, expiration=3600)
    outcome = registration_outcome(events, ACCOUNT, removing=True)
    assert outcome.expires_granted == left
    check = analyse_unregistration(outcome, ACCOUNT, 1.0, load_knowledge())
    assert check.ok is ok
    if not ok:
        assert check.diagnosis is not None
        assert check.diagnosis.id == "cleanup.binding_left"
        assert "3412" in check.diagnosis.explanation


def test_a_calls_absurd_retry_after_is_capped_in_the_text_and_the_report():
    response = Response("INVITE", 503, "Service Unavailable", "remote", 0.0,
                        (("retry-after", "4000000000"),))  # fmt: skip
    outcome = CallCompleted(
        number="0441234567", uri="sip:0441234567@example.com", provisional=(100,),
        answered=False, response=response, requests_sent=1, credentials_sent=True,
        credentials_rejected=False, cancelled_by_us=False, hangup=None, talk_seconds=0.0,
        media=None, dtmf_sent="", dtmf_received="", remote_sdp_address=None,
    )  # fmt: skip
    check = analyse_call(outcome, ACCOUNT, CallSpec("0441234567"), load_knowledge(),
                         timeout=5, duration_ms=1)  # fmt: skip
    assert check.diagnosis is not None
    assert "86400 seconds" in check.diagnosis.fix
    assert "4000000000" not in check.diagnosis.fix
    assert check.details["retry_after_capped"] is True
    assert check.details["retry_after_sent"] == 4000000000


def test_an_unregister_nobody_answered_says_no_answer_not_a_408_from_the_server():
    from siptest.ua.base import RegistrationCompleted

    silent = Response("REGISTER", 408, "No response", "none", 0.0, local_cause="timeout")
    removal = RegistrationCompleted(
        response=silent, requests_sent=1, credentials_sent=False,
        credentials_rejected=False, expires_requested=300, expires_granted=None,
    )  # fmt: skip
    check = analyse_unregistration(removal, ACCOUNT, 1.0, load_knowledge())
    assert check.diagnosis.id == "cleanup.unregister_failed"
    assert "got no answer (No response)" in check.diagnosis.explanation
