"""What the user agent observed, as past-tense facts in one stream.

The pjsua2 agent taps the SIP stack itself (a pjsip module and the transport
manager's dropped-data hook, see `siptest.ua.pjsua.tap`) and turns everything
it sees into these frozen dataclasses, in the order it happened. Every later
step reads only this stream: the credential guard, the outcome of a REGISTER
chain or a call, the trace. So a stream recorded from a real run
(`events_to_json`) replays to the same verdict in a unit test.

    Event
    ├── WireMessage              a SIP message, its exact bytes
    │   ├── RequestSent          (blocked: siptest stopped it)
    │   ├── ResponseSent         (our answers: 200 to BYE, 486 to unwanted INVITEs)
    │   ├── RequestReceived      (refused: siptest answered it before the stack took it)
    │   └── ResponseReceived     (stray: not an answer to anything we sent there)
    ├── MessageDropped           bytes the stack refused (malformed, too large)
    ├── RegistrationStateChanged pjsua's view of a REGISTER chain's end
    ├── CallStateChanged         pjsua's view of a call's state
    ├── TransportFailed          a failure with no SIP message (ICMP, TLS verification)
    ├── MediaSampled             a call's RTP/RTCP statistics (and their timeline)
    ├── MediaCaptured            a call's RTP/RTCP packets, when asked for (`--pcap`)
    ├── StackSaid                the stack's own words on a local failure
    └── CallbackFailed           siptest's own code raised inside a stack callback

Times are seconds on the agent's clock (passed in; monotonic, from its start).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Literal

from siptest.sipmessage import SipMessage, parse_message, redact, show_bytes

Direction = Literal["sent", "received"]

STALL_SECONDS = 1.0
"""Audio that stops for this long before the end of a call has stopped (RTP at 50
packets/s: 50 packets missing, no jitter buffer hides that)."""

PACKET_LIMIT = 4000
"""The largest SIP message siptest's SIP stack accepts (PJSIP_MAX_PKT_LEN in the
pjsua2 wheel): a longer UDP datagram is cut there, a longer TCP/TLS message dropped."""


@dataclass(frozen=True)
class WireBytes:
    """Bytes that crossed the wire, with where and when."""

    at: float
    """Seconds on the agent's clock."""
    transport: str
    """UDP, TCP or TLS, as the stack named the transport."""
    local: str
    """Our side: `host:port` of the socket, or the address the stack publishes for it."""
    remote: str
    """The other side: `host:port` they went to or came from ("" when unknown)."""
    data: bytes = field(repr=False)
    """The exact bytes (credentials included: never print them, print `text`)."""

    @property
    def text(self) -> str:
        """The bytes for people: credentials redacted, any byte shown safely."""
        return redact(show_bytes(self.data))

    @property
    def peer(self) -> str:
        return self.remote


@dataclass(frozen=True)
class WireMessage(WireBytes):
    """A SIP message exactly as it crossed the wire (or, if blocked, would have)."""

    message: SipMessage
    """The parsed head of `data`."""

    direction: ClassVar[Direction]


@dataclass(frozen=True)
class RequestSent(WireMessage):
    """A request our stack sent."""

    blocked: bool = False
    """siptest stopped the stack from sending it (a credential retry after a rejection)."""
    direction: ClassVar[Direction] = "sent"


@dataclass(frozen=True)
class ResponseSent(WireMessage):
    """A response our stack sent (to BYE, INFO, OPTIONS, or refusing an INVITE)."""

    direction: ClassVar[Direction] = "sent"


@dataclass(frozen=True)
class RequestReceived(WireMessage):
    """A request that reached our contact (incoming INVITE, BYE, OPTIONS...)."""

    refused: int | None = None
    """The status siptest answered with itself, before the stack allocated anything
    for it (an INVITE the test did not ask for); None when the stack handled it."""
    direction: ClassVar[Direction] = "received"


@dataclass(frozen=True)
class ResponseReceived(WireMessage):
    """A response that reached us."""

    stray: bool = False
    """It answers nothing we sent (its top Via branch is none of ours): not the
    server's answer, whatever it says (a third party, or an old transaction)."""
    elsewhere: bool = False
    """It answers one of our requests but came from another address than the one the
    request went to (a multi-homed server): counted, and shown in the trace."""
    cut: bool = False
    """The datagram filled the stack's whole packet buffer: it was probably longer
    and the stack read only its first PACKET_LIMIT bytes."""
    direction: ClassVar[Direction] = "received"


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


DropCause = Literal["malformed", "too_large", "incomplete"]


@dataclass(frozen=True)
class MessageDropped(WireBytes):
    """Bytes that reached us and that the SIP stack refused to take as a message
    (`data`: as the stack held them, at most PACKET_LIMIT)."""

    cause: DropCause
    """`malformed`: not a SIP message; `too_large`: longer than PACKET_LIMIT bytes;
    `incomplete`: a message without its mandatory headers (Call-ID, CSeq, Via...)."""
    from_server: bool = False
    """They came from an address a request of ours went to."""


@dataclass(frozen=True)
class RegistrationStateChanged:
    """pjsua's account says a REGISTER chain ended (onRegState)."""

    at: float
    aor: str
    code: int
    """The final status pjsua saw; one it made up itself when no answer came."""
    reason: str
    expiration: int
    """Seconds pjsua believes it was granted (wraps above 2**32-1: read the 2xx)."""
    answered: bool
    """A message from the network decided it (pjsua's rdata was not empty)."""


@dataclass(frozen=True)
class CallStateChanged:
    """pjsua's view of one of our calls changed (onCallState)."""

    at: float
    call_id: str
    state: str
    """pjsip's invite session state: CALLING, EARLY, CONNECTING, CONFIRMED, DISCONNECTED."""
    code: int
    """The last status code pjsua knows for the call (its own on local failures)."""
    reason: str


TransportCause = Literal["unreachable", "tls", "refused", "transport", "not_tls", "tls_version"]


@dataclass(frozen=True)
class TransportFailed:
    """A failure that no SIP message carries."""

    at: float
    remote: str
    cause: TransportCause
    detail: str
    """In words: "ICMP port unreachable", the TLS verification errors..."""


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


@dataclass(frozen=True)
class StackSaid:
    """One line of the SIP stack's own log about a failure.

    The only thing still read from the stack's log: pjsip reports why a connection
    or a handshake failed ("Connection refused", "TLS connect() error") in words
    and in no callback siptest can hook without its private structures.
    """

    at: float
    text: str


@dataclass(frozen=True)
class CallbackFailed:
    """siptest's own code raised inside a callback from the SIP stack.

    Never silent: the agent stops with an internal error (exit 3) instead of
    letting the stack carry on as if nothing happened (a "408 no response").
    """

    at: float
    where: str
    error: str


Event = (
    RequestSent
    | ResponseSent
    | RequestReceived
    | ResponseReceived
    | MessageDropped
    | RegistrationStateChanged
    | CallStateChanged
    | TransportFailed
    | MediaSampled
    | MediaCaptured
    | StackSaid
    | CallbackFailed
)

Watcher = Callable[[Sequence[Event], float], None]
"""Told, while the agent waits, what it observed since the last call and the time now
(on the agent's clock): what live progress on a terminal reads."""

_KINDS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        RequestSent,
        ResponseSent,
        RequestReceived,
        ResponseReceived,
        MessageDropped,
        RegistrationStateChanged,
        CallStateChanged,
        TransportFailed,
        MediaSampled,
        MediaCaptured,
        StackSaid,
        CallbackFailed,
    )
}


def redact_bytes(data: bytes) -> bytes:
    """`redact` on bytes, every other byte kept as it was (latin-1 maps them 1:1)."""
    return redact(data.decode("latin-1")).encode("latin-1")


# -- recording ------------------------------------------------------------------


def event_to_dict(event: Event) -> dict[str, Any]:
    """One event as JSON-ready data; bytes as base64 (exact, any byte value).

    Credentials in recorded messages are redacted (`redact_bytes`): recordings are
    fixtures to keep in a repository.
    """
    out: dict[str, Any] = {"event": type(event).__name__}
    for item in fields(event):
        value = getattr(event, item.name)
        if item.name == "message":
            continue
        if isinstance(value, bytes):
            out[item.name] = base64.b64encode(redact_bytes(value)).decode("ascii")
        elif isinstance(value, MediaSample):
            out[item.name] = asdict(value)
        elif item.name == "packets":
            out[item.name] = [
                dict(asdict(packet), head=base64.b64encode(packet.head).decode("ascii"))
                for packet in value
            ]
        else:
            out[item.name] = value
    return out


def event_from_dict(data: dict[str, Any]) -> Event:
    cls = _KINDS[data["event"]]
    values: dict[str, Any] = {}
    for item in fields(cls):
        if item.name == "message":
            continue
        if item.name not in data:
            if item.name == "local":
                values["local"] = ""  # recorded before siptest kept it
            continue
        value = data[item.name]
        values[item.name] = base64.b64decode(value) if item.name == "data" else value
    if cls is MediaSampled:
        sample = dict(values["sample"])
        sample["sent"] = StreamStats(**sample["sent"])
        sample["received"] = StreamStats(**sample["received"])
        sample["timeline"] = tuple(MediaTick(**tick) for tick in sample.get("timeline", ()))
        values["sample"] = MediaSample(**sample)
    if cls is MediaCaptured:
        values["packets"] = tuple(
            MediaPacket(**dict(packet, head=base64.b64decode(packet["head"])))
            for packet in values["packets"]
        )
    if issubclass(cls, WireMessage):
        parsed = parse_message(values["data"])
        values["message"] = parsed if parsed is not None else SipMessage(start_line="")
    event: Event = cls(**values)
    return event


def events_to_json(events: list[Event] | tuple[Event, ...]) -> str:
    return "\n".join(json.dumps(event_to_dict(event), sort_keys=True) for event in events) + "\n"


def events_from_json(text: str) -> list[Event]:
    return [event_from_dict(json.loads(line)) for line in text.splitlines() if line.strip()]
