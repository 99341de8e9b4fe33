"""RTP and RTCP packets as siptest keeps them: their headers, never the audio.

The media tap (`siptest.ua.pjsua.mediatap`) sees every datagram of a call; siptest
keeps an RTP packet's header (RFC 3550 5.1: the fixed 12 bytes, the CSRC list and
a header extension) and an RTCP packet whole (reports and SDES, no audio). The
audio itself (what the far end said or played) never goes into a capture that is
meant for a ticket; a capture file marks each RTP packet as cut to its header.
"""

from __future__ import annotations

RTP_VERSION = 2
RTP_FIXED_HEADER = 12
RTCP_LIMIT = 1500
"""RTCP bytes kept at most: a compound packet fits one Ethernet frame."""


def is_rtcp(data: bytes) -> bool:
    """RFC 5761 4: on a shared port, packet types 192-223 are RTCP, never RTP."""
    return len(data) >= 2 and data[0] >> 6 == RTP_VERSION and 192 <= data[1] <= 223


def payload_type(data: bytes) -> int | None:
    """The payload type of an RTP packet (RFC 3550 5.1: the second byte, after the
    marker bit), from its first two bytes or more; None for a datagram that is not
    RTP version 2, or is RTCP on a shared port (RFC 5761 4)."""
    if len(data) < 2 or data[0] >> 6 != RTP_VERSION or is_rtcp(data):
        return None
    return data[1] & 0x7F


def rtp_header_length(data: bytes) -> int:
    """The length of an RTP packet's header (RFC 3550 5.1, 5.3.1), at most len(data).

    A datagram that is not RTP version 2 keeps its first 12 bytes at most: enough
    for a reader to see what it was.
    """
    if len(data) < RTP_FIXED_HEADER or data[0] >> 6 != RTP_VERSION:
        return min(len(data), RTP_FIXED_HEADER)
    length = RTP_FIXED_HEADER + 4 * (data[0] & 0x0F)
    if data[0] & 0x10 and len(data) >= length + 4:
        words = int.from_bytes(data[length + 2 : length + 4], "big")
        length += 4 + 4 * words
    return min(length, len(data))


def kept_bytes(data: bytes, rtcp: bool) -> bytes:
    """What siptest keeps of a media datagram: RTCP whole, RTP its header only."""
    if rtcp or is_rtcp(data):
        return data[:RTCP_LIMIT]
    return data[: rtp_header_length(data)]
