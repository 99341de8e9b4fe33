"""`--expect` and a scenario's `expect:` judge a check the same way (one engine)."""

from __future__ import annotations

import pytest

from siptest.analysis.expectations import apply_expectation, parse_expectation
from siptest.analysis.model import Check
from siptest.knowledge import Situation, load_knowledge
from siptest.scenario.model import Expectation
from siptest.ua.base import Response

KNOWLEDGE = load_knowledge()


def call_check(code: int | None, origin: str = "remote", answered: bool = False) -> Check:
    response = Response("INVITE", code, "x", origin, 0.0, local_cause=None)
    situation = Situation("INVITE", code, "x", origin=origin)
    diagnosis = KNOWLEDGE.diagnose(situation)
    return Check(
        kind="call", ok=answered, diagnosis=diagnosis, response=response,
        details={"answered": answered},
    )  # fmt: skip


CHECKS = {
    "answered": call_check(200, answered=True),
    "busy": call_check(486),
    "not found": call_check(404),
    "forbidden": call_check(403),  # a bare 403 to INVITE: routing.forbidden
    "no answer": call_check(408, origin="none"),
}
CLI_VALUES = ["answered", "486", "404", "callee", "number", "routing", "none", "network"]


def scenario_expectation(value: str) -> Expectation:
    parsed = parse_expectation(value)
    if parsed == "answered":
        return Expectation(answered=True)
    if isinstance(parsed, int):
        return Expectation(codes=(parsed,))
    return Expectation(category=parsed)


# What is met, written out by hand: the engine must give exactly this, both ways.
MET = {
    ("answered", "answered"),
    ("answered", "none"),  # an answered call's diagnosis (ok.answered) is category none
    ("busy", "486"),
    ("busy", "callee"),
    ("not found", "404"),
    ("not found", "number"),
    ("forbidden", "routing"),
    ("no answer", "network"),
}


@pytest.mark.parametrize("value", CLI_VALUES)
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_command_line_and_a_scenario_agree(name, value):
    check = CHECKS[name]
    judged = apply_expectation(check, parse_expectation(value), KNOWLEDGE)
    met = (name, value) in MET
    assert judged.details["expectation_met"] is met
    assert (not scenario_expectation(value).unmet(check)) is met


def test_expecting_a_code_from_a_server_that_said_nothing_says_no_response():
    judged = apply_expectation(CHECKS["no answer"], parse_expectation("486"), KNOWLEDGE)
    assert judged.diagnosis.title == "Expected 486, got no response"


def test_an_expected_failure_passes_and_an_unexpected_answer_fails():
    busy = apply_expectation(CHECKS["busy"], parse_expectation("486"), KNOWLEDGE)
    assert (busy.ok, busy.diagnosis.id) == (True, "callee.busy")
    answered = apply_expectation(CHECKS["answered"], parse_expectation("tariff"), KNOWLEDGE)
    assert (answered.ok, answered.diagnosis.id) == (False, "expectation.unmet")
    assert answered.diagnosis.title == "Expected tariff, but the call was answered"
