"""The doctor's verdict chain: what every step found in, one cause out. Pure.

The order is a technician's: a name that does not resolve explains everything after
it, so DNS decides first; then whether the device's transport reaches the server at
all (and whether another one does); then what the server said to the REGISTER; then
what the registrar's answer shows of the network on the way (NAT, SIP ALG); then the
call. The first step that names a cause gives the verdict.

Contradictions are settled by the stronger evidence: a REGISTER that was answered
outweighs a probe that was not (the probe's packet was lost, the REGISTER's was not),
and a DNS failure outweighs everything (nothing after it could have gone anywhere).
"""

from __future__ import annotations

from siptest.doctor.model import (
    NO_ANSWER,
    NOTHING_LISTENS,
    Choice,
    Findings,
    Probe,
    Reach,
)
from siptest.resolution import Resolution, Transport

DNS_VERDICTS: dict[str, str] = {
    "dns.no_such_name": "doctor.dns_no_such_name",
    "dns.no_records": "doctor.dns_no_records",
    "dns.targets_without_address": "doctor.dns_targets_without_address",
    "dns.server_silent": "doctor.dns_server_silent",
    "dns.server_failed": "doctor.dns_server_failed",
}
"""Each DNS failure of the resolver, and the doctor's verdict for it."""

# The transport to suggest when the device's one fails: TCP first (no certificate to
# set up), TLS next, UDP last (the one networks most often break).
_ALTERNATIVES: tuple[Transport, ...] = ("tcp", "tls", "udp")
_TLS_LEVEL = ("tls_certificate", "tls_version", "not_tls", "tls_failed")


def choose(findings: Findings) -> Choice:
    """The one verdict for everything found (see the module's docstring for the order)."""
    if findings.dns is not None and findings.dns.failure is not None:
        return _dns_failure(findings.dns)
    registered = findings.register is not None and findings.register.ok
    if not registered and (unreachable := _unreachable(findings)) is not None:
        return unreachable
    if findings.register is not None and not findings.register.ok:
        return _register_failed(findings)
    if findings.nat is not None and findings.nat.alg:
        sign = findings.nat.alg[0]
        facts: dict[str, object] = {
            "alg_header": sign.header,
            "alg_sent": sign.sent,
            "alg_seen": sign.seen,
        }
        return Choice("doctor.sip_alg", False, "nat", facts)
    if findings.call is not None and findings.call_ok is False:
        given = findings.call.diagnosis
        return Choice(given.id if given else "doctor.works", False, "call", given=given)
    return _works(findings)


def _dns_failure(resolution: Resolution) -> Choice:
    failure = resolution.failure
    assert failure is not None
    facts: dict[str, object] = {
        "domain": resolution.domain,
        "dns_server": resolution.server,
        "dns_detail": failure.sentence(),
    }
    return Choice(DNS_VERDICTS[failure.kind], False, "dns", facts)


def _words(probe: Probe) -> str:
    return {
        "port_unreachable": "nothing listens (ICMP port unreachable)",
        "refused": "the connection was refused",
        "silent": "no answer at all",
        "dropped": "the connection attempt got no answer",
        "unreachable": "no route to the server",
    }.get(probe.outcome, probe.detail)


def _unreachable(findings: Findings) -> Choice | None:
    """The device's transport reaches no target: why, and what to use instead."""
    chosen = findings.reach_of(findings.transport)
    if chosen is None or not chosen.probed or chosen.reached is not None:
        return None
    tls_level = [p for p in chosen.probes if p.outcome in _TLS_LEVEL]
    if tls_level:
        return _tls_failed(min(tls_level, key=lambda p: _TLS_LEVEL.index(p.outcome)))
    first = chosen.probes[0]
    facts: dict[str, object] = {
        "host": first.host,
        "port": first.port,
        "failed_transport": chosen.transport.upper(),
        "failed_how": _words(first),
    }
    working = _working_alternative(findings, chosen.transport)
    if working is not None:
        probe = working.reached
        assert probe is not None
        facts.update(working_transport=working.transport.upper(), working_port=probe.port)
        cases: tuple[str, ...] = ()
        if all(p.outcome in NO_ANSWER for p in chosen.probes):
            cases = ("udp_blocked",) if chosen.transport == "udp" else ("blocked",)
        elif all(p.outcome in NOTHING_LISTENS for p in chosen.probes):
            cases = ("not_offered",)
        return Choice("doctor.use_other_transport", False, chosen.transport, facts, cases)
    probes = [p for reach in findings.reach for p in reach.probes]
    facts["ports"] = ", ".join(sorted({f"{p.transport.upper()} {p.port}" for p in probes}))
    if all(p.outcome in NOTHING_LISTENS for p in probes):
        return Choice("doctor.nothing_listens", False, chosen.transport, facts)
    if all(p.outcome in NO_ANSWER for p in probes):
        return Choice("doctor.no_answer", False, chosen.transport, facts)
    facts["outcomes"] = "; ".join(
        f"{p.transport.upper()} {p.hostport}: {_words(p)}" for p in probes
    )
    return Choice("doctor.unreachable", False, chosen.transport, facts)


def _working_alternative(findings: Findings, failed: Transport) -> Reach | None:
    for transport in _ALTERNATIVES:
        reach = findings.reach_of(transport)
        # only a transport on which the server answered SIP is worth recommending: a
        # port that accepts connections (a firewall, a load balancer, another service)
        # may still never answer a REGISTER
        reached = reach.reached if reach is not None else None
        if transport != failed and reached is not None and reached.outcome == "answered":
            return reach
    return None


def _tls_failed(probe: Probe) -> Choice:
    facts: dict[str, object] = {"host": probe.host, "port": probe.port}
    if probe.outcome == "not_tls":
        return Choice("tls.not_tls", False, "tls", facts, situation_cause="not_tls")
    if probe.outcome == "tls_version":
        return Choice("siptest.tls_version", False, "tls", facts, situation_cause="tls_version")
    if probe.outcome == "tls_failed":
        return Choice("tls.failed", False, "tls", facts, situation_cause="tls")
    problem = str(probe.tls.get("problem", ""))
    facts.update(tls_name=str(probe.tls.get("server_name") or probe.host), tls_detail=probe.detail)
    cases = (problem,) if problem in ("name", "expired", "untrusted") else ()
    return Choice("doctor.tls_certificate", False, "tls", facts, cases)


def _register_failed(findings: Findings) -> Choice:
    check = findings.register
    assert check is not None
    response = check.response
    chosen = findings.reach_of(findings.transport)
    answered = chosen.reached if chosen is not None else None
    silent = (
        response is not None and response.origin == "none" and response.local_cause == "timeout"
    )
    if silent and answered is not None and answered.outcome == "answered":
        facts: dict[str, object] = {
            "host": answered.host,
            "port": answered.port,
            "failed_transport": findings.transport.upper(),
        }
        return Choice("doctor.register_unanswered", False, "register", facts)
    given = check.diagnosis
    return Choice(given.id if given else "fallback.unknown", False, "register", given=given)


def _works(findings: Findings) -> Choice:
    chosen = findings.reach_of(findings.transport)
    cases: tuple[str, ...] = ("nat",) if findings.nat is not None and findings.nat.nat else ()
    if findings.dns is not None:
        broken = [u for u in findings.dns.unresolved if u.transport == findings.transport]
        good = chosen.reached if chosen is not None else None
        if broken and good is not None:
            facts: dict[str, object] = {
                "srv_record": broken[0].record,
                "srv_target": broken[0].target,
                "good_target": good.host,
                "good_port": good.port,
            }
            return Choice("doctor.srv_target_unusable", True, "dns", facts, ("no_address",))
    if chosen is not None and chosen.reached is not None and chosen.probes[0] is not chosen.reached:
        dead, good = chosen.probes[0], chosen.reached
        facts = {
            "srv_target": dead.host,
            "srv_record": f"{dead.host}:{dead.port}",
            "failed_how": _words(dead),
            "good_target": good.host,
            "good_port": good.port,
        }
        return Choice("doctor.srv_target_unusable", True, findings.transport, facts, ("dead",))
    return Choice("doctor.works", True, None, {}, cases)
