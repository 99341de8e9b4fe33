"""`siptest run` and the pytest plugin against the real lab, as CI would run them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLES = REPOSITORY / "scenarios"
CANARY = "Canary-Pw-7f3a9c"


def password_of(lab_users, name: str) -> str:
    return next(u.password for u in lab_users if u.username == name)


@pytest.fixture
def lab_env(lab, lab_users) -> dict[str, str]:
    """What the example scenarios need to find the lab and the passwords of 1001 and 1002."""
    return {
        "SIPTEST_HOST": lab.host,
        "SIPTEST_PORT": str(lab.sip_port),
        "SIPTEST_PASSWORD": password_of(lab_users, "1001"),
        "SIPTEST_PASSWORD_B": password_of(lab_users, "1002"),
    }


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


REGISTER_ONLY = """\
name: {name}
account:
  user: "1003"
  host: ${{SIPTEST_HOST}}
  port: ${{SIPTEST_PORT}}
steps:
  - register
"""


def junit_cases(path: Path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    return {case.get("name", ""): case for case in root.iter("testcase")}


# -- siptest run ---------------------------------------------------------------------------


def test_register_only_scenario_passes_and_leaves_no_binding(siptest, lab, lab_env):
    result = siptest("run", str(EXAMPLES / "credential-check.sip.yaml"), "--json", env=lab_env)
    assert result.status == 0, result.stdout + result.stderr
    (scenario,) = result.json["scenarios"]
    assert scenario["status"] == "passed"
    kinds = [check["kind"] for check in scenario["checks"]]
    assert kinds == ["register", "unregister"]
    assert scenario["checks"][0]["response"]["code"] == 200
    assert lab.bindings("1001") == []


FLAPPING = """\
name: flapping
account:
  user: "1001"
  host: ${SIPTEST_HOST}
  port: ${SIPTEST_PORT}
timeout: 2
steps:
  - register
  - repeat:
      times: 12
      steps:
        - unregister
        - register
  - call: {number: "7000", talk: 0.5}
"""


def test_a_registration_repeated_past_the_stacks_8_accounts_runs_and_leaves_no_binding(
    siptest, lab, lab_env, tmp_path
):
    # Thirteen REGISTERs of one account, each after an un-REGISTER: only live accounts
    # count against the SIP stack's 8, so this is no limit of siptest's (it was refused
    # as one before anything was sent). The call after them still goes out registered.
    path = write(tmp_path, "flapping.sip.yaml", FLAPPING)
    result = siptest("run", str(path), "--json", env=lab_env)
    assert result.status == 0, result.stdout + result.stderr
    (scenario,) = result.json["scenarios"]
    kinds = [check["kind"] for check in scenario["checks"]]
    assert kinds.count("register") == 13 and kinds.count("unregister") == 13
    assert all(check["ok"] for check in scenario["checks"])
    assert lab.bindings("1001") == []


def test_example_scenarios_pass_with_text_json_and_junit(siptest, lab, lab_env, tmp_path):
    junit = tmp_path / "run.xml"
    trace = tmp_path / "run.sip"
    result = siptest(
        "run", str(EXAMPLES), "--json", "--junit", str(junit), "--trace", str(trace),
        env=lab_env, timeout=90,
    )  # fmt: skip
    assert result.status == 0, result.stdout + result.stderr
    document = result.json
    assert document["ok"] is True
    assert document["summary"]["passed"] == 3
    smoke = next(s for s in document["scenarios"] if s["name"] == "CI smoke")
    calls = {c["number"]: c for c in smoke["checks"] if c["kind"] == "call"}
    assert calls["7000"]["answered"] is True
    assert calls["0900123456"]["diagnosis"]["category"] == "tariff"
    assert calls["12345678"]["response"]["code"] == 404
    assert calls["1002"]["answered"] is True  # the callee account answered
    # media expectations: the digits arrived at the callee, 7000 sounds good
    assert calls["1002"]["dtmf"] == {
        "method": "rfc4733", "sent": "123#", "received": "123#", "received_by": "callee",
        "refused": None,
    }  # fmt: skip
    assert calls["7000"]["media"]["verdict"] == "both"
    assert calls["7000"]["media"]["mos"] >= 3.5
    assert calls["7000"]["expectation_met"] is True
    cases = junit_cases(junit)
    assert set(cases) == {"ATA self-check", "CI smoke", "Credential check"}
    assert all(
        case.find("failure") is None and case.find("error") is None for case in cases.values()
    )
    assert stat.S_IMODE(trace.stat().st_mode) == 0o600
    assert "# scenario CI smoke" in trace.read_text()
    assert lab.bindings("1001") == [] and lab.bindings("1002") == []
    text = siptest("run", str(EXAMPLES / "ata-self-check.sip.yaml"), env=lab_env)
    assert text.status == 0
    assert "PASS ATA self-check: every step as expected." in text.stdout


def test_wrong_expectation_exits_1_with_the_diagnosis_in_text_json_and_junit(
    siptest, lab, lab_env, tmp_path
):
    scenario = write(tmp_path, "wrong.sip.yaml", REGISTER_ONLY.format(name="wrong password"))
    env = {**lab_env, "SIPTEST_PASSWORD": CANARY}
    junit = tmp_path / "wrong.xml"

    text = siptest("run", str(scenario), "--junit", str(junit), env=env)
    assert text.status == 1, text.stderr
    assert "401 This password is not valid" in text.stdout
    assert "Fix:" in text.stdout and "SIP password" in text.stdout
    assert f"{scenario}:7" in text.stdout
    assert "FAIL wrong password: 1 expectation not met." in text.stdout

    as_json = siptest("run", str(scenario), "--json", env=env)
    assert as_json.status == 1
    (report,) = as_json.json["scenarios"]
    (failure,) = report["failures"]
    assert failure["step"] == f"{scenario}:7"
    assert failure["diagnosis"]["category"] == "credentials"

    failure_xml = junit_cases(junit)["wrong password"].find("failure")
    assert failure_xml is not None
    assert failure_xml.get("message", "").startswith(f"{scenario}:7: register 1003")
    assert "SIP password" in (failure_xml.text or "")
    for output in (text.stdout, text.stderr, as_json.stdout, junit.read_text()):
        assert CANARY not in output


def test_call_expected_to_be_answered_that_is_not_exits_1_with_the_number_diagnosis(
    siptest, lab, lab_env, tmp_path
):
    scenario = write(
        tmp_path,
        "unknown.sip.yaml",
        "account: {user: '1001', host: '${SIPTEST_HOST}', port: '${SIPTEST_PORT}'}\n"
        "steps:\n  - register\n  - call: 12345678\n    expect: answered\n  - call: 7000\n",
    )
    result = siptest("run", str(scenario), "--json", env=lab_env)
    assert result.status == 1, result.stderr
    (report,) = result.json["scenarios"]
    assert report["steps_not_run"] == 1
    (failure,) = report["failures"]
    assert failure["diagnosis"]["category"] == "number"
    assert "not answered (404 Not Found)" in failure["problems"][0]
    assert report["checks"][-1]["kind"] == "unregister"
    assert lab.bindings("1001") == []


TWO_ACCOUNTS = """\
accounts:
  caller: {user: "1001", host: "${SIPTEST_HOST}", port: "${SIPTEST_PORT}"}
  callee:
    user: "1002"
    host: ${SIPTEST_HOST}
    port: ${SIPTEST_PORT}
    password_env: SIPTEST_PASSWORD_B
    answers_calls: true
steps:
  - register: caller
  - register: callee
"""


@pytest.mark.parametrize("method", ["rfc4733", "info"])
def test_dtmf_expected_at_a_second_account_arrives_and_passes(
    siptest, lab, lab_env, tmp_path, method
):
    scenario = write(
        tmp_path,
        "dtmf.sip.yaml",
        TWO_ACCOUNTS + f"  - call: {{number: '1002', account: caller, talk: 2, dtmf: '123#', "
        f"dtmf_method: {method}}}\n"
        "    expect: {answered: true, audio: both, dtmf: '123#'}\n",
    )
    result = siptest("run", str(scenario), "--json", env=lab_env, timeout=60)
    assert result.status == 0, result.stdout + result.stderr
    (report,) = result.json["scenarios"]
    assert report["status"] == "passed"
    call = next(c for c in report["checks"] if c["kind"] == "call")
    assert call["expect"] == {"answered": True, "audio": "both", "dtmf": "123#"}
    assert call["dtmf"] == {
        "method": method, "sent": "123#", "received": "123#", "received_by": "callee",
        "refused": None,
    }  # fmt: skip
    media = next(c for c in report["checks"] if c["kind"] == "media" and "media" in c)
    assert media["ok"] is True and media["step"] == f"{scenario}:12"
    assert {e["expect"]: e["met"] for e in media["media"]["expectations"]} == {
        "audio": True,
        "dtmf": True,
    }
    assert lab.bindings("1001") == [] and lab.bindings("1002") == []


def test_a_minimum_mos_above_the_scale_is_refused_with_exit_2_before_anything_is_sent(
    siptest, lab, lab_env, lab_log, tmp_path
):
    scenario = write(
        tmp_path,
        "mos.sip.yaml",
        "account: {user: '1001', host: '${SIPTEST_HOST}', port: '${SIPTEST_PORT}'}\n"
        "steps:\n  - register\n  - call: 7000\n    expect: {min_mos: 4.6}\n",
    )
    result = siptest("run", str(scenario), "--json", env=lab_env)
    assert result.status == 2, result.stdout + result.stderr
    assert result.json["error"]["exit_status"] == 2
    assert f"{scenario}:5: key 'min_mos': must be from 1.0 to 4.5" in result.stderr
    assert "Traceback" not in result.stderr
    assert lab_log.requests("REGISTER") == []


def test_audio_expected_of_a_call_that_is_not_answered_exits_1_saying_why(
    siptest, lab, lab_env, tmp_path
):
    scenario = write(
        tmp_path,
        "busy.sip.yaml",
        "account: {user: '1001', host: '${SIPTEST_HOST}', port: '${SIPTEST_PORT}'}\n"
        "steps:\n  - register\n  - call: 999486\n    expect: {audio: both}\n",
    )
    reason = "expected audio both ways, but the call was not answered (486 Busy Here)"
    junit = tmp_path / "busy.xml"
    text = siptest("run", str(scenario), "--junit", str(junit), env=lab_env)
    assert text.status == 1, text.stdout + text.stderr
    assert f"NOT MET: {reason}" in " ".join(text.stdout.split())
    assert "FAIL busy: 1 expectation not met." in text.stdout
    failure_xml = junit_cases(junit)["busy"].find("failure")
    assert failure_xml is not None
    assert failure_xml.get("message") == f"{scenario}:4: call 999486 from 1001: {reason}"

    as_json = siptest("run", str(scenario), "--json", env=lab_env)
    assert as_json.status == 1
    (report,) = as_json.json["scenarios"]
    (failure,) = report["failures"]
    assert failure["problems"] == [reason]
    assert failure["diagnosis"]["category"] == "callee"
    assert [c["kind"] for c in report["checks"]] == ["register", "call", "unregister"]
    assert lab.bindings("1001") == []


def test_broken_files_exit_2_naming_file_line_and_key_before_anything_is_sent(
    siptest, lab, lab_env, lab_log, tmp_path
):
    good = write(tmp_path, "a-good.sip.yaml", REGISTER_ONLY.format(name="good"))
    inline = write(
        tmp_path,
        "b-inline.sip.yaml",
        f"account:\n  user: '1001'\n  host: x\n  password: {CANARY}\nsteps: [register]\n",
    )
    typo = write(
        tmp_path, "c-typo.sip.yaml", "account: {user: '1001', host: x}\nstep: [register]\n"
    )
    result = siptest("run", str(tmp_path), "--json", env=lab_env)
    assert result.status == 2
    assert result.json["error"]["exit_status"] == 2
    assert CANARY not in result.stdout
    assert f"{inline}:4: key 'password': a password is never written" in result.stderr
    assert f"{typo}:2: key 'step': unknown key. Did you mean 'steps'?" in result.stderr
    assert str(good) not in result.stderr
    assert CANARY not in result.stderr
    assert "Traceback" not in result.stderr
    assert lab_log.requests("REGISTER") == []


def test_missing_password_variable_exits_2(siptest, lab, lab_env, tmp_path):
    scenario = write(tmp_path, "x.sip.yaml", REGISTER_ONLY.format(name="x"))
    env = {k: v for k, v in lab_env.items() if k != "SIPTEST_PASSWORD"}
    result = siptest("run", str(scenario), env=env)
    assert result.status == 2
    assert f"{scenario}:3: key 'password_env': the environment variable SIPTEST_PASSWORD" in (
        result.stderr
    )


def test_sigint_while_ringing_cancels_unregisters_and_exits_130_with_a_partial_report(
    lab, lab_env, lab_log, tmp_path
):
    scenario = write(
        tmp_path,
        "ring.sip.yaml",
        "account: {user: '1001', host: '${SIPTEST_HOST}', port: '${SIPTEST_PORT}'}\n"
        "steps:\n  - register\n  - call: {number: 7001, ring_timeout: 30}\n  - call: 7000\n",
    )
    junit = tmp_path / "ring.xml"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SIPTEST_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "siptest", "run", str(scenario), "--json", "--junit", str(junit)],
        env={**environment, **lab_env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        # Ringing: the lab has the authenticated INVITE for 7001 (it rings for 4 s).
        while not [line for line in lab_log.requests("INVITE", "1001") if "auth=yes" in line]:
            assert time.monotonic() < deadline, "the INVITE never reached the lab"
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.05)
            assert process.returncode is None, process.communicate()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert lab_log.requests("CANCEL", "1001"), lab_log.text()
    registers = lab_log.requests("REGISTER", "1001")
    assert len(registers) >= 3, registers  # challenge, answer, then the un-REGISTER
    assert lab.bindings("1001") == []
    document = json.loads(stdout)
    assert document["interrupted"] is True
    (report,) = document["scenarios"]
    assert report["status"] == "interrupted"
    assert [c["kind"] for c in report["checks"]] == ["register", "call", "unregister"]
    assert report["steps_not_run"] == 1
    error = junit_cases(junit)["ring"].find("error")
    assert error is not None and error.get("type") == "interrupted"


# -- the pytest plugin ---------------------------------------------------------------------


def run_pytest(*args: str, env: dict[str, str], cwd: Path, timeout: float = 120):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SIPTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        env={**environment, **env},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def test_pytest_collects_the_example_scenarios_and_they_pass(lab, lab_env, tmp_path):
    junit = tmp_path / "pytest.xml"
    done = run_pytest(str(EXAMPLES), f"--junitxml={junit}", env=lab_env, cwd=REPOSITORY)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
    cases = junit_cases(junit)
    assert set(cases) == {"ata-self-check", "ci-smoke", "credential-check"}


def test_pytest_failure_shows_the_diagnosis(lab, lab_env, tmp_path):
    write(tmp_path, "wrong.sip.yaml", REGISTER_ONLY.format(name="wrong password"))
    junit = tmp_path / "pytest.xml"
    env = {**lab_env, "SIPTEST_PASSWORD": CANARY}
    done = run_pytest(str(tmp_path), f"--junitxml={junit}", env=env, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "wrong.sip.yaml:7: register 1003: expected success" in done.stdout
    assert "SIP password" in done.stdout
    assert "Traceback" not in done.stdout
    failure = junit_cases(junit)["wrong"].find("failure")
    assert failure is not None and "SIP password" in (failure.text or "")
    assert CANARY not in done.stdout + junit.read_text()


def test_pytest_reports_a_broken_file_with_file_line_and_key(lab, lab_env, tmp_path):
    broken = write(tmp_path, "broken.sip.yaml", "account: {user: '1001', host: x}\nstep: []\n")
    done = run_pytest(str(tmp_path), env=lab_env, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{broken}:2: key 'step': unknown key" in done.stdout


def test_pytest_sip_lab_option_and_fixtures_work_without_any_configuration(tmp_path, lab_users):
    write(
        tmp_path,
        "lab.sip.yaml",
        "account: {user: '${LAB_USER}', host: '${SIPTEST_HOST}', port: '${SIPTEST_PORT}'}\n"
        "steps: [register]\n",
    )
    write(
        tmp_path,
        "test_own.py",
        "from siptest.knowledge import load_knowledge\n"
        "from siptest.registration import RegistrationRequest, check_registration\n\n\n"
        "def test_lab_account_registers(sip_lab, sip_account):\n"
        "    assert sip_account.port == sip_lab.sip_port\n"
        "    run = check_registration(RegistrationRequest(sip_account), load_knowledge())\n"
        "    assert run.report.ok\n",
    )
    env = {"SIPTEST_PASSWORD": password_of(lab_users, "1002")}
    done = run_pytest(
        str(tmp_path), "--sip-lab", "--sip-var", "LAB_USER=1002", "-v", env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_the_example_scenarios_pass_under_sip_lab_with_no_password_set(tmp_path):
    """With --sip-lab, lab accounts get the lab's (public) passwords when their variable
    is not set: `pytest scenarios/ --sip-lab` works as the README says, on its own."""
    scenarios = Path(__file__).parents[2] / "scenarios"
    done = run_pytest(str(scenarios), "--sip-lab", env={}, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_under_sip_lab_a_password_that_is_set_is_still_the_one_used(tmp_path):
    scenarios = Path(__file__).parents[2] / "scenarios" / "credential-check.sip.yaml"
    done = run_pytest(
        str(scenarios), "--sip-lab", env={"SIPTEST_PASSWORD": "not-the-lab-password"},
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "password" in done.stdout.lower()
