"""The dial test as a library call: register, dial, talk, hang up, diagnose, clean up.

`check_call` is what `siptest call` runs; it prints nothing and returns the
report and the redacted SIP exchange.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from siptest.analysis.calls import analyse_call, analyse_hangup
from siptest.analysis.expectations import MediaExpectation, apply_expectation
from siptest.analysis.media import analyse_call_media
from siptest.analysis.model import Binding, Check
from siptest.analysis.nat import nat_findings
from siptest.analysis.preflight import check_account, check_number
from siptest.hostport import split_hostport
from siptest.interruption import Interruption, catching_signals
from siptest.knowledge import Knowledge
from siptest.registration import (
    CheckRun,
    RegistrationRequest,
    agent_config,
    finished_run,
    register_step,
    unregister_step,
)
from siptest.ua.agents import AgentFactory, pjsua_agent
from siptest.ua.base import AccountSpec, TlsSettings
from siptest.ua.calls import CallCompleted, CallSpec
from siptest.ua.events import Event, Watcher
from siptest.ua.limits import check_can_call
from siptest.ua.timing import invite_to_answer


@dataclass(frozen=True)
class CallRequest:
    account: AccountSpec
    call: CallSpec
    timeout: float = 5.0
    tls: TlsSettings = field(default_factory=TlsSettings)
    local_port: int = 0
    force: bool = False
    """Dial even when pre-flight says the provider will refuse the number."""
    expect: int | str | None = None
    """An expected response code or category: the check passes when it happens."""
    capture_media: bool = False
    """Keep the call's RTP/RTCP packets in the run's events (for `--pcap`)."""


def media_checks(
    call: CallCompleted,
    earlier: list[Check],
    local_address: str | None,
    knowledge: Knowledge,
    *,
    expectations: MediaExpectation | None = None,
) -> list[Check]:
    """The media verdict of an answered call, then the NAT findings of the run.

    `earlier` holds the run's checks so far (its first successful registration is
    the NAT evidence); `expectations` are a scenario's `audio`/`min_mos`/`dtmf`.
    """
    registration = next((c for c in earlier if c.kind == "register" and c.ok), None)
    binding = (registration.binding if registration else None) or Binding()
    findings = nat_findings(
        knowledge,
        local_address=local_address,
        via_received=binding.via_received,
        via_rport=binding.via_rport,
        # the binding as the registrar holds it, when its 2xx lists it
        contact=binding.registered_contact or binding.contact,
        remote_sdp_address=call.remote_sdp_address,
        expires_requested=binding.expires_requested,
        expires_granted=binding.expires_granted,
    )
    media = analyse_call_media(
        call,
        expectations=expectations,
        local_address=local_address,
        nat=findings,
        knowledge=knowledge,
    )
    hangup = analyse_hangup(call, knowledge)
    return [media, *findings, *([hangup] if hangup is not None else [])]


def with_media_section(call_check: Check, checks: list[Check]) -> Check:
    """DESIGN.md: a call check carries `media` once media is measured."""
    media = next((c.media for c in checks if c.kind == "media" and c.media is not None), None)
    return call_check if media is None else replace(call_check, media=media)


def with_answer_time(call_check: Check, events: Sequence[Event]) -> Check:
    """The call check with `answer_ms`: INVITE sent to 2xx received (None: not answered)."""
    seconds = invite_to_answer(events)
    answer_ms = None if seconds is None else round(seconds * 1000, 1)
    return replace(call_check, details={**call_check.details, "answer_ms": answer_ms})


def check_call(
    request: CallRequest,
    knowledge: Knowledge,
    agent_factory: AgentFactory = pjsua_agent,
    watcher: Watcher | None = None,
) -> CheckRun:
    """`watcher` is told what happens as it happens (live progress on a terminal)."""
    account = request.account
    checks: list[Check] = check_account(
        account.user, account.auth_user, account.password, knowledge
    )
    number, number_findings = check_number(request.call.number, knowledge)
    checks.extend(number_findings)
    spec = CallSpec(
        number=number,
        ring_timeout=request.call.ring_timeout,
        talk=request.call.talk,
        dtmf=request.call.dtmf,
        dtmf_method=request.call.dtmf_method,
        registered=request.call.registered,
    )
    blocked = any(not finding.ok for finding in number_findings) and not request.force
    registration = RegistrationRequest(
        account, request.timeout, request.tls, request.local_port, request.capture_media
    )
    if blocked:
        return finished_run(checks, knowledge, registration, (), Interruption())
    check_can_call(
        split_hostport(account.outbound_proxy)[0] if account.outbound_proxy else account.registrar
    )
    agent = agent_factory(agent_config(registration))
    agent.watch(watcher)
    with catching_signals(agent.interrupt) as interruption:
        try:
            registered = True
            if spec.registered:
                check, registered = register_step(agent, account, knowledge, request.timeout)
                checks.append(check)
            if registered and not interruption.happened:
                started, mark = time.monotonic(), len(agent.events)
                call = agent.call(account, spec)
                elapsed = (time.monotonic() - started) * 1000
                check = analyse_call(
                    call, account, spec, knowledge, timeout=request.timeout, duration_ms=elapsed
                )
                check = with_answer_time(check, agent.events[mark:])
                if request.expect is not None:
                    check = apply_expectation(check, request.expect, knowledge)
                extra = (
                    media_checks(call, checks, registration.local_address, knowledge)
                    if call.answered
                    else []
                )
                checks.append(with_media_section(check, extra))
                checks.extend(extra)
            removal = unregister_step(agent, account, knowledge) if spec.registered else None
            if removal is not None:
                checks.append(removal)
        finally:
            agent.close()
    return finished_run(checks, knowledge, registration, tuple(agent.events), interruption)
