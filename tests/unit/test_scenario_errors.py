"""A scenario file reports every error in it at once (issue 16), each FILE:LINE: key:
message, in the order of the file; `siptest run` lists them all and `run --json`
keeps the run's layout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from siptest.scenario import ScenarioError, load_scenario

THREE_ERRORS = """\
name: three mistakes
account:
  user: "1001"
  host: 127.0.0.1
  password_env: SIPTEST_PASSWORD
steps:
  - register
  - call: {number: "7000", ring_timout: 5}
  - wait: soon
  - call: {number: "7000", expect: maybe}
"""

ONE_ERROR = """\
account: {user: "1001", host: 127.0.0.1}
steps:
  - regster
"""

GOOD = """\
account: {user: "1001", host: 127.0.0.1}
steps: [register]
"""


def write(tmp_path: Path, text: str, name: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_with_three_errors_reports_all_three_with_their_lines(tmp_path):
    path = write(tmp_path, THREE_ERRORS, "three.sip.yaml")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, environ={})
    problems = caught.value.problems
    assert [p.split(": ", 1)[0] for p in problems] == [f"{path}:8", f"{path}:9", f"{path}:10"]
    assert "key 'ring_timout'" in problems[0] and "Did you mean 'ring_timeout'?" in problems[0]
    assert "key 'wait'" in problems[1]
    assert "key 'expect'" in problems[2] and "'maybe'" in problems[2]
    assert str(caught.value) == "\n".join(problems)
    assert caught.value.exit_status == 2


def test_a_file_with_one_error_reports_just_that_one(tmp_path):
    path = write(tmp_path, ONE_ERROR, "one.sip.yaml")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, environ={})
    assert caught.value.problems == (str(caught.value),)
    assert str(caught.value).startswith(f"{path}:3: ")


def test_a_broken_account_is_reported_without_an_error_for_every_step_that_names_it(tmp_path):
    text = THREE_ERRORS.replace('  user: "1001"\n', '  usr: "1001"\n')
    path = write(tmp_path, text, "account.sip.yaml")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, environ={})
    lines = [p.split(": ", 1)[0] for p in caught.value.problems]
    assert lines == [f"{path}:3", f"{path}:3"]  # 'usr' unknown, and 'user' missing
    assert "Did you mean 'user'?" in caught.value.problems[0]


def invoke(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command line: nothing is sent, every file is broken or only read."""
    return subprocess.run(
        [sys.executable, "-m", "siptest", "run", *args],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env={**os.environ, "SIPTEST_PASSWORD": "x"},
    )  # fmt: skip


def test_run_lists_every_error_of_every_file_and_exits_2(tmp_path):
    three = write(tmp_path, THREE_ERRORS, "a-three.sip.yaml")
    one = write(tmp_path, ONE_ERROR, "b-one.sip.yaml")
    result = invoke(str(three), str(one))
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("siptest: ")]
    assert [line.split(": ")[1] for line in lines] == [
        f"{three}:8", f"{three}:9", f"{three}:10", f"{one}:3",
    ]  # fmt: skip


def test_run_json_keeps_the_run_layout_when_files_are_broken(tmp_path):
    three = write(tmp_path, THREE_ERRORS, "a-three.sip.yaml")
    good = write(tmp_path, GOOD, "b-good.sip.yaml")
    result = invoke(str(three), str(good), "--json")
    assert result.returncode == 2, result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is False and document["interrupted"] is False
    assert document["summary"] == {
        "scenarios": 2, "passed": 0, "failed": 0, "errors": 1, "interrupted": 0, "not_run": 1,
    }  # fmt: skip
    (broken,) = document["scenarios"]
    assert broken["status"] == "error" and broken["file"] == str(three)
    assert [e.split(": ", 1)[0] for e in broken["file_errors"]] == [
        f"{three}:8", f"{three}:9", f"{three}:10",
    ]  # fmt: skip
    assert broken["checks"] == [] and broken["failures"] == []
    assert document["not_run"] == [{"name": "b-good", "file": str(good)}]
    assert document["error"]["exit_status"] == 2
    assert document["error"]["message"] == "\n".join(broken["file_errors"])


def test_a_good_file_loads_with_no_problem(tmp_path):
    # The hostile twin: reading on past errors finds none where there are none.
    scenario = load_scenario(write(tmp_path, GOOD, "good.sip.yaml"), environ={})
    assert scenario.name == "good" and len(scenario.steps) == 1


TOP_LEVEL_ERRORS = """\
name: top-level mistakes
timeout: forever
continue_on_failure: perhaps
profile: no-such-profile.yaml
tls_insecure: true
account:
  user: "1001"
  host: 127.0.0.1
  password_env: SIPTEST_PASSWORD
steps:
  - wait: soon
"""


def test_mistakes_in_the_top_level_values_are_reported_together_with_the_steps(tmp_path):
    path = write(tmp_path, TOP_LEVEL_ERRORS, "top.sip.yaml")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, environ={})
    lines = [p.split(": ", 1)[0] for p in caught.value.problems]
    keys = [p.split("key '", 1)[1].split("'", 1)[0] for p in caught.value.problems]
    assert lines == [f"{path}:{n}" for n in (2, 3, 4, 5, 11)]
    assert keys == ["timeout", "continue_on_failure", "profile", "tls_insecure", "wait"]
