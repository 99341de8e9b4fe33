"""Everything the SIP stack said, redacted at once: messages, log lines, drops.

pjsua2 logs every SIP message it sends or receives (level 4, with the full
text); the agent hands each log line to a `Capture`, which keeps the messages
as `WireMessage` facts with credentials removed, remembers messages pjsip
dropped as unparsable, and answers the credential guard's question for the
outgoing-request hook. No pjsua2 in here: it is tested with log lines alone.
"""

from __future__ import annotations

import re
import time
from collections import deque
from typing import Literal

from siptest.sipmessage import SipMessage, parse_message, redact
from siptest.ua.base import WireMessage
from siptest.ua.credentials import CredentialGuard

# pjsip drops a message it cannot parse and says so only in its log
# (sip_transport.c: "Dropping N bytes packet from UDP ADDR : why", and for
# streams "Error processing packet from ADDR: why").
_DROPPED = re.compile(
    r"^(?:Dropping \d+ bytes packet from \S+ \S+ :|Error processing packet from \S+:)"
    r" *(?P<why>[^\r\n]*)"
)
_LOG_MESSAGE = re.compile(
    r"^(?P<dir>TX|RX) \d+ bytes (?P<info>.*?) (?:to|from) (?P<tp>\S+) (?P<peer>\S+):\r?\n"
    r"(?P<text>.*?)\r?\n?--end msg--",
    re.DOTALL,
)


class Capture:
    """The SIP exchange and the stack's own words, as siptest keeps them."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        self.secrets = secrets
        self.messages: list[WireMessage] = []
        """Every message sent or received, redacted, in order."""
        self.log_tail: deque[str] = deque(maxlen=40)
        """The stack's last other log lines, redacted (for local failure details)."""
        self.dropped: list[tuple[int, str]] = []
        """Unparsable messages pjsip dropped: (len(messages) at the time, why)."""
        self.tls_problems: list[str] = []
        """Why the last TLS handshake failed, in pjsip's words ("...has expired")."""
        self.guard = CredentialGuard()
        self._pending_sent: dict[str, SipMessage] = {}
        self._t0 = time.monotonic()

    def now(self) -> float:
        """Seconds since the capture started."""
        return time.monotonic() - self._t0

    def received_since(self, first: int) -> bool:
        return any(m.direction == "received" for m in self.messages[first:])

    def veto(self, info: str) -> bool:
        """Should the request pjsip is about to send (by its info string) be stopped?

        The message was logged just before (the logger runs first); a stopped
        one is marked `blocked` so the trace shows it was never sent.
        """
        message = self._pending_sent.pop(info, None)
        if message is None or self.guard.allows(message):
            return False
        for index in range(len(self.messages) - 1, -1, -1):
            if self.messages[index].message is message:
                old = self.messages[index]
                self.messages[index] = WireMessage(
                    old.direction, old.at, old.transport, old.peer, old.text, message, True
                )
                break
        return True

    def on_log(self, line: str) -> None:
        """Take one pjsua2 log line."""
        match = _LOG_MESSAGE.match(line)
        if not match:
            dropped = _DROPPED.match(line)
            if dropped:
                why = redact(dropped.group("why").strip(), self.secrets)[:200]
                self.dropped.append((len(self.messages), why))
            self.log_tail.append(redact(line.rstrip(), self.secrets))
            return
        text = match.group("text")
        parsed = parse_message(text)
        if parsed is None:
            parsed = SipMessage(start_line=text.split("\n", 1)[0][:200])
        direction: Literal["sent", "received"] = (
            "sent" if match.group("dir") == "TX" else "received"
        )
        if direction == "sent":
            self.guard.sent(parsed)
            self._pending_sent[match.group("info")] = parsed
        else:
            self.guard.received(parsed)
        self.messages.append(
            WireMessage(
                direction=direction,
                at=self.now(),
                transport=match.group("tp"),
                peer=match.group("peer"),
                text=redact(text, self.secrets),
                message=parsed,
            )
        )
