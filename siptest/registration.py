"""The registration check as a library call: register, diagnose, clean up.

`check_registration` is what `siptest register` runs; it prints nothing and
returns the report and the redacted SIP exchange.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from siptest.analysis.model import Check, Report
from siptest.analysis.preflight import check_account
from siptest.analysis.registration import analyse_registration, analyse_unregistration
from siptest.bulk.turn import TURN_ENV, take_turn
from siptest.errors import CannotRunError
from siptest.interruption import Interruption, catching_signals
from siptest.knowledge import Knowledge
from siptest.ua.addressing import source_address
from siptest.ua.agents import AgentFactory, pjsua_agent
from siptest.ua.base import AccountSpec, AgentConfig, TlsSettings, UserAgent
from siptest.ua.events import Event, Watcher


@dataclass(frozen=True)
class RegistrationRequest:
    account: AccountSpec
    timeout: float = 5.0
    tls: TlsSettings = field(default_factory=TlsSettings)
    local_port: int = 0
    capture_media: bool = False
    """Keep the RTP/RTCP packets of the calls placed (for `--pcap`)."""

    @property
    def local_address(self) -> str | None:
        """Our address toward the server: Via, Contact and SDP carry it."""
        account = self.account
        return source_address(account.outbound_proxy or account.registrar)


@dataclass(frozen=True)
class CheckRun:
    report: Report
    events: tuple[Event, ...]
    exit_status: int | None = None
    """130/143 when a signal cut the run short."""


def agent_config(request: RegistrationRequest) -> AgentConfig:
    """The stack for one account's checks: its transport, timers, TLS and address."""
    account = request.account
    return AgentConfig(
        transport=account.transport,
        timeout=request.timeout,
        tls=request.tls,
        local_port=request.local_port,
        public_address=request.local_address,
        secrets=(account.password,),
        capture_media=request.capture_media,
    )


def register_step(
    agent: UserAgent, account: AccountSpec, knowledge: Knowledge, timeout: float
) -> tuple[Check, bool]:
    """Register and diagnose; the check, and whether the account is now registered."""
    started = time.monotonic()
    outcome = agent.register(account)
    elapsed = (time.monotonic() - started) * 1000
    check = analyse_registration(outcome, account, knowledge, timeout=timeout, duration_ms=elapsed)
    return check, outcome.ok


def unregister_step(agent: UserAgent, account: AccountSpec, knowledge: Knowledge) -> Check | None:
    """Remove our own registration; None when there was none to remove."""
    started = time.monotonic()
    removal = agent.unregister(account)
    if removal is None:
        return None
    elapsed = (time.monotonic() - started) * 1000
    return analyse_unregistration(removal, account, elapsed, knowledge)


def finished_run(
    checks: list[Check],
    knowledge: Knowledge,
    request: RegistrationRequest,
    events: tuple[Event, ...],
    interruption: Interruption,
) -> CheckRun:
    """The report of one command's run, partial (and marked) when a signal cut it short."""
    report = Report(
        checks=tuple(checks),
        profile=knowledge.profile.name,
        insecure=request.account.transport == "tls" and not request.tls.verify,
        interrupted=interruption.happened,
    )
    status = int(interruption.exit_status) if interruption.happened else None
    return CheckRun(report, events, status)


def check_registration(
    request: RegistrationRequest,
    knowledge: Knowledge,
    agent_factory: AgentFactory = pjsua_agent,
    watcher: Watcher | None = None,
) -> CheckRun:
    """`watcher` is told what happens as it happens (live progress on a terminal)."""
    account = request.account
    checks: list[Check] = check_account(
        account.user, account.auth_user, account.password, knowledge
    )
    agent = agent_factory(agent_config(request))
    if not take_turn():  # a child of `siptest bulk`: its REGISTER waits for the pacer
        agent.close()
        raise CannotRunError(
            f"siptest bulk did not give this check its turn ({TURN_ENV}): the run "
            "stopped, or the variable was not set by siptest bulk. Nothing was sent."
        )
    agent.watch(watcher)
    with catching_signals(agent.interrupt) as interruption:
        try:
            check, _ = register_step(agent, account, knowledge, request.timeout)
            checks.append(check)
            # Also after a failure whose 2xx may have been lost on the way (late,
            # garbled, too large): the agent then un-REGISTERs our contact anyway.
            if (removal := unregister_step(agent, account, knowledge)) is not None:
                checks.append(removal)
        finally:
            agent.close()
    return finished_run(checks, knowledge, request, tuple(agent.events), interruption)


def trace_header(request: RegistrationRequest) -> str:
    account = request.account
    return f"register {account.aor} via {account.hostport} over {account.transport.upper()}"


__all__ = ["CheckRun", "RegistrationRequest", "check_registration"]
