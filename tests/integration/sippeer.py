"""A scripted SIP peer for fault tests: answers what the test says, records what it got.

It runs in a background thread of the pytest process on 127.0.0.1 (a free port),
over UDP, TCP or TLS (Python's `ssl`), and is nothing like a real server: it
copies Via/From/To/Call-ID/CSeq from each request so the client's stack matches
the reply to its transaction, and otherwise sends exactly what the script says,
valid or not. A "challenge" is just a 401 with a WWW-Authenticate header: the
peer checks no digest.

A script is a list of steps, one per new transaction (retransmissions get the
step's bytes again, as a real transaction layer would send them); when the list
runs out the peer stays silent. `always(step)` repeats one step forever::

    peer = SipPeer("udp", [challenge(nonce="same"), challenge(nonce="same")])
    peer = SipPeer("udp", always(challenge(stale=True)))
    peer = SipPeer("tcp", [reset()])

Every wait is bounded; `stop()` closes every socket and joins every thread.
"""

from __future__ import annotations

import itertools
import secrets
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

LOCALHOST = "127.0.0.1"

_COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
}
_REASONS = {
    100: "Trying",
    180: "Ringing",
    200: "OK",
    401: "Unauthorized",
    403: "Forbidden",
    423: "Interval Too Brief",
    500: "Server Internal Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class Request:
    """One request as the peer received it."""

    raw: bytes
    transport: str
    source: tuple[str, int]
    start_line: str
    headers: tuple[tuple[str, str], ...]
    """(lower-case full name, value), in order; compact forms expanded."""

    @property
    def method(self) -> str:
        return self.start_line.split(" ", 1)[0]

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name.lower()), None)

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name.lower()]

    @property
    def transaction(self) -> tuple[str | None, str | None, str | None]:
        """Call-ID, CSeq and top Via: equal for a request and its retransmissions."""
        return self.header("call-id"), self.header("cseq"), self.header("via")


def parse_request(raw: bytes, transport: str, source: tuple[str, int]) -> Request | None:
    """The head of a request, or None for anything else (keep-alives, junk, responses)."""
    text = raw.decode("utf-8", "replace")
    head = text.replace("\r\n", "\n").split("\n\n", 1)[0]
    lines = head.split("\n")
    start = lines[0].strip()
    if not start.endswith("SIP/2.0") or start.startswith("SIP/"):
        return None
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            headers.append((_COMPACT.get(key, key), value.strip()))
    return Request(raw, transport, source, start, tuple(headers))


# -- what the peer answers ------------------------------------------------------


class Action:
    """Something other than bytes a step may do to the connection."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Action({self.name})"


RESET = Action("reset")
"""TCP: abort the connection (RST, SO_LINGER 0)."""
CLOSE = Action("close")
"""TCP: close the connection in an orderly way (FIN)."""

Reply = list["bytes | Action"]
Step = Callable[[Request], Reply]


def response_head(
    request: Request,
    code: int | str,
    reason: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    *,
    to_tag: bool = True,
) -> str:
    """A status line and the headers that let the client match it (no blank line)."""
    phrase = _REASONS.get(code, "Whatever") if reason is None and isinstance(code, int) else reason
    status = f"SIP/2.0 {code}" + (f" {phrase}" if phrase is not None else "")
    lines = [status]
    lines += [f"Via: {via}" for via in request.all("via")]
    lines.append(f"From: {request.header('from')}")
    to = request.header("to") or ""
    if to_tag and ";tag=" not in to:
        to += ";tag=peer-" + secrets.token_hex(4)
    lines.append(f"To: {to}")
    lines.append(f"Call-ID: {request.header('call-id')}")
    lines.append(f"CSeq: {request.header('cseq')}")
    lines += [f"{name}: {value}" for name, value in headers]
    return "\r\n".join(lines)


def message(head: str, body: bytes = b"") -> bytes:
    return f"{head}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def respond(
    code: int,
    reason: str | None = None,
    headers: dict[str, str] | Iterable[tuple[str, str]] = (),
) -> Step:
    items = list(headers.items()) if isinstance(headers, dict) else list(headers)

    def step(request: Request) -> Reply:
        return [message(response_head(request, code, reason, items, to_tag=code != 100))]

    return step


def respond_when(released: threading.Event, code: int, seconds: float = 10.0) -> Step:
    """Answer `code` only once `released` is set (at most `seconds`): a server slow to
    ring. The peer answers nothing else meanwhile (one thread serves it)."""

    def step(request: Request) -> Reply:
        released.wait(seconds)
        return [message(response_head(request, code, None, (), to_tag=code != 100))]

    return step


def trying() -> Step:
    """100 Trying and then nothing more for this transaction."""
    return respond(100)


def silence() -> Step:
    def step(request: Request) -> Reply:
        return []

    return step


def reset() -> Step:
    """TCP reset right after the request arrived (mid-transaction)."""

    def step(request: Request) -> Reply:
        return [RESET]

    return step


def ok(expires: int | None = None) -> Step:
    """200 OK binding the request's Contact for `expires` s (default: what was asked)."""

    def step(request: Request) -> Reply:
        asked = (request.header("expires") or "300").strip()
        granted = str(expires) if expires is not None else asked
        extra = [("Expires", granted)]
        contact = request.header("contact")
        if contact and granted != "0":
            extra.insert(0, ("Contact", f"{contact.split(';expires=')[0]};expires={granted}"))
        return [message(response_head(request, 200, "OK", extra))]

    return step


def challenge(nonce: str | None = "same", *, stale: bool = False, realm: str = "peer.test") -> Step:
    """401 with a digest challenge; `nonce=None` makes a fresh nonce every time."""

    def step(request: Request) -> Reply:
        value = nonce or secrets.token_hex(8)
        www = f'Digest realm="{realm}", nonce="{value}", algorithm=MD5'
        if stale:
            www += ", stale=true"
        return [message(response_head(request, 401, "Unauthorized", [("WWW-Authenticate", www)]))]

    return step


def challenge_with(*values: str) -> Step:
    """401 with exactly these WWW-Authenticate values (none: a 401 without a challenge)."""

    def step(request: Request) -> Reply:
        headers = [("WWW-Authenticate", value) for value in values]
        return [message(response_head(request, 401, "Unauthorized", headers))]

    return step


def proxy_challenge(realm: str = "proxy.test") -> Step:
    """407 with a proxy digest challenge for its own realm (RFC 3261 22.3), fresh nonce."""

    def step(request: Request) -> Reply:
        value = f'Digest realm="{realm}", nonce="{secrets.token_hex(8)}", algorithm=MD5'
        head = response_head(
            request, 407, "Proxy Authentication Required", [("Proxy-Authenticate", value)]
        )
        return [message(head)]

    return step


def raw(template: str | bytes | Callable[[Request], bytes]) -> Step:
    """Send exactly these bytes; `{via}`, `{from}`, `{to}`, `{call_id}`, `{cseq}` and
    `{tag}` in a str template are filled from the request (`{{`/`}}` for braces)."""

    def step(request: Request) -> Reply:
        if callable(template):
            return [template(request)]
        if isinstance(template, bytes):
            return [template]
        return [template.format(**fields_of(request)).encode()]

    return step


def fields_of(request: Request) -> dict[str, str]:
    return {
        "via": request.header("via") or "",
        "from": request.header("from") or "",
        "to": request.header("to") or "",
        "call_id": request.header("call-id") or "",
        "cseq": request.header("cseq") or "",
        "tag": "peer-" + secrets.token_hex(4),
    }


def always(step: Step) -> Iterator[Step]:
    """A script answering every transaction with the same step."""
    return itertools.repeat(step)


Script = Iterable[Step]


# -- the peer ---------------------------------------------------------------------


@dataclass
class _Record:
    received: list[Request] = field(default_factory=list)
    junk: list[bytes] = field(default_factory=list)
    connections: int = 0
    tls_errors: list[str] = field(default_factory=list)


class SipPeer:
    """A scripted SIP responder on 127.0.0.1 in a background thread."""

    def __init__(
        self,
        transport: str = "udp",
        script: Script = (),
        *,
        tls_context: ssl.SSLContext | None = None,
        max_datagram: int = 65535,
        on_junk: str = "reset",
    ) -> None:
        """`on_junk`: what a stream peer does with bytes that are not SIP (a TLS
        ClientHello on a plain port): "reset" the connection or "ignore" them."""
        if transport == "tls" and tls_context is None:
            raise ValueError("a TLS peer needs tls_context")
        self.transport = transport
        self._steps = iter(script)
        self._tls = tls_context
        self._max_datagram = max_datagram
        self._on_junk = on_junk
        self._record = _Record()
        self._replies: dict[tuple[str | None, str | None, str | None], Reply] = {}
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        self._sock = socket.socket(socket.AF_INET, kind)
        self._sock.bind((LOCALHOST, 0))
        self.port: int = self._sock.getsockname()[1]
        self.host = LOCALHOST

    # -- what it saw ---------------------------------------------------------

    @property
    def received(self) -> list[Request]:
        """Every request, retransmissions included."""
        with self._lock:
            return list(self._record.received)

    @property
    def requests(self) -> list[Request]:
        """Distinct requests (retransmissions of the same transaction counted once)."""
        seen: set[tuple[str | None, str | None, str | None]] = set()
        distinct = []
        for request in self.received:
            if request.transaction not in seen:
                seen.add(request.transaction)
                distinct.append(request)
        return distinct

    def requests_of(self, method: str) -> list[Request]:
        return [r for r in self.requests if r.method == method]

    @property
    def junk(self) -> list[bytes]:
        """Datagrams or stream starts that were not SIP requests (keep-alives included)."""
        with self._lock:
            return list(self._record.junk)

    @property
    def connections(self) -> int:
        with self._lock:
            return self._record.connections

    @property
    def tls_errors(self) -> list[str]:
        with self._lock:
            return list(self._record.tls_errors)

    def wait_for_requests(self, count: int, timeout: float = 2.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._record.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    # -- life cycle ------------------------------------------------------------

    def start(self) -> SipPeer:
        target = self._serve_udp if self.transport == "udp" else self._serve_stream
        if self.transport != "udp":
            self._sock.listen(8)
        self._sock.settimeout(0.05)
        self._spawn(target)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        self._sock.close()
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass

    def __enter__(self) -> SipPeer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="sip-peer")
        self._threads.append(thread)
        thread.start()

    # -- answering -------------------------------------------------------------

    def _reply_to(self, request: Request) -> Reply:
        """The step for a new transaction; the same bytes again for a retransmission.
        The step runs outside the lock: one that waits (`respond_when`) must not stop
        the test from reading what the peer received."""
        with self._lock:
            self._record.received.append(request)
            self._lock.notify_all()
            key = request.transaction
            if key in self._replies:
                return self._replies[key]
            step = next(self._steps, None)
        reply = step(request) if step else []
        with self._lock:
            return self._replies.setdefault(key, reply)

    def _note_junk(self, data: bytes) -> None:
        with self._lock:
            self._record.junk.append(data)

    def _serve_udp(self) -> None:
        while not self._stop.is_set():
            try:
                data, source = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            request = parse_request(data, "udp", source)
            if request is None:
                self._note_junk(data)
                continue
            for part in self._reply_to(request):
                if isinstance(part, bytes):
                    try:
                        self._sock.sendto(part[: self._max_datagram], source)
                    except OSError:
                        pass

    def _serve_stream(self) -> None:
        while not self._stop.is_set():
            try:
                conn, source = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._record.connections += 1
            self._sockets.append(conn)
            self._spawn(self._serve_connection, conn, source)

    def _serve_connection(self, conn: socket.socket, source: tuple[str, int]) -> None:
        conn.settimeout(0.05)
        if self._tls is not None:
            conn.settimeout(3)
            try:
                conn = self._tls.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                with self._lock:
                    self._record.tls_errors.append(str(exc))
                conn.close()
                return
            self._sockets.append(conn)
            conn.settimeout(0.05)
        buffer = b""
        while not self._stop.is_set():
            try:
                chunk = conn.recv(65535)
            except (TimeoutError, ssl.SSLWantReadError):
                continue
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            buffer = buffer.lstrip(b"\r\n")  # RFC 5626 keep-alives
            if buffer and not buffer[:1].isalpha():
                # Not SIP (a TLS ClientHello on a plain port): a plain server drops it.
                self._note_junk(buffer)
                buffer = b""
                if self._on_junk == "reset":
                    self._abort(conn, RESET)
                    return
                continue
            while True:
                frame, buffer = _split_frame(buffer)
                if frame is None:
                    break
                request = parse_request(frame, self.transport, source)
                if request is None:
                    self._note_junk(frame)
                    continue
                for part in self._reply_to(request):
                    if isinstance(part, Action):
                        self._abort(conn, part)
                        return
                    try:
                        conn.sendall(part)
                    except OSError:
                        return

    @staticmethod
    def _abort(conn: socket.socket, action: Action) -> None:
        if action is RESET:
            # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
            conn.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
        try:
            conn.close()
        except OSError:
            pass


def _split_frame(buffer: bytes) -> tuple[bytes | None, bytes]:
    """One whole message off a stream (RFC 3261 18.3: Content-Length frames it)."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None, buffer
    head = buffer[:end].decode("utf-8", "replace")
    length = 0
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() in ("content-length", "l") and value.strip().isdigit():
            length = int(value.strip())
    total = end + 4 + length
    if len(buffer) < total:
        return None, buffer
    return buffer[:total], buffer[total:]


# -- TLS material -------------------------------------------------------------------


@dataclass(frozen=True)
class TlsMaterial:
    """A test CA and server certificates, good and bad, made with the openssl CLI."""

    ca_file: Path
    good: tuple[Path, Path]
    """(certificate, key) for 127.0.0.1, signed by the CA."""
    self_signed: tuple[Path, Path]
    expired: tuple[Path, Path]
    """Signed by the CA, valid only in 2020."""
    wrong_name: tuple[Path, Path]
    """Signed by the CA, for wrong.example instead of 127.0.0.1."""
    cn_only_match: tuple[Path, Path]
    """Signed by the CA, CN=127.0.0.1 but subjectAltName DNS:other.example (RFC 5922 7.1)."""

    def context(self, which: tuple[Path, Path]) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # pjsua2's bundled OpenSSL 1.0.2 speaks TLS 1.2 at most (a test may raise it).
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(which[0]), str(which[1]))
        return context


_CA_CONFIG = """\
[ca]
default_ca = test_ca
[test_ca]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
default_md = sha256
policy = any_name
unique_subject = no
copy_extensions = none
[any_name]
commonName = supplied
[req]
distinguished_name = dn
[dn]
[test_ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ip]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
[server_wrong]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example
[server_other_san]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:other.example
"""


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)


def make_tls_material(folder: Path) -> TlsMaterial:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "ca.cnf"
    config.write_text(_CA_CONFIG.format(dir=folder))
    (folder / "index.txt").write_text("")
    (folder / "serial").write_text(secrets.token_hex(8) + "\n")
    ca_key, ca_file = folder / "ca.key", folder / "ca.pem"
    _openssl("req", "-config", str(config), "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", str(ca_key), "-out", str(ca_file), "-days", "2",
             "-subj", "/CN=siptest fault-test CA", "-extensions", "test_ca_ext")  # fmt: skip

    def signed(name: str, cn: str, extensions: str, dates: list[str]) -> tuple[Path, Path]:
        key, csr, cert = folder / f"{name}.key", folder / f"{name}.csr", folder / f"{name}.pem"
        _openssl("req", "-config", str(config), "-new", "-newkey", "rsa:2048", "-nodes",
                 "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={cn}")  # fmt: skip
        _openssl("ca", "-batch", "-notext", "-config", str(config), "-cert", str(ca_file),
                 "-keyfile", str(ca_key), "-in", str(csr), "-out", str(cert),
                 "-extensions", extensions, *dates)  # fmt: skip
        return cert, key

    good = signed("good", "127.0.0.1", "server_ip", ["-days", "2"])
    expired = signed(
        "expired", "127.0.0.1", "server_ip",
        ["-startdate", "20200101000000Z", "-enddate", "20200102000000Z"],
    )  # fmt: skip
    wrong = signed("wrong", "wrong.example", "server_wrong", ["-days", "2"])
    cn_only = signed("cn-only", "127.0.0.1", "server_other_san", ["-days", "2"])
    self_key, self_cert = folder / "self.key", folder / "self.pem"
    _openssl("req", "-config", str(config), "-x509", "-newkey", "rsa:2048", "-nodes",
             "-keyout", str(self_key), "-out", str(self_cert), "-days", "2",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1")  # fmt: skip
    return TlsMaterial(ca_file, good, (self_cert, self_key), expired, wrong, cn_only)
