"""The ICMP probe of a call (ua.probe) must not overrule a server that answered.

The probe is a datagram of its own, from another local port than the INVITE's. A
server that only takes datagrams from the address it knows (a connected UDP socket:
an SBC or a pinhole that admits the phone's SIP port) makes the kernel answer the
probe with ICMP port unreachable, while the INVITE itself is answered."""

from __future__ import annotations

import socket
import threading

import pytest
from sippeer import message, parse_request, response_head

PASSWORD = "review-secret"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PinnedPeer:
    """A UDP SIP server that talks only with one client address, answering `code`."""

    def __init__(self, client_port: int, code: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.connect(("127.0.0.1", client_port))
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.code = code
        self.methods: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65535)
            except (TimeoutError, ConnectionRefusedError):
                continue
            except OSError:
                return
            request = parse_request(data, "udp", ("127.0.0.1", 0))
            if request is None:
                continue
            self.methods.append(request.method)
            if request.method == "INVITE":
                self.sock.send(message(response_head(request, self.code)))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def pinned():
    peers: list[PinnedPeer] = []

    def start(client_port: int, code: int) -> PinnedPeer:
        peers.append(PinnedPeer(client_port, code))
        return peers[-1]

    yield start
    for peer in peers:
        peer.stop()


@pytest.mark.timeout(60)
def test_a_server_that_answered_the_invite_is_not_called_unreachable(siptest, pinned):
    local = free_udp_port()
    peer = pinned(local, 486)
    result = siptest(
        "call", f"1001@127.0.0.1:{peer.port}", "7000", "--no-register", "--timeout", "2",
        "--local-port", str(local), "--json", password=PASSWORD, timeout=30,
    )  # fmt: skip
    call = result.check("call")
    assert (call["response"]["code"], call["response"]["origin"]) == (486, "remote"), result.stdout
    assert call["diagnosis"]["id"] == "callee.busy"
    assert "INVITE" in peer.methods
