"""The text report's width: the terminal's (bounded) on a TTY, fixed when piped."""

from __future__ import annotations

import pytest

from siptest.analysis.model import Check, Diagnosis, Report
from siptest.report.text import FIXED_WIDTH, render_text, report_width


@pytest.mark.parametrize(("columns", "width"), [(100, 100), (60, 60), (40, 60), (300, 120)])
def test_on_a_terminal_the_report_takes_its_width_within_bounds(columns, width):
    assert report_width(True, columns) == width


@pytest.mark.parametrize("columns", [40, 100, 300])
def test_piped_the_width_is_fixed_whatever_the_columns(columns):
    assert report_width(False, columns) == FIXED_WIDTH == 88


def test_the_default_render_is_the_fixed_width_one():
    check = Check(
        kind="register",
        ok=False,
        target="sip:1001@127.0.0.1:5070",
        diagnosis=Diagnosis(
            id="x.y",
            category="network",
            severity="error",
            title="No answer",
            explanation="word " * 60,
            fix="Check it.",
        ),
    )
    report = Report(checks=(check,))
    assert render_text(report) == render_text(report, FIXED_WIDTH)
    assert max(len(line) for line in render_text(report, 120).splitlines()) > FIXED_WIDTH
    assert max(len(line) for line in render_text(report, 60).splitlines()) <= 60


def heading_lines(target: str, width: int) -> list[str]:
    check = Check(
        kind="register", ok=False, diagnosis=None, target=target, transport="udp",
        duration_ms=501.8,
    )  # fmt: skip
    return render_text(Report(checks=(check,)), width).splitlines()


def test_a_heading_wider_than_the_terminal_wraps_and_keeps_the_address_whole():
    lines = heading_lines("sip:41411234567@sip.provider.example.com:5060", 60)
    assert lines[:3] == [
        "[FAIL] Registration",
        "       sip:41411234567@sip.provider.example.com:5060 over",
        "       UDP in 501.8 ms",
    ]


def test_a_heading_that_fits_stays_on_one_line():
    lines = heading_lines("sip:1001@127.0.0.1:5070", 80)
    assert lines[0] == "[FAIL] Registration sip:1001@127.0.0.1:5070 over UDP in 501.8 ms"
