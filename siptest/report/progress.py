"""What siptest is doing right now, as one line for a terminal.

Pure: the agent's events (`siptest.ua.events`) go in one at a time through
`advance`, and `status_line` says where things stand at a given moment on the
agent's clock. Nothing here writes anywhere (`siptest.report.terminal` does).

    status = Status()
    for event in events:
        status = advance(status, event)
    status_line(status, now=3.2, width=80)   # "ringing 7001 - 2 s"

Events can come in any order and of any content (a server writes the reason
phrases): a step never goes back within a call (a late 180 after the answer is
not "ringing" again), unknown states change nothing, and every text from the
wire or the stack is shown with its unprintable characters escaped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from siptest.sipmessage import header_params
from siptest.ua.events import (
    CallStateChanged,
    RegistrationStateChanged,
    RequestSent,
    ResponseReceived,
    TransportFailed,
)

Phase = Literal[
    "starting",
    "registering",
    "challenged",
    "registered",
    "refused",
    "unanswered",
    "dialling",
    "ringing",
    "answered",
    "hanging_up",
    "call_ended",
    "unregistering",
    "unregistered",
    "failed",
]

_CALL_ORDER: dict[Phase, int] = {
    "dialling": 1,
    "ringing": 2,
    "answered": 3,
    "hanging_up": 4,
    "call_ended": 5,
}
"""Steps of one call, in order: a call never goes back to an earlier one."""

_WORDS: dict[Phase, str] = {
    "starting": "starting",
    "registering": "registering",
    "challenged": "challenged",
    "registered": "registered",
    "refused": "registration refused",
    "unanswered": "registration failed",
    "dialling": "dialling {number}",
    "ringing": "ringing {number}",
    "answered": "{number} answered, measuring audio",
    "hanging_up": "hanging up",
    "call_ended": "call ended",
    "unregistering": "un-registering",
    "unregistered": "un-registered",
    "failed": "no connection",
}

_COUNTING: frozenset[Phase] = frozenset({"registering", "dialling", "ringing", "answered"})
"""Phases that show a running count of seconds (the waits a person watches)."""

MIN_WIDTH = 20


@dataclass(frozen=True)
class Status:
    """Where the run stands."""

    phase: Phase = "starting"
    since: float = 0.0
    """When the phase began, on the agent's clock."""
    detail: str = ""
    """What the phase is about: a number, a status line ("401 Unauthorized")."""
    step: str = ""
    """The scenario and step being run (`siptest run`), "" otherwise."""
    number: str = ""
    """The number of the call under way (the Request-URI's user)."""


def advance(status: Status, event: object) -> Status:
    """The status after one more event; unchanged by anything it does not know."""
    if isinstance(event, RequestSent):
        return _sent(status, event)
    if isinstance(event, ResponseReceived):
        return _received(status, event)
    if isinstance(event, CallStateChanged):
        return _call_state(status, event)
    if isinstance(event, RegistrationStateChanged):
        return _registration_state(status, event)
    if isinstance(event, TransportFailed):
        return _move(status, "failed", event.at, event.detail or event.cause)
    return status


def with_step(status: Status, step: str) -> Status:
    """A new scenario step starts: its label, and nothing of the last step's phase."""
    return Status(step=step)


def status_line(status: Status, now: float, width: int) -> str:
    """One line, at most `width - 1` characters (the last column would wrap)."""
    words = " ".join(_WORDS[status.phase].format(number=printable(status.number)).split())
    detail = printable(status.detail)
    text = f"{words} {detail}" if detail else words
    if status.phase in _COUNTING:
        text += f" - {max(0, int(now - status.since))} s"
    if status.step:
        text = f"{printable(status.step)}: {text}"
    limit = max(MIN_WIDTH, width) - 1
    return text if len(text) <= limit else text[: limit - 3] + "..."


def printable(text: str) -> str:
    """Text from a server or the stack, safe on a terminal: every character that is
    not printable (control characters, C1 codes, line and paragraph separators,
    directional overrides) shown as an escape."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# -- the events --------------------------------------------------------------------


def _sent(status: Status, event: RequestSent) -> Status:
    if event.blocked:
        return status
    message = event.message
    if message.method == "REGISTER":
        if _removes_binding(event):
            return _move(status, "unregistering", event.at, "")
        if status.phase == "challenged":
            return _move(status, "registering", status.since, "with credentials")
        if status.phase == "registering":
            return status  # a retransmission, or a new chain already shown
        return _move(status, "registering", event.at, _address(message.header("to") or ""))
    if message.method == "INVITE" and "tag=" not in (message.header("to") or ""):
        if status.phase in ("dialling", "ringing"):
            return status  # a retransmission, or the INVITE again with credentials
        number = _target(message.start_line)
        return replace(status, phase="dialling", since=event.at, detail="", number=number)
    if message.method in ("CANCEL", "BYE"):
        return _move(status, "hanging_up", event.at, f"({message.method})")
    return status


def _received(status: Status, event: ResponseReceived) -> Status:
    message = event.message
    code = message.code
    if event.stray or code is None:
        return status
    answer = f"{code} {message.reason}".strip()
    if message.method == "REGISTER":
        if code < 200:
            return status
        if status.phase == "unregistering":
            if code in (401, 407):
                return status  # the un-REGISTER's challenge: still un-registering
            return _move(status, "unregistered", event.at, "" if code < 300 else f"({answer})")
        if status.phase not in ("registering", "challenged"):
            return status  # late: an answer to a chain already decided
        if code in (401, 407):
            return _move(status, "challenged", event.at, f"({answer})")
        if code < 300:
            return _move(status, "registered", event.at, "")
        return _move(status, "refused", event.at, f"({answer})")
    if message.method == "INVITE":
        if status.phase not in _CALL_ORDER:
            return status
        if code in (180, 183):
            if status.phase == "ringing":
                return status  # keep counting from the first ring
            return _call_step(status, "ringing", event.at, "")
        if code < 200:
            return status
        if code < 300:
            return _call_step(status, "answered", event.at, "")
        if code in (401, 407) and status.phase == "dialling":
            return status  # answered with credentials at once: still dialling
        return _call_step(status, "call_ended", event.at, f"({answer})")
    return status


def _call_state(status: Status, event: CallStateChanged) -> Status:
    if event.state == "EARLY":
        return _call_step(status, "ringing", event.at, "") if status.phase != "ringing" else status
    if event.state == "CONFIRMED":
        return _call_step(status, "answered", event.at, "")
    if event.state == "DISCONNECTED":
        answer = f"{event.code} {event.reason}".strip() if event.code else ""
        return _call_step(status, "call_ended", event.at, f"({answer})" if answer else "")
    return status  # CALLING, CONNECTING, or a state this version does not know


def _registration_state(status: Status, event: RegistrationStateChanged) -> Status:
    """pjsua's word on a chain the wire did not settle (a timeout pjsip made up)."""
    if status.phase not in ("registering", "challenged"):
        return status
    answer = f"({event.code} {event.reason})".strip()
    if 200 <= event.code < 300:
        return _move(status, "registered", event.at, "")
    # not answered: pjsip made the status up (a timeout, a failed connection)
    return _move(status, "refused" if event.answered else "unanswered", event.at, answer)


def _call_step(status: Status, phase: Phase, at: float, detail: str) -> Status:
    """Move within a call, never back (events out of order change nothing)."""
    current = _CALL_ORDER.get(status.phase)
    if current is None:
        return status  # no call under way
    if _CALL_ORDER[phase] < current:
        return status
    return _move(status, phase, at, detail)


def _move(status: Status, phase: Phase, at: float, detail: str) -> Status:
    return replace(status, phase=phase, since=at, detail=detail)


def _removes_binding(event: RequestSent) -> bool:
    """An un-REGISTER: Expires: 0, or expires=0 on the Contact (RFC 3261 10.2.2)."""
    message = event.message
    if (message.header("expires") or "").strip() == "0":
        return True
    contact = message.header("contact") or ""
    return header_params(contact.split(">", 1)[-1]).get("expires") == "0"


def _address(header: str) -> str:
    """The address in a To header without its scheme: `1001@127.0.0.1:5070`."""
    uri = header.split("<", 1)[1].split(">", 1)[0] if "<" in header else header
    uri = uri.split(";", 1)[0].strip()
    scheme, colon, rest = uri.partition(":")
    return rest if colon and scheme.lower() in ("sip", "sips") else uri


def _target(request_line: str) -> str:
    """The Request-URI's user (the number dialled) or its host, from a request line."""
    parts = request_line.split()
    uri = parts[1] if len(parts) > 1 else ""
    scheme, _, rest = uri.partition(":")
    if scheme.lower() not in ("sip", "sips"):
        return ""
    address = rest.split(";", 1)[0]
    return address.split("@", 1)[0] if "@" in address else address
