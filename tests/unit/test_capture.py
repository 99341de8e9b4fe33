"""The capture behind the stack tap: events from exact bytes, strays, the veto, redaction."""

from __future__ import annotations

import io
import socket

import pytest
from streams import SERVER, Stream

from siptest.report.trace import format_trace
from siptest.ua.capture import Tapped
from siptest.ua.events import RequestReceived, RequestSent, ResponseReceived
from siptest.ua.recording import events_from_json, events_to_json

AUTH = (
    'Authorization: Digest username="1001", realm="r", nonce="n", response="deadbeef", '
    'cnonce="c0ffee"\r\n'
)


def register(cseq: int, auth: bool = False) -> str:
    return (
        "REGISTER sip:example.com SIP/2.0\r\nCall-ID: c1\r\n"
        f"CSeq: {cseq} REGISTER\r\nUser-Agent: siptest/0.1.0\r\n{AUTH if auth else ''}"
        "Content-Length: 0\r\n\r\n"
    )


def challenge(cseq: int, realm: str = "r") -> str:
    return (
        f"SIP/2.0 401 Unauthorized\r\nCall-ID: c1\r\nCSeq: {cseq} REGISTER\r\n"
        f'WWW-Authenticate: Digest realm="{realm}", nonce="n{cseq}"\r\n\r\n'
    )


def test_messages_become_typed_events_with_their_exact_bytes():
    stream = Stream()
    stream.sent(register(1))
    stream.received(challenge(1))
    stream.sent(register(2, auth=True))
    kinds = [type(e) for e in stream.events]
    assert kinds == [RequestSent, ResponseReceived, RequestSent]
    assert stream.events[1].message.code == 401
    assert b'response="deadbeef"' in stream.events[2].data
    assert "deadbeef" not in stream.events[2].text
    assert "c0ffee" not in stream.events[2].text
    assert stream.events[2].remote == SERVER


def test_a_second_credentialed_try_after_rejection_is_vetoed_and_marked():
    stream = Stream()
    assert stream.sent(register(1))
    stream.received(challenge(1))
    assert stream.sent(register(2, auth=True))
    stream.received(challenge(2))
    assert not stream.sent(register(3, auth=True))
    last = stream.events[-1]
    assert isinstance(last, RequestSent) and last.blocked


def test_a_response_to_our_request_from_another_address_counts_and_is_marked():
    # A multi-homed server answers from another address: the branch is ours, so it
    # is the server's answer (pjsip takes it too); the trace says where it came from.
    stream = Stream()
    stream.sent(register(1))
    stream.received(challenge(1), remote="198.51.100.66:5060")
    answer = stream.events[-1]
    assert isinstance(answer, ResponseReceived)
    assert (answer.stray, answer.elsewhere) == (False, True)
    assert "from another address than the request went to" in format_trace(stream.events)


def test_a_stray_response_is_not_fed_to_the_credential_guard():
    stream = Stream()
    stream.sent(register(1))
    stream.received(challenge(1).replace("CSeq: 1", "CSeq: 41"))
    # It did not count as a challenge: a credentialed request may still go.
    assert stream.sent(register(2, auth=True))
    stream.received(challenge(2))
    assert not stream.sent(register(3, auth=True))


def test_a_response_with_a_branch_we_never_used_is_stray():
    stream = Stream()
    stream.sent(register(1))
    stream.received(challenge(1).replace("CSeq: 1", "CSeq: 77"))
    assert stream.events[-1].stray


def test_dropped_bytes_from_a_third_party_are_not_from_the_server():
    stream = Stream()
    stream.sent(register(1))
    stream.dropped(b"\x16\x03\x01 not sip", remote="203.0.113.5:4000")
    stream.dropped(b"SIP/2.0 9999 Bad\r\n\r\n")
    third, server = stream.dropped_events()
    assert (third.from_server, server.from_server) == (False, True)


def test_an_incoming_request_can_be_answered_by_siptest_itself():
    stream = Stream()
    stream.capture.incoming = lambda request: 486 if request.method == "INVITE" else None
    invite = "INVITE sip:1001@192.0.2.9 SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n"
    assert stream.received(invite, remote="203.0.113.5:5060") == 486
    assert stream.received(invite.replace("INVITE", "OPTIONS")) is None
    refused, passed = stream.events
    assert isinstance(refused, RequestReceived) and refused.refused == 486
    assert isinstance(passed, RequestReceived) and passed.refused is None


def test_only_the_stacks_words_on_failures_are_kept_and_never_the_password():
    stream = Stream()
    stream.capture._secrets = ("s3cret-pass",)
    stream.said("sip_endpoint.c Module mod-pjsua registered")
    stream.said("TLS connect() error: Connection refused")
    stream.said("error mentioning s3cret-pass")
    assert [e.text for e in stream.events] == ["TLS connect() error: Connection refused"]


def test_a_common_word_as_password_does_not_mask_the_trace():
    stream = Stream()
    stream.capture._secrets = ("siptest",)
    stream.sent(register(1))
    trace = format_trace(stream.events)
    assert "User-Agent: siptest/0.1.0" in trace
    assert "*****" not in trace


def test_any_byte_value_is_shown_safely_in_the_trace():
    stream = Stream()
    stream.sent(register(1))
    head = register(1).replace("REGISTER sip:example.com SIP/2.0", "SIP/2.0 403 Verboten f\xfcr")
    stream.received(head.encode("latin-1").replace(b"Content-Length: 0", b"X: \x00\xff\x1b[2J"))
    trace = format_trace(stream.events)
    assert "403 Verboten f\\xfcr" in trace
    assert "X: \\x00\\xff\\x1b[2J" in trace
    trace.encode("utf-8")


def test_a_recorded_stream_reads_back_exactly_with_credentials_redacted():
    stream = Stream()
    stream.sent(register(1))
    stream.received(challenge(1).encode() + b"\xff\x00")
    stream.sent(register(2, auth=True))
    again = events_from_json(events_to_json(stream.events))
    assert [type(e) for e in again] == [type(e) for e in stream.events]
    assert again[1].data == stream.events[1].data
    assert b"deadbeef" not in again[2].data and b'username="1001"' in again[2].data
    assert again[1].message == stream.events[1].message


def test_a_capture_holds_every_message_with_its_addresses_ipv4_and_ipv6():
    import dpkt

    from siptest.report.pcap import pcap_bytes

    stream = Stream()
    stream.sent(register(1, auth=True))
    stream.received(challenge(1))
    stream.capture.sent(
        Tapped(register(2).encode(), "UDP6", "[2001:db8::5]:5060", local="[2001:db8::9]:5062"),
        is_request=True,
    )
    packets = list(dpkt.pcap.Reader(io.BytesIO(pcap_bytes(stream.events, started=1000.0))))
    assert len(packets) == 3
    first = dpkt.ip.IP(packets[0][1])
    assert socket.inet_ntoa(first.src) == "192.0.2.9" and first.data.dport == 5060
    assert b"<credentials redacted>" in first.data.data and b"deadbeef" not in first.data.data
    answer = dpkt.ip.IP(packets[1][1])
    assert socket.inet_ntoa(answer.src) == "192.0.2.1"
    six = dpkt.ip6.IP6(packets[2][1])
    assert socket.inet_ntop(socket.AF_INET6, six.dst) == "2001:db8::5"
    assert packets[0][0] == pytest.approx(1000.0 + stream.events[0].at)


def test_an_answer_of_another_dialog_is_no_answer_to_this_request():
    # What the ICMP probe asks (siptest.ua.probe): did this request get an answer? A
    # late answer to an earlier request (another Call-ID) is not one; unreadable bytes
    # from the server may be, whatever they answer.
    stream = Stream()
    stream.sent(register(1))
    stream.received(challenge(1))
    first = len(stream.events)
    stream.sent(register(1).replace("Call-ID: c1", "Call-ID: c2"))
    stream.received(challenge(1))  # the first REGISTER's 401, again, late
    assert stream.capture.received_since(first) is True
    assert stream.capture.received_since(first, "c2") is False
    stream.received(challenge(1).replace("Call-ID: c1", "Call-ID: c2"))
    assert stream.capture.received_since(first, "c2") is True


def test_unreadable_bytes_from_the_server_count_as_an_answer_to_any_request():
    stream = Stream()
    stream.sent(register(1))
    first = len(stream.events)
    stream.dropped(b"SIP/2.0 9999 Bad\r\n\r\n")
    assert stream.capture.received_since(first, "c1") is True
    stream.dropped(b"\x16\x03\x01 not sip", remote="203.0.113.5:4000")  # a third party
    later = len(stream.events) - 1
    assert stream.capture.received_since(later, "c1") is False
