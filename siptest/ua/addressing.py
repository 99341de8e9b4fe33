"""Which local address talks to a server (no packet is sent to find out)."""

from __future__ import annotations

import socket


def source_address(host: str, port: int = 5060) -> str | None:
    """The local address the kernel would use to reach `host` (no packet is sent).

    pjsip otherwise advertises the machine's first interface, which is wrong
    for a loopback lab and for multi-homed technicians' laptops alike.
    """
    try:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, family=socket.AF_INET, type=socket.SOCK_DGRAM
        )[0]
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            return str(sock.getsockname()[0])
    except (OSError, IndexError):
        return None
