"""The SIP trace a technician attaches to a ticket: every message, redacted."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from siptest import __version__
from siptest.ua.base import WireMessage


def format_trace(messages: Iterable[WireMessage], header: str = "") -> str:
    lines = [f"# siptest {__version__} SIP trace. Credentials are redacted."]
    if header:
        lines.append(f"# {header}")
    for message in messages:
        arrow = "-->" if message.direction == "sent" else "<--"
        verb = "sent to" if message.direction == "sent" else "received from"
        note = "  (NOT SENT: siptest stopped a repeated login attempt)" if message.blocked else ""
        lines.append("")
        lines.append(
            f"{arrow} +{message.at * 1000:.1f} ms {verb} {message.transport} {message.peer}{note}"
        )
        lines.append(message.text.replace("\r\n", "\n").rstrip("\n"))
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str) -> None:
    """Write a file readable by the owner only: traces name accounts and servers."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # O_CREAT's mode only applies to a new file; an existing one is narrowed too.
    if os.fstat(fd).st_mode & 0o077 and os.path.isfile(path):
        os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_trace(path: Path, messages: Iterable[WireMessage], header: str = "") -> None:
    write_private(path, format_trace(messages, header))
