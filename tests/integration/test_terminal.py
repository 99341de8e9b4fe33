"""What a person sees on a terminal: colour on a TTY, none when piped or with NO_COLOR,
forced with FORCE_COLOR. The TTY is a real pseudo-terminal (pexpect)."""

from __future__ import annotations

import os
import sys

import pexpect
import pytest

RED_FAIL = "\x1b[1;31m[FAIL]\x1b[0m"


def in_a_terminal(env: dict[str, str]) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    environment.update({"SIPTEST_PASSWORD": "x", "TERM": "xterm", **env})
    child = pexpect.spawn(
        sys.executable,
        ["-m", "siptest", "register", "1001@127.0.0.1:9", "--timeout", "0.5"],
        env=environment, encoding="utf-8", timeout=30,
    )  # fmt: skip
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1, child.before
    return str(child.before)


def test_the_verdict_is_in_colour_on_a_terminal():
    assert RED_FAIL in in_a_terminal({})


@pytest.mark.parametrize("value", ["1", "true"])
def test_no_color_switches_colour_off_on_a_terminal(value):
    output = in_a_terminal({"NO_COLOR": value})
    assert "\x1b[" not in output and "[FAIL]" in output


def test_piped_output_has_no_colour_unless_forced(siptest):
    plain = siptest("register", "1001@127.0.0.1:9", "--timeout", "0.5", password="x")
    assert "\x1b[" not in plain.stdout and "[FAIL]" in plain.stdout
    forced = siptest(
        "register", "1001@127.0.0.1:9", "--timeout", "0.5", password="x",
        env={"FORCE_COLOR": "1"},
    )  # fmt: skip
    assert RED_FAIL in forced.stdout


def test_json_is_never_coloured_even_when_forced(siptest):
    result = siptest(
        "register", "1001@127.0.0.1:9", "--timeout", "0.5", "--json", password="x",
        env={"FORCE_COLOR": "1"},
    )  # fmt: skip
    assert "\x1b[" not in result.stdout
    assert result.json["ok"] is False
