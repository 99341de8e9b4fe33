"""Ctrl-C and SIGTERM: stop waiting, clean up, exit 130/143; a second signal exits at once."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from siptest.errors import ExitStatus

_STATUS = {signal.SIGINT: ExitStatus.INTERRUPTED, signal.SIGTERM: ExitStatus.TERMINATED}


@dataclass
class Interruption:
    """Which signal arrived, if any."""

    signum: int | None = None

    @property
    def happened(self) -> bool:
        return self.signum is not None

    @property
    def exit_status(self) -> ExitStatus:
        if self.signum is None:
            return ExitStatus.OK
        return _STATUS.get(signal.Signals(self.signum), ExitStatus.INTERRUPTED)


def _is_terminal(stream: object) -> bool:
    try:
        return bool(getattr(stream, "isatty", lambda: False)())
    except ValueError:  # closed
        return False


@contextmanager
def catching_signals(on_signal: Callable[[], None]) -> Iterator[Interruption]:
    """Turn the first SIGINT/SIGTERM into a request to stop; the second ends the process."""
    state = Interruption()

    def handler(signum: int, frame: FrameType | None) -> None:
        if state.signum is not None:
            # Second signal: the user wants out now, clean-up or not.
            os._exit(int(_STATUS.get(signal.Signals(signum), ExitStatus.INTERRUPTED)))
        state.signum = signum
        on_signal()
        # On a terminal, start from a clean line: live progress may be showing.
        erase = "\r\x1b[K" if _is_terminal(sys.stderr) else ""
        print(
            f"{erase}Stopping: cleaning up (press Ctrl-C again to quit at once)...",
            file=sys.stderr,
            flush=True,
        )

    previous = {sig: signal.signal(sig, handler) for sig in _STATUS}
    try:
        yield state
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
