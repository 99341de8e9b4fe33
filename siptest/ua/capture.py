"""The agent's record: every message the stack tap saw, as events, in order.

`Capture` takes what `siptest.ua.pjsua.tap` reads from the SIP stack (exact bytes,
transport, remote address), stamps it with the clock it was given, and keeps
it as events (`siptest.ua.events`). It also answers the tap's two questions:
may this request leave (the credential guard), and should siptest answer this
incoming request itself before the stack allocates anything for it.

No pjsua2 in here: it is tested with bytes alone.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from siptest.sipmessage import SipMessage, header_params, parse_message
from siptest.ua.credentials import CredentialGuard
from siptest.ua.events import (
    CallbackFailed,
    DropCause,
    Event,
    MessageDropped,
    RequestReceived,
    RequestSent,
    ResponseReceived,
    ResponseSent,
    StackSaid,
    Watcher,
    WireMessage,
)
from siptest.ua.loops import LoopGuard

Clock = Callable[[], float]
IncomingPolicy = Callable[[SipMessage], "int | None"]


@dataclass(frozen=True)
class Tapped:
    """One message as the stack tap read it (`siptest.ua.pjsua.tap`)."""

    data: bytes
    transport: str
    remote: str
    local: str = ""
    """Our side: the address and port the stack used (or publishes) for it."""
    cut: bool = False
    """A UDP datagram that filled the stack's whole packet buffer (probably longer)."""


def _never_refuse(message: SipMessage) -> int | None:
    return None


def monotonic_clock() -> Clock:
    """Seconds since this call, on the monotonic clock."""
    start = time.monotonic()
    return lambda: time.monotonic() - start


class Capture:
    """The exchange as siptest keeps it; implements the tap's handler."""

    def __init__(
        self,
        clock: Clock | None = None,
        secrets: tuple[str, ...] = (),
        incoming: IncomingPolicy = _never_refuse,
    ) -> None:
        self.now = clock or monotonic_clock()
        self.events: list[Event] = []
        """Everything observed, in order."""
        self.guard = CredentialGuard()
        self.loops = LoopGuard()
        self.incoming = incoming
        """Decides which incoming requests siptest answers itself (by status code)."""
        self._secrets = tuple(s for s in secrets if s)
        self._branches: dict[str, str] = {}
        """Via branch of each request sent -> where it went."""
        self._destinations: set[str] = set()
        self._said = 0
        self.watcher: Watcher | None = None
        """Who is told about new events as they come (`tick`); nobody by default."""
        self._watched = 0

    # -- views --------------------------------------------------------------------

    @property
    def messages(self) -> list[WireMessage]:
        return [e for e in self.events if isinstance(e, WireMessage)]

    def since(self, first: int) -> list[Event]:
        return self.events[first:]

    def received_since(self, first: int, call_id: str | None = None) -> bool:
        """Anything answered since event `first`: a response (of the dialog `call_id`
        when given: not a late answer to another request), or bytes from the server
        the stack could not read (whose request they answer is unknown)."""
        return any(
            (
                isinstance(e, ResponseReceived)
                and not e.stray
                and (call_id is None or e.message.header("call-id") == call_id)
            )
            or (isinstance(e, MessageDropped) and e.from_server)
            for e in self.events[first:]
        )

    def failures(self) -> list[CallbackFailed]:
        return [e for e in self.events if isinstance(e, CallbackFailed)]

    def tick(self) -> None:
        """Tell the watcher what happened since the last tick, and the time now.

        The agent calls it from its poll loops, on its own thread: a watcher that
        raised would end the test, so it is told nothing more after that.
        """
        watcher = self.watcher
        if watcher is None:
            return
        new = self.events[self._watched :]
        self._watched = len(self.events)
        try:
            watcher(new, self.now())
        except Exception:  # progress is a courtesy: it must never stop a test
            self.watcher = None

    # -- the tap's handler ---------------------------------------------------------

    def sent(self, tapped: Tapped, is_request: bool) -> bool:
        parsed = _parse(tapped.data)
        if not is_request:
            self.events.append(ResponseSent(**self._where(tapped), message=parsed))
            return True
        self.guard.sent(parsed)
        allowed = self.guard.allows(parsed) and self.loops.allows(parsed)
        if allowed:
            branch = _branch(parsed)
            if branch:
                self._branches[branch] = tapped.remote
            self._destinations.add(tapped.remote)
        self.events.append(RequestSent(**self._where(tapped), message=parsed, blocked=not allowed))
        return allowed

    def received(self, tapped: Tapped, is_request: bool) -> int | None:
        parsed = _parse(tapped.data)
        if is_request:
            refused = self.incoming(parsed)
            self.events.append(
                RequestReceived(**self._where(tapped), message=parsed, refused=refused)
            )
            return refused
        # RFC 3261 17.1.3: a response belongs to the client transaction whose branch
        # its top Via carries. The branch is random: a third party cannot guess it, so a
        # response carrying one of ours is the server's even from another address (a
        # multi-homed server; pjsip takes it too, and the verdict must agree).
        went_to = self._branches.get(_branch(parsed) or "")
        stray = went_to is None
        if not stray:
            self.guard.received(parsed)
            self.loops.received(parsed)
        self.events.append(
            ResponseReceived(
                **self._where(tapped),
                message=parsed,
                stray=stray,
                cut=tapped.cut,
                elsewhere=went_to is not None and went_to != tapped.remote,
            )
        )
        return None

    def dropped(self, tapped: Tapped, cause: DropCause) -> None:
        self.events.append(
            MessageDropped(
                **self._where(tapped),
                cause=cause,
                from_server=tapped.remote in self._destinations,
            )
        )

    def _where(self, tapped: Tapped) -> dict[str, Any]:
        """The fields every message event has: when (now), how, where, what."""
        return {
            "at": self.now(),
            "transport": tapped.transport,
            "local": tapped.local,
            "remote": tapped.remote,
            "data": tapped.data,
        }

    def failed(self, where: str, error: BaseException) -> None:
        self.events.append(CallbackFailed(self.now(), where, f"{type(error).__name__}: {error}"))

    # -- the stack's log -----------------------------------------------------------

    def on_log(self, line: str) -> None:
        """One line of the stack's log (messages themselves are not logged).

        Kept only for what no hook gives: pjsip's words for a failed connection
        or handshake. A line holding the password is left out whole rather than
        masked (masking would show where the password's text stands).
        """
        text = line.rstrip()
        if not _FAILURE_WORDS.search(text) or any(s in text for s in self._secrets):
            return
        if self._said < _MAX_SAID:
            self._said += 1
            self.events.append(StackSaid(self.now(), text[:500]))


# The stack's words worth keeping: why a connection, a name or a handshake failed.
_FAILURE_WORDS = re.compile(
    r"error|fail|refused|unreachable|resolve|ssl|tls|certificate|handshake|verif|timed? ?out",
    re.IGNORECASE,
)
_MAX_SAID = 200


def _parse(data: bytes) -> SipMessage:
    parsed = parse_message(data)
    return parsed if parsed is not None else SipMessage(start_line="")


def _branch(message: SipMessage) -> str | None:
    via = message.header("via")
    if via is None:
        return None
    return header_params(via.split(",", 1)[0]).get("branch") or None
