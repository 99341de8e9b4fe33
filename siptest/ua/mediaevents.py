"""What the agent observes of a call's media: RTP/RTCP statistics and packets.

Part of the one event stream (`siptest.ua.events.Event`), in a module of their own
so that a register check, which has no media, never creates their classes
(start-up time: benchmarks/register_vs_sipsak.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from siptest.ua.events import Direction


@dataclass(frozen=True)
class StreamStats:
    """RTP/RTCP statistics for one direction of an answered call."""

    packets: int
    lost: int
    """Packets lost (from RTCP receiver reports for the sending direction)."""
    jitter_ms: float | None

    @property
    def loss_percent(self) -> float:
        total = self.packets + self.lost
        return 100.0 * self.lost / total if total else 0.0


@dataclass(frozen=True)
class MediaTick:
    """Where a call's audio stood at one moment while it was up (taken every 0.2 s)."""

    at: float
    """Seconds into the call (from the answer)."""
    received: int
    """Packets received from the far end so far."""
    received_lost: int
    """Packets from the far end lost so far (gaps in their sequence numbers)."""
    received_jitter_ms: float | None
    """The latest interarrival jitter of the far end's packets (RFC 3550 6.4.1)."""
    sent: int
    """Packets we sent so far."""
    reports: int
    """RTCP receiver reports received from the far end so far."""
    reported: int
    """Packets the far end's latest report says it got from us (0 before any)."""
    reported_lost: int
    """Packets the far end's latest report says it lost from us."""
    reported_jitter_ms: float | None
    """Jitter of our packets in the far end's latest report; None before any."""

    @property
    def point(self) -> tuple[float, int, int, int]:
        """The tick as `siptest.ua.evidence.MediaPoint` (what stall detection reads)."""
        return (self.at, self.received, self.reports, self.reported)


@dataclass(frozen=True)
class MediaSample:
    """What the media stream looked like when the call ended."""

    codec: str
    remote_rtp: str
    """Address and port the far end asked us to send RTP to (SDP c=/m=)."""
    sent: StreamStats
    """Our packets as the far end reported them (RTCP RR), or as we counted them."""
    received: StreamStats
    """The far end's packets as we received them."""
    rtt_ms: float | None
    duration: float
    """Seconds of media measured."""
    received_stopped_at: float | None = None
    """Seconds into the call after which no more packets came from the far end, when
    they stopped for good at least `STALL_SECONDS` before the end; None otherwise."""
    sent_stopped_at: float | None = None
    """Seconds into the call after which the far end's RTCP reports said it received
    nothing more from us while we kept sending; None otherwise (or no RTCP)."""
    timeline: tuple[MediaTick, ...] = ()
    """The stream every 0.2 s while the call was up, for the HTML report's charts
    (empty in streams recorded before siptest kept it)."""
    received_unnegotiated: int = 0
    """RTP packets from the far end with a payload type the SDP answer never agreed
    (neither the codec's nor telephone-event's): pjmedia discards them undecoded, and
    `received` does not count them."""


@dataclass(frozen=True)
class MediaSampled:
    """The RTP/RTCP statistics of one of our calls, read when it ended."""

    at: float
    call_id: str
    sample: MediaSample


@dataclass(frozen=True)
class MediaPacket:
    """One RTP or RTCP datagram our media transport sent or received."""

    at: float
    """Seconds on the agent's clock: when the transport sent it or handed it up."""
    direction: Direction
    rtcp: bool
    """Sent or received on the RTCP port (RTCP multiplexed on the RTP port, RFC 5761,
    arrives as RTP: `siptest.ua.rtp.is_rtcp` tells it by its packet type)."""
    local: str
    """Our side: `host:port` of the transport's socket."""
    remote: str
    """The other side: where it went, or where it came from."""
    size: int
    """The datagram's whole length in bytes."""
    head: bytes = field(repr=False)
    """Its first bytes: an RTP packet's header (fixed part, CSRCs, extension), without
    the audio; an RTCP packet whole (`siptest.ua.rtp.kept_bytes`)."""


@dataclass(frozen=True)
class MediaCaptured:
    """The RTP/RTCP packets of one of our calls, from its first to its end."""

    at: float
    call_id: str
    packets: tuple[MediaPacket, ...]
