"""Reports of `siptest run`: text and JSON for every scenario, and the failure text.

The checks are rendered as `siptest register` and `siptest call` render them;
each gets the scenario step it came from and, when it was not the default "must
succeed", what it was expected to show.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from siptest import __version__
from siptest.analysis.model import Check
from siptest.report.json import report_json
from siptest.report.text import FIXED_WIDTH, render_check
from siptest.scenario.results import ScenarioRun, ScenarioRuns

_STATUS = {
    "passed": "PASS",
    "failed": "FAIL",
    "error": "ERROR",
    "interrupted": "INTERRUPTED",
}


def _wrap(label: str, text: str, width: int = FIXED_WIDTH) -> list[str]:
    return textwrap.wrap(
        text,
        width,
        initial_indent=f"  {label:<13} ",
        subsequent_indent=" " * 16,
        break_on_hyphens=False,
        break_long_words=False,
    ) or [f"  {label}"]


def _step_lines(check: Check, width: int) -> list[str]:
    facts = check.step
    if facts is None or facts.step_name is None:
        return []
    where = f" ({facts.step})" if facts.step else ""
    round_ = f", round {facts.round}" if facts.round else ""
    return _wrap("Step:", f"{facts.step_name}{round_}{where}", width)


def _expect_lines(check: Check, width: int) -> list[str]:
    facts = check.step
    if facts is None:
        return []
    expected, unmet = facts.expect, facts.unmet
    if facts.interrupted:
        return _wrap("Expected:", "not judged: the step was interrupted", width)
    if unmet:
        wanted = _describe_expect(expected) if expected else "success"
        return _wrap("Expected:", f"{wanted} - NOT MET: {'; '.join(unmet)}", width)
    if expected and expected != {"ok": True}:
        return _wrap("Expected:", f"{_describe_expect(expected)} - met", width)
    return []


def _describe_expect(expected: dict[str, Any]) -> str:
    parts = []
    if "ok" in expected:
        parts.append("ok" if expected["ok"] else "not ok")
    if "code" in expected:
        codes = expected["code"] if isinstance(expected["code"], list) else [expected["code"]]
        parts.append("code " + " or ".join(str(code) for code in codes))
    if "category" in expected:
        parts.append(f"category {expected['category']}")
    if "answered" in expected:
        parts.append("answered" if expected["answered"] else "not answered")
    if "audio" in expected:
        parts.append("audio both ways")
    if "min_mos" in expected:
        parts.append(f"MOS at least {expected['min_mos']:g}")
    if "dtmf" in expected:
        parts.append(f"DTMF '{expected['dtmf']}' at the far end")
    return ", ".join(parts)


def render_scenario_check(check: Check, width: int = FIXED_WIDTH) -> list[str]:
    lines = render_check(check, width)
    return [lines[0], *_step_lines(check, width), *lines[1:], *_expect_lines(check, width)]


def render_run_text(run: ScenarioRun, width: int = FIXED_WIDTH) -> str:
    scenario = run.scenario
    lines = [f"== {scenario.name} ({scenario.path}) =="]
    if run.report.insecure:
        lines.append(
            "INSECURE: TLS certificate checks were switched off (tls_insecure); "
            "the server was not authenticated."
        )
    for check in run.report.checks:
        lines.extend(render_scenario_check(check, width))
    lines.append(_verdict(run))
    return "\n".join(lines) + "\n"


def _verdict(run: ScenarioRun) -> str:
    name = run.scenario.name
    left = (
        f"; {run.steps_not_run} step{'s' if run.steps_not_run != 1 else ''} not run"
        if run.steps_not_run
        else ""
    )
    if run.status == "passed":
        return f"PASS {name}: every step as expected."
    if run.status == "failed":
        lookups = [f.check.target or "" for f in run.failures if f.check.kind == "resolution"]
        if lookups:
            return (
                f"FAIL {name}: looking up {', '.join(lookups)} failed, so nothing was sent{left}."
            )
        count = len(run.failures)
        return f"FAIL {name}: {count} expectation{'s' if count != 1 else ''} not met{left}."
    if run.status == "error":
        return f"ERROR {name}: could not run: {run.error}{left}"
    return f"INTERRUPTED {name}: stopped and cleaned up; the report above is partial{left}."


def render_runs_text(runs: ScenarioRuns, width: int = FIXED_WIDTH) -> str:
    parts = [render_run_text(run, width) for run in runs.runs]
    counts = _counts(runs)
    labels = {"errors": "could not run", "not_run": "not run"}
    summary = ", ".join(
        f"{n} {labels.get(label, label)}"
        for label, n in counts.items()
        if n and label != "scenarios"
    )
    total = counts["scenarios"]
    lines = [f"{total} scenario{'s' if total != 1 else ''}: {summary}."]
    if runs.not_run:
        names = ", ".join(scenario.name for scenario in runs.not_run)
        lines.append(f"Not run after the interruption: {names}.")
    return "\n".join(parts) + "\n" + "\n".join(lines) + "\n"


def _counts(runs: ScenarioRuns) -> dict[str, int]:
    statuses = [run.status for run in runs.runs]
    return {
        "scenarios": len(statuses) + len(runs.not_run),
        "passed": statuses.count("passed"),
        "failed": statuses.count("failed"),
        "errors": statuses.count("error"),
        "interrupted": statuses.count("interrupted"),
        "not_run": len(runs.not_run),
    }


def failure_text(run: ScenarioRun) -> str:
    """Why a scenario did not pass, with the diagnosis: for JUnit and pytest."""
    lines: list[str] = []
    for failure in run.failures:
        lines.append(f"{failure.location}: {failure.step}: {'; '.join(failure.problems)}")
        diagnosis = failure.check.diagnosis
        if diagnosis is not None and diagnosis.category != "none":
            lines.extend(_wrap("What:", diagnosis.title))
            lines.extend(_wrap("Why:", diagnosis.explanation))
            lines.extend(_wrap("Fix:", diagnosis.fix))
    if run.status == "error":
        lines.append(f"{run.scenario.path}: could not run: {run.error}")
    if run.status == "interrupted":
        lines.append(f"{run.scenario.path}: interrupted; the scenario stopped and cleaned up.")
    return "\n".join(lines)


def run_json(run: ScenarioRun) -> dict[str, Any]:
    report = report_json(run.report)
    scenario = run.scenario
    return {
        "name": scenario.name,
        "file": str(scenario.path),
        "description": scenario.description or None,
        "status": run.status,
        "ok": run.ok,
        "profile": report["profile"],
        "insecure": report["insecure"],
        "interrupted": report["interrupted"],
        "duration_ms": run.duration_ms,
        "steps_run": run.steps_run,
        "steps_not_run": run.steps_not_run,
        "error": run.error,
        "failures": [
            {
                "step": str(failure.location),
                "step_name": failure.step,
                "problems": list(failure.problems),
                "diagnosis": (
                    failure.check.diagnosis.as_json() if failure.check.diagnosis else None
                ),
            }
            for failure in run.failures
        ],
        "checks": report["checks"],
    }


def runs_json(runs: ScenarioRuns) -> dict[str, Any]:
    counts = _counts(runs)
    return {
        "ok": runs.ok,
        "siptest": __version__,
        "interrupted": runs.interrupted_status is not None,
        "summary": counts,
        "scenarios": [run_json(run) for run in runs.runs],
        "not_run": [
            {"name": scenario.name, "file": str(scenario.path)} for scenario in runs.not_run
        ],
    }


def render_runs_json(runs: ScenarioRuns) -> str:
    return json.dumps(runs_json(runs), indent=2, ensure_ascii=False)


def render_unreadable_json(broken: list[tuple[Path, tuple[str, ...]]], good: list[Path]) -> str:
    """`run --json` when scenario files are broken (exit 2, nothing was run): the run
    layout, each broken file a scenario with status `error` and its every problem in
    `file_errors`, the readable ones in `not_run`, and the `error` every command gives."""
    from siptest.errors import ExitStatus
    from siptest.scenario.model import scenario_stem

    problems = [problem for _, found in broken for problem in found]
    scenarios = [
        {
            "name": scenario_stem(path),
            "file": str(path),
            "description": None,
            "status": "error",
            "ok": False,
            "profile": None,
            "insecure": False,
            "interrupted": False,
            "duration_ms": 0.0,
            "steps_run": 0,
            "steps_not_run": 0,
            "error": "\n".join(found),
            "file_errors": list(found),
            "failures": [],
            "checks": [],
        }
        for path, found in broken
    ]
    body = {
        "ok": False,
        "siptest": __version__,
        "interrupted": False,
        "summary": {
            "scenarios": len(broken) + len(good),
            "passed": 0,
            "failed": 0,
            "errors": len(broken),
            "interrupted": 0,
            "not_run": len(good),
        },
        "scenarios": scenarios,
        "not_run": [{"name": scenario_stem(path), "file": str(path)} for path in good],
        "error": {"exit_status": int(ExitStatus.USAGE), "message": "\n".join(problems)},
    }
    return json.dumps(body, indent=2, ensure_ascii=False)
