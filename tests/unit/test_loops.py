"""The bound on server-driven retries (423, 3xx, 491, 503), on exact messages."""

from __future__ import annotations

import pytest
from streams import Stream

from siptest.ua.base import AccountSpec
from siptest.ua.loops import RETRIES, drives_a_retry
from siptest.ua.outcomes import registration_outcome

ACCOUNT = AccountSpec(user="1001", domain="example.com", registrar="example.com", port=None,
                      transport="udp", auth_user="1001", password="-")  # fmt: skip


def register(cseq: int, call_id: str = "c1") -> str:
    return (
        f"REGISTER sip:example.com SIP/2.0\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n\r\n"
    )


def answer(code: int, cseq: int, call_id: str = "c1") -> str:
    return f"SIP/2.0 {code} Again\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n\r\n"


@pytest.mark.parametrize("code", [423, 302, 491, 503])
def test_a_server_driven_retry_is_allowed_twice_then_stopped(code):
    stream = Stream()
    for cseq in range(1, RETRIES + 2):
        assert stream.sent(register(cseq)), cseq
        stream.received(answer(code, cseq))
    assert not stream.sent(register(RETRIES + 2))
    outcome = registration_outcome(stream.events, ACCOUNT)
    assert (outcome.response.code, outcome.response.local_cause) == (code, "limit")
    assert f"{code} Again to {RETRIES + 1} requests in a row" in outcome.response.detail


@pytest.mark.parametrize("code", [200, 401, 404, 500])
def test_other_answers_do_not_count_as_a_loop(code):
    assert not drives_a_retry(code)


def test_a_2xx_starts_the_count_again_and_call_ids_count_apart():
    stream = Stream()
    for cseq in range(1, RETRIES + 2):
        stream.sent(register(cseq))
        stream.received(answer(423, cseq))
    stream.received(answer(200, RETRIES + 1).replace("200 Again", "200 OK"))
    assert stream.sent(register(10))
    assert stream.sent(register(1, call_id="c2"))


def test_a_stray_423_does_not_count():
    stream = Stream()
    for cseq in range(1, 6):
        stream.received(answer(423, cseq), remote="198.51.100.7:5060")
    assert stream.sent(register(1))


def test_a_retransmitted_answer_counts_once():
    # The tap sees every copy of a retransmitted answer (the server answers each
    # retransmission of the REGISTER): still one retry asked for.
    stream = Stream()
    assert stream.sent(register(1))
    for _ in range(4):
        stream.received(answer(423, 1))
    assert stream.sent(register(2))
