"""`--nagios` against the real lab: pass, fail, degraded and cannot-run, by the grammar."""

from __future__ import annotations

import pytest
from plugin_grammar import parse_plugin_output

pytestmark = pytest.mark.lab

CANARY = "Canary-Pw-9d2e41"


def lab_target(lab, user: str = "1001") -> str:
    return f"{user}@127.0.0.1:{lab.sip_port}"


def test_right_password_is_ok_with_register_perfdata(siptest, lab):
    result = siptest("register", lab_target(lab), "--nagios", password="lab-1001-pass")
    state, items, long_lines = parse_plugin_output(result.stdout)
    assert (result.status, state) == (0, "OK"), result.stdout + result.stderr
    assert result.stdout.startswith("SIPTEST OK - Registered | register=")
    assert items["register"].endswith("s;;;0")
    assert long_lines[0].startswith(f"Register sip:1001@127.0.0.1:{lab.sip_port} over UDP: 200")


def test_wrong_password_is_critical_names_the_fix_and_never_the_password(siptest, lab):
    result = siptest("register", lab_target(lab, "1003"), "--nagios", password=CANARY)
    state, items, long_lines = parse_plugin_output(result.stdout)
    assert (result.status, state) == (2, "CRITICAL"), result.stdout + result.stderr
    assert "The SIP password is wrong" in result.stdout.splitlines()[0]
    assert set(items) == {"register"}
    assert any(line.startswith("Fix: ") and "SIP password" in line for line in long_lines)
    assert CANARY not in result.stdout + result.stderr


def test_a_registration_slower_than_the_critical_range_is_critical(siptest, lab):
    # 0 s: no registration takes no time at all, so the range 0:0 must alert
    result = siptest(
        "register",
        lab_target(lab),
        "--nagios",
        "--critical",
        "register=0:0",
        password="lab-1001-pass",
    )
    state, items, _ = parse_plugin_output(result.stdout)
    assert (result.status, state) == (2, "CRITICAL"), result.stdout
    assert ";;0:0;0" in items["register"]


def test_answered_call_with_a_mos_warning_above_its_best_is_a_warning(siptest, lab):
    # MOS is at most 4.5 by definition: a warning range of 4.6: cannot hold
    result = siptest(
        "call",
        lab_target(lab),
        "7000",
        "--talk",
        "1",
        "--nagios",
        "--warning",
        "mos=4.6:",
        password="lab-1001-pass",
    )
    state, items, _ = parse_plugin_output(result.stdout)
    assert (result.status, state) == (1, "WARNING"), result.stdout + result.stderr
    assert set(items) >= {"register", "invite_to_answer", "mos", "loss_sent", "loss_received"}
    assert ";4.6:;;1;4.5" in items["mos"]
    assert items["loss_received"].split("=")[1].split(";")[0].endswith("%")


def test_answered_call_without_thresholds_is_ok(siptest, lab):
    result = siptest(
        "call", lab_target(lab), "7000", "--talk", "1", "--nagios", password="lab-1001-pass"
    )
    state, items, _ = parse_plugin_output(result.stdout)
    assert (result.status, state) == (0, "OK"), result.stdout + result.stderr
    assert "invite_to_answer" in items


@pytest.mark.parametrize(
    ("args", "password", "words"),
    [
        ([], None, "No SIP password given"),
        (["--bogus-option"], "lab-1001-pass", "No such option: --bogus-option"),
        (["--warning", "register=20:10"], "lab-1001-pass", "greater than its end"),
        (["--warning", "mos=3.6:"], "lab-1001-pass", "not measured here"),
        (["--json"], "lab-1001-pass", "choose one"),
        (["--timeout", "soon"], "lab-1001-pass", "--timeout"),
    ],
)
def test_cannot_run_is_unknown_with_one_status_line(siptest, lab, args, password, words):
    result = siptest("register", lab_target(lab), "--nagios", *args, password=password)
    state, items, long_lines = parse_plugin_output(result.stdout)
    assert (result.status, state, items, long_lines) == (3, "UNKNOWN", {}, []), result.stdout
    assert words in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_without_nagios_thresholds_are_a_usage_error_with_siptests_own_status(siptest, lab):
    result = siptest(
        "register", lab_target(lab), "--warning", "register=1", password="lab-1001-pass"
    )
    assert result.status == 2
    assert "--nagios only" in result.stderr


def test_run_nagios_passes_the_lab_scenario(siptest, lab, tmp_path):
    scenario = tmp_path / "one.sip.yaml"
    scenario.write_text(
        f'account:\n  user: "1001"\n  host: 127.0.0.1:{lab.sip_port}\nsteps:\n  - register\n'
    )
    result = siptest("run", str(scenario), "--nagios", password="lab-1001-pass")
    state, items, _ = parse_plugin_output(result.stdout)
    assert (result.status, state) == (0, "OK"), result.stdout + result.stderr
    assert items["passed"] == "passed=1;;;0"


def test_run_nagios_with_a_wrong_password_is_critical(siptest, lab, tmp_path):
    scenario = tmp_path / "one.sip.yaml"
    scenario.write_text(
        f'account:\n  user: "1003"\n  host: 127.0.0.1:{lab.sip_port}\nsteps:\n  - register\n'
    )
    result = siptest("run", str(scenario), "--nagios", password=CANARY)
    state, items, _ = parse_plugin_output(result.stdout)
    assert (result.status, state) == (2, "CRITICAL"), result.stdout + result.stderr
    assert items["failed"] == "failed=1;;;0"
    assert CANARY not in result.stdout + result.stderr


def test_a_busy_line_is_critical_not_a_warning(siptest, lab):
    result = siptest("call", lab_target(lab), "999486", "--nagios", password="lab-1001-pass")
    state, _, long_lines = parse_plugin_output(result.stdout)
    assert (result.status, state) == (2, "CRITICAL"), result.stdout + result.stderr
    assert any(": 486 Busy Here (sent by the server)" in line for line in long_lines)


def test_a_busy_line_the_check_expects_is_ok(siptest, lab):
    result = siptest(
        "call",
        lab_target(lab),
        "999486",
        "--expect",
        "486",
        "--nagios",
        password="lab-1001-pass",
    )
    state, _, _ = parse_plugin_output(result.stdout)
    assert (result.status, state) == (0, "OK"), result.stdout + result.stderr


def test_run_nagios_with_a_broken_scenario_file_is_unknown_naming_file_and_line(siptest, tmp_path):
    broken = tmp_path / "broken.sip.yaml"
    broken.write_text("account: [\n")
    result = siptest("run", str(broken), "--nagios", password="lab-1001-pass")
    state, items, long_lines = parse_plugin_output(result.stdout)
    # exit 2 would read as CRITICAL: a service failure, when no check ran at all
    assert (result.status, state, items, long_lines) == (3, "UNKNOWN", {}, []), result.stdout
    assert f"{broken}:" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_run_nagios_with_a_good_scenario_beside_a_broken_one_runs_nothing_and_is_unknown(
    siptest, lab, lab_log, tmp_path
):
    good = tmp_path / "a-good.sip.yaml"
    good.write_text(
        f'account:\n  user: "1001"\n  host: 127.0.0.1:{lab.sip_port}\nsteps:\n  - register\n'
    )
    broken = tmp_path / "b-broken.sip.yaml"
    broken.write_text("steps: 7\n")
    lab_log.mark()
    result = siptest("run", str(good), str(broken), "--nagios", password="lab-1001-pass")
    state, _, _ = parse_plugin_output(result.stdout)
    assert (result.status, state) == (3, "UNKNOWN"), result.stdout
    assert str(broken) in result.stdout and str(good) not in result.stdout
    assert lab_log.requests("REGISTER", "1001") == []


# /proc/self is a folder, so the path passes the checks made before the test, but no
# file can be created there (not even by root): the write itself fails.
UNWRITABLE = "/proc/self/siptest-unwritable.txt"


def test_a_pass_whose_trace_cannot_be_written_is_unknown_and_says_so_in_the_status_line(
    siptest, lab
):
    result = siptest(
        "register", lab_target(lab), "--nagios", "--trace", UNWRITABLE, password="lab-1001-pass"
    )
    state, items, _ = parse_plugin_output(result.stdout)
    # never a status line saying OK with an exit status saying UNKNOWN
    assert (result.status, state) == (3, "UNKNOWN"), result.stdout + result.stderr
    first = result.stdout.splitlines()[0]
    assert f"Could not write the trace to {UNWRITABLE}" in first
    assert "The check itself: OK - Registered" in first
    assert set(items) == {"register"}


def test_a_failure_whose_trace_cannot_be_written_stays_critical_and_says_so(siptest, lab):
    result = siptest(
        "register", lab_target(lab, "1003"), "--nagios", "--trace", UNWRITABLE, password=CANARY
    )
    state, _, long_lines = parse_plugin_output(result.stdout)
    assert (result.status, state) == (2, "CRITICAL"), result.stdout + result.stderr
    assert "The SIP password is wrong" in result.stdout.splitlines()[0]
    assert any(f"Could not write the trace to {UNWRITABLE}" in line for line in long_lines)
    assert CANARY not in result.stdout + result.stderr


def test_a_pass_whose_trace_can_be_written_stays_ok_and_writes_it(siptest, lab, tmp_path):
    trace = tmp_path / "trace.txt"
    result = siptest(
        "register", lab_target(lab), "--nagios", "--trace", str(trace), password="lab-1001-pass"
    )
    state, _, long_lines = parse_plugin_output(result.stdout)
    assert (result.status, state) == (0, "OK"), result.stdout + result.stderr
    assert "REGISTER" in trace.read_text()
    assert not any("Could not write" in line for line in long_lines)


def test_run_nagios_whose_junit_cannot_be_written_is_unknown_not_ok(siptest, lab, tmp_path):
    scenario = tmp_path / "one.sip.yaml"
    scenario.write_text(
        f'account:\n  user: "1001"\n  host: 127.0.0.1:{lab.sip_port}\nsteps:\n  - register\n'
    )
    result = siptest(
        "run", str(scenario), "--nagios", "--junit", UNWRITABLE, password="lab-1001-pass"
    )
    state, items, _ = parse_plugin_output(result.stdout)
    assert (result.status, state) == (3, "UNKNOWN"), result.stdout + result.stderr
    first = result.stdout.splitlines()[0]
    assert f"Could not write the JUnit XML to {UNWRITABLE}" in first
    assert "The check itself: OK - 1 of 1 scenarios passed" in first
    assert items["passed"] == "passed=1;;;0"
