"""`siptest bulk`'s verdict on one account from what its child process did."""

from __future__ import annotations

import signal

import pytest

from siptest.bulk.accounts import BulkAccount
from siptest.bulk.runner import _result
from siptest.exporter.probe import ProbeResult

ACCOUNT = BulkAccount(2, "1001", "h.example", password_env="PW")
PASSED = {"ok": True, "checks": [{"kind": "register", "ok": True}]}
FAILED = {"ok": False, "checks": [{"kind": "register", "ok": False}]}


def verdict(probe: ProbeResult, stopped: bool = False):
    return _result(ACCOUNT, probe, started_at=0.0, stopped=stopped, budget=25.0)


def test_a_child_killed_by_the_stop_signal_before_it_could_catch_it_is_interrupted():
    # SIGTERM reaching a child still starting up (no handler yet) ends it by the signal
    probe = ProbeResult(0.05, -signal.SIGTERM, None)
    result = verdict(probe, stopped=True)
    assert (result.status, result.error) == ("interrupted", "stopped by Ctrl-C or SIGTERM")


def test_a_child_killed_by_a_signal_nobody_sent_is_an_error_not_an_interruption():
    probe = ProbeResult(0.05, -signal.SIGABRT, None)
    result = verdict(probe, stopped=False)
    assert result.status == "error"
    assert "-6" in (result.error or "")


def test_a_child_that_finished_before_the_stop_keeps_its_verdict():
    assert verdict(ProbeResult(0.1, 0, PASSED), stopped=True).status == "passed"
    assert verdict(ProbeResult(0.1, 1, FAILED), stopped=True).status == "failed"


def test_a_child_past_its_budget_is_an_error_that_says_so_not_a_scrape_deadline():
    result = verdict(ProbeResult(30.0, None, None, timed_out=True))
    assert result.status == "error"
    assert result.error == "no verdict within 25 s: the check was stopped"


def test_a_child_past_its_budget_after_the_stop_is_interrupted():
    result = verdict(ProbeResult(30.0, None, None, timed_out=True), stopped=True)
    assert result.status == "interrupted"


@pytest.mark.parametrize(
    ("exit_status", "report"),
    [
        (0, None),  # garbage on stdout
        (0, {"ok": False, "checks": []}),  # 0 with a failing report
        (0, {"checks": []}),  # no verdict in the report
        (1, None),  # a failure without a report
        (3, {"ok": False, "error": {"message": "could not bind"}}),
        (-signal.SIGSEGV, PASSED),  # crashed after printing a passing report
    ],
)
def test_a_child_without_a_consistent_passing_answer_is_an_error(exit_status, report):
    result = verdict(ProbeResult(0.1, exit_status, report))
    assert result.status == "error"
    assert result.error


def test_a_child_that_crashed_while_the_run_was_stopping_is_still_an_error():
    result = verdict(ProbeResult(0.05, -signal.SIGSEGV, None), stopped=True)
    assert result.status == "error"
