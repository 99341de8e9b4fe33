"""Waiting on a condition with a deadline: every test wait, in one place.

    value = eventually(lambda: lab.bindings("1001") == [], "the binding to go", 15)

`condition` is polled until it returns something true, which is returned; when the
deadline passes first the test fails, naming what it waited for and the last value.
`alive`, when given, is checked on every poll: a process that died fails at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_S = 0.05


def eventually(
    condition: Callable[[], T],
    what: str,
    seconds: float,
    *,
    alive: Callable[[], object] | None = None,
) -> T:
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if alive is not None:
            problem = alive()
            assert not problem, f"{problem} (while waiting for {what})"
        assert time.monotonic() < deadline, f"no {what} within {seconds:g} s (last: {value!r})"
        time.sleep(POLL_S)
