"""ICMP "port unreachable" for UDP targets, which pjsip ignores."""

from __future__ import annotations

import errno
import socket

from siptest.hostport import split_hostport
from siptest.ua.addressing import getaddrinfo_host
from siptest.ua.base import AccountSpec


class UnreachableProbe:
    """Notices ICMP "port unreachable" for UDP targets, which pjsip ignores.

    A connected UDP socket sends one RFC 5626 keep-alive (CRLF CRLF) to the
    server; if the kernel then reports ECONNREFUSED, nothing listens there and
    waiting for Timer F would only waste the user's time.
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

    def refused(self) -> bool:
        try:
            self._sock.recv(2048)
        except BlockingIOError:
            return False
        except OSError as exc:
            return exc.errno == errno.ECONNREFUSED
        return False

    def close(self) -> None:
        self._sock.close()
