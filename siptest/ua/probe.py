"""ICMP errors for UDP targets ("port unreachable", "administratively prohibited"),
which pjsip ignores."""

from __future__ import annotations

import errno
import socket

from siptest.hostport import split_hostport
from siptest.ua.addressing import getaddrinfo_host
from siptest.ua.base import AccountSpec
from siptest.ua.events import TransportCause, TransportFailed

_WORDS: dict[TransportCause, str] = {
    "unreachable": "ICMP port unreachable",
    "no_route": "ICMP host unreachable",
}
_ICMP_ERRORS: dict[int, TransportCause] = {
    errno.ECONNREFUSED: "unreachable",
    errno.EHOSTUNREACH: "no_route",
    errno.ENETUNREACH: "no_route",
}


class UnreachableProbe:
    """Notices the ICMP errors that come back for UDP targets, which pjsip ignores.

    A connected UDP socket sends one RFC 5626 keep-alive (CRLF CRLF) to the
    server; if the kernel then reports ECONNREFUSED (ICMP port unreachable),
    nothing listens there; EHOSTUNREACH (ICMP host unreachable, or a firewall's
    "communication administratively prohibited"), the network rejected it. Either
    way waiting for Timer F would only waste the user's time.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    @classmethod
    def open(cls, account: AccountSpec, transport: str) -> UnreachableProbe | None:
        if transport != "udp":
            return None
        target = account.outbound_proxy or account.hostport
        host, written = split_hostport(target)
        port = written or 5060
        try:
            # IPv4 only, like the SIP transports siptest opens.
            infos = socket.getaddrinfo(
                getaddrinfo_host(host), port, family=socket.AF_INET, type=socket.SOCK_DGRAM
            )
            family, _, _, _, address = infos[0]
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.connect(address)
            sock.send(b"\r\n\r\n")
        except OSError:
            return None
        return cls(sock)

    def rejected(self) -> TransportCause | None:
        """`unreachable` (port unreachable), `no_route` (host unreachable, or
        administratively prohibited), or None while nothing of the kind came back."""
        try:
            self._sock.recv(2048)
        except BlockingIOError:
            return None
        except OSError as exc:
            return _ICMP_ERRORS.get(exc.errno or 0)
        return None

    def close(self) -> None:
        self._sock.close()


def icmp_failure(at: float, remote: str, cause: TransportCause) -> TransportFailed:
    """The event for what the probe heard back (`UnreachableProbe.rejected`), among the
    stack's own transport failures: the outcomes read it from there."""
    return TransportFailed(at, remote, cause, _WORDS[cause])
