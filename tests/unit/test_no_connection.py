"""A request over TCP or TLS waits in the stack for its connection: when no connection to
its peer ever came up (a dropped SYN, a handshake that never ended), it never left. The
outcome says so (`no_connection`, not "no answer from the server"), the trace marks it
NOT SENT, and the capture leaves it out; a connection that came up, or anything received
from the peer, means it did leave."""

from __future__ import annotations

import io
from dataclasses import replace

import dpkt
from streams import SERVER, Stream

from siptest.report.pcap import pcap_bytes
from siptest.report.trace import format_trace
from siptest.ua.base import AccountSpec
from siptest.ua.events import RequestSent
from siptest.ua.evidence import connected_peers, never_sent
from siptest.ua.outcomes import registration_outcome

ACCOUNT = AccountSpec(
    user="1001", domain="example.com", registrar="example.com", port=None,
    transport="tcp", auth_user="1001", password="pw",
)  # fmt: skip

REGISTER = "REGISTER sip:example.com SIP/2.0\r\nCall-ID: c1\r\nCSeq: 1 REGISTER\r\n\r\n"


def silent(transport: str = "TCP") -> Stream:
    stream = Stream(transport)
    stream.sent(REGISTER)
    stream.state(408, "Request Timeout")
    return stream


def test_a_tcp_request_no_connection_ever_reached_never_left():
    outcome = registration_outcome(silent().events, ACCOUNT)
    response = outcome.response
    assert (response.code, response.reason, response.origin, response.local_cause) == (
        408,
        "No connection",
        "none",
        "no_connection",
    )
    assert f"TCP connection to {SERVER} was never set up" in (response.detail or "")
    assert (outcome.requests_sent, outcome.credentials_sent) == (0, False)


def test_tls_says_tls():
    outcome = registration_outcome(silent("TLS").events, ACCOUNT)
    assert f"TLS connection to {SERVER} was never set up" in (outcome.response.detail or "")


def test_a_connection_that_came_up_makes_it_a_server_that_did_not_answer():
    stream = Stream("TCP")
    stream.sent(REGISTER)
    stream.connected()
    outcome = registration_outcome(stream.state(408, "Request Timeout"), ACCOUNT)
    assert (outcome.response.local_cause, outcome.response.reason) == ("timeout", "No response")
    assert outcome.requests_sent == 1


def test_a_connection_opened_before_the_chain_counts():
    # the un-REGISTER over the connection the REGISTER opened: the chain alone has no
    # ConnectionOpened, the whole stream does (the agent passes its peers)
    outcome = registration_outcome(silent().events, ACCOUNT, peers=frozenset({SERVER}))
    assert outcome.response.local_cause == "timeout"


def test_anything_received_from_the_peer_means_a_connection():
    # streams recorded before siptest kept ConnectionOpened: an answer proves the link
    stream = Stream("TCP")
    stream.sent(REGISTER)
    stream.received("SIP/2.0 100 Trying\r\nCall-ID: c1\r\nCSeq: 1 REGISTER\r\n\r\n")
    assert SERVER in connected_peers(stream.events)
    outcome = registration_outcome(stream.state(408, "Request Timeout"), ACCOUNT)
    assert outcome.response.local_cause == "timeout"


def test_a_connection_to_another_peer_does_not_count():
    stream = Stream("TCP")
    stream.sent(REGISTER)
    stream.connected("192.0.2.77:5060")
    outcome = registration_outcome(stream.state(408, "Request Timeout"), ACCOUNT)
    assert outcome.response.local_cause == "no_connection"


def test_udp_is_never_queued():
    stream = silent("UDP")
    request = stream.events[0]
    assert isinstance(request, RequestSent)
    assert never_sent(request, connected_peers(stream.events)) is False
    assert registration_outcome(stream.events, ACCOUNT).response.local_cause == "timeout"


def test_the_trace_marks_a_queued_request_not_sent_and_a_sent_one_not():
    queued = format_trace(silent().events)
    assert "(NOT SENT: its connection was never set up, nothing answered it)" in queued
    assert " not sent to TCP " in queued and " ms sent to " not in queued
    stream = Stream("TCP")
    stream.sent(REGISTER)
    stream.connected()
    went = format_trace(stream.events)
    assert "NOT SENT" not in went
    assert " ms sent to TCP " in went and "not sent to" not in went


def packets(events) -> list:
    return list(dpkt.pcap.Reader(io.BytesIO(pcap_bytes(events, started=1000.0))))


def test_the_capture_holds_only_what_went_on_the_wire():
    assert packets(silent().events) == []  # queued: no connection came up
    stream = Stream("TCP")
    stream.sent(REGISTER)
    stream.connected()
    assert len(packets(stream.events)) == 1


def test_a_request_siptest_blocked_is_not_in_the_capture_either():
    stream = Stream()
    stream.sent(REGISTER)
    (request,) = stream.events
    assert isinstance(request, RequestSent)
    assert packets([replace(request, blocked=True)]) == []  # stopped by siptest
    assert len(packets([request])) == 1
    blocked = format_trace([replace(request, blocked=True)])
    assert " not sent to UDP " in blocked and "(NOT SENT: siptest stopped" in blocked


FAILED = "Failed to send Request msg REGISTER/cseq={cseq} (tdta0x5f2a1b0)! err=120001 ({why})"


def test_a_request_the_stack_could_not_send_is_marked_by_its_method_and_cseq():
    stream = Stream()
    stream.sent(REGISTER)
    stream.said(FAILED.format(cseq=1, why="Operation not permitted"))
    trace = format_trace(stream.events)
    assert "(NOT SENT: the stack could not send it (Operation not permitted))" in trace
    assert " not sent to UDP " in trace
    assert packets(stream.events) == []


def test_words_about_another_request_mark_nothing():
    stream = Stream()
    stream.sent(REGISTER)
    stream.said(FAILED.format(cseq=2, why="Operation not permitted"))
    assert "NOT SENT" not in format_trace(stream.events)
    assert len(packets(stream.events)) == 1


def test_a_connection_reset_after_the_request_went_out_is_the_other_side_closing_it():
    stream = Stream("TCP")
    stream.sent(REGISTER)
    stream.connected()
    response = registration_outcome(stream.state(503, "Connection reset by peer"), ACCOUNT).response
    assert (response.local_cause, response.reason) == ("connection_reset", "Connection reset")
    assert "reset the connection without answering" in (response.detail or "")


def test_a_reset_with_no_connection_up_is_left_as_it_was():
    stream = Stream("TCP")
    stream.sent(REGISTER)
    response = registration_outcome(stream.state(503, "Connection reset by peer"), ACCOUNT).response
    assert response.local_cause == "transport"
