"""ICMP errors for UDP targets ("port unreachable", "administratively prohibited"),
which pjsip ignores."""

from __future__ import annotations

import errno
import socket

from siptest.hostport import split_hostport
from siptest.ua.addressing import getaddrinfo_host, is_ipv6
from siptest.ua.base import AccountSpec
from siptest.ua.events import TransportCause, TransportFailed

_WORDS: dict[TransportCause, str] = {
    "unreachable": "ICMP port unreachable",
    "no_route": "ICMP host unreachable",
}
ANSWER_GRACE_S = 0.5
"""How long an answer from the server may follow the probe's ICMP error and still be
the answer: T1 (RFC 3261 17.1.1.1), pjsip's first retransmission."""
_ICMP_ERRORS: dict[int, TransportCause] = {
    errno.ECONNREFUSED: "unreachable",  # port unreachable (ICMP and ICMPv6)
    errno.EHOSTUNREACH: "no_route",
    errno.ENETUNREACH: "no_route",
    errno.EACCES: "no_route",  # ICMPv6 "administratively prohibited" (Linux)
}


class UnreachableProbe:
    """Notices the ICMP errors that come back for UDP targets, which pjsip ignores.

    A connected UDP socket sends one RFC 5626 keep-alive (CRLF CRLF) to the
    server; if the kernel then reports ECONNREFUSED (ICMP port unreachable),
    nothing listens there; EHOSTUNREACH (ICMP host unreachable, or a firewall's
    "communication administratively prohibited"), the network rejected it. Either
    way waiting for Timer F would only waste the user's time.
    """

    def __init__(self, sock: socket.socket, target: str) -> None:
        self._sock = sock
        self.target = target
        """Where it probed (host:port): the outbound proxy when there is one."""
        self._heard: tuple[TransportCause, float] | None = None

    @classmethod
    def open(cls, account: AccountSpec, transport: str) -> UnreachableProbe | None:
        if transport != "udp":
            return None
        target = account.outbound_proxy or account.hostport
        host, written = split_hostport(target)
        port = written or 5060
        # The family of the stack's transport: IPv6 for an IPv6 address, else IPv4
        # (a name is looked up as IPv4: siptest.ua.addressing.source_address).
        family = socket.AF_INET6 if is_ipv6(host) else socket.AF_INET
        try:
            infos = socket.getaddrinfo(
                getaddrinfo_host(host), port, family=family, type=socket.SOCK_DGRAM
            )
            family, _, _, _, address = infos[0]
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.connect(address)
            sock.send(b"\r\n\r\n")
        except OSError:
            return None
        return cls(sock, target)

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

    def verdict(self, answered: bool, now: float) -> TransportCause | None:
        """What the network said about the server, once it has held for ANSWER_GRACE_S
        with no answer from the server (`answered`: something came back). The probe is
        a datagram of its own, from another local port than the request's: an ICMP
        error for it does not outweigh an answer to the request itself (a server that
        admits only the phone's SIP port, an answer read after the ICMP error)."""
        if answered:
            return None
        if self._heard is None:
            cause = self.rejected()
            if cause is None:
                return None
            self._heard = (cause, now)  # the socket reports an ICMP error once
        cause, heard_at = self._heard
        return cause if now - heard_at >= ANSWER_GRACE_S else None

    def failure(self, at: float, cause: TransportCause) -> TransportFailed:
        """The event for what the probe heard back (`verdict`), among the stack's own
        transport failures: the outcomes read it from there."""
        return TransportFailed(at, self.target, cause, _WORDS[cause])

    def close(self) -> None:
        self._sock.close()
