"""The user agent as siptest sees it: requests in, past-tense facts out.

`UserAgent` is the protocol the rest of siptest drives; `siptest.ua.pjsua` is
the one implementation backed by a real SIP stack. Everything that crosses
this boundary is a frozen dataclass defined here, so no pjsua2 object ever
leaks into the analyser, the reports or the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from siptest.sipmessage import delta_seconds, header_params

if TYPE_CHECKING:  # a call's types: a register check never imports them (start-up time)
    from siptest.ua.calls import CallCompleted, CallSpec
    from siptest.ua.events import Event, Watcher

Transport = Literal["udp", "tcp", "tls"]
Origin = Literal["remote", "local", "none"]
"""Who produced a final response: the server, our own SIP stack, or nobody."""

LocalCause = Literal[
    "timeout",
    "refused",
    "unreachable",
    "tls",
    "dns",
    "transport",
    "cancelled",
    "limit",
    "malformed",
    "sdp",
    "too_large",
    "interrupted",
    "challenge",
    "no_challenge",
    "not_tls",
    "tls_version",
    "own_number",
    "no_connection",
    "no_route",
    "blocked_here",
    "connection_reset",
]
"""Why our own stack made up a response (only for origin local/none)."""


@dataclass(frozen=True)
class TlsSettings:
    """How the server's certificate is checked."""

    verify: bool = True
    """Verify the server certificate chain and name (off only with --tls-insecure)."""
    ca_file: Path | None = None
    """Trust anchors; None means the system bundle."""
    server_name: str | None = None
    """The name the certificate must carry when siptest connects to an address found in
    DNS: the domain (RFC 5922 4.2), never the SRV target or the address. siptest's own
    TLS probe checks the chain and this name before the stack connects to the same
    address; the stack, which could check only the address, then checks nothing more."""


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
    answers_calls: bool = False
    """Answer incoming calls (a second test account as the far end); else refuse 486."""

    @property
    def aor(self) -> str:
        return f"sip:{self.user}@{uri_host(self.domain)}"

    @property
    def hostport(self) -> str:
        host = uri_host(self.registrar)
        return f"{host}:{self.port}" if self.port else host


def uri_host(host: str) -> str:
    """A host as a SIP URI writes it: an IPv6 address in brackets (RFC 3261 25.1).

    Anything else is kept as it is: a name, an IPv4 address, a domain that already
    carries its port ("127.0.0.1:5070", "[::1]:5070").
    """
    import ipaddress

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    return f"[{host}]" if address.version == 6 else host


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
        return delta_seconds(self.header("retry-after"))

    @property
    def min_expires(self) -> int | None:
        return delta_seconds(self.header("min-expires"))

    @property
    def server(self) -> str | None:
        return self.header("server") or self.header("user-agent")


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
    registered_contact: str | None = None
    """Our binding as the registrar's 2xx lists it (it may have rewritten the
    address, e.g. to the one it saw behind a NAT); None when not listed."""
    interval_retried: int | None = None
    """When a 423 made us register again with the server's Min-Expires."""
    provisional: tuple[int, ...] = ()
    """1xx codes the server sent (a 100 Trying proves it heard us)."""
    sent_to: str | None = None
    """`host:port` the last REGISTER went to (resolved, through any outbound proxy)."""

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

    @property
    def events(self) -> list[Event]:
        """Everything observed so far, in order (`siptest.ua.events`)."""
        ...

    def register(self, account: AccountSpec) -> RegistrationCompleted:
        """Register and wait (bounded) for the outcome."""
        ...

    def unregister(self, account: AccountSpec | None = None) -> RegistrationCompleted | None:
        """Remove our own contact (never `Contact: *`), by default the latest
        registration; None if that account is not registered."""
        ...

    def call(self, account: AccountSpec, spec: CallSpec) -> CallCompleted:
        """Dial, wait (bounded) for the outcome, talk, hang up; always cleans up."""
        ...

    def idle(self, seconds: float) -> None:
        """Keep serving SIP (refreshes, incoming calls) for `seconds`, or until interrupted."""
        ...

    def interrupt(self) -> None:
        """End the wait in progress early (called from a signal handler)."""
        ...

    def watch(self, watcher: Watcher | None) -> None:
        """Tell `watcher` what is observed while the agent waits (live progress)."""
        ...

    def close(self) -> None:
        """Release the stack. Safe to call twice."""
        ...


__all__ = [
    "AccountSpec",
    "LocalCause",
    "Origin",
    "RegistrationCompleted",
    "Response",
    "TlsSettings",
    "Transport",
    "UserAgent",
    "via_address",
]


@dataclass(frozen=True)
class AgentConfig:
    """How the stack is set up; one agent serves one transport."""

    transport: Transport = "udp"
    timeout: float = 5.0
    """Seconds one SIP transaction may take before it counts as unanswered."""
    tls: TlsSettings = field(default_factory=TlsSettings)
    local_port: int = 0
    public_address: str | None = None
    """The address to put in Via/Contact: the one the kernel uses toward the server."""
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """Strings to sweep out of everything captured (the password)."""
    capture_media: bool = False
    """Keep the RTP/RTCP packets of the calls siptest places and of those its accounts
    answer (`--pcap`): each call's end adds a `MediaCaptured` event
    (`siptest.ua.pjsua.mediatap`)."""
