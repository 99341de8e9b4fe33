"""Live progress on a terminal: one status line on stderr, rewritten in place.

`LiveProgress` is the agent's watcher (`siptest.ua.events.Watcher`): it folds the
new events into a `siptest.report.progress.Status` and rewrites the line when its
text changes (a running count changes it once a second). `clear` erases the line
before the report is printed. Only for a terminal: `live_progress_wanted` says
when (stderr is a TTY, not TERM=dumb, and no --json or --nagios).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from siptest.report.progress import Status
    from siptest.ua.events import Event

# siptest.report.progress is imported by LiveProgress, only when a person watches:
# with --json or --nagios (bulk and exporter children) start-up does not pay for it.

_ERASE = "\r\x1b[K"
"""Back to the start of the line and erase it (ANSI EL)."""


def live_progress_wanted(stream: TextIO, machine_output: bool) -> bool:
    """Progress only for a person at a terminal: never piped, never with --json or
    --nagios, never on a terminal that cannot erase a line (TERM=dumb)."""
    if machine_output or os.environ.get("TERM", "") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream
        return False


class LiveProgress:
    """The status line on `stream`; call it with events, `step` for a scenario step."""

    def __init__(self, stream: TextIO, width: int | None = None) -> None:
        self.stream = stream
        from siptest.report.progress import Status

        self.width = width or shutil.get_terminal_size().columns
        self.status: Status = Status()
        self._shown = ""
        self._now = 0.0

    def __call__(self, events: Sequence[Event], now: float) -> None:
        from siptest.report.progress import advance, status_line

        for event in events:
            self.status = advance(self.status, event)
        self._now = now
        self._show(status_line(self.status, now, self.width))

    def step(self, label: str) -> None:
        """A scenario step begins (`siptest run`): show it at once."""
        from siptest.report.progress import status_line, with_step

        self.status = with_step(self.status, label)
        self._show(status_line(self.status, self._now, self.width))

    def clear(self) -> None:
        """Erase the line (before the report, or before a message on stderr)."""
        if self._shown:
            self._write(_ERASE)
            self._shown = ""

    def _show(self, line: str) -> None:
        if line != self._shown:
            self._write(_ERASE + line)
            self._shown = line

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: the test goes on
            pass


@contextmanager
def live_progress(
    machine_output: bool, stream: TextIO | None = None
) -> Iterator[LiveProgress | None]:
    """A status line on stderr while the block runs, when a person watches (else None);
    erased when the block ends, whatever way it ends."""
    out = sys.stderr if stream is None else stream
    if not live_progress_wanted(out, machine_output):
        yield None
        return
    progress = LiveProgress(out)
    try:
        yield progress
    finally:
        progress.clear()
