"""Running scenarios: one user agent per scenario, driven step by step; prints nothing.

    runs = run_scenarios([prepare(load_scenario(path))])
    runs.exit_status                       # 0, 1, 3 or 130/143

Each register, unregister and call step becomes a `Check` (the same analysis as
`siptest register` and `siptest call`), judged against the step's expectation:
the check's `ok` then says whether the expectation held, and its details carry
the step's FILE:LINE, the expectation and, when it failed, what did not hold. A
scenario stops at its first unmet expectation unless `continue_on_failure`.

An answered call is followed, as in `siptest call`, by its media check and the
run's NAT findings (`siptest.calling.media_checks`), and the call check carries
the `media` section. The step's `audio`, `min_mos` and `dtmf` expectations are
judged against that media check; without them it is reported, not judged. The
digits expected at the far end of a call to another account of the scenario
that answers calls are the ones that account received (when the user agent can
tell, as `PjsuaAgent.received_digits` does); otherwise the ones that came back.

Whatever happens - an unmet expectation, an error, Ctrl-C - every account still
registered is un-registered (our own contact only) before the user agent is
closed; the user agent itself CANCELs or BYEs a call it is in. A signal ends the
run after that clean-up, and the report says it is partial.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from siptest.analysis.calls import analyse_call
from siptest.analysis.details import StepFacts
from siptest.analysis.model import Check, Report
from siptest.analysis.preflight import check_account, check_number
from siptest.analysis.registration import analyse_registration, analyse_unregistration
from siptest.calling import media_checks, with_answer_time, with_media_section
from siptest.errors import ExitStatus, SiptestError
from siptest.interruption import Interruption, catching_signals
from siptest.scenario.loader import PreparedScenario
from siptest.scenario.model import (
    DEFAULT_EXPECTATION,
    Call,
    Register,
    Scenario,
    Step,
    Unregister,
    Wait,
)
from siptest.scenario.results import Failure, ScenarioRun, ScenarioRuns, Status
from siptest.scenario.routes import (
    Routes,
    at_target,
    check_tls_names,
    look_up_servers,
    resolver,
)
from siptest.scenario.stack import agent_config, local_address
from siptest.ua.agents import AgentFactory, pjsua_agent
from siptest.ua.base import AccountSpec, UserAgent
from siptest.ua.calls import CallCompleted, CallSpec
from siptest.ua.events import Event
from siptest.ua.limits import check_can_call

if TYPE_CHECKING:
    from siptest.registration import CheckRun
    from siptest.resolution import DnsServer, FailoverRun, ResolvedTarget

Sleep = Callable[[float], None]
Clock = Callable[[], float]

_PAUSE_SLICE = 0.1
"""A `wait` step notices Ctrl-C within this many seconds."""
_URI_USER = re.compile(r"^sips?:([^@;>]+)@", re.IGNORECASE)


@runtime_checkable
class DigitReader(Protocol):
    """A user agent that can tell which DTMF digits its own accounts' calls received."""

    def received_digits(self, account: AccountSpec) -> str: ...


class StepWatcher(Protocol):
    """Live progress of a run: the agent's events as they come, and each step as it
    begins (`siptest.report.terminal.LiveProgress`)."""

    def __call__(self, events: Sequence[Event], now: float) -> None: ...

    def step(self, label: str) -> None: ...


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
    sleep: Sleep | None = None,
    clock: Clock = time.monotonic,
    watcher: StepWatcher | None = None,
    capture_media: bool = False,
    dns_server: DnsServer | None = None,
) -> ScenarioRuns:
    """Run scenarios one after another; a signal stops the current one and the rest.
    `watcher` is told each step and what the agent observes, as it happens; with
    `capture_media` the agents keep their calls' RTP/RTCP packets (for `--pcap`).
    Servers given by name are looked up at `dns_server` (None: the system's)."""
    current = _CurrentAgent()
    runs: list[ScenarioRun] = []
    with catching_signals(current.interrupt) as interruption:
        for prepared in scenarios:
            runs.append(
                _ScenarioRunner(
                    prepared,
                    agent_factory,
                    interruption,
                    current,
                    sleep,
                    clock,
                    watcher,
                    dns_server,
                ).run(capture_media)
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
    sleep: Sleep | None = None,
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
        sleep: Sleep | None,
        clock: Clock,
        watcher: StepWatcher | None = None,
        dns_server: DnsServer | None = None,
    ) -> None:
        self.prepared = prepared
        self.dns_server = dns_server
        self.routes = Routes()
        self._resolution_checks: dict[str, int] = {}
        """Where each looked-up server's `resolution` check stands in `checks`, by the
        first account at that server."""
        self.watcher = watcher
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
        self.registrations: dict[str, Check] = {}
        """Each account's latest successful registration (NAT evidence for calls)."""
        self._local_address: str | None = None
        self._local_address_known = False

    def run(self, capture_media: bool = False) -> ScenarioRun:
        started = self.clock()
        profile = self.knowledge.profile
        for name, spec in self.prepared.accounts.items():
            advice = check_account(spec.user, spec.auth_user, spec.password, self.knowledge)
            self.checks.extend(_at_step(check, account=name) for check in advice)
        steps = self.scenario.steps
        done = 0
        error: SiptestError | None = None
        agent: UserAgent | None = None
        try:
            self.look_up_servers()
            for step in steps:
                if isinstance(step, Call):
                    caller = self.spec(step.account)
                    check_can_call(caller.registrar, caller.outbound_proxy)
            if not self.failures:  # a server not found in DNS: nothing is sent
                agent = self.agent_factory(agent_config(self.prepared, capture_media, self.routes))
                agent.watch(self.watcher)
                self.current.agent = agent
                for number, step in enumerate(steps, 1):
                    if self.interruption.happened or (
                        self.failures and not self.scenario.continue_on_failure
                    ):
                        break
                    self.tell(f"step {number}/{len(steps)}: {describe(step, self.scenario)}")
                    self.perform(agent, step)
                    done += 1
        except SiptestError as exc:
            error = exc
        finally:
            if agent is not None:
                try:
                    self.tell("clean-up")
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
            events=tuple(agent.events) if agent is not None else (),
            duration_ms=round((self.clock() - started) * 1000, 1),
        )

    def tell(self, what: str) -> None:
        if self.watcher is not None:
            self.watcher.step(f"{self.scenario.name} > {what}")

    # -- servers found in DNS ------------------------------------------------------------

    def look_up_servers(self) -> None:
        """Look up each server given by name (`siptest.scenario.routes`): a `resolution`
        check each; one that fails is a failure of the scenario, and nothing is sent."""
        from siptest.routing import resolution_check

        scenario = self.scenario
        look = resolver(scenario.transport, self.dns_server, scenario.timeout)
        calls = any(isinstance(step, Call) for step in scenario.steps)
        self.routes, lookups = look_up_servers(
            self.prepared.accounts,
            look,
            calls=calls,
            stopped=lambda: self.interruption.happened,
        )
        for name, resolution in lookups:
            check = _at_step(resolution_check(resolution, None, self.knowledge), account=name)
            self._resolution_checks[name] = len(self.checks)
            self.checks.append(check)
            if not check.ok:
                title = check.diagnosis.title if check.diagnosis is not None else "not found"
                self.failures.append(
                    Failure(
                        scenario.accounts[name].location,
                        f"look up {resolution.domain}",
                        (f"{resolution.domain}: {title}",),
                        check,
                    )
                )
        # A server not found (nothing is sent) is the verdict: its accounts are not
        # "elsewhere" for the one-domain limit of TLS.
        if scenario.transport == "tls" and not self.interruption.happened and not self.failures:
            check_tls_names(self.prepared.accounts, self.routes)

    def spec(self, account: str) -> AccountSpec:
        """The account as it sends now (to its server's current target when found in DNS)."""
        return self.routes.spec(account, self.prepared.accounts[account])

    # -- steps -------------------------------------------------------------------------

    def perform(self, agent: UserAgent, step: Step) -> None:
        if isinstance(step, Wait):
            self.pause(agent, step.seconds)
            return
        spec = self.spec(step.account)
        started = self.clock()
        if isinstance(step, Register):
            route = self.routes.route(step.account)
            if route is not None and not route.settled:
                check = self.register_failing_over(agent, step)
            else:
                check = self.register(agent, step, spec)
        elif isinstance(step, Unregister):
            if step.account not in self.registered:
                return  # nothing to remove: the registration failed as expected
            self.registered.remove(step.account)
            removal = agent.unregister(spec)
            if removal is None:
                return
            check = analyse_unregistration(removal, spec, self.since(started), self.knowledge)
        else:
            self.call(agent, step, spec)
            return
        self.judge(step, check)

    def register(self, agent: UserAgent, step: Register, spec: AccountSpec) -> Check:
        started = self.clock()
        registration = agent.register(spec)
        # Registering an account again replaces its registration.
        if step.account in self.registered:
            self.registered.remove(step.account)
        if registration.ok:
            self.registered.append(step.account)
        check = analyse_registration(
            registration,
            spec,
            self.knowledge,
            timeout=self.scenario.timeout,
            duration_ms=self.since(started),
        )
        if registration.ok:
            self.registrations[step.account] = check
        return check

    def register_failing_over(self, agent: UserAgent, step: Register) -> Check:
        """The first register step at a server found in DNS: its targets in order until
        one answers (`routing.failover_cause`), as a phone does; the server's accounts
        then stay there. The server's `resolution` check tells which were tried."""
        spec = self.prepared.accounts[step.account]
        run = self.fail_over(
            step.account, lambda target: self.register(agent, step, at_target(spec, target))
        )
        return run.attempts[-1].result.report.checks[0]

    def fail_over(
        self, account: str, attempt: Callable[[ResolvedTarget], Check]
    ) -> FailoverRun[CheckRun]:
        """The first request to a server found in DNS (a register step, or a call from an
        account that has not registered): its targets in order until one answers, as a
        phone (and `siptest register` or `siptest call`) does. The server's accounts then
        stay at the last target tried, and its `resolution` check tells which were."""
        from siptest.registration import CheckRun
        from siptest.resolution import fail_over
        from siptest.routing import failover_cause, resolution_check

        route = self.routes.route(account)
        assert route is not None

        def one(target: ResolvedTarget) -> CheckRun:
            check = attempt(target)
            interrupted = int(ExitStatus.INTERRUPTED) if self.interruption.happened else None
            return CheckRun(Report(checks=(check,)), (), interrupted)

        run = fail_over(route.untried(), one, failover_cause)
        route.settle(run.attempts[-1].target)
        first = route.accounts[0]
        position = self._resolution_checks.get(first)
        if position is not None:
            check = resolution_check(route.resolution, run, self.knowledge)
            self.checks[position] = _at_step(check, account=first)
        return run

    def call(self, agent: UserAgent, step: Call, spec: AccountSpec) -> None:
        number, findings = check_number(step.number, self.knowledge)
        # Pre-flight findings are advice here: the number is dialled as written
        # (separators removed) and the step's expectation decides.
        self.checks.extend(
            _at_step(replace(finding, ok=True), step=str(step.location)) for finding in findings
        )
        route = self.routes.route(step.account)
        if route is None or route.settled:
            check, media = self.dial(agent, step, number, spec)
        else:
            # No register step has found the server's target yet: this INVITE does.
            caller = self.prepared.accounts[step.account]
            dialled: list[tuple[Check, list[Check]]] = []

            def attempt(target: ResolvedTarget) -> Check:
                dialled.append(self.dial(agent, step, number, at_target(caller, target)))
                return dialled[-1][0]

            self.fail_over(step.account, attempt)
            check, media = dialled[-1]  # the attempt that ended the failover
        self.judge(step, check, media)

    def dial(
        self, agent: UserAgent, step: Call, number: str, spec: AccountSpec
    ) -> tuple[Check, list[Check]]:
        """Place the step's call from `spec`: its check (with the media section) and the
        media checks of an answered call."""
        call = CallSpec(
            number=number,
            ring_timeout=step.ring_timeout,
            talk=step.talk,
            dtmf=step.dtmf,
            dtmf_method=step.dtmf_method,
            registered=step.account in self.registered,
        )
        callee = self.far_end_account(step, number, agent) if step.dtmf else None
        before = self.digits_at(agent, callee)
        started, mark = self.clock(), len(agent.events)
        outcome = agent.call(spec, call)
        elapsed = self.since(started)
        if callee is not None and before is not None:
            # The digits the far end received, not what came back to us.
            after = self.digits_at(agent, callee) or ""
            outcome = replace(outcome, dtmf_received=after[len(before) :])
        check = analyse_call(
            outcome, spec, call, self.knowledge, timeout=self.scenario.timeout, duration_ms=elapsed
        )
        check = with_answer_time(check, agent.events[mark:])
        if callee is not None and before is not None and "dtmf" in check.details:
            dtmf = {**check.details["dtmf"], "received_by": callee}
            check = replace(check, details={**check.details, "dtmf": dtmf})
        media = self.media(step, outcome)
        return with_media_section(check, media), media

    # -- media -------------------------------------------------------------------------

    def media(self, step: Call, outcome: CallCompleted) -> list[Check]:
        """The media check and NAT findings of an answered call, as `siptest call` adds them."""
        if not outcome.answered:
            return []
        registration = self.registrations.get(step.account)
        earlier = [registration] if registration and step.account in self.registered else []
        checks = media_checks(
            outcome,
            earlier,
            self.local_address(),
            self.knowledge,
            expectations=step.expect.media,
        )
        return [_at_step(check, step=str(step.location), account=step.account) for check in checks]

    def local_address(self) -> str | None:
        """Where siptest sends from (NAT evidence); looked up once, at the first answer."""
        if not self._local_address_known:
            self._local_address = local_address(self.prepared, self.routes)
            self._local_address_known = True
        return self._local_address

    def far_end_account(self, step: Call, number: str, agent: UserAgent) -> str | None:
        """The scenario's own account a call reaches, when that account answers calls."""
        if not isinstance(agent, DigitReader):
            return None
        match = _URI_USER.match(number)
        user = match.group(1) if match else number
        for name, account in self.scenario.accounts.items():
            if (
                name != step.account
                and account.answers_calls
                and account.user == user
                and name in self.registered
            ):
                return name
        return None

    def digits_at(self, agent: UserAgent, account: str | None) -> str | None:
        """Every digit calls answered by `account` received so far (None: cannot tell)."""
        if account is None or not isinstance(agent, DigitReader):
            return None
        return agent.received_digits(self.spec(account))

    # -- judging -----------------------------------------------------------------------

    def judge(
        self, step: Register | Unregister | Call, check: Check, media: Sequence[Check] = ()
    ) -> None:
        facts = StepFacts(
            step=str(step.location),
            step_name=describe(step, self.scenario),
            account=step.account,
            expect=step.expect.as_json(),
            round=step.round or None,
        )
        if self.interruption.happened:
            # Cut short by Ctrl-C: what happened is recorded, not judged.
            self.checks.append(replace(check, step=replace(facts, interrupted=True)))
            self.checks.extend(media)
            return
        own = step.expect.unmet(check)
        media_check = next((c for c in media if c.media is not None), None)
        media_problems = (
            step.expect.unmet_media(check, media_check) if isinstance(step, Call) else []
        )
        problems = own + media_problems
        judged = replace(
            check,
            ok=not problems,
            details={**check.details, "expectation_met": not problems},
            step=replace(facts, unmet=tuple(problems)),
        )
        self.checks.append(judged)
        self.checks.extend(media)
        if problems:
            # The diagnosis that explains the failure: the media check's when only the
            # media fell short of the expectation, else the step's own.
            explaining = media_check if media_check is not None and not own else judged
            self.failures.append(
                Failure(step.location, describe(step, self.scenario), tuple(problems), explaining)
            )

    def pause(self, agent: UserAgent, seconds: float) -> None:
        """A `wait` step: the user agent keeps serving SIP (refreshes, incoming calls)."""
        pass_time = self.sleep or agent.idle
        deadline = self.clock() + seconds
        while not self.interruption.happened:
            remaining = deadline - self.clock()
            if remaining <= 0:
                return
            pass_time(min(remaining, _PAUSE_SLICE))

    def clean_up(self, agent: UserAgent) -> None:
        """Remove every registration still in place, latest first; bounded by the agent."""
        while self.registered:
            name = self.registered.pop()
            spec = self.spec(name)
            started = self.clock()
            try:
                removal = agent.unregister(spec)
            except SiptestError:
                continue  # close() still tears the stack down
            if removal is None:
                continue
            check = analyse_unregistration(removal, spec, self.since(started), self.knowledge)
            problems = DEFAULT_EXPECTATION.unmet(check)
            step_name = (
                f"clean-up: {describe(Unregister(name, self.scenario.location), self.scenario)}"
            )
            check = replace(
                check,
                details={**check.details, "expectation_met": not problems},
                step=StepFacts(
                    step_name=step_name, account=name, cleanup=True, unmet=tuple(problems)
                ),
            )
            self.checks.append(check)
            if problems:
                location = self.scenario.accounts[name].location
                self.failures.append(Failure(location, step_name, tuple(problems), check))

    def since(self, started: float) -> float:
        return (self.clock() - started) * 1000


def _at_step(check: Check, *, step: str | None = None, account: str | None = None) -> Check:
    """The check, placed at a scenario step and account."""
    facts = check.step or StepFacts()
    return replace(
        check,
        step=replace(facts, step=step or facts.step, account=account or facts.account),
    )
