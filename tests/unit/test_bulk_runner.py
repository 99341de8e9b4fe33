"""`siptest bulk`'s verdict on one account from what its child process did."""

from __future__ import annotations

import signal

import pytest
from waiting import eventually

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


# --- whole runs whose checks are done by stand-in children (no SIP, no network) ---

TURN = (
    # what `siptest register` does under bulk once its stack is up (siptest.bulk.turn)
    "import os, select\nfd = int(os.environ['SIPTEST_BULK_TURN_FD'])\nos.write(fd, b'r')\n"
    "select.select([fd], [], [], 60)\nassert os.read(fd, 1) == b'g'\n"
)
CHILD = {
    "garbage": "print('{not json')",
    "hollow": "import json; print(json.dumps({'ok': True}))",
    "crash": "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)",
    # got its turn, then hangs in its check
    "hang": TURN + "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "time.sleep(60)",
    # never gets as far as asking for its turn
    "stuck": "import time\ntime.sleep(60)",
    # asks for its turn, notes that it went, then waits in its check (no SIGTERM
    # handler: SIGTERM ends it)
    "paced": "import os, time\nopen(os.environ['STARTED'] + str(os.getpid()), 'w')\n"
    + TURN
    + "import sys\nopen(os.environ['WENT'] + sys.argv[-1], 'w')\ntime.sleep(60)",
}


def run_with_child(tmp_path, monkeypatch, behaviour: str, count: int = 2, rate: float = 1000):
    """run_bulk with `sys.executable` replaced by a script that does `behaviour`."""
    import sys

    from siptest.bulk import runner

    script = tmp_path / "child.py"
    script.write_text(CHILD[behaviour] + "\n")
    fake = tmp_path / "python"
    fake.write_text(f'#!/bin/sh\nexec {sys.executable} {script} "$@"\n')
    fake.chmod(0o700)
    monkeypatch.setattr(runner.sys, "executable", str(fake))
    monkeypatch.setattr(runner, "GRACE_S", 0.5)
    accounts = tuple(
        BulkAccount(2 + i, f"10{i:02d}", "127.0.0.1:9", password_env="PW") for i in range(count)
    )
    return runner.run_bulk(accounts, rate=rate, workers=2, timeout=0.1)


@pytest.mark.parametrize("behaviour", ["garbage", "hollow", "crash"])
def test_a_child_that_prints_garbage_or_crashes_is_an_error_never_passed(
    tmp_path, monkeypatch, behaviour
):
    run = run_with_child(tmp_path, monkeypatch, behaviour)
    assert [r.status for r in run.results] == ["error", "error"]
    assert run.exit_status == 3


@pytest.mark.timeout(30)
def test_a_child_that_hangs_and_ignores_sigterm_is_killed_and_an_error(tmp_path, monkeypatch):
    run = run_with_child(tmp_path, monkeypatch, "hang", count=1)
    (result,) = run.results
    assert (result.status, result.error) == (
        "error",
        "no verdict within 5.4 s: the check was stopped",
    )
    assert run.exit_status == 3


def test_a_child_that_cannot_be_started_is_an_error_not_a_traceback(tmp_path, monkeypatch):
    from siptest.bulk import runner

    monkeypatch.setattr(runner.sys, "executable", str(tmp_path / "no-such-python"))
    accounts = (BulkAccount(2, "1001", "127.0.0.1:9", password_env="PW"),)
    run = runner.run_bulk(accounts, rate=1000, workers=1, timeout=0.1)
    (result,) = run.results
    assert result.status == "error"
    assert result.error == "could not start siptest (No such file or directory)"


@pytest.mark.timeout(30)
def test_a_child_that_never_asks_for_its_turn_is_stopped_and_an_error(tmp_path, monkeypatch):
    from siptest.bulk import runner, turn

    monkeypatch.setattr(turn, "START_S", 0.5)
    monkeypatch.setattr(runner, "START_S", 0.5)
    run = run_with_child(tmp_path, monkeypatch, "stuck", count=1)
    (result,) = run.results
    assert (result.status, result.error) == (
        "error",
        "siptest did not start within 0.5 s (nothing was sent)",
    )
    assert run.exit_status == 3


@pytest.mark.timeout(30)
def test_ctrl_c_reports_the_check_that_went_interrupted_and_the_rest_not_run(tmp_path, monkeypatch):
    import os
    import threading

    started, went = tmp_path / "started-", tmp_path / "went-"
    monkeypatch.setenv("STARTED", str(started))
    monkeypatch.setenv("WENT", str(went))

    def interrupt_once_one_went_and_one_waits() -> None:
        try:
            eventually(lambda: len(list(tmp_path.glob("started-*"))) >= 2, "two children", 10)
            eventually(lambda: len(list(tmp_path.glob("went-*"))) >= 1, "a first turn", 10)
        finally:  # the main thread's assertions say what went wrong
            os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_once_one_went_and_one_waits, daemon=True).start()
    # Two children start at once (two workers) and ask for their turn; at 0.5/s toward one
    # registrar the first goes at once and the second waits 2 s: Ctrl-C comes then. Only
    # the first sent anything; the second and the third (never started) did not run.
    accounts = 3
    run = run_with_child(tmp_path, monkeypatch, "paced", count=accounts, rate=0.5)
    (first,) = tmp_path.glob("went-*")  # the one that asked first went first
    statuses = {r.account.target: r.status for r in run.results}
    went = first.name.removeprefix("went-")
    assert statuses == {
        target: "interrupted" if target == went else "not_run" for target in statuses
    }
    assert run.results[2].status == "not_run"  # never started
    assert run.exit_status == 130
