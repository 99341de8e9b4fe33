"""Event streams built by hand for unit tests of one rule at a time.

Messages go through the same `Capture` the real agent uses (as the stack tap
would hand them over: bytes, transport, remote address), so stray detection,
the credential guard and the event types are the real ones. Whole runs are
tested from streams recorded against real peers (tests/data/events/).
"""

from __future__ import annotations

import re

from siptest.ua.capture import Capture, Tapped
from siptest.ua.events import (
    ConnectionOpened,
    DropCause,
    Event,
    MessageDropped,
    RegistrationStateChanged,
    TransportCause,
    TransportFailed,
)

SERVER = "192.0.2.1:5060"
LOCAL = "192.0.2.9:5060"


class Stream:
    """A capture fed by hand, on a clock that ticks 1 ms per event."""

    def __init__(self, transport: str = "UDP") -> None:
        self._t = 0.0
        self.transport = transport
        self.capture = Capture(clock=self._tick)

    def _tick(self) -> float:
        self._t += 0.001
        return self._t

    @property
    def events(self) -> list[Event]:
        return self.capture.events

    def add(self, direction: str, text: str, remote: str = SERVER) -> None:
        if direction == "sent":
            self.sent(text, remote)
        else:
            self.received(text, remote)

    def sent(self, text: str, remote: str = SERVER) -> bool:
        data = _with_via(text).encode()
        return self.capture.sent(
            Tapped(data, self.transport, remote, local=LOCAL), is_request=not _is_response(text)
        )

    def received(self, text: str | bytes, remote: str = SERVER, cut: bool = False) -> int | None:
        raw = text if isinstance(text, bytes) else _with_via(text).encode()
        request = not raw.upper().startswith(b"SIP/")
        return self.capture.received(
            Tapped(raw, self.transport, remote, local=LOCAL, cut=cut), is_request=request
        )

    def dropped(self, data: bytes, cause: DropCause = "malformed", remote: str = SERVER) -> None:
        self.capture.dropped(Tapped(data, self.transport, remote, local=LOCAL), cause)

    def connected(self, remote: str = SERVER) -> None:
        """The stack's TCP or TLS connection to `remote` is up (`ConnectionOpened`)."""
        self.events.append(ConnectionOpened(self._tick(), self.transport, remote))

    def said(self, line: str) -> None:
        self.capture.on_log(line)

    def failed(self, cause: TransportCause, detail: str = "") -> list[Event]:
        self.events.append(TransportFailed(self._tick(), SERVER, cause, detail))
        return self.events

    def state(
        self, code: int, reason: str, answered: bool = False, expiration: int = 0
    ) -> list[Event]:
        """pjsua's registration state, as the chain's last event; returns the stream."""
        self.events.append(
            RegistrationStateChanged(self._tick(), "sip:1001@example.com", code, reason,
                                     expiration, answered)
        )  # fmt: skip
        return self.events

    def dropped_events(self) -> list[MessageDropped]:
        return [e for e in self.events if isinstance(e, MessageDropped)]


def _is_response(text: str) -> bool:
    return text.upper().startswith("SIP/")


def _with_via(text: str) -> str:
    """Give a message without a Via one whose branch names its transaction
    (Call-ID and CSeq), as a real stack would: requests and their answers match."""
    if re.search(r"^(Via|v)\s*:", text, re.IGNORECASE | re.MULTILINE):
        return text
    call_id = re.search(r"^Call-ID:\s*(\S+)", text, re.IGNORECASE | re.MULTILINE)
    cseq = re.search(r"^CSeq:\s*(\d+)", text, re.IGNORECASE | re.MULTILINE)
    branch = f"z9hG4bK-{call_id.group(1) if call_id else 'x'}-{cseq.group(1) if cseq else 0}"
    start, _, rest = text.partition("\r\n")
    # ... and a From of the tests' account (sip:1001@example.com), as a real stack would.
    if not re.search(r"^(From|f)\s*:", text, re.IGNORECASE | re.MULTILINE):
        rest = f"From: <sip:1001@example.com>;tag=t\r\n{rest}"
    return f"{start}\r\nVia: SIP/2.0/UDP 192.0.2.9:5060;rport;branch={branch}\r\n{rest}"
