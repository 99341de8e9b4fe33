"""`siptest doctor` as a library call: run the triage in order, stop when the cause is clear.

Steps: DNS (RFC 3263), reachability per transport (UDP, TCP, TLS) for the targets DNS
gave, REGISTER with the credentials, NAT and SIP ALG signs in the registrar's answer,
optionally a call. Each network wait is bounded by the request's `timeout`. Prints
nothing; returns a `DoctorReport` and the SIP exchange of the REGISTER and call.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from siptest.analysis.model import Check
from siptest.doctor.model import (
    Choice,
    DoctorReport,
    Findings,
    NatEvidence,
    Probe,
    Reach,
    Step,
    StepName,
)
from siptest.doctor.nat import nat_evidence
from siptest.doctor.probes import probe_tcp, probe_tls_target, probe_udp
from siptest.doctor.verdict import choose
from siptest.knowledge import Knowledge, Situation
from siptest.knowledge.model import Diagnosis
from siptest.registration import CheckRun, RegistrationRequest
from siptest.resolution import DnsServer, Resolution, ResolvedTarget, Transport, resolve
from siptest.routing import tls_for
from siptest.ua.base import AccountSpec, TlsSettings
from siptest.ua.events import Event

TRANSPORTS: tuple[Transport, ...] = ("udp", "tcp", "tls")
MAX_TARGETS = 3
"""Targets probed per transport at most: each may take the whole timeout."""


@dataclass(frozen=True)
class DoctorRequest:
    user: str
    host: str
    """The server as given: a domain or an address (IPv6 without brackets)."""
    port: int | None
    transport: Transport | None
    """The device's transport when given (--transport); else DNS's first."""
    auth_user: str
    password: str = field(repr=False)
    timeout: float = 5.0
    dns_server: DnsServer | None = None
    tls: TlsSettings = field(default_factory=TlsSettings)
    tls_port: int | None = None
    """Where to probe TLS when the target names a port (that port is UDP/TCP's)."""
    call: str | None = None
    """A number to call after registering (--call)."""
    local_port: int = 0

    @property
    def target(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.user}@{host}" + (f":{self.port}" if self.port else "")


@dataclass(frozen=True)
class DoctorRun:
    report: DoctorReport
    events: tuple[Event, ...]
    exit_status: int | None = None


Register = Callable[[RegistrationRequest, Knowledge], CheckRun]
Call = Callable[[AccountSpec, str, DoctorRequest, Knowledge], CheckRun]


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class _Doctor:
    def __init__(self, request: DoctorRequest, knowledge: Knowledge) -> None:
        self.request = request
        self.knowledge = knowledge
        self.findings = Findings(
            domain=request.host,
            port=request.port,
            transport=request.transport or "udp",
            transport_given=request.transport is not None,
        )
        self.events: tuple[Event, ...] = ()
        self.exit_status: int | None = None

    # -- DNS ----------------------------------------------------------------------

    def resolve(self, transport: Transport | None, port: int | None) -> Resolution:
        request = self.request
        return resolve(
            request.host,
            port=port,
            transport=transport,
            dns_server=request.dns_server,
            lifetime=request.timeout,
        )

    def dns(self) -> None:
        resolution = self.resolve(self.request.transport, self.request.port)
        transport = self.request.transport
        if transport is None and resolution.targets:
            transport = resolution.targets[0].transport
        self.findings = replace(
            self.findings, dns=resolution, transport=transport or self.findings.transport
        )

    # -- reachability -------------------------------------------------------------

    def targets_for(self, transport: Transport) -> tuple[ResolvedTarget, ...]:
        resolution = self.findings.dns
        assert resolution is not None
        found = tuple(t for t in resolution.targets if t.transport == transport)
        if found:
            return found[:MAX_TARGETS]
        request = self.request
        port = request.port
        if transport == "tls" and (request.tls_port is not None or port is not None):
            if request.tls_port is None and self.findings.transport != "tls":
                return ()  # the port given is UDP/TCP's: no TLS port known
            port = request.tls_port or port
        other = self.resolve(transport, port)
        return other.targets[:MAX_TARGETS] if other.ok else ()

    def probe(self, transport: Transport, target: ResolvedTarget) -> Probe:
        request = self.request
        if transport == "udp":
            return probe_udp(target, request.host, request.timeout)
        if transport == "tcp":
            return probe_tcp(target, request.host, request.timeout)
        resolution = self.findings.dns
        server_name = resolution.tls_server_name if resolution is not None else None
        return probe_tls_target(
            target,
            server_name,
            verify=request.tls.verify,
            ca_file=request.tls.ca_file,
            timeout=request.timeout,
        )

    def reach(self) -> None:
        results: list[Reach] = []
        for transport in TRANSPORTS:
            probes: list[Probe] = []
            for target in self.targets_for(transport):
                probe = self.probe(transport, target)
                probes.append(probe)
                if probe.reached:
                    break  # RFC 3263 4.3: the next target only when this one failed
            results.append(Reach(transport, tuple(probes)))
        self.findings = replace(self.findings, reach=tuple(results))

    # -- REGISTER, NAT, call ------------------------------------------------------

    def account(self) -> AccountSpec | None:
        reach = self.findings.reach_of(self.findings.transport)
        probe = reach.reached if reach is not None else None
        if probe is None:
            return None
        request = self.request
        domain = f"[{request.host}]" if ":" in request.host else request.host
        if request.port:
            domain = f"{domain}:{request.port}"
        return AccountSpec(
            user=request.user,
            domain=domain,
            registrar=probe.address,
            port=probe.port,
            transport=self.findings.transport,
            auth_user=request.auth_user,
            password=request.password,
        )

    def register(self, account: AccountSpec, register: Register) -> None:
        request = self.request
        tls = tls_for(account, request.tls, request.host)  # RFC 5922: the domain's name
        registration = RegistrationRequest(account, request.timeout, tls, request.local_port)
        run = register(registration, self.knowledge)
        self.events = run.events
        self.exit_status = run.exit_status
        check = next((c for c in run.report.checks if c.kind == "register"), None)
        nat: NatEvidence | None = None
        if check is not None and check.ok:
            nat = nat_evidence(check, run.events, registration.local_address, self.knowledge)
        self.findings = replace(self.findings, register=check, nat=nat)

    def call(self, account: AccountSpec, call: Call) -> None:
        assert self.request.call is not None
        run = call(account, self.request.call, self.request, self.knowledge)
        self.events = self.events + run.events
        self.exit_status = run.exit_status
        failing = next((c for c in run.report.checks if not c.ok and c.diagnosis), None)
        shown = failing or next((c for c in run.report.checks if c.kind == "call"), None)
        self.findings = replace(self.findings, call=shown, call_ok=run.report.ok)

    def decided(self) -> bool:
        return not choose(self.findings).ok or self.exit_status is not None


def run_doctor(
    request: DoctorRequest, knowledge: Knowledge, register: Register, call: Call
) -> DoctorRun:
    """The triage, in order; each step runs only while no cause is clear yet."""
    doctor = _Doctor(request, knowledge)
    ran: list[StepName] = ["dns"]
    doctor.dns()
    if not doctor.decided():
        doctor.reach()
        ran += ["udp", "tcp", "tls"]
        account = doctor.account()
        if not doctor.decided() and account is not None:
            doctor.register(account, register)
            ran.append("register")
            if doctor.findings.register is not None and doctor.findings.register.ok:
                ran.append("nat")
            if not doctor.decided() and request.call is not None:
                doctor.call(account, call)
                ran.append("call")
    findings = doctor.findings
    choice = choose(findings)
    verdict = render(choice, knowledge, findings.transport)
    steps = build_steps(findings, ran, choice, verdict)
    report = DoctorReport(
        target=request.target,
        steps=tuple(steps),
        verdict=verdict,
        ok=choice.ok and doctor.exit_status is None,
        decided_by=choice.step,
        insecure=not request.tls.verify,
        interrupted=doctor.exit_status is not None,
    )
    return DoctorRun(report, doctor.events, doctor.exit_status)


def render(choice: Choice, knowledge: Knowledge, transport: Transport) -> Diagnosis:
    """The chosen verdict in words: a step's own diagnosis, a matched one, or a named one."""
    if choice.given is not None:
        return choice.given
    if choice.situation_cause is not None:
        situation = Situation(
            method="REGISTER",
            code=None,
            origin="none",
            local_cause=choice.situation_cause,
            transport=transport,
        )
        return knowledge.diagnose(situation, choice.facts)
    return knowledge.named(choice.id, choice.facts, cases=choice.cases, notes=choice.notes)


# -- the report's steps ------------------------------------------------------------


def _dns_step(findings: Findings) -> Step:
    resolution = findings.dns
    assert resolution is not None
    evidence = resolution.to_json()
    if resolution.failure is not None:
        return Step("dns", False, resolution.failure.sentence(), evidence)
    if resolution.targets and resolution.targets[0].step == "literal":
        return Step("dns", True, f"{resolution.domain} is an address: no DNS needed", evidence)
    found = ", ".join(
        f"{t.transport.upper()} {t.host} {t.hostport}" for t in resolution.targets[:6]
    )
    summary = f"{len(resolution.targets)} target(s) via {resolution.targets[0].step}: {found}"
    if resolution.unresolved:
        names = ", ".join(u.target for u in resolution.unresolved)
        summary += f"; without an address: {names}"
    return Step("dns", True, summary, evidence)


def _reach_step(reach: Reach, chosen: bool) -> Step:
    evidence = {
        "probed": reach.probed,
        "device_transport": chosen,
        "targets": [probe.as_json() for probe in reach.probes],
    }
    if not reach.probed:
        return Step(reach.transport, True, "not probed: no target for this transport", evidence)
    summary = "; ".join(f"{p.hostport} {p.detail}" for p in reach.probes)
    return Step(reach.transport, reach.reached is not None, summary, evidence)


def _register_step(check: Check | None) -> Step:
    if check is None:
        return Step("register", False, "no REGISTER was made", {})
    response = check.response
    evidence = {
        "target": check.target,
        "transport": check.transport,
        "response": None
        if response is None
        else {
            "code": response.code,
            "reason": response.reason,
            "origin": response.origin,
            "local_cause": response.local_cause,
        },
        **{k: v for k, v in check.details.items() if k in _REGISTER_DETAILS},
        **(check.binding.as_json() if check.binding is not None else {}),
    }
    said = "no answer"
    if response is not None and response.code is not None:
        said = f"{response.code} {response.reason}".strip()
    summary = f"registered ({said})" if check.ok else f"refused: {said}"
    if response is not None and response.origin != "remote" and not check.ok:
        summary = check.diagnosis.title if check.diagnosis else said
    return Step("register", check.ok, summary, evidence, check.diagnosis)


_REGISTER_DETAILS = ("credentials_sent", "stopped_after_rejection", "requests_sent")


def _nat_step(nat: NatEvidence | None, verdict: Diagnosis, alg_decided: bool) -> Step:
    if nat is None:
        return Step("nat", True, "not read: the registrar's 2xx was not found", {})
    evidence = {
        "local": nat.local,
        "via_received": nat.via_received,
        "via_rport": nat.via_rport,
        "binding": nat.binding,
        "alg": [{"header": s.header, "sent": s.sent, "seen": s.seen} for s in nat.alg],
        "findings": [c.diagnosis.id for c in nat.findings if c.diagnosis is not None],
    }
    seen = f"{nat.via_received or '?'}:{nat.via_rport if nat.via_rport is not None else '?'}"
    if nat.alg:
        sign = nat.alg[0]
        summary = f"SIP rewritten on the way: {sign.header} sent {sign.sent}, echoed {sign.seen}"
        return Step("nat", False, summary, evidence, verdict if alg_decided else None)
    if nat.nat:
        finding = next(c for c in nat.findings if c.diagnosis and c.diagnosis.id == "nat.detected")
        return Step(
            "nat", True, f"behind a NAT: sent from {nat.local}, seen at {seen}", evidence,
            finding.diagnosis,
        )  # fmt: skip
    return Step("nat", True, f"no NAT, no ALG: sent from {nat.local}, seen at {seen}", evidence)


def _call_step(findings: Findings) -> Step:
    check = findings.call
    ok = bool(findings.call_ok)
    if check is None:
        return Step("call", ok, "no call was made", {})
    evidence = {"kind": check.kind, "target": check.target, **_jsonable(check)}
    title = check.diagnosis.title if check.diagnosis else ("answered" if ok else "failed")
    return Step("call", ok, title, evidence, check.diagnosis)


def _jsonable(check: Check) -> dict[str, object]:
    keep = ("answered", "answer_ms", "provisional")
    data: dict[str, object] = {k: check.details[k] for k in keep if k in check.details}
    if check.media is not None:
        data["media"] = check.media.as_json()
    return data


def build_steps(
    findings: Findings,
    ran: list[StepName],
    choice: Choice,
    verdict: Diagnosis,
) -> list[Step]:
    """One step per stage run, in order; the deciding step carries the verdict."""
    steps: list[Step] = []
    for name in ran:
        if name == "dns":
            step = _dns_step(findings)
        elif name in TRANSPORTS:
            reach = findings.reach_of(name)
            assert reach is not None
            step = _reach_step(reach, name == findings.transport)
        elif name == "register":
            step = _register_step(findings.register)
        elif name == "nat":
            step = _nat_step(findings.nat, verdict, choice.step == "nat")
        else:
            step = _call_step(findings)
        if choice.step == name and step.diagnosis is None and not choice.ok:
            step = replace(step, diagnosis=verdict)
        steps.append(step)
    return steps
