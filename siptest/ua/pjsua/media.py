"""Media of a pjsua2 call: DTMF, and the RTP/RTCP statistics.

Functions of a live pjsua2 Call (they receive the pjsua2 module, imported lazily).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence, Set
from typing import Any

from siptest.ua.calls import CallSpec
from siptest.ua.evidence import media_stalls
from siptest.ua.mediaevents import MediaSample, MediaTick, StreamStats


def send_dtmf(pj: Any, call: Any, spec: CallSpec, answered: Callable[[], bool]) -> str:
    """Send the spec's digits (RFC 4733 events or SIP INFO); the digits sent.

    SIP INFO goes one digit per request, each after the previous one's final
    response (`answered` waits for it, bounded, and says whether it came).
    pjsua would send them back to back, and a proxy with several workers can
    reorder them; the far end then refuses the overtaken request as an
    out-of-order CSeq (500) and the digit is lost. Sending stops when a request
    gets no answer at all.
    """
    if not spec.dtmf:
        return ""
    if spec.dtmf_method != "info":
        try:
            call.dialDtmf(spec.dtmf)
        except pj.Error:  # tolerated: the report says no digit was sent
            return ""
        return spec.dtmf
    sent = ""
    for digit in spec.dtmf:
        param = pj.CallSendDtmfParam()
        param.method = pj.PJSUA_DTMF_METHOD_SIP_INFO
        param.digits = digit
        try:
            call.sendDtmf(param)
        except pj.Error:  # tolerated: the report says which digits were sent
            break
        sent += digit
        if not answered():
            break
    return sent


def read_stream(pj: Any, call: Any) -> tuple[Any, Any] | None:
    """The call's stream statistics and info now: pjsua2 returns copies, which stay
    readable after the stream is gone (the far end hung up). None: no stream."""
    try:
        return call.getStreamStat(0), call.getStreamInfo(0)
    except pj.Error:  # tolerated: no audio stream (yet, or any more)
        return None


PayloadTypes = Mapping[int, int]
"""RTP packets a call received, by payload type (`MediaTap.payload_types`)."""


def audio_received(
    stat: Any, info: Any, payload_types: PayloadTypes | None, agreed: Set[int] = frozenset()
) -> int:
    """Packets from the far end that carried audio: those with the payload type the
    stream decodes (the SDP answer's codec, `StreamInfo.rxPt`) or of another audio
    codec the offer and answer both list (`agreed`, `evidence.agreed_audio`: RFC 3264
    5.1 lets the far end change among them without a new offer), as the media tap
    counted them. Not pjmedia's `rxStat.pkt`: it also counts the RTP the stream
    throws away for a payload type never negotiated, and the telephone events
    (RFC 4733) it reads as DTMF, which are not audio either. Without the tap's count
    (no watched transport) pjmedia's is all there is."""
    if payload_types is None:
        return int(stat.rtcp.rxStat.pkt)
    audio = {int(info.rxPt), *agreed}
    return sum(count for kind, count in payload_types.items() if kind in audio)


def unnegotiated(
    info: Any, payload_types: PayloadTypes | None, agreed: Set[int] = frozenset()
) -> int:
    """Packets from the far end whose payload type is neither an agreed codec's
    (`audio_received`) nor its telephone events' (`StreamInfo.audRxEventPt`):
    nothing the stream can use."""
    if payload_types is None:
        return 0
    known = {int(info.rxPt), int(info.audRxEventPt), *agreed}
    return sum(count for kind, count in payload_types.items() if kind not in known)


def tick_of(
    stat: Any,
    info: Any,
    at: float,
    payload_types: PayloadTypes | None = None,
    agreed: Set[int] = frozenset(),
) -> MediaTick:
    """A tick from stream statistics and info read at `at` seconds into the call."""
    rtcp = stat.rtcp
    rx, tx = rtcp.rxStat, rtcp.txStat
    reports = int(tx.updateCount)
    return MediaTick(
        at=at,
        received=audio_received(stat, info, payload_types, agreed),
        received_lost=int(rx.loss),
        received_jitter_ms=_latest_ms(rx.jitterUsec),
        sent=int(tx.pkt),
        reports=reports,
        reported=max(0, int(tx.pkt) - int(tx.loss)) if reports else 0,
        reported_lost=int(tx.loss) if reports else 0,
        reported_jitter_ms=_latest_ms(tx.jitterUsec) if reports else None,
    )


def _latest_ms(stat: Any) -> float | None:
    """A pjmedia math stat's latest value (microseconds) in ms; None before any."""
    return float(stat.last) / 1000 if stat.n else None


def media_sample(
    pj: Any,
    call: Any,
    seconds: float,
    ticks: Sequence[MediaTick] = (),
    payload_types: PayloadTypes | None = None,
    agreed: Set[int] = frozenset(),
) -> MediaSample | None:
    """The call's stream statistics now, or None when it has no audio stream."""
    stream = read_stream(pj, call)
    if stream is None:  # no audio stream; the report says audio was not measured
        return None
    return sample_of(*stream, seconds, ticks, payload_types, agreed)


def sample_of(
    stat: Any,
    info: Any,
    seconds: float,
    ticks: Sequence[MediaTick] = (),
    payload_types: PayloadTypes | None = None,
    agreed: Set[int] = frozenset(),
) -> MediaSample:
    """A media sample from stream statistics and info read `seconds` into the call
    (`payload_types`: what the call received so far; `agreed`: the audio codecs both
    SDPs list; `audio_received`)."""
    rtcp = stat.rtcp
    stalls = media_stalls([tick.point for tick in ticks], seconds)

    def jitter(side: Any) -> float | None:
        return float(side.jitterUsec.mean) / 1000 if side.jitterUsec.n else None

    rx, tx = rtcp.rxStat, rtcp.txStat
    received = StreamStats(
        packets=audio_received(stat, info, payload_types, agreed),
        lost=int(rx.loss),
        jitter_ms=jitter(rx),
    )
    # `sent` means what the far end got (docs/media.md): from its RTCP receiver
    # reports when there are any; none while it sends RTCP means nothing arrived;
    # a peer without RTCP (SIPp echo) leaves only our own count.
    peer_rtcp = bool(getattr(rtcp.peerSdes, "cname", ""))
    if tx.updateCount > 0:
        sent = StreamStats(
            packets=max(0, int(tx.pkt) - int(tx.loss)), lost=int(tx.loss), jitter_ms=jitter(tx)
        )
    elif peer_rtcp:
        sent = StreamStats(packets=0, lost=int(tx.pkt), jitter_ms=None)
    else:
        sent = StreamStats(packets=int(tx.pkt), lost=0, jitter_ms=None)
    return MediaSample(
        codec=str(info.codecName),
        remote_rtp=str(info.remoteRtpAddress),
        sent=sent,
        received=received,
        rtt_ms=rtcp.rttUsec.mean / 1000 if rtcp.rttUsec.n else None,
        duration=seconds,
        received_stopped_at=stalls[0],
        sent_stopped_at=stalls[1],
        timeline=tuple(ticks),
        received_unnegotiated=unnegotiated(info, payload_types, agreed),
    )
