"""A TLS handshake probe with Python's own `ssl`, before siptest's SIP stack connects.

Three things the SIP stack in the pjsua2 wheel (OpenSSL 1.0.2) cannot tell apart
or gets wrong, and that decide the verdict:

* a server that speaks **TLS 1.3 only**: the stack speaks 1.2 at most, so the
  handshake fails and the stack says nothing useful. The probe tries 1.2, then
  1.3: the server needs a TLS version siptest's stack lacks, a siptest limit;
* a port that **does not speak TLS at all** (plain SIP over TCP, a web server):
  the stack waits and reports a TLS error; the probe names it;
* **certificate names** (RFC 5922 7.1, RFC 6125): when the certificate carries
  subjectAltName entries, they alone decide, the subject's CN is not looked at.
  The stack accepts a CN match; Python's `ssl` (OpenSSL's X509_check_host) does
  not. The probe fails closed before the stack sends anything, let alone a login.

Anything else (refused, unreachable, a timeout) is left to the stack, which
reports those well. Every step is bounded by `timeout`.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    # imported where a probe runs: a check over UDP or TCP does not pay for ssl at start-up
    import ssl

ProbeCause = Literal["not_tls", "tls_version", "tls"]


@dataclass(frozen=True)
class TlsProblem:
    """Why the probe refused the server."""

    cause: ProbeCause
    """`not_tls`: the port does not speak TLS; `tls_version`: TLS 1.3 only (a siptest
    limit); `tls`: the certificate failed verification (its words in `detail`)."""
    detail: str


def probe_tls(
    host: str,
    port: int,
    *,
    verify: bool,
    ca_file: Path | None,
    timeout: float,
    server_name: str | None = None,
) -> TlsProblem | None:
    """Handshake with host:port as siptest's stack would (TLS 1.2 at most); a problem
    the stack would misreport, or None (including when the stack reports it well).

    `server_name` is the name the certificate must carry when it differs from `host`
    (an address found through DNS for a domain: RFC 5922 checks the domain). The stack
    then checks nothing itself, so this probe fails closed: a handshake it cannot
    complete is a problem, never "no opinion" (only a connection that cannot be made is
    left to the stack, which reports it and cannot connect either)."""
    import ssl

    name = server_name or host
    strict = verify and server_name is not None
    outcome = _handshake(host, port, name, verify, ca_file, timeout, ssl.TLSVersion.TLSv1_2)
    if isinstance(outcome, TlsProblem):
        return outcome
    if isinstance(outcome, _Unfinished):
        return _unchecked(host, port, name, outcome.detail) if strict else None
    if not isinstance(outcome, _VersionRefused):
        return None  # it worked, or could not connect: the stack goes ahead
    # Refused TLS 1.2: does the server speak 1.3? (Never verified here: only the
    # version is the question, and no login follows on this connection.)
    again = _handshake(host, port, name, False, None, timeout, ssl.TLSVersion.MAXIMUM_SUPPORTED)
    if again is _OK:
        return TlsProblem(
            "tls_version",
            f"The server at {host}:{port} accepts TLS 1.3 only; siptest's SIP stack speaks "
            "TLS 1.2 at most. A limit of siptest, not a fault of the server.",
        )
    # Neither 1.2 nor 1.3 (a server of TLS 1.0/1.1 only, or no opinion): the stack
    # reports its own failure - unless the stack checks nothing itself.
    if strict:
        return _unchecked(host, port, name, outcome.detail)
    return None


def _unchecked(host: str, port: int, name: str, why: str) -> TlsProblem:
    return TlsProblem(
        "tls",
        f"siptest could not check the certificate of {host}:{port} for {name}: {why} "
        "siptest sends nothing to a server whose certificate it could not check.",
    )


# OpenSSL's reasons: the server refused every version offered (an alert, or no overlap).
_VERSION_REFUSED = frozenset(
    {
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "UNSUPPORTED_PROTOCOL",
        "NO_PROTOCOLS_AVAILABLE",
        "TLSV1_ALERT_INSUFFICIENT_SECURITY",
    }
)
# ... and the other side is not speaking TLS at all.
_NOT_TLS = frozenset(
    {"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "HTTP_REQUEST", "RECORD_LAYER_FAILURE"}
)


@dataclass(frozen=True)
class _VersionRefused:
    detail: str


@dataclass(frozen=True)
class _Unfinished:
    """The handshake failed for a reason the probe has no verdict for."""

    detail: str


_OK = object()
"""The handshake succeeded (None means the probe has no opinion)."""


def client_context(
    verify: bool, ca_file: Path | None, highest: ssl.TLSVersion | None = None
) -> ssl.SSLContext:
    """A TLS client context as siptest checks servers: the chain and the name (RFC 5922:
    the subjectAltName names when there are any), TLS 1.2 at most by default (what
    siptest's SIP stack speaks); nothing checked without `verify`."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.maximum_version = highest or ssl.TLSVersion.TLSv1_2
    if verify:
        if ca_file is not None:
            context.load_verify_locations(cafile=str(ca_file))
        else:
            context.load_default_certs()
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _handshake(
    host: str,
    port: int,
    name: str,
    verify: bool,
    ca_file: Path | None,
    timeout: float,
    highest: ssl.TLSVersion,
) -> TlsProblem | _VersionRefused | _Unfinished | object | None:
    import ssl

    context = client_context(verify, ca_file, highest)
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        return None  # refused, unreachable, timed out: the stack says so itself
    try:
        with context.wrap_socket(raw, server_hostname=name) as tls:
            tls.version()
        return _OK
    except ssl.SSLCertVerificationError as exc:
        return TlsProblem("tls", _verify_words(exc, name))
    except ssl.SSLEOFError:
        return _not_tls(host, port, "it closed the connection at the TLS handshake")
    except ssl.SSLError as exc:
        reason = (exc.reason or "").upper()
        if reason in _VERSION_REFUSED:
            return _VersionRefused(f"The server refused TLS 1.2 ({exc.reason}).")
        if reason in _NOT_TLS:
            return _not_tls(host, port, f"it answered the handshake with something else ({reason})")
        return _Unfinished(f"the TLS handshake failed ({exc.reason or exc}).")
    except TimeoutError:
        return _not_tls(host, port, f"it sent nothing back to the handshake within {timeout:g} s")
    except (ConnectionResetError, BrokenPipeError, EOFError):
        return _not_tls(host, port, "it closed the connection at the TLS handshake")
    except OSError as exc:
        return _Unfinished(f"the TLS handshake failed ({exc.strerror or exc}).")
    finally:
        raw.close()


def _not_tls(host: str, port: int, why: str) -> TlsProblem:
    return TlsProblem(
        "not_tls",
        f"{host}:{port} does not speak TLS: {why}. It is probably a plain SIP (TCP or UDP) "
        "port or another service.",
    )


def _verify_words(exc: ssl.SSLCertVerificationError, host: str) -> str:
    message = exc.verify_message or str(exc)
    if exc.verify_code == 62 or "mismatch" in message.lower():
        return (
            f"The server's certificate is not valid for {host}: {message}. When a "
            "certificate lists names (subjectAltName), only those count (RFC 5922 7.1); "
            "its common name (CN) does not."
        )
    return f"The server's certificate failed verification: {message}."
