"""What counts as audio received from the far end (`siptest.ua.pjsua.media`): the RTP
packets carrying the payload type the stream decodes, not pjmedia's count of every RTP
packet it got (docs/media.md)."""

from __future__ import annotations

from types import SimpleNamespace

from siptest.ua.pjsua.media import audio_received, sample_of, tick_of, unnegotiated


def stat(received: int) -> SimpleNamespace:
    """pjsua2's StreamStat as far as these functions read it."""
    empty = SimpleNamespace(n=0, mean=0, last=0)
    rx = SimpleNamespace(pkt=received, loss=0, jitterUsec=empty)
    tx = SimpleNamespace(pkt=100, loss=0, jitterUsec=empty, updateCount=0)
    rtcp = SimpleNamespace(rxStat=rx, txStat=tx, rttUsec=empty, peerSdes=SimpleNamespace(cname=""))
    return SimpleNamespace(rtcp=rtcp)


PCMA = SimpleNamespace(
    rxPt=8, audRxEventPt=101, codecName="PCMA", remoteRtpAddress="127.0.0.1:6000"
)


def test_only_the_negotiated_payload_type_counts_as_audio():
    # pjmedia counted 112: 90 PCMA, 12 telephone events, 10 of a type never negotiated
    assert audio_received(stat(112), PCMA, {8: 90, 101: 12, 96: 10}) == 90


def test_rtp_of_types_never_negotiated_is_no_audio_at_all():
    assert audio_received(stat(99), PCMA, {96: 99}) == 0
    assert audio_received(stat(0), PCMA, {}) == 0


def test_without_the_taps_count_pjmedias_count_stands():
    assert audio_received(stat(99), PCMA, None) == 99


def test_ticks_and_the_sample_count_the_same_audio():
    types = {8: 40, 96: 60}
    assert tick_of(stat(100), PCMA, 2.0, types).received == 40
    sample = sample_of(stat(100), PCMA, 2.0, (), types)
    assert sample.received.packets == 40
    assert sample_of(stat(100), PCMA, 2.0).received.packets == 100


def test_packets_neither_audio_nor_telephone_events_are_the_unnegotiated_ones():
    types = {8: 90, 101: 12, 96: 10, 0: 3}
    assert unnegotiated(PCMA, types) == 13
    assert sample_of(stat(115), PCMA, 2.0, (), types).received_unnegotiated == 13
    assert unnegotiated(PCMA, {8: 90, 101: 12}) == 0
    assert unnegotiated(PCMA, None) == 0
