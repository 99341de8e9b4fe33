"""`host:port` as SIP and the stack write it: the one splitter of addresses siptest reads.

What a person types is validated by `siptest.target.parse_hostport` (which says what is
wrong); addresses read from the wire, the stack or a report are split here, leniently:
a malformed one yields what can be read, never an exception.
"""

from __future__ import annotations


def split_hostport(text: str) -> tuple[str, int | None]:
    """`1.2.3.4:4000`, `[2001:db8::1]:4000`, `2001:db8::1`, `host;transport=tcp` or
    `host` to (host, port); the host without brackets, the port None when not written."""
    text = text.strip().split(";", 1)[0]
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    return host, int(port) if port.isdigit() and len(port) <= 5 else None
