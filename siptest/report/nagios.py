"""Nagios/Icinga plugin output (`--nagios`), by the monitoring-plugins guidelines.

    SIPTEST CRITICAL - The SIP password is wrong | register=0.003s;;;0
    Registration sip:1003@127.0.0.1:5070 over UDP: 401 This password is not valid ...
    Why: ...
    Fix: ...

Exit status 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. CRITICAL is a failed check
(`summary.severity`: whatever its diagnosis' severity); WARNING a pass that needs a
look (a threshold, a failed clean-up, a NAT finding of severity warning, marginal
quality); UNKNOWN means siptest could not run, or could not judge at a limit of its own
stack; an outcome the user expected is OK. Built from the JSON report's data
(`report.summary`), never from the text report.

Thresholds use the guidelines' range syntax (`10`, `10:`, `~:10`, `10:20`, `@10:20`):
a value *outside* the range (inside it, with `@`) raises the alert.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from siptest.report.summary import CheckJson, Measures, Verdict, measures, severity, verdict


class State(IntEnum):
    """Plugin exit statuses."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3


# How bad a state is, for combining: UNKNOWN (could not tell) sits below CRITICAL.
_RANK = {State.OK: 0, State.WARNING: 1, State.UNKNOWN: 2, State.CRITICAL: 3}


def worst(*states: State) -> State:
    return max(states, key=_RANK.__getitem__)


class RangeError(ValueError):
    """A threshold that is not in the guidelines' range syntax."""


_NUMBER = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_RANGE = re.compile(rf"(?P<at>@)?(?:(?P<start>~|{_NUMBER})(?P<colon>:))?(?P<end>{_NUMBER})?")


@dataclass(frozen=True)
class Range:
    """A threshold range: alert when the value is outside [start, end] (or inside, `@`)."""

    start: float
    end: float
    inside: bool = False
    text: str = ""
    """As given (validated), without `+` signs: perfdata's warn/crit fields carry it,
    and its numbers are [-0-9.] only."""

    def alerts(self, value: float) -> bool:
        within = self.start <= value <= self.end
        return within if self.inside else not within


def parse_range(text: str) -> Range:
    """`10` = [0, 10]; `10:` = [10, inf); `~:10` = (-inf, 10]; `10:20`; `@10:20` inverts."""
    match = _RANGE.fullmatch(text)
    if not text or match is None or (match["end"] is None and match["colon"] is None):
        raise RangeError(
            f"'{text}' is not a threshold range. Give END (alert outside 0..END), START: "
            "(below START), ~:END (above END), START:END, or @START:END (alert inside)."
        )
    start_text, end_text = match["start"], match["end"]
    numbers = [float(t) for t in (start_text, end_text) if t not in (None, "~")]
    if not all(math.isfinite(n) for n in numbers):
        raise RangeError(f"'{text[:40]}...': that number is too large for a threshold.")
    start = -math.inf if start_text == "~" else float(start_text or 0)
    end = float(end_text) if end_text is not None else math.inf
    if start > end:
        raise RangeError(f"'{text}': the start of a range must not be greater than its end.")
    unsigned = re.sub(r"(^|[@:])\+", r"\1", text)
    return Range(start, end, inside=match["at"] is not None, text=unsigned)


@dataclass(frozen=True)
class Metric:
    """One perfdata item: label=value[UOM];[warn];[crit];[min];[max]."""

    label: str
    value: float
    uom: str = ""
    minimum: float | None = None
    maximum: float | None = None
    digits: int = 6


LABELS = ("register", "invite_to_answer", "mos", "loss_sent", "loss_received")
"""Labels `--warning`/`--critical` accept (all in base units: seconds, MOS, percent)."""


def metrics(measured: Measures) -> list[Metric]:
    """What a report measured, as perfdata (seconds, MOS 1-4.5, percent)."""
    items: list[Metric] = []
    if measured.register_s is not None:
        items.append(Metric("register", measured.register_s, "s", 0))
    if measured.invite_to_answer_s is not None:
        items.append(Metric("invite_to_answer", measured.invite_to_answer_s, "s", 0))
    if measured.mos is not None:
        items.append(Metric("mos", measured.mos, "", 1, 4.5, digits=2))
    if measured.loss_sent is not None:
        items.append(Metric("loss_sent", measured.loss_sent, "%", 0, 100, digits=2))
    if measured.loss_received is not None:
        items.append(Metric("loss_received", measured.loss_received, "%", 0, 100, digits=2))
    return items


@dataclass(frozen=True)
class Thresholds:
    warning: Mapping[str, Range]
    critical: Mapping[str, Range]


def parse_thresholds(
    warning: Sequence[str], critical: Sequence[str], labels: Sequence[str] = LABELS
) -> Thresholds:
    """`LABEL=RANGE` options (repeatable); RangeError says what is wrong."""
    return Thresholds(
        _parse_options("--warning", warning, labels), _parse_options("--critical", critical, labels)
    )


def _parse_options(option: str, values: Sequence[str], labels: Sequence[str]) -> dict[str, Range]:
    parsed: dict[str, Range] = {}
    for value in values:
        label, equals, text = value.partition("=")
        if not equals:
            raise RangeError(f"{option} {value}: give LABEL=RANGE, e.g. {option} register=0.5.")
        if label not in labels:
            raise RangeError(
                f"{option} {value}: '{label}' is not measured here. Use one of: "
                f"{', '.join(labels)}."
            )
        if label in parsed:
            raise RangeError(f"{option} {label}= is given twice; give each label once.")
        try:
            parsed[label] = parse_range(text)
        except RangeError as error:
            raise RangeError(f"{option} {label}=...: {error}") from None
    return parsed


def _number(value: float, digits: int) -> str:
    """A perfdata number: [-0-9.] only, no exponent."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def label_text(label: str) -> str:
    """A label quoted when it must be: spaces or quotes inside; `'` doubled; no `=`."""
    label = label.replace("=", "_")
    if re.fullmatch(r"[A-Za-z0-9_.\-/]+", label):
        return label
    return "'" + label.replace("'", "''") + "'"


def perfdata(items: Sequence[Metric], thresholds: Thresholds) -> str:
    parts = []
    for item in items:
        fields = [
            thresholds.warning[item.label].text if item.label in thresholds.warning else "",
            thresholds.critical[item.label].text if item.label in thresholds.critical else "",
            "" if item.minimum is None else _number(item.minimum, item.digits),
            "" if item.maximum is None else _number(item.maximum, item.digits),
        ]
        tail = ";".join(fields).rstrip(";")
        value = f"{label_text(item.label)}={_number(item.value, item.digits)}{item.uom}"
        parts.append(f"{value};{tail}" if tail else value)
    return " ".join(parts)


def clean(text: Any) -> str:
    """Text for plugin output: no `|` (it starts perfdata), no line breaks or controls
    (C0, DEL, C1 with NEL, and the Unicode LINE and PARAGRAPH SEPARATORs)."""
    flat = re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+", " ", str(text))
    return re.sub(r" {2,}", " ", flat.replace("|", "¦")).strip()


@dataclass(frozen=True)
class PluginOutput:
    state: State
    text: str
    """Every line, ending with a newline."""


def _breaches(items: Sequence[Metric], thresholds: Thresholds) -> tuple[State, list[str]]:
    """The state the thresholds call for, and a line for each one breached."""
    state, lines = State.OK, []
    measured = {item.label: item for item in items}
    for label in dict.fromkeys([*thresholds.critical, *thresholds.warning]):
        item = measured.get(label)
        if item is None:
            state = worst(state, State.UNKNOWN)
            lines.append(f"{label} was not measured: the threshold on it could not be checked.")
            continue
        for level, ranges in (
            (State.CRITICAL, thresholds.critical),
            (State.WARNING, thresholds.warning),
        ):
            limit = ranges.get(label)
            if limit is not None and limit.alerts(item.value):
                state = worst(state, level)
                lines.append(
                    f"{label} = {_number(item.value, item.digits)}{item.uom} is "
                    f"{'inside' if limit.inside else 'outside'} the {level.name.lower()} "
                    f"range {limit.text}."
                )
                break  # the worse level only
    return state, lines


def _describe(check: CheckJson) -> list[str]:
    """A check as the long output shows it: what, the answer, why, fix."""
    kind = str(check.get("kind", "check"))
    target = check.get("target")
    head = kind.capitalize() + (f" {target}" if target else "")
    if check.get("transport"):
        head += f" over {str(check['transport']).upper()}"
    response = check.get("response")
    if isinstance(response, Mapping) and response.get("code") is not None:
        origin = "sent by the server" if response.get("origin") == "remote" else "made by siptest"
        head += f": {response['code']} {response.get('reason', '')} ({origin})"
    lines = [head]
    diagnosis = check.get("diagnosis")
    if isinstance(diagnosis, Mapping):
        lines.append(f"What: {diagnosis.get('title', '')} [{diagnosis.get('id', '')}]")
        if diagnosis.get("explanation"):
            lines.append(f"Why: {diagnosis['explanation']}")
        if diagnosis.get("fix"):
            lines.append(f"Fix: {diagnosis['fix']}")
    for problem in check.get("unmet") or ():
        lines.append(f"Unmet: {problem}")
    return lines


_STATE_OF = {
    "ok": State.OK,
    "warning": State.WARNING,
    "unknown": State.UNKNOWN,
    "critical": State.CRITICAL,
}


def _output(
    state: State,
    title: str,
    items: Sequence[Metric],
    thresholds: Thresholds,
    long_lines: Sequence[str],
) -> PluginOutput:
    first = f"SIPTEST {state.name} - {clean(title)}"
    data = perfdata(items, thresholds)
    lines = [f"{first} | {data}" if data else first, *(clean(line) for line in long_lines)]
    return PluginOutput(state, "\n".join(line for line in lines if line) + "\n")


def _unwritten(
    state: State, title: str, long_lines: list[str], problem: str | None
) -> tuple[State, str, list[str]]:
    """An output file asked for (`--trace`, `--junit`...) could not be written: a
    CRITICAL stands (the service failed either way) and says so below; any other state
    becomes UNKNOWN, never an OK line with exit status 3, with the check's own after it."""
    if problem is None:
        return state, title, long_lines
    if state == State.CRITICAL:
        return state, title, [problem, *long_lines]
    return State.UNKNOWN, f"{problem} The check itself: {state.name} - {title}", long_lines


def render_report(
    report: Mapping[str, Any], thresholds: Thresholds, unwritten: str | None = None
) -> PluginOutput:
    """`siptest register|call --nagios`: from `report.json.report_json(report)`;
    `unwritten` says why a file asked for could not be written."""
    checks: list[CheckJson] = list(report.get("checks", ()))
    decided = verdict(checks)
    items = metrics(measures(checks))
    breach_state, breach_lines = _breaches(items, thresholds)
    state = worst(_STATE_OF[decided.severity], breach_state)
    title = decided.title
    if report.get("interrupted"):
        state, title = State.UNKNOWN, f"interrupted before the check ended ({title})"
    elif state != _STATE_OF[decided.severity] and breach_lines:
        title = f"{title}; {breach_lines[0]}"
    long_lines: list[str] = []
    if decided.check is not None:
        described = _describe(decided.check)
        # An OK needs no explanation or fix: what was checked and the answer.
        long_lines += described[:2] if state == State.OK else described
    long_lines += breach_lines
    long_lines += [
        f"Also: {c['diagnosis']['title']} [{c['diagnosis']['id']}]"
        for c in checks
        if c is not decided.check
        and severity(c) != "ok"
        and isinstance(c.get("diagnosis"), Mapping)
    ]
    if report.get("insecure"):
        long_lines.append("INSECURE: the TLS certificate was not verified (--tls-insecure).")
    state, title, long_lines = _unwritten(state, title, long_lines, unwritten)
    return _output(state, title, items, thresholds, long_lines)


def render_runs(
    runs: Mapping[str, Any], thresholds: Thresholds, unwritten: str | None = None
) -> PluginOutput:
    """`siptest run --nagios`: from `report.scenario.runs_json(runs)`; `unwritten` as
    for `render_report`."""
    scenarios: list[Mapping[str, Any]] = list(runs.get("scenarios", ()))
    checks: list[CheckJson] = [c for s in scenarios for c in s.get("checks", ())]
    items = metrics(measures(checks))
    breach_state, breach_lines = _breaches(items, thresholds)
    long_lines: list[str] = []
    state, title = State.OK, ""
    for scenario in scenarios:
        name, status = scenario.get("name", "scenario"), scenario.get("status")
        if status == "failed":
            failure = (scenario.get("failures") or [{}])[0]
            problem = (failure.get("problems") or ["an expectation was not met"])[0]
            diagnosis = failure.get("diagnosis") or {}
            long_lines.append(f"{name}: FAILED at {failure.get('step_name', '?')}: {problem}")
            if diagnosis:
                long_lines += [
                    f"What: {diagnosis.get('title', '')} [{diagnosis.get('id', '')}]",
                    f"Why: {diagnosis.get('explanation', '')}",
                    f"Fix: {diagnosis.get('fix', '')}",
                ]
            # A limit of siptest's own stack: it could not judge the service.
            limited = diagnosis.get("category") == "siptest"
            failed_state = State.UNKNOWN if limited else State.CRITICAL
            if _RANK[failed_state] > _RANK[state]:
                title = f"{name}: {diagnosis.get('title') if limited else problem}"
            state = worst(state, failed_state)
        elif status in ("error", "interrupted"):
            long_lines.append(f"{name}: could not run: {scenario.get('error') or status}")
            if _RANK[State.UNKNOWN] > _RANK[state]:
                title = f"{name} could not run: {scenario.get('error') or status}"
            state = worst(state, State.UNKNOWN)
        else:
            # A step whose expectation was met is OK (a busy line the scenario expects).
            warnings = [c for c in scenario.get("checks", ()) if severity(c) == "warning"]
            for check in warnings:
                long_lines.append(f"{name}: warning: {Verdict('warning', check).title}")
            if warnings and state == State.OK:
                title = f"{name}: {Verdict('warning', warnings[0]).title}"
                state = State.WARNING
            if not warnings:
                long_lines.append(f"{name}: passed")
    if runs.get("interrupted"):
        state, title = State.UNKNOWN, "interrupted before every scenario ran"
    if breach_lines:
        if state in (State.OK, State.WARNING) and _RANK[breach_state] > _RANK[state]:
            title = breach_lines[0]
        state = worst(state, breach_state)
        long_lines += breach_lines
    summary = runs.get("summary", {})
    if not title:
        title = f"{summary.get('passed', 0)} of {summary.get('scenarios', 0)} scenarios passed"
    counts = [
        Metric(name, float(summary.get(name, 0)), "", 0, digits=0)
        for name in ("passed", "failed", "errors")
    ]
    state, title, long_lines = _unwritten(state, title, long_lines, unwritten)
    return _output(state, title, [*items, *counts], thresholds, long_lines)


def render_unknown(message: str) -> PluginOutput:
    """siptest could not run (usage error, no lab, internal error): one status line."""
    return PluginOutput(State.UNKNOWN, f"SIPTEST UNKNOWN - {clean(message)}\n")
