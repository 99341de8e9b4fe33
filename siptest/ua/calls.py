"""A test call as the agent takes it (`CallSpec`) and gives it back (`CallCompleted`).

Apart from `siptest.ua.base` so that a register check never creates their classes
(start-up time: benchmarks/register_vs_sipsak.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from siptest.ua.base import Response
    from siptest.ua.mediaevents import MediaSample


@dataclass(frozen=True)
class CallSpec:
    """A test call: what to dial and how long to let it ring and talk."""

    number: str
    """What the user dials: digits, or a full `sip:` URI."""
    ring_timeout: float = 30.0
    """Seconds to let it ring before sending CANCEL."""
    talk: float = 2.0
    """Seconds to hold an answered call before BYE."""
    dtmf: str = ""
    """Digits to send once answered, by `dtmf_method`."""
    dtmf_method: Literal["rfc4733", "info"] = "rfc4733"
    registered: bool = True
    """False for --no-register: the INVITE goes straight to the server."""


@dataclass(frozen=True)
class CallCompleted:
    """The end of one test call, from INVITE to BYE or final failure."""

    number: str
    uri: str
    """The Request-URI we dialled."""
    provisional: tuple[int, ...]
    """1xx codes received, in order (100, 180, 183...)."""
    answered: bool
    response: Response
    """The final response to the INVITE (2xx when answered)."""
    requests_sent: int
    """INVITEs that went on the wire (challenges answered count)."""
    credentials_sent: bool
    credentials_rejected: bool
    cancelled_by_us: bool
    """We sent CANCEL (ring timeout or interruption)."""
    interrupted: bool = False
    """The CANCEL was because siptest was interrupted (Ctrl-C, a signal), not the ring timeout."""
    hangup: Literal["us", "remote"] | None = None
    """Who ended an answered call: "remote" when the far end sent BYE, "us" when
    siptest did (its hang-up, or its stack refusing an unusable answer)."""
    bye_answered: bool | None = None
    """Our BYE got a final answer (False: none came within the timeout; None: no BYE)."""
    answer_repeats: int = 0
    """The far end's 2xx to the INVITE received again after siptest's ACK: each one
    means no ACK had reached it yet (RFC 3261 13.3.1.4)."""
    bye_refused: str = ""
    """The far end's failure answer to our BYE, e.g. "481 Call/Transaction Does Not
    Exist" (it no longer knew the call); "" when it accepted it or sent no answer."""
    talk_seconds: float = 0.0
    media: MediaSample | None = None
    dtmf_sent: str = ""
    dtmf_received: str = ""
    """Digits the far end sent us (echo services, second test account)."""
    dtmf_refused: str = ""
    """The far end's refusal of a SIP INFO digit, e.g. "501 Not Implemented"; "" if none."""
    held: str | None = None
    """The far end put the answered call on hold with a re-INVITE (RFC 3264 8.4): how
    its SDP said so ("a=sendonly", "a=inactive", "c=0.0.0.0"); None when its last
    re-INVITE did not, or it sent none."""
    remote_sdp_address: str | None = None
    """The c= address in the far end's SDP (NAT evidence)."""
    sent_to: str | None = None
    """`host:port` the last INVITE went to (resolved, through any outbound proxy)."""
