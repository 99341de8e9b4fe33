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

Only resolver.py imports dnspython (ruff's banned-api rule keeps it there).
"""

from __future__ import annotations

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
from siptest.resolution.resolver import DEFAULT_LIFETIME, resolve
from siptest.resolution.server import parse_dns_server
from siptest.resolution.srv import RandomSource, SrvRecord, order_srv

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
