"""The scenario runner against a scripted user agent: order, expectations, clean-up."""

from __future__ import annotations

import os
import re
import signal
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from siptest.errors import CannotRunError, ExitStatus
from siptest.report.json import check_json
from siptest.report.junit import junit_xml
from siptest.report.scenario import render_run_text, runs_json
from siptest.scenario import ScenarioRuns, load_scenario, prepare, run_scenario, run_scenarios
from siptest.scenario.fake import CLEAN_AUDIO, ScriptedAgent, response
from siptest.ua.mediaevents import MediaSample, StreamStats

PASSWORDS = {"SIPTEST_PASSWORD": "lab-1001-pass", "PW_B": "lab-1002-pass"}
TARIFF = response("INVITE", 403, "This call is not covered by your tariff plan")

ONE_ACCOUNT = """\
account:
  user: "1001"
  host: 127.0.0.1
  port: 5070
"""
TWO_ACCOUNTS = """\
accounts:
  caller: {user: "1001", host: 127.0.0.1}
  callee: {user: "1002", host: 127.0.0.1, password_env: PW_B}
"""


class FakeClock:
    """Time that passes only when the runner sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def prepared(tmp_path: Path, text: str, name: str = "test.sip.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return prepare(load_scenario(path, environ={}), environ=PASSWORDS)


def run(tmp_path: Path, text: str, agent: ScriptedAgent, clock: FakeClock | None = None):
    clock = clock or FakeClock()
    return run_scenario(
        prepared(tmp_path, text), agent_factory=lambda _: agent, sleep=clock.sleep, clock=clock
    )


def steps_of(result, kind: str) -> list[dict]:
    """The checks of one kind as the JSON report shows them."""
    return [check_json(c) for c in result.report.checks if c.kind == kind]


def test_passing_scenario_registers_calls_and_unregisters_in_order(tmp_path):
    agent = ScriptedAgent(calls={"7000": 200})
    text = ONE_ACCOUNT + "steps:\n  - register\n  - call: 7000\n    expect: answered\n"
    result = run(tmp_path, text, agent)
    assert result.status == "passed", result.failures
    assert agent.actions == [
        ("register", "1001"),
        ("call", "1001", "7000"),
        ("unregister", "1001"),
        ("close",),
    ]
    kinds = [check.kind for check in result.report.checks]
    assert kinds == ["register", "call", "media", "unregister"]
    call = steps_of(result, "call")[0]
    assert call["step"].endswith("test.sip.yaml:7")
    assert call["expect"] == {"answered": True}
    assert call["expectation_met"] is True
    assert steps_of(result, "unregister")[0]["cleanup"] is True
    assert result.steps_run == 2 and result.steps_not_run == 0


def test_call_is_placed_as_registered_only_while_registered(tmp_path):
    calls: list[bool] = []

    class Recording(ScriptedAgent):
        def call(self, account, spec):
            calls.append(spec.registered)
            return super().call(account, spec)

    text = ONE_ACCOUNT + (
        "steps:\n  - call: {number: 7000, expect: answered}\n  - register\n"
        "  - call: {number: 7000, expect: answered}\n"
    )
    assert run(tmp_path, text, Recording(calls={"7000": 200})).ok
    assert calls == [False, True]


def test_first_unmet_expectation_stops_the_scenario_and_still_cleans_up(tmp_path):
    agent = ScriptedAgent(calls={"12345678": 404, "7000": 200})
    text = ONE_ACCOUNT + (
        "steps:\n  - register\n  - call: 12345678\n    expect: answered\n  - call: 7000\n"
    )
    result = run(tmp_path, text, agent)
    assert result.status == "failed"
    assert ("call", "1001", "7000") not in agent.actions
    assert agent.actions[-2:] == [("unregister", "1001"), ("close",)]
    (failure,) = result.failures
    assert failure.location.line == 7
    assert failure.step == "call 12345678 from 1001"
    assert failure.problems == ("expected the call answered, it was not answered (404 Not Found)",)
    assert failure.check.diagnosis is not None
    assert failure.check.diagnosis.category == "number"
    assert result.steps_not_run == 1
    call = steps_of(result, "call")[0]
    assert call["expectation_met"] is False and call["unmet"]


def test_continue_on_failure_runs_every_step_and_collects_every_failure(tmp_path):
    agent = ScriptedAgent(calls={"12345678": 404, "7000": 480})
    text = ONE_ACCOUNT + (
        "continue_on_failure: true\nsteps:\n  - register\n  - call: 12345678\n  - call: 7000\n"
    )
    result = run(tmp_path, text, agent)
    assert result.status == "failed"
    assert [f.step for f in result.failures] == ["call 12345678 from 1001", "call 7000 from 1001"]
    assert result.steps_not_run == 0


def test_an_expected_refusal_passes_and_keeps_its_diagnosis(tmp_path):
    agent = ScriptedAgent(calls={"0900123456": TARIFF, "12345678": 404})
    text = ONE_ACCOUNT + (
        "steps:\n"
        "  - register\n"
        "  - call: 0900123456\n"
        "    expect: {code: 403, category: tariff}\n"
        "  - call: 12345678\n"
        "  - expect: 404\n"
    )
    result = run(tmp_path, text, agent)
    assert result.status == "passed", result.failures
    tariff, unknown = (c for c in result.report.checks if c.kind == "call")
    assert tariff.ok and tariff.diagnosis is not None and tariff.diagnosis.category == "tariff"
    assert unknown.ok and unknown.response is not None and unknown.response.code == 404


def test_an_answered_call_that_should_have_been_refused_fails(tmp_path):
    agent = ScriptedAgent(calls={"0900123456": 200})
    text = ONE_ACCOUNT + "steps:\n  - register\n  - call: 0900123456\n    expect: tariff\n"
    result = run(tmp_path, text, agent)
    (failure,) = result.failures
    assert failure.problems == ("expected category tariff, got none (200 OK)",)


def test_failed_registration_stops_without_unregistering(tmp_path):
    agent = ScriptedAgent(registrations={"1001": 401}, calls={"7000": 200})
    text = ONE_ACCOUNT + "steps:\n  - register\n  - call: 7000\n"
    result = run(tmp_path, text, agent)
    assert result.status == "failed"
    assert agent.actions == [("register", "1001"), ("close",)]
    (failure,) = result.failures
    assert failure.check.diagnosis is not None
    assert failure.check.diagnosis.category == "credentials"


def test_expected_registration_failure_makes_unregister_a_no_op(tmp_path):
    agent = ScriptedAgent(registrations={"1001": 403})
    text = ONE_ACCOUNT + "steps:\n  - register:\n      expect: account\n  - unregister\n"
    result = run(tmp_path, text, agent)
    assert result.ok, result.failures
    assert agent.actions == [("register", "1001"), ("close",)]


def test_two_accounts_are_unregistered_latest_first(tmp_path):
    agent = ScriptedAgent(calls={"1002": 486})
    text = TWO_ACCOUNTS + (
        "steps:\n"
        "  - register: caller\n"
        "  - register: callee\n"
        "  - call: {number: 1002, account: caller, expect: {code: 486, category: callee}}\n"
    )
    result = run(tmp_path, text, agent)
    assert result.ok, result.failures
    assert agent.actions[-3:] == [("unregister", "1002"), ("unregister", "1001"), ("close",)]
    cleanups = [d["step_name"] for d in steps_of(result, "unregister")]
    assert cleanups == ["clean-up: unregister callee (1002)", "clean-up: unregister caller (1001)"]


def test_failed_unregistration_at_clean_up_fails_the_scenario(tmp_path):
    agent = ScriptedAgent(unregistrations={"1001": 500})
    result = run(tmp_path, ONE_ACCOUNT + "steps: [register]\n", agent)
    assert result.status == "failed"
    (failure,) = result.failures
    assert failure.step == "clean-up: unregister 1001"


def test_wait_sleeps_in_short_slices_for_the_time_asked(tmp_path):
    clock = FakeClock()
    text = ONE_ACCOUNT + "steps:\n  - register\n  - wait: 1.25\n  - unregister\n"
    result = run(tmp_path, text, ScriptedAgent(), clock)
    assert result.ok
    assert sum(clock.sleeps) == pytest.approx(1.25)
    assert max(clock.sleeps) <= 0.1 + 1e-9


def test_repeated_steps_carry_their_round(tmp_path):
    agent = ScriptedAgent()
    text = ONE_ACCOUNT + (
        "steps:\n  - repeat:\n      times: 3\n      steps: [register, unregister]\n"
    )
    result = run(tmp_path, text, agent)
    assert result.ok
    assert [d["round"] for d in steps_of(result, "register")] == ["1/3", "2/3", "3/3"]
    assert agent.actions.count(("unregister", "1001")) == 3


def test_user_agent_that_cannot_start_is_an_error_with_exit_status_3(tmp_path):
    def cannot_bind(_):
        raise CannotRunError("Could not bind UDP 0.0.0.0:5060 (address in use).")

    runs = run_scenarios(
        [prepared(tmp_path, ONE_ACCOUNT + "steps: [register]\n")], agent_factory=cannot_bind
    )
    (result,) = runs.runs
    assert result.status == "error"
    assert result.error is not None and "Could not bind" in result.error
    assert runs.exit_status == ExitStatus.CANNOT_RUN


def test_sigint_while_ringing_cancels_unregisters_and_stops_the_run(tmp_path):
    def press_ctrl_c() -> None:
        os.kill(os.getpid(), signal.SIGINT)

    agent = ScriptedAgent(calls={"7000": 200}, during_call={"7001": press_ctrl_c})
    first = prepared(
        tmp_path,
        ONE_ACCOUNT + "steps:\n  - register\n  - call: 7001\n  - call: 7000\n",
        "a.sip.yaml",
    )
    second = prepared(tmp_path, ONE_ACCOUNT + "steps: [register]\n", "b.sip.yaml")
    clock = FakeClock()
    runs = run_scenarios(
        [first, second], agent_factory=lambda _: agent, sleep=clock.sleep, clock=clock
    )
    assert runs.exit_status == ExitStatus.INTERRUPTED
    assert [s.name for s in runs.not_run] == ["b"]
    (result,) = runs.runs
    assert result.status == "interrupted"
    assert result.report.interrupted
    assert agent.actions == [
        ("register", "1001"),
        ("call", "1001", "7001"),
        ("unregister", "1001"),
        ("close",),
    ]
    call = steps_of(result, "call")[0]
    assert call["interrupted"] is True
    assert not result.failures


def test_number_pre_flight_findings_are_advice(tmp_path):
    agent = ScriptedAgent(calls={"0321234567": 200})
    text = ONE_ACCOUNT + "steps:\n  - register\n  - call: 032 123 45 67\n    expect: answered\n"
    result = run(tmp_path, text, agent)
    assert result.ok, result.failures
    assert ("call", "1001", "0321234567") in agent.actions
    (advice,) = [c for c in result.report.checks if c.kind == "preflight"]
    assert advice.ok and advice.diagnosis is not None
    assert advice.diagnosis.id == "preflight.number_separators"


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["passed", "passed"], ExitStatus.OK),
        (["passed", "failed"], ExitStatus.CHECK_FAILED),
        (["failed", "error"], ExitStatus.CANNOT_RUN),
    ],
)
def test_exit_status_of_a_run_is_its_worst_scenario(tmp_path, statuses, expected):
    text = ONE_ACCOUNT + "steps:\n  - call: 7000\n"
    scenarios = [
        prepared(tmp_path, text, f"{index}-{status}.sip.yaml")
        for index, status in enumerate(statuses)
    ]

    order = iter(statuses)  # one agent per scenario, made in the order they run

    def factory(config):
        status = next(order)
        if status == "error":
            raise CannotRunError("The SIP stack failed to start.")
        return ScriptedAgent(calls={"7000": 200 if status == "passed" else 404})

    runs = run_scenarios(scenarios, agent_factory=factory)
    assert [run.status for run in runs.runs] == statuses
    assert runs.exit_status == expected


# -- media: the check after an answered call, and expectations on it ------------------------

ONE_WAY = MediaSample(
    codec="PCMA",
    remote_rtp="127.0.0.1:40000",
    sent=StreamStats(packets=100, lost=0, jitter_ms=None),
    received=StreamStats(packets=0, lost=0, jitter_ms=None),
    rtt_ms=None,
    duration=2.0,
)
LOSSY = replace(
    CLEAN_AUDIO,
    sent=StreamStats(packets=96, lost=4, jitter_ms=0.5),
    received=StreamStats(packets=96, lost=4, jitter_ms=0.5),
)


def media_of(result) -> list:
    return [c for c in result.report.checks if c.kind == "media" and c.media is not None]


def test_an_answered_call_gets_the_media_check_and_the_call_carries_the_media_section(tmp_path):
    agent = ScriptedAgent(calls={"7000": 200})
    text = ONE_ACCOUNT + "steps:\n  - register\n  - call: 7000\n"
    result = run(tmp_path, text, agent)
    assert result.ok, result.failures
    (media,) = media_of(result)
    assert media.ok and media.media.as_json()["verdict"] == "both"
    assert media.step is not None and media.step.step.endswith("test.sip.yaml:7")
    call = steps_of(result, "call")[0]
    assert call["media"] == media.media.as_json()
    assert call["media"]["expectations"] == []


def test_without_media_expectations_bad_audio_is_reported_not_judged(tmp_path):
    agent = ScriptedAgent(calls={"7000": 200}, media={"7000": ONE_WAY})
    text = ONE_ACCOUNT + "steps:\n  - register\n  - call: 7000\n    expect: answered\n"
    result = run(tmp_path, text, agent)
    assert result.ok, result.failures
    (media,) = media_of(result)
    assert media.ok is False
    assert media.media.as_json()["verdict"] == "one_way_out"


def test_a_call_that_is_not_answered_gets_no_media_check(tmp_path):
    agent = ScriptedAgent(calls={"12345678": 404})
    text = ONE_ACCOUNT + "steps:\n  - register\n  - call: 12345678\n    expect: 404\n"
    result = run(tmp_path, text, agent)
    assert result.ok, result.failures
    assert [c.kind for c in result.report.checks] == ["register", "call", "unregister"]
    assert "media" not in steps_of(result, "call")[0]


@pytest.mark.parametrize(
    ("expect", "media"),
    [
        ("{audio: both}", CLEAN_AUDIO),
        ("{min_mos: 3.5}", CLEAN_AUDIO),
        ("{answered: true, audio: both, min_mos: 4.0}", CLEAN_AUDIO),
        ("{min_mos: 3.5}", LOSSY),  # 4 % loss with G.711: still about MOS 4
    ],
)
def test_media_expectations_that_hold_pass(tmp_path, expect, media):
    agent = ScriptedAgent(calls={"7000": 200}, media={"7000": media})
    text = ONE_ACCOUNT + f"steps:\n  - register\n  - call: 7000\n    expect: {expect}\n"
    result = run(tmp_path, text, agent)
    assert result.ok, result.failures
    call = steps_of(result, "call")[0]
    assert call["expectation_met"] is True
    assert all(e["met"] for e in call["media"]["expectations"])


def test_one_way_audio_against_audio_both_fails_with_the_media_diagnosis(tmp_path):
    agent = ScriptedAgent(calls={"7000": 200}, media={"7000": ONE_WAY})
    text = ONE_ACCOUNT + (
        "steps:\n  - register\n  - call: 7000\n    expect: {answered: true, audio: both}\n"
        "  - call: 7000\n"
    )
    result = run(tmp_path, text, agent)
    assert result.status == "failed"
    assert result.steps_not_run == 1
    (failure,) = result.failures
    assert failure.location.line == 7
    assert failure.problems == (
        "expected audio both ways, got one-way audio (nothing heard from the far end)",
    )
    assert failure.check.kind == "media"
    assert failure.check.diagnosis is not None
    assert failure.check.diagnosis.id == "media.no_audio_from_far_end"
    call = steps_of(result, "call")[0]
    assert call["expectation_met"] is False
    assert call["expect"] == {"answered": True, "audio": "both"}
    # text, JSON and JUnit say it like any other failure
    runs = ScenarioRuns((result,))
    text_report = " ".join(render_run_text(result).split())
    assert "Expected: answered, audio both ways - NOT MET: expected audio both ways" in (
        text_report
    )
    assert "What: One-way audio: you can hear nothing from the far end" in text_report
    assert "FAIL test: 1 expectation not met; 1 step not run." in text_report
    (failure_json,) = runs_json(runs)["scenarios"][0]["failures"]
    assert failure_json["diagnosis"]["id"] == "media.no_audio_from_far_end"
    assert failure_json["diagnosis"]["category"] == "media"
    element = ET.fromstring(junit_xml(runs)).find(".//failure")
    assert element is not None
    assert element.get("message", "").endswith(
        "call 7000 from 1001: expected audio both ways, got one-way audio "
        "(nothing heard from the far end)"
    )
    assert "One-way audio: you can hear nothing from the far end" in (element.text or "")


def test_a_mos_below_the_minimum_fails(tmp_path):
    agent = ScriptedAgent(calls={"7000": 200}, media={"7000": LOSSY})
    text = ONE_ACCOUNT + "steps:\n  - register\n  - call: 7000\n    expect: {min_mos: 4.3}\n"
    result = run(tmp_path, text, agent)
    (failure,) = result.failures
    (problem,) = failure.problems
    assert re.fullmatch(r"expected MOS at least 4\.3, got 4\.0\d", problem), problem
    assert failure.check.diagnosis is not None
    assert failure.check.diagnosis.id == "media.poor_quality"
    assert "below the scenario's minimum of 4.30" in failure.check.diagnosis.explanation


def test_min_mos_without_audio_both_ways_has_no_estimate(tmp_path):
    agent = ScriptedAgent(calls={"7000": 200}, media={"7000": ONE_WAY})
    text = ONE_ACCOUNT + "steps:\n  - register\n  - call: 7000\n    expect: {min_mos: 3.5}\n"
    (failure,) = run(tmp_path, text, agent).failures
    assert failure.problems == ("expected MOS at least 3.5, got no estimate (no audio both ways)",)


def test_a_media_expectation_on_a_call_that_is_not_answered_fails_with_the_call_diagnosis(
    tmp_path,
):
    agent = ScriptedAgent(calls={"999486": 486})
    text = ONE_ACCOUNT + "steps:\n  - register\n  - call: 999486\n    expect: {audio: both}\n"
    result = run(tmp_path, text, agent)
    (failure,) = result.failures
    assert failure.problems == (
        "expected audio both ways, but the call was not answered (486 Busy Here)",
    )
    assert failure.check.kind == "call"
    assert failure.check.diagnosis is not None
    assert failure.check.diagnosis.category == "callee"
    assert media_of(result) == []


def test_dtmf_that_came_back_from_an_echo_service_is_judged(tmp_path):
    text = ONE_ACCOUNT + (
        "steps:\n  - register\n"
        "  - call: {number: 7000, dtmf: '123#', dtmf_method: info}\n"
        "    expect: {dtmf: '123#'}\n"
    )
    seen: list[str] = []

    class Recording(ScriptedAgent):
        def call(self, account, spec):
            seen.append(spec.dtmf_method)
            return super().call(account, spec)

    result = run(tmp_path, text, Recording(calls={"7000": 200}, dtmf_back={"7000": "123#"}))
    assert result.ok, result.failures
    assert seen == ["info"]
    call = steps_of(result, "call")[0]
    assert call["dtmf"] == {"method": "info", "sent": "123#", "received": "123#", "refused": None}

    short = Recording(calls={"7000": 200}, dtmf_back={"7000": "12"})
    (failure,) = run(tmp_path, text, short).failures
    assert failure.problems == ("expected DTMF '123#' at the far end, '12' arrived",)
    assert failure.check.diagnosis is not None
    assert failure.check.diagnosis.id == "media.dtmf_mismatch"


class DigitCounting(ScriptedAgent):
    """A fake that, like PjsuaAgent, tells what calls answered by an account received."""

    def __init__(self, per_call: str, earlier: str = "", **tables) -> None:
        super().__init__(**tables)
        self.per_call = per_call
        self.received: dict[str, str] = {"1002": earlier}

    def call(self, account, spec):
        outcome = super().call(account, spec)
        if outcome.answered and spec.number in self.received:
            self.received[spec.number] += self.per_call
        return outcome

    def received_digits(self, account) -> str:
        return self.received.get(account.user, "")


def test_dtmf_to_a_second_account_is_read_from_that_account(tmp_path):
    text = TWO_ACCOUNTS.replace("password_env: PW_B}", "password_env: PW_B, answers_calls: true}")
    text += (
        "steps:\n  - register: caller\n  - register: callee\n"
        "  - call: {number: 1002, account: caller, dtmf: '123#', expect: {dtmf: '123#'}}\n"
    )
    # Nothing comes back to the caller; the callee received the digits (after a "9"
    # from an earlier call, which does not count).
    result = run(tmp_path, text, DigitCounting("123#", earlier="9", calls={"1002": 200}))
    assert result.ok, result.failures
    call = steps_of(result, "call")[0]
    assert call["dtmf"]["received"] == "123#" and call["dtmf"]["received_by"] == "callee"
    assert call["media"]["dtmf_received"] == "123#"

    (failure,) = run(tmp_path, text, DigitCounting("", calls={"1002": 200})).failures
    assert failure.problems == ("expected DTMF '123#' at the far end, nothing arrived",)


def test_dtmf_to_a_second_account_without_a_digit_reader_falls_back_to_what_came_back(
    tmp_path,
):
    text = TWO_ACCOUNTS.replace("password_env: PW_B}", "password_env: PW_B, answers_calls: true}")
    text += (
        "steps:\n  - register: caller\n  - register: callee\n"
        "  - call: {number: 1002, account: caller, dtmf: '1', expect: {dtmf: '1'}}\n"
    )
    agent = ScriptedAgent(calls={"1002": 200}, dtmf_back={"1002": "1"})
    assert run(tmp_path, text, agent).ok


def test_a_media_expectation_that_holds_still_fails_on_a_failed_media_check(tmp_path):
    # The digits came back, but nothing else did: the media check fails, so does the step.
    agent = ScriptedAgent(calls={"7000": 200}, media={"7000": ONE_WAY}, dtmf_back={"7000": "1"})
    text = ONE_ACCOUNT + (
        "steps:\n  - register\n  - call: {number: 7000, dtmf: '1'}\n    expect: {dtmf: '1'}\n"
    )
    (failure,) = run(tmp_path, text, agent).failures
    assert failure.problems == (
        "expected DTMF '1' at the far end; the media check failed: "
        "One-way audio: you can hear nothing from the far end",
    )
    assert failure.check.kind == "media"
