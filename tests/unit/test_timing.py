"""Phase durations read from recorded event streams (tests/data/events/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from siptest.ua.events import RequestSent, ResponseReceived
from siptest.ua.recording import events_from_json
from siptest.ua.timing import invite_to_answer

EVENTS = Path(__file__).parents[1] / "data" / "events"


def recorded(name: str) -> list:
    return events_from_json((EVENTS / f"{name}.jsonl").read_text())


def test_answered_call_measures_first_invite_to_its_2xx():
    events = recorded("lab-call-answered")
    first_invite = next(
        e for e in events if isinstance(e, RequestSent) and e.message.method == "INVITE"
    )
    answer = next(
        e
        for e in events
        if isinstance(e, ResponseReceived)
        and e.message.method == "INVITE"
        and e.message.code == 200
    )
    assert invite_to_answer(events) == pytest.approx(answer.at - first_invite.at)
    assert invite_to_answer(events) > 0


@pytest.mark.parametrize(
    "name", ["lab-call-busy", "lab-call-not-found", "lab-call-ring-timeout", "lab-registered"]
)
def test_a_call_that_was_not_answered_has_no_answer_time(name):
    assert invite_to_answer(recorded(name)) is None


def test_a_2xx_of_another_call_is_not_this_calls_answer():
    events = recorded("lab-call-answered")
    invite = next(e for e in events if isinstance(e, RequestSent) and e.message.method == "INVITE")
    others = [
        e
        for e in events
        if not (
            isinstance(e, ResponseReceived)
            and e.message.header("call-id") == invite.message.header("call-id")
        )
    ]
    assert invite_to_answer(others) is None


def test_a_stray_2xx_is_not_the_answer():
    from dataclasses import replace

    events = [
        replace(e, stray=True) if isinstance(e, ResponseReceived) else e
        for e in recorded("lab-call-answered")
    ]
    assert invite_to_answer(events) is None
