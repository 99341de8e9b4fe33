"""Reports of `siptest run`: JUnit XML (parsed back), JSON and text, from scripted runs."""

from __future__ import annotations

import json
import os
import signal
import xml.etree.ElementTree as ET
from pathlib import Path

from siptest.errors import CannotRunError
from siptest.report.junit import junit_xml, write_junit
from siptest.report.scenario import render_runs_json, render_runs_text
from siptest.scenario import load_scenario, prepare, run_scenarios
from siptest.scenario.fake import ScriptedAgent, response

CANARY = "Canary-Pw-7f3a9c"
SCENARIO = """\
name: {name}
account:
  user: "1001"
  host: 127.0.0.1
  port: 5070
steps:
  - register
  - call: {number}
    expect: answered
"""


def scenario(tmp_path: Path, name: str, number: str):
    path = tmp_path / f"{name}.sip.yaml"
    path.write_text(SCENARIO.format(name=name, number=number), encoding="utf-8")
    return prepare(load_scenario(path, environ={}), environ={"SIPTEST_PASSWORD": CANARY})


def mixed_runs(tmp_path: Path):
    """One scenario passes, one fails (404), one cannot run."""
    scenarios = [
        scenario(tmp_path, "answers", "7000"),
        scenario(tmp_path, "unknown-number", "12345678"),
        scenario(tmp_path, "no-stack", "7000"),
    ]

    order = iter(["answers", "unknown-number", "no-stack"])  # agents in run order

    def factory(config):
        if next(order) == "no-stack":
            raise CannotRunError("The SIP stack failed to start.")
        return ScriptedAgent(calls={"7000": 200, "12345678": 404})

    return run_scenarios(scenarios, agent_factory=factory)


def test_junit_has_one_testcase_per_scenario_and_failures_carry_the_diagnosis(tmp_path):
    runs = mixed_runs(tmp_path)
    target = tmp_path / "out.xml"
    write_junit(target, runs)
    root = ET.parse(target).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "1")
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert set(cases) == {"answers", "unknown-number", "no-stack"}
    assert cases["answers"].find("failure") is None and cases["answers"].find("error") is None
    assert cases["answers"].get("classname", "").endswith("answers")
    assert float(cases["answers"].get("time", "x")) >= 0

    failure = cases["unknown-number"].find("failure")
    assert failure is not None
    message = failure.get("message", "")
    assert message.startswith(f"{tmp_path / 'unknown-number.sip.yaml'}:8: call 12345678 from 1001")
    assert "expected the call answered" in message
    text = failure.text or ""
    assert "What:" in text and "The number does not exist" in text
    assert "Fix:" in text
    out = cases["unknown-number"].findtext("system-out") or ""
    assert "404 Not Found" in out

    error = cases["no-stack"].find("error")
    assert error is not None
    assert "The SIP stack failed to start" in (error.text or "")
    assert CANARY not in target.read_text()


def test_junit_lists_scenarios_an_interruption_left_unrun_as_skipped(tmp_path):
    def press_ctrl_c() -> None:
        os.kill(os.getpid(), signal.SIGINT)

    agent = ScriptedAgent(during_call={"7001": press_ctrl_c})
    runs = run_scenarios(
        [scenario(tmp_path, "rings", "7001"), scenario(tmp_path, "later", "7000")],
        agent_factory=lambda _: agent,
    )
    root = ET.fromstring(junit_xml(runs))
    cases = {case.get("name"): case for case in root.iter("testcase")}
    interrupted = cases["rings"].find("error")
    assert interrupted is not None and interrupted.get("type") == "interrupted"
    skipped = cases["later"].find("skipped")
    assert skipped is not None and "interrupted" in skipped.get("message", "")
    assert root.get("skipped") == "1"


def test_junit_is_valid_xml_whatever_the_server_sent(tmp_path):
    strange = response("INVITE", 404, "Not\x00 Found\x07 <&>")
    agent = ScriptedAgent(calls={"12345678": strange})
    runs = run_scenarios([scenario(tmp_path, "strange", "12345678")], agent_factory=lambda _: agent)
    root = ET.fromstring(junit_xml(runs))
    assert "<&>" in (root.findtext(".//system-out") or "")


def test_json_is_one_object_with_every_scenario_and_its_checks(tmp_path):
    document = json.loads(render_runs_json(mixed_runs(tmp_path)))
    assert document["ok"] is False
    assert document["summary"] == {
        "scenarios": 3,
        "passed": 1,
        "failed": 1,
        "errors": 1,
        "interrupted": 0,
        "not_run": 0,
    }
    answers, unknown, no_stack = document["scenarios"]
    assert answers["status"] == "passed" and answers["ok"] is True
    assert [c["kind"] for c in answers["checks"]] == ["register", "call", "media", "unregister"]
    assert answers["checks"][1]["media"]["verdict"] == "both"
    assert unknown["status"] == "failed"
    (failure,) = unknown["failures"]
    assert failure["step"].endswith("unknown-number.sip.yaml:8")
    assert failure["diagnosis"]["category"] == "number"
    call = next(c for c in unknown["checks"] if c["kind"] == "call")
    assert call["ok"] is False
    assert call["expect"] == {"answered": True}
    assert call["expectation_met"] is False
    assert call["response"]["code"] == 404
    assert no_stack["status"] == "error" and "failed to start" in no_stack["error"]
    assert CANARY not in json.dumps(document)


def test_text_shows_each_step_and_what_it_was_expected_to_show(tmp_path):
    text = render_runs_text(mixed_runs(tmp_path))
    assert "== unknown-number (" in text
    assert "Step:         call 12345678 from 1001" in text
    assert "Expected:     answered - NOT MET" in text
    assert "FAIL unknown-number: 1 expectation not met." in text
    assert "ERROR no-stack: could not run: The SIP stack failed to start." in text
    assert text.rstrip().endswith("3 scenarios: 1 passed, 1 failed, 1 could not run.")
    assert CANARY not in text
