"""Finding ports on the lab's address that nothing else is using.

A free port is found by binding it and letting go: another program can take it in
between, which is why the lab still reports a clear error when Kamailio cannot bind.
"""

from __future__ import annotations

import socket
from collections.abc import Collection

from siptest.errors import CannotRunError

_ATTEMPTS = 50


def is_port_free(host: str, port: int, *, udp: bool = True, tcp: bool = True) -> bool:
    """True if ``port`` can be bound on ``host`` for each protocol asked for."""
    kinds = ((socket.SOCK_DGRAM, udp), (socket.SOCK_STREAM, tcp))
    for kind in (kind for kind, wanted in kinds if wanted):
        family = socket.getaddrinfo(host, port, type=kind)[0][0]
        with socket.socket(family, kind) as sock:
            if kind == socket.SOCK_STREAM:
                # servers (Kamailio too) bind with SO_REUSEADDR, so a port held only by
                # TIME_WAIT connections is free for them
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                return False
    return True


def free_port(
    host: str,
    *,
    udp: bool = True,
    tcp: bool = True,
    span: int = 1,
    exclude: Collection[int] = (),
    also_on: Collection[str] = (),
) -> int:
    """A port free on ``host`` for UDP and/or TCP, with ``span - 1`` free ports after it.

    ``span`` serves SIPp's RTP echo, which binds the media port and media port + 2.
    ``exclude`` keeps ports already chosen for another part of the lab. ``also_on``
    names other addresses (the lab's IPv6 one) where the same port must be free too.
    """
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    family = socket.getaddrinfo(host, 0, type=kind)[0][0]
    for _ in range(_ATTEMPTS):
        # the kernel hands out an unused ephemeral port for port 0
        with socket.socket(family, kind) as sock:
            sock.bind((host, 0))
            port: int = sock.getsockname()[1]
        candidates = range(port, port + span)
        if port + span > 65536 or any(candidate in exclude for candidate in candidates):
            continue
        hosts = (host, *also_on)
        if all(
            is_port_free(each, candidate, udp=udp, tcp=tcp)
            for candidate in candidates
            for each in hosts
        ):
            return port
    raise CannotRunError(
        f"Found no free port on {host} after {_ATTEMPTS} attempts. "
        "Pass the ports explicitly (--sip-port, --tls-port, --uas-port)."
    )


def preferred_port(
    host: str,
    preferred: int,
    *,
    udp: bool = True,
    tcp: bool = True,
    exclude: Collection[int] = (),
    also_on: Collection[str] = (),
) -> int:
    """``preferred`` if it is free (on ``host`` and ``also_on``), else any free port."""
    if preferred not in exclude and all(
        is_port_free(each, preferred, udp=udp, tcp=tcp) for each in (host, *also_on)
    ):
        return preferred
    return free_port(host, udp=udp, tcp=tcp, exclude=exclude, also_on=also_on)


def can_bind(host: str) -> bool:
    """True if this machine has the address ``host`` (e.g. ::1 where IPv6 is switched off)."""
    try:
        family = socket.getaddrinfo(host, 0, type=socket.SOCK_DGRAM)[0][0]
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.bind((host, 0))
    except OSError:
        return False
    return True
