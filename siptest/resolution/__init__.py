"""Finding the SIP server the way a phone does: RFC 3263 DNS resolution and failover.

Public API::

    resolve(host, *, port=None, transport=None, secure=False, dns_server=None,
            lifetime=5.0, random=None) -> Resolution
        NAPTR -> SRV -> A/AAAA (RFC 3263 4), an IP address without DNS
    Resolution(domain, tls_server_name, server, lookups, targets, unresolved, failure)
        .ok  .to_json()
    ResolvedTarget(host, address, port, transport, step, record)   .hostport
    DnsLookup(name, rdtype, outcome, answers, ttl, detail)
    parse_dns_server("HOST[:PORT]") -> DnsServer(address, port)   (UsageError otherwise)
    fail_over(targets, attempt, failover_cause) -> FailoverRun
        FailoverRun.attempts .tried .answered .final .result .to_json()
    order_srv(records, random) -> list[SrvRecord]                   (RFC 2782)

DNS failures are results (``Resolution.failure``), one dataclass each, with
``kind`` (a diagnosis id) and ``sentence()``::

    NoSuchName              dns.no_such_name             NXDOMAIN for the domain
    NoServerRecords         dns.no_records               no NAPTR/SRV and no A/AAAA
    TargetsWithoutAddress   dns.targets_without_address  every SRV target lacks an address
    DnsServerSilent         dns.server_silent            no answer within the lifetime
    DnsServerFailed         dns.server_failed            SERVFAIL, REFUSED, bad reply

An SRV target without an address while others have one is not a failure: it is listed
in ``Resolution.unresolved`` as a ``TargetWithoutAddress``.

Only resolver.py imports dnspython (ruff's banned-api rule keeps it there), and only
when a name is looked up: ``resolve`` and ``DEFAULT_LIFETIME`` are loaded on first use,
so a check of an IP address never pays for importing dnspython (about a fifth of a
register check's wall time, benchmarks/register_vs_sipsak.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from siptest.resolution.failover import FailoverCause, FailoverRun, TargetAttempt, fail_over
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
    TargetsWithoutAddress,
    TargetWithoutAddress,
    Transport,
)
from siptest.resolution.server import parse_dns_server
from siptest.resolution.srv import RandomSource, SrvRecord, order_srv

if TYPE_CHECKING:
    from siptest.resolution.resolver import DEFAULT_LIFETIME, resolve

_LAZY = ("DEFAULT_LIFETIME", "resolve")


def __getattr__(name: str) -> Any:
    """`resolve` and `DEFAULT_LIFETIME`, importing dnspython on first use (PEP 562)."""
    if name in _LAZY:
        from siptest.resolution import resolver

        return getattr(resolver, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_LIFETIME",
    "DEFAULT_PORTS",
    "DnsFailure",
    "DnsLookup",
    "DnsServer",
    "DnsServerFailed",
    "DnsServerSilent",
    "FailoverCause",
    "FailoverRun",
    "NoServerRecords",
    "NoSuchName",
    "RandomSource",
    "Resolution",
    "ResolvedTarget",
    "SrvRecord",
    "TargetAttempt",
    "TargetWithoutAddress",
    "TargetsWithoutAddress",
    "Transport",
    "fail_over",
    "order_srv",
    "parse_dns_server",
    "resolve",
]
