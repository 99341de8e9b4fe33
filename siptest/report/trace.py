"""The SIP trace a technician attaches to a ticket: every message, redacted."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from siptest import __version__
from siptest.ua.events import (
    PACKET_LIMIT,
    Event,
    MessageDropped,
    RequestReceived,
    RequestSent,
    ResponseReceived,
    WireMessage,
)
from siptest.ua.evidence import unsent


def format_trace(events: Iterable[Event], header: str = "") -> str:
    """Every SIP message whole, in order, as text (see the README's "Trace format").

    Bytes that are not UTF-8 and control characters are written as `\\xNN`;
    Authorization and Proxy-Authorization lose their credentials.
    """
    lines = [f"# siptest {__version__} SIP trace. Credentials are redacted."]
    if header:
        lines.append(f"# {header}")
    for event in traced(events):
        lines.append("")
        lines.append(heading(event))
        lines.append(body(event))
    return "\n".join(lines) + "\n"


Traced = WireMessage | MessageDropped
"""What a trace shows: the messages on the wire and the bytes the stack refused."""


def traced(events: Iterable[Event]) -> list[Traced]:
    """The events a trace shows, in order: one entry per message on the wire, and each
    request the stack was handed but never sent, marked `unsent` with why
    (`siptest.ua.evidence.unsent`)."""
    stream = list(events)
    never = unsent(stream)
    return [
        replace(e, unsent=never[i]) if i in never and isinstance(e, RequestSent) else e
        for i, e in enumerate(stream)
        if isinstance(e, (WireMessage, MessageDropped))
    ]


def heading(event: Traced) -> str:
    """The line above a message: direction, time, transport, address, size, note."""
    if isinstance(event, WireMessage):
        arrow = "-->" if event.direction == "sent" else "<--"
        verb = "sent to" if event.direction == "sent" else "received from"
        if note_kind(event) in ("blocked", "unsent"):
            verb = "not sent to"  # handed to the stack, never on the wire (the note says why)
    else:
        arrow, verb = "xx>", "refused by siptest's SIP stack, from"
    note = note_of(event)
    return (
        f"{arrow} +{event.at * 1000:.1f} ms {verb} {event.transport} "
        f"{event.remote or 'an unknown address'}, {len(event.data):,} bytes"
        + (f"  ({note})" if note else "")
    )


def body(event: Traced) -> str:
    """The message itself, redacted and safe to show (`WireBytes.text`), LF line ends."""
    return event.text.replace("\r\n", "\n").rstrip("\n")


_DROPPED = {
    "malformed": "not a SIP message it can read",
    "incomplete": "a mandatory header is missing",
    "too_large": f"larger than the {PACKET_LIMIT:,} bytes it accepts; shown up to there",
}


def note_kind(event: Traced) -> str | None:
    """What is special about a message (None when nothing is): `dropped` (the stack
    refused the bytes), `blocked` (siptest did not send it), `unsent` (the stack never
    sent it: no connection came up, or sending failed), `answered` (siptest
    answered it itself), `stray`, `elsewhere` (from another address), `cut`."""
    if isinstance(event, MessageDropped):
        return "dropped"
    if isinstance(event, RequestSent) and event.blocked:
        return "blocked"
    if isinstance(event, RequestSent) and event.unsent:
        return "unsent"
    if isinstance(event, RequestReceived) and event.refused:
        return "answered"
    if isinstance(event, ResponseReceived):
        if event.stray:
            return "stray"
        if event.elsewhere:
            return "elsewhere"
        if event.cut:
            return "cut"
    return None


def note_of(event: Traced) -> str:
    """What is special about a message, in words ("" when nothing is)."""
    kind = note_kind(event)
    if kind == "dropped" and isinstance(event, MessageDropped):
        return _DROPPED[event.cause]
    if kind == "unsent" and isinstance(event, RequestSent):
        return f"NOT SENT: {event.unsent}"
    if kind == "answered" and isinstance(event, RequestReceived):
        return f"answered {event.refused} by siptest itself: the test did not ask for it"
    return _NOTES.get(kind or "", "")


_NOTES = {
    "blocked": "NOT SENT: siptest stopped a repeated login attempt",
    "stray": "STRAY: it answers nothing siptest sent",
    "elsewhere": "from another address than the request went to",
    "cut": (
        f"CUT: the datagram filled the {PACKET_LIMIT:,} bytes siptest's SIP stack "
        "reads; the rest was lost"
    ),
}


def check_output_path(path: Path, option: str) -> None:
    """Refuse, before any test runs, an output path siptest will not write to.

    A symbolic link (it would write where the link points, and follow a dangling one
    to create a file), a FIFO (writing blocks until someone reads), a device or a
    folder is a usage error; a regular file or a new name in an existing folder is fine.
    """
    from siptest.errors import UsageError

    if str(path) == "-":
        raise UsageError(
            f"{option} -: give a file name. Standard output carries the report itself "
            "(use --json for a machine-readable one)."
        )
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise UsageError(f"{option} {path}: {exc.strerror}.") from None
    if mode is not None and stat.S_ISLNK(mode):
        raise UsageError(
            f"{option} {path} is a symbolic link; siptest writes only to a regular file. "
            "Give the real path."
        )
    if mode is not None and not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a FIFO or device)"
        raise UsageError(f"{option} {path} is {kind}; give a file name.")
    if not path.absolute().parent.is_dir():
        raise UsageError(f"{option} {path}: the folder {path.parent} does not exist.")


def write_private(path: Path, text: str) -> None:
    """Write text the way `write_private_bytes` writes bytes."""
    write_private_bytes(path, text.encode("utf-8"))


def write_private_bytes(path: Path, data: bytes) -> None:
    """Write a file readable by the owner only: traces name accounts and servers.

    Never through a symbolic link (O_NOFOLLOW), never into a FIFO or device (opened
    without blocking, then checked to be a regular file before a byte is written).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(exc.errno, "it is a symbolic link") from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "it is not a regular file")
        os.set_blocking(fd, True)
        os.ftruncate(fd, 0)
        # O_CREAT's mode only applies to a new file; an existing one is narrowed too.
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def write_trace(path: Path, events: Iterable[Event], header: str = "") -> None:
    write_private(path, format_trace(events, header))
