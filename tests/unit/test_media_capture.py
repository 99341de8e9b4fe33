"""RTP/RTCP packets as siptest keeps them (`siptest.ua.rtp`) and writes them (`--pcap`)."""

from __future__ import annotations

import io
import socket
import struct

import dpkt
import pytest

from siptest.report.pcap import pcap_bytes
from siptest.sipmessage import parse_message
from siptest.ua.events import RequestSent
from siptest.ua.mediaevents import MediaCaptured, MediaPacket
from siptest.ua.recording import events_from_json, events_to_json
from siptest.ua.rtp import is_rtcp, kept_bytes, payload_type, rtp_header_length


def rtp(seq: int, *, csrcs: int = 0, extension_words: int | None = None, payload=160) -> bytes:
    first = 0x80 | csrcs | (0x10 if extension_words is not None else 0)
    data = struct.pack("!BBHII", first, 8, seq, seq * 160, 0x11223344)
    data += b"".join(struct.pack("!I", 1000 + n) for n in range(csrcs))
    if extension_words is not None:
        data += struct.pack("!HH", 0xBEDE, extension_words) + bytes(4 * extension_words)
    return data + b"\xd5" * payload


RTCP_RR = bytes.fromhex("81c900072171cd21") + bytes(24)


@pytest.mark.parametrize(
    ("packet", "length"),
    [
        (rtp(1), 12),
        (rtp(1, csrcs=2), 20),
        (rtp(1, extension_words=3), 12 + 4 + 12),
        (rtp(1, csrcs=1, extension_words=1), 12 + 4 + 4 + 4),
        (rtp(1, payload=0), 12),
    ],
)
def test_an_rtp_header_is_the_fixed_part_csrcs_and_extension(packet, length):
    assert rtp_header_length(packet) == length
    assert kept_bytes(packet, rtcp=False) == packet[:length]


def test_a_datagram_that_is_not_rtp_keeps_at_most_twelve_bytes():
    assert rtp_header_length(b"\x00" * 40) == 12
    assert rtp_header_length(b"\x80\x08") == 2
    assert kept_bytes(b"hello, this is not RTP at all", rtcp=False) == b"hello, this "


def test_an_extension_longer_than_the_datagram_is_cut_at_its_end():
    packet = rtp(1, extension_words=1, payload=0)[:-2]
    assert rtp_header_length(packet) == len(packet)


def test_rtcp_is_kept_whole_and_told_apart_from_rtp_by_its_packet_type():
    assert is_rtcp(RTCP_RR) and not is_rtcp(rtp(1))
    assert kept_bytes(RTCP_RR, rtcp=True) == RTCP_RR
    # RFC 5761: RTCP multiplexed on the RTP port arrives as RTP, and stays whole
    assert kept_bytes(RTCP_RR, rtcp=False) == RTCP_RR


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (rtp(1), 8),
        (rtp(1)[:2], 8),  # the tap reads two bytes of a datagram of 12 or more
        (struct.pack("!BB", 0x80, 0x80 | 101) + bytes(14), 101),  # marker bit set
        (struct.pack("!BB", 0x80, 96) + bytes(10), 96),
    ],
)
def test_an_rtp_packets_payload_type_is_its_second_byte_without_the_marker(data, kind):
    assert payload_type(data) == kind


@pytest.mark.parametrize(
    "data",
    [RTCP_RR, b"\x00\x08" + bytes(10), b"\x40\x08" + bytes(10), b"\x80", b""],
    ids=["rtcp", "version-0", "version-1", "one-byte", "empty"],
)
def test_a_datagram_that_is_not_rtp_has_no_payload_type(data):
    assert payload_type(data) is None


def packet(at, direction, seq, *, rtcp=False, local="127.0.0.1:4000", remote="127.0.0.1:6000"):
    data = RTCP_RR if rtcp else rtp(seq)
    return MediaPacket(
        at=at,
        direction=direction,
        rtcp=rtcp,
        local=local,
        remote=remote,
        size=len(data),
        head=kept_bytes(data, rtcp),
    )


def invite(at: float) -> RequestSent:
    data = b"INVITE sip:7000@127.0.0.1 SIP/2.0\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\r\n"
    parsed = parse_message(data)
    assert parsed is not None
    return RequestSent(at, "UDP", "127.0.0.1:5062", "127.0.0.1:5060", data, parsed)


def records(events):
    return list(dpkt.pcap.Reader(io.BytesIO(pcap_bytes(events, started=1000.0))))


def test_rtp_packets_are_cut_after_their_header_and_say_their_length_on_the_wire():
    events = [MediaCaptured(2.0, "c1", (packet(1.0, "sent", 7), packet(1.01, "received", 7)))]
    data = pcap_bytes(events, started=1000.0)
    # the record header: caplen (IP 20 + UDP 8 + RTP header 12) and the wire length
    caplen, length = struct.unpack_from("<II", data, 24 + 8)
    assert (caplen, length) == (20 + 8 + 12, 20 + 8 + 172)
    sent, received = (dpkt.ip.IP(raw) for _, raw in records(events))
    assert socket.inet_ntoa(sent.src) == "127.0.0.1"
    assert (sent.data.sport, sent.data.dport) == (4000, 6000)
    assert (received.data.sport, received.data.dport) == (6000, 4000)
    assert sent.len == 200 and sent.data.ulen == 180 and sent.data.sum == 0
    assert bytes(sent.data)[8:20] == rtp(7)[:12]
    assert b"\xd5" not in bytes(sent.data)  # no audio in the file


def test_rtcp_packets_are_whole_and_media_joins_the_sip_messages_in_time_order():
    events = [
        invite(0.5),
        MediaCaptured(3.0, "c1", (packet(1.0, "sent", 1), packet(2.0, "sent", 0, rtcp=True))),
        invite(1.5),
    ]
    found = records(events)
    assert [ts for ts, _ in found] == pytest.approx([1000.5, 1001.0, 1001.5, 1002.0])
    last = dpkt.ip.IP(found[3][1])
    assert bytes(last.data)[8:] == RTCP_RR
    assert b"INVITE" in bytes(dpkt.ip.IP(found[0][1]).data)


def test_a_call_without_media_packets_adds_nothing_to_the_capture():
    assert len(records([invite(0.5), MediaCaptured(1.0, "c1", ())])) == 1


def test_media_packets_survive_a_recording_of_the_event_stream():
    events = [MediaCaptured(2.0, "c1", (packet(1.0, "sent", 7), packet(1.5, "received", 0)))]
    assert events_from_json(events_to_json(events)) == events


CALLER, CALLEE = "127.0.0.1:4000", "127.0.0.1:4002"


def ports(events):
    return [
        (ip.data.sport, ip.data.dport, bytes(ip.data)[8:20])
        for ip in (dpkt.ip.IP(raw) for _, raw in records(events))
    ]


def test_a_call_between_two_of_our_accounts_writes_each_datagram_once_when_it_was_sent():
    # The caller's transport sent RTP 7 and RTCP to the callee's, which received them;
    # the callee sent RTP 9 back, which the caller received.
    caller = (
        packet(1.0, "sent", 7, local=CALLER, remote=CALLEE),
        packet(1.1, "sent", 0, rtcp=True, local=CALLER, remote=CALLEE),
        packet(1.3, "received", 9, local=CALLER, remote=CALLEE),
    )
    callee = (
        packet(1.01, "received", 7, local=CALLEE, remote=CALLER),
        packet(1.11, "received", 0, rtcp=True, local=CALLEE, remote=CALLER),
        packet(1.29, "sent", 9, local=CALLEE, remote=CALLER),
    )
    found = records([MediaCaptured(2.0, "c1", caller), MediaCaptured(2.1, "c1", callee)])
    assert [ts for ts, _ in found] == pytest.approx([1001.0, 1001.1, 1001.29])
    assert ports([MediaCaptured(2.0, "c1", caller), MediaCaptured(2.1, "c1", callee)]) == [
        (4000, 4002, rtp(7)[:12]),
        (4000, 4002, RTCP_RR[:12]),
        (4002, 4000, rtp(9)[:12]),
    ]


def test_a_datagram_sent_twice_and_received_twice_is_written_twice():
    twice = (
        packet(1.0, "sent", 7, local=CALLER, remote=CALLEE),
        packet(1.02, "sent", 7, local=CALLER, remote=CALLEE),
    )
    got = (
        packet(1.01, "received", 7, local=CALLEE, remote=CALLER),
        packet(1.03, "received", 7, local=CALLEE, remote=CALLER),
        packet(1.04, "received", 7, local=CALLEE, remote=CALLER),
    )
    # two sent, three received: the third copy was not ours to send (a far end's)
    found = records([MediaCaptured(2.0, "c1", twice), MediaCaptured(2.1, "c1", got)])
    assert [ts for ts, _ in found] == pytest.approx([1001.0, 1001.02, 1001.04])


def test_an_echo_of_our_own_packet_is_another_datagram_and_stays():
    # A far end that echoes RTP (the lab's SIPp) sends our header back: same bytes,
    # the other way, so it is not the datagram we sent.
    events = [MediaCaptured(2.0, "c1", (packet(1.0, "sent", 7), packet(1.01, "received", 7)))]
    assert [(a, b) for a, b, _ in ports(events)] == [(4000, 6000), (6000, 4000)]
