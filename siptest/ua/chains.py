"""Reading the event stream: the messages of one exchange, and the guards' decisions.

Pure views over `siptest.ua.events`, shared by the outcome of a REGISTER chain or a
call (`outcomes.py`), the answers siptest could not take (`unreadable.py`) and the
agent's own waits.
"""

from __future__ import annotations

from collections.abc import Sequence

from siptest.sipmessage import contact_address
from siptest.ua.credentials import CredentialGuard
from siptest.ua.events import (
    Event,
    RegistrationStateChanged,
    RequestSent,
    ResponseReceived,
    StackSaid,
    WireMessage,
)
from siptest.ua.loops import LoopGuard


def replay_guard(events: Sequence[Event]) -> CredentialGuard:
    """The credential guard's decisions, rebuilt from the stream it saw."""
    guard = CredentialGuard()
    for event in events:
        if isinstance(event, RequestSent):
            guard.sent(event.message)
        elif isinstance(event, ResponseReceived) and not event.stray:
            guard.received(event.message)
    return guard


def replay_loops(events: Sequence[Event]) -> LoopGuard:
    """The loop guard's decisions, rebuilt from the stream it saw."""
    loops = LoopGuard()
    for event in events:
        if isinstance(event, RequestSent) and event.blocked:
            loops.allows(event.message)
        elif isinstance(event, ResponseReceived) and not event.stray:
            loops.received(event.message)
    return loops


def exchanged(events: Sequence[Event]) -> list[WireMessage]:
    """The messages between us and the server: stray responses left out."""
    return [e for e in events if isinstance(e, WireMessage) and not getattr(e, "stray", False)]


def register_chain(events: Sequence[Event], aor: str) -> list[Event]:
    """The events of one account's REGISTERs: its messages (by the Call-IDs of the
    REGISTERs it sent, From = `aor`), its pjsua state, and what belongs to no message.

    Another registered account's refresh, or a late answer to an abandoned
    un-REGISTER, can fall in the same window of the stream: it is not this chain.
    """
    ours = _aor_key(aor)
    call_ids = {
        e.message.header("call-id")
        for e in events
        if isinstance(e, RequestSent)
        and e.message.method == "REGISTER"
        and _aor_key(e.message.header("from") or "") == ours
    }
    chain: list[Event] = []
    for event in events:
        if isinstance(event, WireMessage):
            if event.message.method == "REGISTER" and event.message.header("call-id") in call_ids:
                chain.append(event)
        elif isinstance(event, RegistrationStateChanged):
            if _aor_key(event.aor) == ours:
                chain.append(event)
        else:
            chain.append(event)
    return chain


def _aor_key(address: str) -> tuple[str, str]:
    """(user, host) of an address of record, lower-case: pjsip writes the From of a
    REGISTER without the port the account's URI may carry."""
    uri = contact_address(address)
    user, _, hostport = uri.split(":", 1)[-1].rpartition("@")
    host = hostport[1:].split("]", 1)[0] if hostport.startswith("[") else hostport.split(":", 1)[0]
    return user, host


def sent_contact(events: Sequence[Event], aor: str) -> str | None:
    """The Contact our latest REGISTER for `aor` in `events` carried."""
    for event in reversed(register_chain(events, aor)):
        if isinstance(event, RequestSent) and event.message.method == "REGISTER":
            contact = event.message.header("contact")
            if contact:
                return contact.split(";expires=", 1)[0]
    return None


def final_register(events: Sequence[Event], aor: str) -> WireMessage | None:
    """The server's final answer to the latest REGISTER for `aor` (None: none came)."""
    events = register_chain(events, aor)
    sent = [
        m.message.cseq
        for m in events
        if isinstance(m, RequestSent) and not m.blocked and m.message.method == "REGISTER"
    ]
    finals = [
        m
        for m in exchanged(events)
        if m.direction == "received"
        and m.message.method == "REGISTER"
        and (m.message.code or 0) >= 200
        and (not sent or m.message.cseq == sent[-1])
    ]
    return finals[-1] if finals else None


def stack_words(events: Sequence[Event]) -> list[str]:
    return [e.text for e in events if isinstance(e, StackSaid)]
