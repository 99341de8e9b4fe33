"""A SIP OPTIONS probe: is a SIP server answering on this address?

Used to tell when the lab is ready and whether it is still up. It sends one OPTIONS
request without a user part (the lab answers those itself with 200, before any
authentication) and returns the status code of the final response.
"""

from __future__ import annotations

import secrets
import socket
import time
from typing import Literal

Transport = Literal["udp", "tcp"]


def send_options(
    host: str, port: int, *, transport: Transport = "udp", timeout: float = 1.0
) -> int | None:
    """Send one OPTIONS to ``host:port``; the final status code, or None if none came.

    None covers every way of not getting an answer within ``timeout`` seconds:
    silence, ICMP port unreachable (UDP), connection refused or reset (TCP).
    """
    deadline = time.monotonic() + timeout
    try:
        if transport == "udp":
            return _options_over_udp(host, port, deadline)
        return _options_over_tcp(host, port, deadline)
    except (TimeoutError, OSError):
        return None


def _bracketed(host: str) -> str:
    """RFC 3261 25.1: an IPv6 address in a SIP URI or Via is written in brackets."""
    return f"[{host}]" if ":" in host else host


def _options_request(host: str, port: int, local: tuple[str, int], transport: str) -> bytes:
    call_id = secrets.token_hex(8)
    host = _bracketed(host)
    local_host, local_port = _bracketed(local[0]), local[1]
    lines = [
        f"OPTIONS sip:{host}:{port} SIP/2.0",
        # RFC 3261 8.1.1.7: the branch starts with the magic cookie z9hG4bK
        f"Via: SIP/2.0/{transport.upper()} {local_host}:{local_port}"
        f";branch=z9hG4bK{secrets.token_hex(8)};rport",
        "Max-Forwards: 70",
        f"From: <sip:probe@{local_host}>;tag={secrets.token_hex(4)}",
        f"To: <sip:{host}:{port}>",
        f"Call-ID: {call_id}@siptest-probe",
        "CSeq: 1 OPTIONS",
        "User-Agent: siptest-probe",
        "Content-Length: 0",
        "",
        "",
    ]
    return "\r\n".join(lines).encode("ascii")


def _call_id(message: bytes) -> bytes | None:
    for line in message.split(b"\r\n"):
        name, _, value = line.partition(b":")
        # "i" is the compact form of Call-ID (RFC 3261 7.3.3)
        if name.strip().lower() in (b"call-id", b"i"):
            return value.strip()
    return None


def _final_status(response: bytes) -> int | None:
    """The status code of a final response (>= 200); None for 1xx or garbage."""
    parts = response.split(b"\r\n", 1)[0].split(b" ", 2)
    if len(parts) < 2 or parts[0] != b"SIP/2.0" or not parts[1].isdigit():
        return None
    code = int(parts[1])
    return code if code >= 200 else None


def _options_over_udp(host: str, port: int, deadline: float) -> int | None:
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        # connect() so an ICMP port unreachable surfaces as ConnectionRefusedError
        sock.connect(address)
        request = _options_request(host, port, sock.getsockname(), "udp")
        sock.send(request)
        expected = _call_id(request)
        while (remaining := deadline - time.monotonic()) > 0:
            sock.settimeout(remaining)
            response = sock.recv(65535)
            # skip stray datagrams and provisional responses
            if _call_id(response) == expected and (code := _final_status(response)):
                return code
    return None


def _options_over_tcp(host: str, port: int, deadline: float) -> int | None:
    connect_timeout = max(deadline - time.monotonic(), 0.01)
    with socket.create_connection((host, port), timeout=connect_timeout) as sock:
        request = _options_request(host, port, sock.getsockname(), "tcp")
        sock.sendall(request)
        buffer = b""
        while (remaining := deadline - time.monotonic()) > 0:
            sock.settimeout(remaining)
            chunk = sock.recv(65535)
            if not chunk:
                return None
            buffer += chunk
            # a stream carries whole messages back to back: split at the blank line
            while b"\r\n\r\n" in buffer:
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                if code := _final_status(head):
                    return code
    return None
