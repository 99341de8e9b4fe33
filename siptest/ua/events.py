"""What the user agent observed, as past-tense facts in one stream.

The pjsua2 agent taps the SIP stack itself (a pjsip module and the transport
manager's dropped-data hook, see `siptest.ua.pjsua.tap`) and turns everything
it sees into these frozen dataclasses, in the order it happened. Every later
step reads only this stream: the credential guard, the outcome of a REGISTER
chain or a call, the trace. So a stream recorded from a real run
(`siptest.ua.recording`) replays to the same verdict in a unit test.

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
    ├── ConnectionOpened         a TCP or TLS connection is up: what it carries goes out
    ├── MediaSampled             a call's RTP/RTCP statistics (`siptest.ua.mediaevents`)
    ├── MediaCaptured            a call's RTP/RTCP packets, when asked for (`--pcap`)
    ├── StackSaid                the stack's own words on a local failure
    └── CallbackFailed           siptest's own code raised inside a stack callback

Times are seconds on the agent's clock (passed in; monotonic, from its start).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal, TypeAlias

from siptest.sipmessage import SipMessage, redact, show_bytes

if TYPE_CHECKING:  # a call's media events: `siptest.ua.mediaevents`
    from siptest.ua.mediaevents import MediaCaptured, MediaSampled

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
    unsent: str = ""
    """Why it never went on the wire, though the stack was handed it: "" when it went.
    Unknown when it is handed over; what follows tells (`siptest.ua.evidence.unsent`):
    over TCP or TLS no connection to its peer ever came up, or the stack said it could
    not send it ("Operation not permitted"). Set where a stream is read for a report
    (`siptest.report.trace.traced`)."""
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


TransportCause = Literal[
    "unreachable", "tls", "refused", "transport", "not_tls", "tls_version", "no_route"
]


@dataclass(frozen=True)
class TransportFailed:
    """A failure that no SIP message carries."""

    at: float
    remote: str
    cause: TransportCause
    detail: str
    """In words: "ICMP port unreachable", the TLS verification errors..."""


@dataclass(frozen=True)
class ConnectionOpened:
    """A TCP or TLS connection is up (pjsip's transport state CONNECTED; for TLS, once
    the handshake is done), opened by siptest or by the server.

    A request over TCP or TLS is handed to the stack before its connection is up and
    goes on the wire only then: to a peer no connection ever reached (and nothing
    came from), it never left siptest (`siptest.ua.evidence.never_sent`).
    """

    at: float
    transport: str
    """TCP or TLS, as the stack named the transport."""
    remote: str
    """The peer: `host:port`."""


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


Event: TypeAlias = (
    "RequestSent | ResponseSent | RequestReceived | ResponseReceived | MessageDropped"
    " | RegistrationStateChanged | CallStateChanged | TransportFailed | ConnectionOpened"
    " | MediaSampled | MediaCaptured | StackSaid | CallbackFailed"
)
"""Everything the agent observes. Named in a string: the media events live in
`siptest.ua.mediaevents`, which a register check never imports (start-up time)."""

Watcher = Callable[[Sequence[Event], float], None]
"""Told, while the agent waits, what it observed since the last call and the time now
(on the agent's clock): what live progress on a terminal reads."""


def redact_bytes(data: bytes) -> bytes:
    """`redact` on bytes, every other byte kept as it was (latin-1 maps them 1:1)."""
    return redact(data.decode("latin-1")).encode("latin-1")
