"""JUnit XML for CI: one testcase per scenario; a failure carries the diagnosis.

The layout is the one Jenkins, GitLab and GitHub test reporters read:

    <testsuites name="siptest" tests= failures= errors= skipped= time=>
      <testsuite name="siptest run" ...>
        <testcase classname="scenarios.ci-smoke" name="CI smoke" file= time=>
          <failure type="expectation" message="FILE:LINE: step: what did not hold">
            the unmet expectations with What / Why / Fix
          </failure>                    (or <error> when it could not run or was
          <system-out>the text report of the scenario</system-out>   interrupted)
        </testcase>
        <testcase ...><skipped message="not run: the run was interrupted"/></testcase>
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

from siptest.report.scenario import failure_text, render_run_text
from siptest.scenario.model import Scenario, scenario_stem
from siptest.scenario.results import ScenarioRun, ScenarioRuns

# XML 1.0 allows tab, LF, CR and these ranges; a server's reason phrase may hold anything.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """Text as XML 1.0 can hold it: other characters become U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


_clean = xml_safe


def _classname(scenario: Scenario) -> str:
    """scenarios/ci-smoke.sip.yaml -> scenarios.ci-smoke (how JUnit viewers group tests)."""
    folder = scenario.path.parent.as_posix().strip("./")
    stem = scenario_stem(scenario.path)
    return f"{folder.replace('/', '.')}.{stem}" if folder else stem


def _testcase(suite: ET.Element, scenario: Scenario, seconds: float) -> ET.Element:
    return ET.SubElement(
        suite,
        "testcase",
        {
            "classname": _clean(_classname(scenario)),
            "name": _clean(scenario.name),
            "file": _clean(str(scenario.path)),
            "time": f"{seconds:.3f}",
        },
    )


def _add_run(suite: ET.Element, run: ScenarioRun) -> None:
    case = _testcase(suite, run.scenario, run.duration_ms / 1000)
    text = _clean(failure_text(run))
    first = text.splitlines()[0] if text else ""
    if run.status == "failed":
        element = ET.SubElement(case, "failure", {"type": "expectation", "message": first})
        element.text = text
    elif run.status == "error":
        element = ET.SubElement(case, "error", {"type": "could-not-run", "message": first})
        element.text = text
    elif run.status == "interrupted":
        element = ET.SubElement(case, "error", {"type": "interrupted", "message": first})
        element.text = text
    out = ET.SubElement(case, "system-out")
    out.text = _clean(render_run_text(run))


def junit_xml(runs: ScenarioRuns, timestamp: datetime | None = None) -> str:
    statuses = [run.status for run in runs.runs]
    counts = {
        "tests": str(len(statuses) + len(runs.not_run)),
        "failures": str(statuses.count("failed")),
        "errors": str(statuses.count("error") + statuses.count("interrupted")),
        "skipped": str(len(runs.not_run)),
        "time": f"{sum(run.duration_ms for run in runs.runs) / 1000:.3f}",
    }
    root = ET.Element("testsuites", {"name": "siptest", **counts})
    when = (timestamp or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    suite = ET.SubElement(root, "testsuite", {"name": "siptest run", **counts, "timestamp": when})
    for run in runs.runs:
        _add_run(suite, run)
    for scenario in runs.not_run:
        case = _testcase(suite, scenario, 0.0)
        ET.SubElement(case, "skipped", {"message": "not run: the run was interrupted"})
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(path: Path, runs: ScenarioRuns) -> None:
    path.write_text(junit_xml(runs), encoding="utf-8")
