"""Reachability probes: SIP OPTIONS over UDP and TCP, a TLS handshake. Each bounded.

UDP goes through a *connected* socket: the kernel then hands an ICMP "port
unreachable" for that peer back to the socket as ECONNREFUSED, which tells "nothing
listens" apart from "dropped on the way" (silence). TCP tells "refused" (RST) from
"dropped" (no answer to SYN). TLS reuses `siptest.ua.tlsprobe` (Python's `ssl`) for
what siptest's own SIP stack cannot tell, then one verified handshake for the version
and the certificate's names and expiry.

No password ever goes out here: OPTIONS carries no credentials.
"""

from __future__ import annotations

import errno
import secrets
import socket
import ssl
import time
from pathlib import Path

from siptest import __version__
from siptest.doctor.model import Probe, ProbeOutcome
from siptest.resolution import ResolvedTarget
from siptest.sipmessage import parse_message
from siptest.ua.tlsprobe import client_context, probe_tls

_T1 = 0.5
"""RFC 3261 17.1.1.1: the first retransmission interval over UDP."""
_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN}


def _options(target: ResolvedTarget, domain: str, local: tuple[str, int], transport: str) -> bytes:
    """A minimal OPTIONS (RFC 3261 11) to the domain, from our real address."""
    host = f"[{local[0]}]" if ":" in local[0] else local[0]
    domain_host = f"[{domain}]" if ":" in domain and not domain.startswith("[") else domain
    tag, call_id = secrets.token_hex(6), secrets.token_hex(12)
    branch = "z9hG4bK-doctor-" + secrets.token_hex(8)
    head = (
        f"OPTIONS sip:{domain_host} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport.upper()} {host}:{local[1]};rport;branch={branch}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:doctor@{domain_host}>;tag={tag}\r\n"
        f"To: <sip:{domain_host}>\r\n"
        f"Call-ID: {call_id}@siptest.doctor\r\n"
        "CSeq: 1 OPTIONS\r\n"
        f"Contact: <sip:doctor@{host}:{local[1]};transport={transport}>\r\n"
        "Accept: application/sdp\r\n"
        f"User-Agent: siptest/{__version__} doctor\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    return head.encode("ascii")


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _answer_line(data: bytes) -> str | None:
    message = parse_message(data)
    if message is None or not message.is_response:
        return None
    return f"{message.code} {message.reason}".strip()


def probe_udp(target: ResolvedTarget, domain: str, timeout: float) -> Probe:
    """OPTIONS over UDP, retransmitted at T1, 2*T1... until `timeout`."""

    def result(outcome: ProbeOutcome, detail: str) -> Probe:
        return Probe("udp", target.host, target.address, target.port, outcome, detail)

    deadline = time.monotonic() + timeout
    with socket.socket(_family(target.address), socket.SOCK_DGRAM) as sock:
        try:
            sock.connect((target.address, target.port))
            request = _options(target, domain, sock.getsockname()[:2], "udp")
        except OSError as exc:
            return result(_os_outcome(exc, "udp"), _os_words(exc))
        interval = _T1
        next_send = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= deadline:
                return result("silent", f"no answer to OPTIONS within {timeout:g} s")
            try:
                if now >= next_send:
                    sock.send(request)
                    next_send = now + interval
                    interval = min(interval * 2, 4.0)
                sock.settimeout(max(0.01, min(next_send, deadline) - time.monotonic()))
                data = sock.recv(65535)
            except TimeoutError:
                continue
            except ConnectionRefusedError:
                return result(
                    "port_unreachable", "ICMP port unreachable: nothing listens on this port"
                )
            except OSError as exc:
                return result(_os_outcome(exc, "udp"), _os_words(exc))
            line = _answer_line(data)
            if line is not None:
                return result("answered", f"answered OPTIONS: {line}")
            # not a SIP response: keep listening until the deadline


def probe_tcp(target: ResolvedTarget, domain: str, timeout: float) -> Probe:
    """Connect (refused vs dropped), then OPTIONS over the connection."""
    deadline = time.monotonic() + timeout

    def result(outcome: ProbeOutcome, detail: str) -> Probe:
        return Probe("tcp", target.host, target.address, target.port, outcome, detail)

    try:
        sock = socket.create_connection((target.address, target.port), timeout=timeout)
    except ConnectionRefusedError:
        return result("refused", "the connection was refused: nothing listens on this port")
    except TimeoutError:
        return result("dropped", f"no answer to the connection attempt within {timeout:g} s")
    except OSError as exc:
        return result(_os_outcome(exc, "tcp"), _os_words(exc))
    with sock:
        try:
            sock.sendall(_options(target, domain, sock.getsockname()[:2], "tcp"))
            data = b""
            while b"\r\n\r\n" not in data:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(65535)
                if not chunk:
                    break
                data += chunk
        except OSError:
            data = b""
    line = _answer_line(data)
    if line is not None:
        return result("answered", f"answered OPTIONS: {line}")
    return result("connected", "accepted the connection, but sent no SIP answer to OPTIONS")


def probe_tls_target(
    target: ResolvedTarget,
    server_name: str | None,
    *,
    verify: bool,
    ca_file: Path | None,
    timeout: float,
) -> Probe:
    """TCP connect, then the handshake as siptest's stack would do it, then the details."""
    name = server_name or target.address

    def result(outcome: ProbeOutcome, detail: str, **tls: object) -> Probe:
        return _tls_result(target, name, verify, outcome, detail, **tls)

    tcp = probe_tcp_connect(target, timeout)
    if tcp is not None:
        return result(tcp[0], tcp[1])
    problem = probe_tls(
        target.address, target.port, verify=verify, ca_file=ca_file, timeout=timeout,
        server_name=name,
    )  # fmt: skip
    if problem is not None:
        if problem.cause == "not_tls":
            return result("not_tls", problem.detail)
        if problem.cause == "tls_version":
            return result("tls_version", problem.detail, version="TLSv1.3")
        return result(
            "tls_certificate", problem.detail, problem=_certificate_problem(problem.detail)
        )
    return _details(target, name, verify, ca_file, timeout)


def _tls_result(
    target: ResolvedTarget,
    name: str,
    verify: bool,
    outcome: ProbeOutcome,
    detail: str,
    **tls: object,
) -> Probe:
    evidence = {"server_name": name, "verified": verify, **tls}
    return Probe("tls", target.host, target.address, target.port, outcome, detail, evidence)


def probe_tcp_connect(target: ResolvedTarget, timeout: float) -> tuple[ProbeOutcome, str] | None:
    """Whether the TCP port takes a connection: None if it does, else (outcome, words)."""
    try:
        with socket.create_connection((target.address, target.port), timeout=timeout):
            return None
    except ConnectionRefusedError:
        return "refused", "the connection was refused: nothing listens on this port"
    except TimeoutError:
        return "dropped", f"no answer to the connection attempt within {timeout:g} s"
    except OSError as exc:
        return _os_outcome(exc, "tcp"), _os_words(exc)


def _details(
    target: ResolvedTarget,
    name: str,
    verify: bool,
    ca_file: Path | None,
    timeout: float,
) -> Probe:
    """The version and certificate of a handshake the probe found nothing wrong with."""

    def make(outcome: ProbeOutcome, detail: str, **tls: object) -> Probe:
        return _tls_result(target, name, verify, outcome, detail, **tls)

    context = client_context(verify, ca_file)  # TLS 1.2 at most: what the stack speaks
    try:
        with (
            socket.create_connection((target.address, target.port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=name) as tls,
        ):
            version = tls.version()
            cert = tls.getpeercert() if verify else {}
    except ssl.SSLCertVerificationError as exc:
        detail = exc.verify_message or str(exc)
        return make("tls_certificate", detail, problem=_certificate_problem(detail))
    except (OSError, ssl.SSLError) as exc:
        return make("tls_failed", f"the TLS handshake failed: {exc}")
    names = [
        str(pair[1])
        for pair in (cert or {}).get("subjectAltName", ())
        if isinstance(pair, tuple) and pair[0] in ("DNS", "IP Address")
    ]
    not_after = (cert or {}).get("notAfter")
    words = f"handshake with {version}"
    words += ", certificate valid" if verify else ", certificate NOT checked (--tls-insecure)"
    return make(
        "answered",
        words,
        version=version,
        certificate_names=names,
        not_after=not_after,
    )


def _certificate_problem(detail: str) -> str:
    text = detail.lower()
    if "not valid for" in text or "mismatch" in text:
        return "name"
    if "expired" in text or "not yet valid" in text:
        return "expired"
    if (
        "self-signed" in text
        or "self signed" in text
        or "issuer" in text
        or "unable to get" in text
    ):
        return "untrusted"
    return "other"


def _os_outcome(exc: OSError, transport: str) -> ProbeOutcome:
    if exc.errno in _UNREACHABLE or exc.errno == errno.ENETDOWN:
        return "unreachable"
    if isinstance(exc, ConnectionRefusedError):
        return "port_unreachable" if transport == "udp" else "refused"
    return "unreachable"


def _os_words(exc: OSError) -> str:
    return f"{exc.strerror or exc}" + (f" (errno {exc.errno})" if exc.errno else "")
