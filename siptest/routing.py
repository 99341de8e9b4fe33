"""Where a test sends its requests: the server as a phone finds it, tried in order.

A server given by name is looked up as RFC 3263 says (NAPTR, SRV, then A/AAAA, with
`siptest.resolution`), and the targets are tried in that order: on no answer, a
transport error or a 503 siptest moves on to the next, as a phone does. The report gets
a `resolution` check: the records, which targets were tried, which answered. An IP
address, `localhost` (RFC 6761: never asked of DNS) and a server reached through
`--outbound-proxy` are not looked up by siptest.

The account keeps the domain as typed (the address of record, the TLS name checked,
RFC 5922); each attempt sends to the target's address, port and transport.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from siptest.analysis.model import Check, Report
from siptest.knowledge import Knowledge
from siptest.registration import CheckRun
from siptest.ua.addressing import is_ipv6
from siptest.ua.base import AccountSpec, TlsSettings, Transport

if TYPE_CHECKING:
    # Imported where used: a check of an IP address (no DNS) never loads
    # siptest.resolution (benchmarks/register_vs_sipsak.py counts start-up).
    from siptest.resolution import (
        DnsServer,
        FailoverCause,
        FailoverRun,
        Resolution,
        ResolvedTarget,
    )

DNS_LIFETIME_S = 5.0
"""At most this long for the whole lookup (bounded by --timeout too)."""

MAX_TARGETS = 4
"""Servers tried at most: each costs up to --timeout, and a phone gives up too."""

# Nothing was sent, or nothing SIP came back: a phone tries the next server (RFC 3263
# 4.3; a TLS handshake that fails, the certificate included, is a transport failure, and
# so is a TCP or TLS connection nothing answered: `no_connection`).
_TRANSPORT_ERRORS = frozenset(
    {"refused", "unreachable", "transport", "tls", "not_tls", "no_connection", "no_route"}
)


def needs_dns(host: str) -> bool:
    """A name siptest looks up itself: not an IP address, not localhost."""
    import ipaddress

    try:
        ipaddress.ip_address(host)
        return False
    except ValueError:
        pass
    name = host.rstrip(".").lower()
    return not (name == "localhost" or name.endswith(".localhost"))


def look_up(
    account: AccountSpec,
    *,
    transport: Transport | None,
    dns_server: DnsServer | None,
    timeout: float,
) -> Resolution | None:
    """The RFC 3263 resolution of the account's server; None when siptest does not look
    it up (an address, localhost, or an outbound proxy that routes everything).

    `transport` is the one the user asked for (SRV for it only), None to let NAPTR and
    SRV records choose, as a phone set to "auto" does.
    """
    if account.outbound_proxy or not needs_dns(account.registrar):
        return None
    from siptest.resolution import resolve  # dnspython: only when a name is looked up

    return resolve(
        account.registrar,
        port=account.port,
        transport=transport,
        dns_server=dns_server,
        lifetime=min(timeout, DNS_LIFETIME_S),
    )


def at_target(
    account: AccountSpec, tls: TlsSettings, resolution: Resolution, target: ResolvedTarget
) -> tuple[AccountSpec, TlsSettings]:
    """The account and TLS settings for one attempt at `target`."""
    routed = replace(
        account, registrar=target.address, port=target.port, transport=target.transport
    )
    return routed, tls_for(routed, tls, resolution.domain)


def tls_for(account: AccountSpec, tls: TlsSettings, domain: str) -> TlsSettings:
    """The TLS settings for an account sent to an address DNS gave for `domain`: the
    certificate must name the domain (RFC 5922 4.2), not the address."""
    if account.transport == "tls" and needs_dns(domain) and account.registrar != domain:
        return replace(tls, server_name=domain)
    return tls


def failover_cause(run: CheckRun) -> FailoverCause | None:
    """Why a phone would try the next target after this run; None: this is the answer."""
    from siptest.resolution import FailoverCause

    if run.exit_status is not None:
        return None  # interrupted: stop here
    check = next((c for c in run.report.checks if c.kind in ("register", "call")), None)
    response = check.response if check is not None else None
    if response is None:
        return None
    if response.origin == "remote" and response.code == 503:
        return FailoverCause.SERVICE_UNAVAILABLE
    if response.origin == "none" and response.local_cause == "timeout":
        return FailoverCause.TIMEOUT
    if response.origin == "none" and response.local_cause in _TRANSPORT_ERRORS:
        return FailoverCause.TRANSPORT_ERROR
    return None


def routed_run(
    resolution: Resolution,
    knowledge: Knowledge,
    attempt: Callable[[ResolvedTarget], CheckRun],
    *,
    calls: bool = False,
) -> CheckRun:
    """Try the resolution's targets in order; one report: the resolution, then the
    checks of the attempt that ended the run (every attempt's messages in the events).

    With `calls`, IPv6 targets are left out while an IPv4 one remains: siptest's stack
    carries audio over IPv4 only (`siptest.ua.limits`), and a phone would reach the
    same servers over IPv4; only a server reachable over IPv6 alone is siptest's limit.
    """
    from siptest.resolution import fail_over

    if not resolution.ok:
        check = resolution_check(resolution, None, knowledge)
        return CheckRun(Report(checks=(check,), profile=knowledge.profile.name), ())
    targets = resolution.targets
    if calls and any(not is_ipv6(target.address) for target in targets):
        targets = tuple(target for target in targets if not is_ipv6(target.address))
    run = fail_over(targets[:MAX_TARGETS], attempt, failover_cause)
    last = run.result
    assert last is not None  # a resolution that is ok has at least one target
    events = tuple(event for each in run.attempts for event in each.result.events)
    checks = list(last.report.checks)
    first_sent = next((i for i, c in enumerate(checks) if c.kind != "preflight"), len(checks))
    checks.insert(first_sent, resolution_check(resolution, run, knowledge))
    report = replace(last.report, checks=tuple(checks))
    return CheckRun(report, events, last.exit_status)


def resolution_check(
    resolution: Resolution, run: FailoverRun[CheckRun] | None, knowledge: Knowledge
) -> Check:
    """The `resolution` check: what DNS said and which targets were tried."""
    facts: dict[str, object] = {
        "domain": resolution.domain,
        "dns_server": resolution.server,
        "targets": ", ".join(_target_words(t) for t in resolution.targets),
    }
    details: dict[str, object] = {"resolution": resolution.to_json()}
    if run is not None:
        details["failover"] = run.to_json()
    failure = resolution.failure
    if failure is not None:
        facts["dns_problem"] = failure.sentence()
        diagnosis = knowledge.named(failure.kind, facts)
        return Check(
            kind="resolution", ok=False, diagnosis=diagnosis, target=resolution.domain,
            details=details,
        )  # fmt: skip
    if resolution.unresolved:
        facts["dns_problem"] = " ".join(item.sentence() for item in resolution.unresolved)
        diagnosis = knowledge.named("dns.target_without_address", facts)
    else:
        cases: tuple[str, ...] = ()
        if run is not None and run.final is not None and len(run.attempts) > 1:
            facts["tried_before"] = ", ".join(
                f"{a.target.hostport} ({_what_happened(a.result)})"
                for a in run.attempts[:-1]
                if a.failover is not None
            )
            facts["answered_by"] = run.final.target.hostport
            cases = ("failover",)
        diagnosis = knowledge.named("dns.resolved", facts, cases=cases)
    return Check(
        kind="resolution", ok=True, diagnosis=diagnosis, target=resolution.domain, details=details
    )


def _what_happened(run: CheckRun) -> str:
    """Why a target was left, in the report's words ("No response", "503 ...")."""
    check = next((c for c in run.report.checks if c.kind in ("register", "call")), None)
    response = check.response if check is not None else None
    if response is None:
        return "no answer"
    if response.origin == "remote":
        return f"{response.code} {response.reason}".strip()
    return response.reason or "no answer"


def _target_words(target: ResolvedTarget) -> str:
    host = f"[{target.address}]" if is_ipv6(target.address) else target.address
    name = f"{target.host} " if target.host != target.address else ""
    return f"{name}{host}:{target.port} over {target.transport.upper()}"
