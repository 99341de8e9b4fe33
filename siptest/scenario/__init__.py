"""Scenario files: registrations, calls and expectations as a readable YAML script.

    from siptest.scenario import load_scenario, prepare, run_scenarios

    scenario = load_scenario(Path("scenarios/ci-smoke.sip.yaml"))   # ScenarioError: exit 2
    runs = run_scenarios([prepare(scenario)])                       # prints nothing
    runs.exit_status, runs.runs[0].report, runs.runs[0].failures

`model` holds the data, `loader` reads files (errors name FILE:LINE and the key,
never a secret), `runner` drives one user agent per scenario (on the stack `stack`
sets up, to the servers `routes` finds) into `results`, and `fake` is a scripted user
agent for tests. The format is documented in README.md.
"""

from __future__ import annotations

from siptest.scenario.loader import (
    PreparedScenario,
    find_scenarios,
    load_scenario,
    parse_overrides,
    prepare,
)
from siptest.scenario.model import SCENARIO_SUFFIXES, Scenario, ScenarioError
from siptest.scenario.results import Failure, ScenarioRun, ScenarioRuns
from siptest.scenario.runner import run_scenario, run_scenarios

__all__ = [
    "SCENARIO_SUFFIXES",
    "Failure",
    "PreparedScenario",
    "Scenario",
    "ScenarioError",
    "ScenarioRun",
    "ScenarioRuns",
    "find_scenarios",
    "load_scenario",
    "parse_overrides",
    "prepare",
    "run_scenario",
    "run_scenarios",
]
