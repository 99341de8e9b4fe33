"""What running scenarios found: each scenario's status, report and failures, and the
exit status of the whole run (`siptest.scenario.runner` makes them; the reports read them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from siptest.analysis.model import Check, Report
from siptest.errors import ExitStatus
from siptest.scenario.model import Location, Scenario
from siptest.ua.events import Event

Status = Literal["passed", "failed", "error", "interrupted"]


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
    events: tuple[Event, ...] = ()
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
