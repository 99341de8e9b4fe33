"""The user agent as siptest sees it: requests in, past-tense facts out.

`UserAgent` is the protocol the rest of siptest drives; `siptest.ua.pjsua` is
the one implementation backed by a real SIP stack. Everything that crosses
this boundary is a frozen dataclass defined here, so no pjsua2 object ever
leaks into the analyser, the reports or the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from siptest.sipmessage import SipMessage, header_params

Transport = Literal["udp", "tcp", "tls"]
Origin = Literal["remote", "local", "none"]
"""Who produced a final response: the server, our own SIP stack, or nobody."""

LocalCause = Literal[
    "timeout", "refused", "unreachable", "tls", "dns", "transport", "cancelled", "limit"
]
"""Why our own stack made up a response (only for origin local/none)."""


@dataclass(frozen=True)
class TlsSettings:
    """How the server's certificate is checked."""

    verify: bool = True
    """Verify the server certificate chain and name (off only with --tls-insecure)."""
    ca_file: Path | None = None
    """Trust anchors; None means the system bundle."""


@dataclass(frozen=True)
class AccountSpec:
    """A SIP account to register or dial from."""

    user: str
    """The user ID (user part of the address of record)."""
    domain: str
    """The SIP domain (host part of the address of record)."""
    registrar: str
    """Registrar host (name or address; IPv6 without brackets)."""
    port: int | None
    """Registrar port; None lets SIP pick (5060, or 5061 for TLS)."""
    transport: Transport
    auth_user: str
    """The digest user name; usually equal to `user`."""
    password: str = field(repr=False)
    """Never printed: repr=False keeps it out of tracebacks and logs."""
    outbound_proxy: str | None = None
    """A `host[:port]` to send every request through, when it differs."""
    expires: int = 300
    """Registration interval asked for, in seconds."""

    @property
    def aor(self) -> str:
        return f"sip:{self.user}@{self.domain}"

    @property
    def hostport(self) -> str:
        host = f"[{self.registrar}]" if ":" in self.registrar else self.registrar
        return f"{host}:{self.port}" if self.port else host


@dataclass(frozen=True)
class WireMessage:
    """A SIP message the stack sent or received, already redacted."""

    direction: Literal["sent", "received"]
    at: float
    """Seconds since the user agent started."""
    transport: str
    """UDP, TCP or TLS, as the stack named it."""
    peer: str
    """The remote address and port."""
    text: str
    """The whole message with credentials redacted."""
    message: SipMessage
    """The parsed head of `text`."""
    blocked: bool = False
    """True when siptest stopped the stack from sending it (credential retry)."""


@dataclass(frozen=True)
class Response:
    """A final (or provisional) response to one of our requests."""

    method: str
    code: int
    reason: str
    origin: Origin
    at: float
    """Seconds since the user agent started."""
    headers: tuple[tuple[str, str], ...] = ()
    """Headers of the response as received (empty when made up locally)."""
    local_cause: LocalCause | None = None
    """Why the stack made it up, when origin is not remote."""
    detail: str = ""
    """The stack's own words for a local failure (e.g. "Connection refused")."""

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    @property
    def warning(self) -> str | None:
        values = [v for k, v in self.headers if k == "warning"]
        return ", ".join(values) if values else None

    @property
    def retry_after(self) -> int | None:
        return _leading_int(self.header("retry-after"))

    @property
    def min_expires(self) -> int | None:
        return _leading_int(self.header("min-expires"))

    @property
    def server(self) -> str | None:
        return self.header("server") or self.header("user-agent")


def _leading_int(value: str | None) -> int | None:
    if not value:
        return None
    digits = value.strip().split(None, 1)[0].split(";", 1)[0]
    return int(digits) if digits.isdigit() and len(digits) <= 10 else None


@dataclass(frozen=True)
class RegistrationCompleted:
    """The end of one REGISTER transaction chain (challenges included)."""

    response: Response
    """The final answer that decided the outcome."""
    requests_sent: int
    """REGISTER requests that went on the wire (retransmissions not counted)."""
    credentials_sent: bool
    """At least one of them carried an Authorization header."""
    credentials_rejected: bool
    """The server refused the credentials and siptest stopped further tries."""
    expires_requested: int
    expires_granted: int | None
    """What the registrar granted for our contact (None when unknown or failed)."""
    contact: str | None = None
    """The Contact we registered."""
    interval_retried: int | None = None
    """When a 423 made us register again with the server's Min-Expires."""

    @property
    def ok(self) -> bool:
        return 200 <= self.response.code < 300


def via_address(response: Response) -> tuple[str | None, str | None]:
    """The `received` and `rport` the server saw us at (NAT evidence)."""
    via = response.header("via")
    if not via:
        return None, None
    params = header_params(via.split(",", 1)[0])
    return params.get("received") or None, params.get("rport") or None


class UserAgent(Protocol):
    """What siptest asks of a SIP user agent."""

    messages: list[WireMessage]
    """Every message sent or received so far, redacted, in order."""

    def register(self, account: AccountSpec) -> RegistrationCompleted:
        """Register and wait (bounded) for the outcome."""
        ...

    def unregister(self) -> RegistrationCompleted | None:
        """Remove our own contact (never `Contact: *`); None if not registered."""
        ...

    def interrupt(self) -> None:
        """End the wait in progress early (called from a signal handler)."""
        ...

    def close(self) -> None:
        """Release the stack. Safe to call twice."""
        ...
