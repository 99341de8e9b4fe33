"""What resolving a SIP server's name found, as data: every lookup, the targets, the failure.

A DNS failure is a result here, not an exception: it is reported and diagnosed like a SIP
answer. Each failure is its own frozen dataclass with the facts a diagnosis sentence needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Transport = Literal["udp", "tcp", "tls"]
"""The transports siptest speaks (RFC 3263 services SIP+D2U, SIP+D2T, SIPS+D2T)."""

DEFAULT_PORTS: dict[Transport, int] = {"udp": 5060, "tcp": 5060, "tls": 5061}
"""RFC 3261 19.1.2: 5060 for sip: over UDP and TCP, 5061 for TLS."""

DnsOutcome = Literal["answer", "nodata", "nxdomain", "timeout", "error"]
Step = Literal["literal", "naptr", "srv", "address"]


@dataclass(frozen=True)
class DnsServer:
    """The one DNS server to ask instead of the system's (``--dns-server``)."""

    address: str
    """IPv4 or IPv6 address (IPv6 without brackets)."""
    port: int = 53

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class DnsLookup:
    """One DNS query and what came back."""

    name: str
    """The name asked for (``_sip._udp.example.test``)."""
    rdtype: str
    """Record type asked for: NAPTR, SRV, A or AAAA."""
    outcome: DnsOutcome
    """``answer`` (records came back), ``nodata`` (the name exists, no record of this
    type), ``nxdomain`` (no such name), ``timeout`` (no answer within the lifetime),
    ``error`` (an answer that was not usable: SERVFAIL, REFUSED, a malformed reply)."""
    answers: tuple[str, ...] = ()
    """Each record's data in zone-file form, in the order the server sent them."""
    ttl: int | None = None
    """TTL of the answer's record set, seconds; None without records."""
    detail: str = ""
    """For ``error`` and ``timeout``: what went wrong, in words."""

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.rdtype,
            "outcome": self.outcome,
            "answers": list(self.answers),
            "ttl": self.ttl,
            "detail": self.detail or None,
        }


@dataclass(frozen=True)
class ResolvedTarget:
    """One place to send SIP to, in the order a phone would try it."""

    host: str
    """The name the address came from (an SRV target or the domain); the address itself
    for an IP literal."""
    address: str
    """IPv4 or IPv6 address (IPv6 without brackets)."""
    port: int
    transport: Transport
    step: Step
    """How it was found: ``literal`` (an IP address was given), ``naptr`` (NAPTR then
    SRV), ``srv`` (SRV without NAPTR), ``address`` (A/AAAA of the domain)."""
    record: str | None = None
    """The SRV record it came from, ``_sip._udp.example.test. 10 60 5060 sip1.example.test.``;
    None when no SRV record was used."""

    @property
    def hostport(self) -> str:
        """``address:port`` with IPv6 in brackets."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"

    def as_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "address": self.address,
            "port": self.port,
            "transport": self.transport,
            "step": self.step,
            "record": self.record,
        }


# -- failures ------------------------------------------------------------------------


@dataclass(frozen=True)
class NoSuchName:
    """The domain does not exist (NXDOMAIN): a typing error, or a name never registered."""

    kind = "dns.no_such_name"
    domain: str
    server: str
    """The DNS server that said so (``10.0.0.53 (the system's)`` for the system's)."""

    def sentence(self) -> str:
        return f"The name {self.domain} does not exist (the DNS server {self.server} said so)."


@dataclass(frozen=True)
class NoServerRecords:
    """The domain exists, but has neither NAPTR/SRV records for SIP nor an address."""

    kind = "dns.no_records"
    domain: str
    server: str

    def sentence(self) -> str:
        return (
            f"{self.domain} exists but has no SIP service records (NAPTR, SRV) and no "
            f"address (A, AAAA) at {self.server}."
        )


@dataclass(frozen=True)
class TargetWithoutAddress:
    """An SRV record names a host that has no address (or that does not exist)."""

    kind = "dns.target_without_address"
    target: str
    """The host the SRV record points to."""
    port: int
    transport: Transport
    record: str
    """The SRV record, in zone-file form."""
    no_such_name: bool
    """True: the target name does not exist; False: it exists without A/AAAA."""

    def sentence(self) -> str:
        why = "does not exist" if self.no_such_name else "has no address (A or AAAA)"
        return f"The SRV record {self.record} points to {self.target}, which {why}."


@dataclass(frozen=True)
class TargetsWithoutAddress:
    """Every SRV target has no address: nothing is left to try."""

    kind = "dns.targets_without_address"
    domain: str
    targets: tuple[TargetWithoutAddress, ...]

    def sentence(self) -> str:
        names = ", ".join(sorted({item.target for item in self.targets}))
        return f"The SRV records of {self.domain} point only to hosts without an address: {names}."


@dataclass(frozen=True)
class DnsServerSilent:
    """The DNS server did not answer within the lookup's lifetime."""

    kind = "dns.server_silent"
    server: str
    name: str
    """The query that got no answer, ``_sip._udp.example.test. SRV``."""
    lifetime: float
    """Seconds waited."""

    def sentence(self) -> str:
        return (
            f"The DNS server {self.server} did not answer within {self.lifetime:g} s "
            f"(asking for {self.name})."
        )


@dataclass(frozen=True)
class DnsServerFailed:
    """The DNS server answered, but not with anything usable (SERVFAIL, REFUSED, ...)."""

    kind = "dns.server_failed"
    server: str
    name: str
    detail: str

    def sentence(self) -> str:
        return f"The DNS server {self.server} could not answer for {self.name}: {self.detail}."


DnsFailure = (
    NoSuchName | NoServerRecords | TargetsWithoutAddress | DnsServerSilent | DnsServerFailed
)


def failure_json(failure: DnsFailure | TargetWithoutAddress) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": failure.kind, "message": failure.sentence()}
    if isinstance(failure, TargetsWithoutAddress):
        data["targets"] = [failure_json(item) for item in failure.targets]
    elif isinstance(failure, TargetWithoutAddress):
        data.update(
            target=failure.target,
            port=failure.port,
            transport=failure.transport,
            record=failure.record,
            no_such_name=failure.no_such_name,
        )
    return data


@dataclass(frozen=True)
class Resolution:
    """How a SIP URI's host became an ordered list of targets (RFC 3263)."""

    domain: str
    """The host as given: a domain name, or an IP address."""
    tls_server_name: str | None
    """The name a TLS certificate must carry: the domain (RFC 5922 4.2), not an SRV
    target. None for an IP literal (the address is checked)."""
    server: str
    """The DNS server asked (``HOST:PORT``), or the system's: ``10.0.0.53 (the system's)``."""
    lookups: tuple[DnsLookup, ...]
    """Every query made, in order."""
    targets: tuple[ResolvedTarget, ...]
    """Where to send SIP, in the order to try; empty when ``failure`` is set."""
    unresolved: tuple[TargetWithoutAddress, ...] = ()
    """SRV targets that gave no address (the other targets are still usable)."""
    failure: DnsFailure | None = None
    """Why no target could be found; None when there is at least one."""

    @property
    def ok(self) -> bool:
        return self.failure is None

    def to_json(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "tls_server_name": self.tls_server_name,
            "dns_server": self.server,
            "records": [lookup.as_json() for lookup in self.lookups],
            "targets": [target.as_json() for target in self.targets],
            "unresolved": [failure_json(item) for item in self.unresolved],
            "failure": failure_json(self.failure) if self.failure else None,
        }
