"""RFC 3263 section 4: from a SIP URI's host to the servers a phone would try, in order.

The only module that talks to dnspython; its answers and exceptions become the
dataclasses of model.py here. The steps, exactly as RFC 3263 4.1/4.2 order them:

    IP address                 that address; the given port, else the transport's default
    explicit port              A/AAAA of the domain (no NAPTR, no SRV)
    explicit transport         SRV for that transport, else A/AAAA with the default port
    otherwise                  NAPTR (SIP+D2U, SIP+D2T, SIPS+D2T; order, then preference)
                               -> the SRV each one names; no usable NAPTR: SRV _sips._tcp,
                               _sip._tcp, _sip._udp; no SRV: A/AAAA with the default port

Every query is bounded by ``lifetime`` seconds. A query that gets no answer in time ends
the resolution (`DnsServerSilent`): the next one would wait as long again.
"""

from __future__ import annotations

import ipaddress
import random as random_module
import time
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.rdata
import dns.rdatatype
import dns.resolver
from dns.rdtypes.IN.A import A
from dns.rdtypes.IN.AAAA import AAAA
from dns.rdtypes.IN.NAPTR import NAPTR
from dns.rdtypes.IN.SRV import SRV

from siptest.errors import CannotRunError, UsageError
from siptest.resolution.model import (
    DEFAULT_PORTS,
    DnsFailure,
    DnsLookup,
    DnsServer,
    DnsServerFailed,
    DnsServerSilent,
    NoServerRecords,
    NoSuchName,
    Resolution,
    ResolvedTarget,
    Step,
    TargetsWithoutAddress,
    TargetWithoutAddress,
    Transport,
)
from siptest.resolution.srv import RandomSource, SrvRecord, order_srv

DEFAULT_LIFETIME = 5.0
"""Seconds one DNS query may take, retries included."""

# RFC 3263 4.1 and its IANA table: the NAPTR services of the transports siptest speaks
NAPTR_SERVICES: dict[str, Transport] = {"SIP+D2U": "udp", "SIP+D2T": "tcp", "SIPS+D2T": "tls"}
# RFC 3263 4.2: "_sips" for TLS, also for a sip: URI when the client wishes to use TLS
SRV_PREFIXES: dict[Transport, str] = {"udp": "_sip._udp", "tcp": "_sip._tcp", "tls": "_sips._tcp"}
# RFC 3263 4.1: without NAPTR, SRV for each transport; this is the order siptest tries them
SRV_FALLBACK_ORDER: tuple[Transport, ...] = ("tls", "tcp", "udp")
# the time dnspython waits for one try before it asks again, within the lifetime
_TRY_SECONDS = 2.0
_SHARED_RANDOM = random_module.Random()


def resolve(
    host: str,
    *,
    port: int | None = None,
    transport: Transport | None = None,
    secure: bool = False,
    dns_server: DnsServer | None = None,
    lifetime: float = DEFAULT_LIFETIME,
    random: RandomSource | None = None,
) -> Resolution:
    """Resolve a SIP URI's host the way RFC 3263 says a client does.

    ``host`` is a domain or an IP address (IPv6 with or without brackets); ``port`` and
    ``transport`` are what the user gave explicitly (None: not given); ``secure`` is
    True for a ``sips:`` URI (TLS only). ``dns_server`` replaces the system's resolvers.
    ``random`` draws the SRV weights (RFC 2782); pass one to make the order repeatable.

    DNS failures are in the result (``Resolution.failure``); UsageError for a host that
    cannot be a domain or for ``secure`` with a transport other than TLS.
    """
    if secure and transport not in (None, "tls"):
        raise UsageError(f"A sips: URI needs TLS; --transport {transport} cannot carry it.")
    if port is not None and not 1 <= port <= 65535:
        raise UsageError(f"The port must be from 1 to 65535, not {port}.")
    if lifetime <= 0:
        raise UsageError(f"The DNS lifetime must be a positive number of seconds, not {lifetime}.")
    literal = _ip_literal(host)
    default_transport: Transport = transport or ("tls" if secure else "udp")
    if literal is not None:
        # RFC 3263 4.2: "If TARGET is a numeric IP address, the client uses that address."
        server = str(dns_server) if dns_server else "none"
        target = ResolvedTarget(
            host=literal,
            address=literal,
            port=port or DEFAULT_PORTS[default_transport],
            transport=default_transport,
            step="literal",
        )
        return Resolution(
            domain=literal, tls_server_name=None, server=server, lookups=(), targets=(target,)
        )
    domain = _domain_name(host)
    run = _Run(_make_resolver(dns_server, lifetime), dns_server, lifetime, random or _SHARED_RANDOM)
    try:
        targets = run.targets_for(domain, port=port, transport=transport, secure=secure)
        failure: DnsFailure | None = None
        if not targets:
            failure = run.failure_without_targets(domain)
    except _Stopped as stop:
        targets, failure = [], stop.failure
    return Resolution(
        domain=_text(domain),
        # RFC 5922 4.2: the certificate must match the domain of the URI, not an SRV target
        tls_server_name=_text(domain),
        server=run.server,
        lookups=tuple(run.lookups),
        targets=tuple(targets),
        unresolved=tuple(run.unresolved),
        failure=failure,
    )


class _Stopped(Exception):
    """A failure that ends the resolution at once (the server is silent or broken)."""

    def __init__(self, failure: DnsFailure) -> None:
        super().__init__(failure.sentence())
        self.failure = failure


@dataclass
class _Answer:
    outcome: str
    records: list[dns.rdata.Rdata] = field(default_factory=list)


@dataclass
class _Run:
    """One resolution: the resolver, and everything looked up so far."""

    resolver: dns.resolver.Resolver
    dns_server: DnsServer | None
    lifetime: float
    random: RandomSource
    lookups: list[DnsLookup] = field(default_factory=list)
    unresolved: list[TargetWithoutAddress] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    """When the resolution began: `lifetime` bounds all its queries together."""
    _addresses: dict[dns.name.Name, tuple[list[str], bool]] = field(default_factory=dict)

    @property
    def server(self) -> str:
        if self.dns_server is not None:
            return str(self.dns_server)
        servers = ", ".join(str(item) for item in self.resolver.nameservers)
        # reads in a sentence: "The DNS server 10.0.0.53 (the system's) did not answer"
        return f"{servers} (the system's)"

    # -- the RFC 3263 steps ------------------------------------------------------------

    def targets_for(
        self,
        domain: dns.name.Name,
        *,
        port: int | None,
        transport: Transport | None,
        secure: bool,
    ) -> list[ResolvedTarget]:
        fallback: Transport = transport or ("tls" if secure else "udp")
        if port is not None:
            # RFC 3263 4.2: a port in the URI means A/AAAA of the domain, no SRV
            return self.address_targets(domain, port, fallback)
        if transport is not None:
            # RFC 3263 4.2: a transport given explicitly means SRV for that transport only
            found = self.srv_targets(domain, transport, "srv")
            if found is None:
                return self.address_targets(domain, DEFAULT_PORTS[transport], transport)
            return found
        naptr = self.naptr_transports(domain, secure)
        if naptr:
            targets: list[ResolvedTarget] = []
            any_srv = False
            for srv_name, naptr_transport in naptr:
                found = self.srv_targets_at(srv_name, naptr_transport, "naptr")
                any_srv = any_srv or found is not None
                targets.extend(found or [])
            if any_srv:
                return targets
            # RFC 3263 4.2: no SRV records: A/AAAA with the transport NAPTR chose
            first = naptr[0][1]
            return self.address_targets(domain, DEFAULT_PORTS[first], first)
        targets = []
        any_srv = False
        for candidate in SRV_FALLBACK_ORDER:
            if secure and candidate != "tls":
                continue  # RFC 3263 4.1: a sips: URI uses only "_sips"
            found = self.srv_targets(domain, candidate, "srv")
            any_srv = any_srv or found is not None
            targets.extend(found or [])
        if any_srv:
            return targets
        # RFC 3263 4.1: no SRV: UDP for sip:, TCP (TLS) for sips:, at the default port
        return self.address_targets(domain, DEFAULT_PORTS[fallback], fallback)

    def naptr_transports(
        self, domain: dns.name.Name, secure: bool
    ) -> list[tuple[dns.name.Name, Transport]]:
        """The SRV names that the domain's usable NAPTR records name, in their order."""
        answer = self.query(domain, "NAPTR")
        if answer.outcome == "nxdomain":
            raise _Stopped(NoSuchName(domain=_text(domain), server=self.server))
        usable: list[tuple[int, int, dns.name.Name, Transport]] = []
        for record in answer.records:
            if not isinstance(record, NAPTR):
                continue
            service = record.service.decode("ascii", "replace").upper()
            flags = record.flags.decode("ascii", "replace").upper()
            if service not in NAPTR_SERVICES or flags != "S":
                continue  # RFC 3263 4.1: discard services siptest does not speak
            if secure and not service.startswith("SIPS+"):
                continue  # RFC 3263 4.1: a sips: URI keeps only SIPS services
            usable.append(
                (record.order, record.preference, record.replacement, NAPTR_SERVICES[service])
            )
        # RFC 2915: lower order first, then lower preference
        usable.sort(key=lambda item: (item[0], item[1]))
        return [(name, naptr_transport) for _, _, name, naptr_transport in usable]

    def srv_targets(
        self, domain: dns.name.Name, transport: Transport, step: Step
    ) -> list[ResolvedTarget] | None:
        name = dns.name.from_text(SRV_PREFIXES[transport], origin=domain)
        return self.srv_targets_at(name, transport, step)

    def srv_targets_at(
        self, name: dns.name.Name, transport: Transport, step: Step
    ) -> list[ResolvedTarget] | None:
        """Targets of the SRV records at ``name`` in RFC 2782 order; None without records."""
        answer = self.query(name, "SRV")
        if answer.outcome != "answer":
            return None
        records = [
            SrvRecord(item.priority, item.weight, item.port, _text(item.target))
            for item in answer.records
            if isinstance(item, SRV)
        ]
        targets: list[ResolvedTarget] = []
        for record in order_srv(records, self.random):
            if record.target == ".":
                continue  # RFC 2782: "." means the service is not available there
            text = (
                f"{_text(name)} SRV {record.priority} {record.weight} {record.port} {record.target}"
            )
            addresses, exists = self.addresses(dns.name.from_text(record.target))
            if not addresses:
                self.unresolved.append(
                    TargetWithoutAddress(
                        target=record.target,
                        port=record.port,
                        transport=transport,
                        record=text,
                        no_such_name=not exists,
                    )
                )
            targets.extend(
                ResolvedTarget(record.target, address, record.port, transport, step, text)
                for address in addresses
            )
        return targets

    def address_targets(
        self, domain: dns.name.Name, port: int, transport: Transport
    ) -> list[ResolvedTarget]:
        addresses, exists = self.addresses(domain)
        if not exists:
            raise _Stopped(NoSuchName(domain=_text(domain), server=self.server))
        return [
            ResolvedTarget(_text(domain), address, port, transport, "address")
            for address in addresses
        ]

    def addresses(self, name: dns.name.Name) -> tuple[list[str], bool]:
        """IPv4 then IPv6 addresses of ``name``, and whether the name exists."""
        if name not in self._addresses:
            found: list[str] = []
            exists = False
            for rdtype in ("A", "AAAA"):
                answer = self.query(name, rdtype)
                exists = exists or answer.outcome != "nxdomain"
                found.extend(
                    str(item.address) for item in answer.records if isinstance(item, (A, AAAA))
                )
                if answer.outcome == "nxdomain":
                    break  # the name does not exist: it has no AAAA either
            self._addresses[name] = (found, exists)
        return self._addresses[name]

    def failure_without_targets(self, domain: dns.name.Name) -> DnsFailure:
        if self.unresolved:
            return TargetsWithoutAddress(domain=_text(domain), targets=tuple(self.unresolved))
        return NoServerRecords(domain=_text(domain), server=self.server)

    # -- one query -------------------------------------------------------------------

    def query(self, name: dns.name.Name, rdtype: str) -> _Answer:
        """One query, within what is left of the whole resolution's `lifetime` (a server
        answering each of 16 queries slowly must not multiply the wait)."""
        text = _text(name)
        left = self.lifetime - (time.monotonic() - self.started)
        if left <= 0:
            self.lookups.append(
                DnsLookup(text, rdtype, "timeout", detail=f"not asked: {self.lifetime:g} s used")
            )
            raise _Stopped(
                DnsServerSilent(server=self.server, name=f"{text} {rdtype}", lifetime=self.lifetime)
            )
        try:
            answer = self.resolver.resolve(
                name,
                dns.rdatatype.from_text(rdtype),
                search=False,
                raise_on_no_answer=False,
                lifetime=left,
            )
        except dns.resolver.NXDOMAIN:
            self.lookups.append(DnsLookup(text, rdtype, "nxdomain"))
            return _Answer("nxdomain")
        except dns.resolver.LifetimeTimeout:
            self.lookups.append(
                DnsLookup(text, rdtype, "timeout", detail=f"no answer within {self.lifetime:g} s")
            )
            raise _Stopped(
                DnsServerSilent(server=self.server, name=f"{text} {rdtype}", lifetime=self.lifetime)
            ) from None
        except dns.resolver.NoNameservers as error:
            detail = _no_nameservers_detail(error)
            self.lookups.append(DnsLookup(text, rdtype, "error", detail=detail))
            raise _Stopped(
                DnsServerFailed(server=self.server, name=f"{text} {rdtype}", detail=detail)
            ) from None
        except dns.exception.DNSException as error:
            detail = str(error) or type(error).__name__
            self.lookups.append(DnsLookup(text, rdtype, "error", detail=detail))
            raise _Stopped(
                DnsServerFailed(server=self.server, name=f"{text} {rdtype}", detail=detail)
            ) from None
        if answer.rrset is None:
            self.lookups.append(DnsLookup(text, rdtype, "nodata"))
            return _Answer("nodata")
        records = list(answer.rrset)
        self.lookups.append(
            DnsLookup(
                text,
                rdtype,
                "answer",
                answers=tuple(item.to_text() for item in records),
                ttl=answer.rrset.ttl,
            )
        )
        return _Answer("answer", records)


def _make_resolver(dns_server: DnsServer | None, lifetime: float) -> dns.resolver.Resolver:
    if dns_server is None:
        try:
            resolver = dns.resolver.Resolver(configure=True)
        except dns.resolver.NoResolverConfiguration:
            raise CannotRunError(
                "This machine has no DNS server configured (/etc/resolv.conf). "
                "Name one with --dns-server, or give the server's IP address."
            ) from None
    else:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [dns_server.address]
        resolver.port = dns_server.port
    resolver.timeout = min(_TRY_SECONDS, lifetime)
    resolver.lifetime = lifetime
    resolver.retry_servfail = False
    resolver.cache = None
    return resolver


def _no_nameservers_detail(error: dns.resolver.NoNameservers) -> str:
    """What the servers answered, e.g. ``SERVFAIL`` or ``REFUSED``."""
    errors = error.kwargs.get("errors") or []
    for _server, _tcp, _port, problem, *_ in errors:
        if isinstance(problem, str) and problem:
            return problem
        if problem is not None:
            return str(problem) or type(problem).__name__
    return "no usable answer"


def _ip_literal(host: str) -> str | None:
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _domain_name(host: str) -> dns.name.Name:
    text = host.strip()
    if not text or text.startswith("[") or ":" in text:
        raise UsageError(f"'{host}' is neither a domain name nor an IP address.")
    try:
        return dns.name.from_text(text)
    except dns.exception.DNSException as error:
        raise UsageError(f"'{host}' is not a valid domain name ({error}).") from None


def _text(name: dns.name.Name | str) -> str:
    """A name as people write it: no trailing dot (the root stays ``.``)."""
    text = name.to_text() if isinstance(name, dns.name.Name) else name
    return text if text == "." else text.rstrip(".")
