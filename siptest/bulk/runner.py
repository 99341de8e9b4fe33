"""Run many registration checks: each in a child process, paced per registrar.

Each account is checked by a child `siptest register --json` (the exporter's
runner, `siptest.exporter.probe.run_command`): the SIP stack holds at most 8
accounts and 4 calls per process and keeps global state, so one account per
child process, at most `workers` children at a time, means no process ever holds
more than one live account, however long the file. A child does what `siptest
register` always does: one try on a definitive 401/403, then it stops; it
un-registers its own contact, also when it is told to stop (SIGTERM).

Nothing is retried: an account whose check failed or could not run is reported
as such, and never sent again in the same run.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Literal

from siptest.bulk.accounts import BulkAccount
from siptest.bulk.pacing import Pacer
from siptest.bulk.turn import START_S, Turn
from siptest.errors import ExitStatus
from siptest.exporter.probe import Children, ProbeResult, run_command
from siptest.interruption import catching_signals

Status = Literal["passed", "failed", "error", "interrupted", "not_run"]
GRACE_S = 5.0
"""How long a child told to stop may take to un-register before it is killed."""


@dataclass(frozen=True)
class AccountResult:
    """What became of one account."""

    account: BulkAccount
    status: Status
    """`passed` registered (and un-registered); `failed` a diagnosed failure; `error`
    the check could not run; `interrupted` cut short by Ctrl-C; `not_run` never started."""
    report: dict[str, Any] | None = None
    """The child's JSON report (`siptest register --json`), None when there was none."""
    exit_status: int | None = None
    started_at: float | None = None
    """Unix time the child was started (after pacing)."""
    duration_s: float = 0.0
    error: str | None = None
    """Why it could not run (an `error` or an `interrupted` account)."""


@dataclass(frozen=True)
class BulkRun:
    results: tuple[AccountResult, ...]
    """One per account, in the file's order."""
    rate: float
    workers: int
    duration_s: float
    interrupted_status: int | None = None

    def count(self, status: Status) -> int:
        return sum(result.status == status for result in self.results)

    @property
    def ok(self) -> bool:
        return self.interrupted_status is None and all(r.status == "passed" for r in self.results)

    @property
    def exit_status(self) -> int:
        """130/143 interrupted; 3 when an account could not be checked; 1 when one failed."""
        if self.interrupted_status is not None:
            return self.interrupted_status
        if self.count("error"):
            return int(ExitStatus.CANNOT_RUN)
        if self.count("failed"):
            return int(ExitStatus.CHECK_FAILED)
        return int(ExitStatus.OK)


def budget_for(timeout: float) -> float:
    """Seconds a child may take: start-up, REGISTER and its challenge, the un-REGISTER
    and its challenge (each transaction bounded by `timeout`)."""
    return 4 * timeout + 5


def run_bulk(
    accounts: tuple[BulkAccount, ...],
    *,
    rate: float,
    workers: int,
    timeout: float,
    on_result: Callable[[AccountResult], None] | None = None,
) -> BulkRun:
    """Check every account, at most `rate` started per second per registrar and
    `workers` at a time. Ctrl-C / SIGTERM: nothing new starts, running children are
    told to stop (they un-register), and the run ends as interrupted."""
    started = time.monotonic()
    children = Children()
    pacer = Pacer(rate)

    def stop() -> None:
        pacer.stop.set()
        children.terminate_all()

    results: dict[int, AccountResult] = {}
    with (
        catching_signals(stop) as interruption,
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bulk") as pool,
    ):
        futures: dict[Future[AccountResult], int] = {
            pool.submit(_check, account, pacer, children, timeout): index
            for index, account in enumerate(accounts)
        }
        pending = set(futures)
        while pending:
            # a bounded wait: the signal handler runs between two of them
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            if pacer.stop.is_set():
                children.terminate_all()  # also a child that started just after Ctrl-C
            for future in done:
                result = future.result()
                results[futures[future]] = result
                if on_result is not None:
                    on_result(result)
    status = int(interruption.exit_status) if interruption.happened else None
    return BulkRun(
        results=tuple(results[index] for index in range(len(accounts))),
        rate=rate,
        workers=workers,
        duration_s=time.monotonic() - started,
        interrupted_status=status,
    )


def _check(account: BulkAccount, pacer: Pacer, children: Children, timeout: float) -> AccountResult:
    if pacer.stop.is_set():
        return AccountResult(account, "not_run")
    started_at = time.time()
    argv = [sys.executable, "-m", "siptest", *account.arguments(timeout), "--", account.target]
    budget = budget_for(timeout)
    # The child starts now; its REGISTER waits for the pacer (turn.py).
    turn = Turn()
    env, fds = turn.child_env(dict(os.environ))

    def go() -> bool:
        return turn.give(lambda: not pacer.stop.is_set() and pacer.wait(account.registrar))

    try:
        probe = run_command(argv, budget, GRACE_S, children, env, pass_fds=fds, after_start=go)
    except OSError as error:  # no process to start (fork limit, memory, a missing file)
        reason = f"could not start siptest ({error.strerror or error})"
        return AccountResult(account, "error", started_at=started_at, error=reason)
    finally:
        turn.close()
    if pacer.stop.is_set() and not turn.given:
        return AccountResult(account, "not_run")  # stopped before its turn: nothing sent
    if turn.never_ready:
        reason = f"siptest did not start within {START_S:g} s (nothing was sent)"
        return AccountResult(account, "error", started_at=started_at, error=reason)
    return _result(account, probe, started_at, stopped=pacer.stop.is_set(), budget=budget)


def _result(
    account: BulkAccount, probe: ProbeResult, started_at: float, stopped: bool, budget: float
) -> AccountResult:
    exit_status = probe.exit_status
    status: Status
    # the probe's own words for a timeout are the exporter's ("scrape deadline")
    error = (
        f"no verdict within {budget:g} s: the check was stopped" if probe.timed_out else probe.error
    )
    # A child still starting up when told to stop has no handler yet: SIGTERM ends it
    # (status -15) before it sent anything. An interruption, not an error.
    if exit_status in (ExitStatus.INTERRUPTED, ExitStatus.TERMINATED) or (
        stopped and (probe.timed_out or exit_status == -signal.SIGTERM)
    ):
        status, error = "interrupted", "stopped by Ctrl-C or SIGTERM"
    elif probe.timed_out:
        status = "error"
    elif exit_status == ExitStatus.OK and probe.success and _registered(probe.report):
        status = "passed"
    elif exit_status == ExitStatus.CHECK_FAILED and probe.report is not None:
        status = "failed"
    else:
        status = "error"
        error = error or f"siptest exited with status {exit_status}"
    return AccountResult(
        account=account,
        status=status,
        report=probe.report,
        exit_status=exit_status,
        started_at=started_at,
        duration_s=probe.duration_s,
        error=error if status in ("error", "interrupted") else None,
    )


def _registered(report: dict[str, Any] | None) -> bool:
    """The report holds a register check that passed: `ok: true` alone is no verdict."""
    checks = (report or {}).get("checks")
    return isinstance(checks, list) and any(
        isinstance(check, dict) and check.get("kind") == "register" and check.get("ok") is True
        for check in checks
    )


__all__ = ["AccountResult", "BulkRun", "run_bulk"]
