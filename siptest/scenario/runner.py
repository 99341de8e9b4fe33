"""Running scenarios: one user agent per scenario, driven step by step; prints nothing.

    runs = run_scenarios([prepare(load_scenario(path))])
    runs.exit_status                       # 0, 1, 3 or 130/143

Each register, unregister and call step becomes a `Check` (the same analysis as
`siptest register` and `siptest call`), judged against the step's expectation:
the check's `ok` then says whether the expectation held, and its details carry
the step's FILE:LINE, the expectation and, when it failed, what did not hold. A
scenario stops at its first unmet expectation unless `continue_on_failure`.

Whatever happens - an unmet expectation, an error, Ctrl-C - every account still
registered is un-registered (our own contact only) before the user agent is
closed; the user agent itself CANCELs or BYEs a call it is in. A signal ends the
run after that clean-up, and the report says it is partial.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from siptest.analysis.calls import analyse_call
from siptest.analysis.model import Check, Report
from siptest.analysis.preflight import check_account, check_number
from siptest.analysis.registration import analyse_registration, analyse_unregistration
from siptest.errors import ExitStatus, SiptestError
from siptest.interruption import Interruption, catching_signals
from siptest.scenario.loader import PreparedScenario
from siptest.scenario.model import (
    DEFAULT_EXPECTATION,
    Call,
    Location,
    Register,
    Scenario,
    Step,
    Unregister,
    Wait,
)
from siptest.ua.base import CallSpec, TlsSettings, UserAgent, WireMessage

AgentFactory = Callable[[PreparedScenario], UserAgent]
Sleep = Callable[[float], None]
Clock = Callable[[], float]
Status = Literal["passed", "failed", "error", "interrupted"]

_PAUSE_SLICE = 0.1
"""A `wait` step notices Ctrl-C within this many seconds."""


def pjsua_agent(prepared: PreparedScenario) -> UserAgent:
    """The real user agent: one pjsua2 stack on the scenario's transport."""
    from siptest.ua.addressing import source_address
    from siptest.ua.pjsua import AgentConfig, PjsuaAgent

    scenario = prepared.scenario
    first = next(iter(prepared.accounts.values()))
    return PjsuaAgent(
        AgentConfig(
            transport=scenario.transport,
            timeout=scenario.timeout,
            tls=TlsSettings(verify=not scenario.tls_insecure, ca_file=scenario.tls_ca),
            public_address=source_address(first.outbound_proxy or first.registrar),
            secrets=tuple(spec.password for spec in prepared.accounts.values()),
        )
    )


@dataclass(frozen=True)
class Failure:
    """An expectation that did not hold."""

    location: Location
    """Where the step is written."""
    step: str
    """The step in words: "call 7000 from account 'default'"."""
    problems: tuple[str, ...]
    """What did not hold: "expected code 404, got 200 OK"."""
    check: Check


@dataclass(frozen=True)
class ScenarioRun:
    """What running one scenario found."""

    scenario: Scenario
    status: Status
    report: Report
    """Every check in order: pre-flight advice, the steps, the clean-up."""
    failures: tuple[Failure, ...] = ()
    error: str | None = None
    """Why the scenario could not run to the end (status "error")."""
    error_status: ExitStatus | None = None
    steps_run: int = 0
    steps_not_run: int = 0
    """Steps left out after a failure, an error or an interruption."""
    messages: tuple[WireMessage, ...] = ()
    """The redacted SIP exchange."""
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "passed"


@dataclass(frozen=True)
class ScenarioRuns:
    """Every scenario of one `siptest run`, in order."""

    runs: tuple[ScenarioRun, ...]
    not_run: tuple[Scenario, ...] = ()
    """Scenarios not started because the run was interrupted."""
    interrupted_status: ExitStatus | None = None
    """130 (SIGINT) or 143 (SIGTERM) when a signal cut the run short."""

    @property
    def ok(self) -> bool:
        return self.interrupted_status is None and all(run.ok for run in self.runs)

    @property
    def exit_status(self) -> ExitStatus:
        if self.interrupted_status is not None:
            return self.interrupted_status
        errors = [run.error_status for run in self.runs if run.error_status is not None]
        if errors:
            return max(errors)
        if any(run.status == "failed" for run in self.runs):
            return ExitStatus.CHECK_FAILED
        return ExitStatus.OK


class _CurrentAgent:
    """The agent a signal must interrupt (there is one at a time)."""

    agent: UserAgent | None = None

    def interrupt(self) -> None:
        if self.agent is not None:
            self.agent.interrupt()


def run_scenarios(
    scenarios: Sequence[PreparedScenario],
    *,
    agent_factory: AgentFactory = pjsua_agent,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> ScenarioRuns:
    """Run scenarios one after another; a signal stops the current one and the rest."""
    current = _CurrentAgent()
    runs: list[ScenarioRun] = []
    with catching_signals(current.interrupt) as interruption:
        for prepared in scenarios:
            runs.append(
                _ScenarioRunner(prepared, agent_factory, interruption, current, sleep, clock).run()
            )
            if interruption.happened:
                break
    return ScenarioRuns(
        tuple(runs),
        tuple(prepared.scenario for prepared in scenarios[len(runs) :]),
        interruption.exit_status if interruption.happened else None,
    )


def run_scenario(
    prepared: PreparedScenario,
    *,
    agent_factory: AgentFactory = pjsua_agent,
    sleep: Sleep = time.sleep,
    clock: Clock = time.monotonic,
) -> ScenarioRun:
    """Run one scenario (see run_scenarios)."""
    return run_scenarios([prepared], agent_factory=agent_factory, sleep=sleep, clock=clock).runs[0]


def describe(step: Step, scenario: Scenario) -> str:
    """A step in words, for reports: "call 7000 from 1001", "register caller (1001)"."""
    if isinstance(step, Wait):
        return f"wait {step.seconds:g} s"
    account = scenario.accounts[step.account]
    who = account.user if len(scenario.accounts) == 1 else f"{step.account} ({account.user})"
    if isinstance(step, Register):
        return f"register {who}"
    if isinstance(step, Unregister):
        return f"unregister {who}"
    return f"call {step.number} from {who}"


class _ScenarioRunner:
    def __init__(
        self,
        prepared: PreparedScenario,
        agent_factory: AgentFactory,
        interruption: Interruption,
        current: _CurrentAgent,
        sleep: Sleep,
        clock: Clock,
    ) -> None:
        self.prepared = prepared
        self.scenario = prepared.scenario
        self.knowledge = prepared.knowledge
        self.agent_factory = agent_factory
        self.interruption = interruption
        self.current = current
        self.sleep = sleep
        self.clock = clock
        self.checks: list[Check] = []
        self.failures: list[Failure] = []
        self.registered: list[str] = []
        """Accounts registered now, in the order they registered."""

    def run(self) -> ScenarioRun:
        started = self.clock()
        profile = self.knowledge.profile
        for name, spec in self.prepared.accounts.items():
            advice = check_account(spec.user, spec.auth_user, spec.password, profile)
            self.checks.extend(_with(check, account=name) for check in advice)
        steps = self.scenario.steps
        done = 0
        error: SiptestError | None = None
        agent: UserAgent | None = None
        try:
            agent = self.agent_factory(self.prepared)
            self.current.agent = agent
            for step in steps:
                if self.interruption.happened or (
                    self.failures and not self.scenario.continue_on_failure
                ):
                    break
                self.perform(agent, step)
                done += 1
        except SiptestError as exc:
            error = exc
        finally:
            if agent is not None:
                try:
                    self.clean_up(agent)
                finally:
                    agent.close()
                    self.current.agent = None
        if self.interruption.happened:
            status: Status = "interrupted"
        elif error is not None:
            status = "error"
        elif self.failures:
            status = "failed"
        else:
            status = "passed"
        scenario = self.scenario
        return ScenarioRun(
            scenario=scenario,
            status=status,
            report=Report(
                checks=tuple(self.checks),
                profile=profile.name,
                insecure=scenario.transport == "tls" and scenario.tls_insecure,
                interrupted=self.interruption.happened,
            ),
            failures=tuple(self.failures),
            error=str(error) if error is not None else None,
            error_status=error.exit_status if error is not None else None,
            steps_run=done,
            steps_not_run=len(steps) - done,
            messages=tuple(agent.messages) if agent is not None else (),
            duration_ms=round((self.clock() - started) * 1000, 1),
        )

    # -- steps -------------------------------------------------------------------------

    def perform(self, agent: UserAgent, step: Step) -> None:
        if isinstance(step, Wait):
            self.pause(step.seconds)
            return
        spec = self.prepared.accounts[step.account]
        timeout = self.scenario.timeout
        started = self.clock()
        if isinstance(step, Register):
            registration = agent.register(spec)
            # Registering an account again replaces its registration.
            if step.account in self.registered:
                self.registered.remove(step.account)
            if registration.ok:
                self.registered.append(step.account)
            check = analyse_registration(
                registration, spec, self.knowledge, timeout=timeout, duration_ms=self.since(started)
            )
        elif isinstance(step, Unregister):
            if step.account not in self.registered:
                return  # nothing to remove: the registration failed as expected
            self.registered.remove(step.account)
            removal = agent.unregister(spec)
            if removal is None:
                return
            check = analyse_unregistration(removal, spec, self.since(started))
        else:
            number, findings = check_number(step.number, self.knowledge.profile)
            # Pre-flight findings are advice here: the number is dialled as written
            # (separators removed) and the step's expectation decides.
            self.checks.extend(
                replace(finding, ok=True, details={**finding.details, "step": str(step.location)})
                for finding in findings
            )
            call = CallSpec(
                number=number,
                ring_timeout=step.ring_timeout,
                talk=step.talk,
                dtmf=step.dtmf,
                registered=step.account in self.registered,
            )
            started = self.clock()
            outcome = agent.call(spec, call)
            check = analyse_call(
                outcome,
                spec,
                call,
                self.knowledge,
                timeout=timeout,
                duration_ms=self.since(started),
            )
        self.judge(step, check)

    def judge(self, step: Register | Unregister | Call, check: Check) -> None:
        details: dict[str, object] = {
            "step": str(step.location),
            "step_name": describe(step, self.scenario),
            "account": step.account,
            "expect": step.expect.as_json(),
        }
        if step.round:
            details["round"] = step.round
        if self.interruption.happened:
            # Cut short by Ctrl-C: what happened is recorded, not judged.
            self.checks.append(_with(check, **details, interrupted=True))
            return
        problems = step.expect.unmet(check)
        judged = replace(
            check,
            ok=not problems,
            details={
                **check.details,
                **details,
                "expectation_met": not problems,
                **({"unmet": problems} if problems else {}),
            },
        )
        self.checks.append(judged)
        if problems:
            self.failures.append(
                Failure(step.location, describe(step, self.scenario), tuple(problems), judged)
            )

    def pause(self, seconds: float) -> None:
        deadline = self.clock() + seconds
        while not self.interruption.happened:
            remaining = deadline - self.clock()
            if remaining <= 0:
                return
            self.sleep(min(remaining, _PAUSE_SLICE))

    def clean_up(self, agent: UserAgent) -> None:
        """Remove every registration still in place, latest first; bounded by the agent."""
        while self.registered:
            name = self.registered.pop()
            spec = self.prepared.accounts[name]
            started = self.clock()
            try:
                removal = agent.unregister(spec)
            except SiptestError:
                continue  # close() still tears the stack down
            if removal is None:
                continue
            check = analyse_unregistration(removal, spec, self.since(started))
            problems = DEFAULT_EXPECTATION.unmet(check)
            step_name = (
                f"clean-up: {describe(Unregister(name, self.scenario.location), self.scenario)}"
            )
            check = _with(
                check,
                step_name=step_name,
                account=name,
                cleanup=True,
                expectation_met=not problems,
                **({"unmet": problems} if problems else {}),
            )
            self.checks.append(check)
            if problems:
                location = self.scenario.accounts[name].location
                self.failures.append(Failure(location, step_name, tuple(problems), check))

    def since(self, started: float) -> float:
        return (self.clock() - started) * 1000


def _with(check: Check, **details: object) -> Check:
    return replace(check, details={**check.details, **details})
