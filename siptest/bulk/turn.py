"""Pacing at the wire: a bulk check's REGISTER leaves when the pacer says so.

`siptest bulk` paces registrations toward each registrar (pacing.py). A child
`siptest register` takes 0.1 s or more to start, and longer on a busy machine, so a
pacer that let children *start* on time still let their REGISTERs reach the server
in bursts above the rate. Instead each child starts at once and, with its SIP stack
up and nothing sent, says READY on a socket it shares with its parent and waits; the
parent takes the child's turn from the pacer only then, and answers GO. What the
registrar sees is the pacer's spacing, whatever the start-up took.

The child learns the socket from SIPTEST_BULK_TURN_FD (set by `siptest bulk` only).
"""

from __future__ import annotations

import os
import select
import socket
import stat
from collections.abc import Callable

TURN_ENV = "SIPTEST_BULK_TURN_FD"
READY = b"r"
GO = b"g"
TURN_WAIT_S = 900.0
"""The longest a child waits for its GO once READY: more than the pacer can make it
wait (at most 32 workers at 0.1 registrations a second); the parent closing its end
(it stopped, or died) ends the wait at once."""
START_S = 60.0
"""The longest the parent waits for a child's READY (its start-up)."""


def take_turn() -> bool:
    """In a child of `siptest bulk`: READY, then wait for GO. True: go on (also in any
    `siptest register` not started by bulk). False: no GO came (the run stopped, the
    parent is gone, the variable is not bulk's): send nothing. Once per process: a
    check that moves on to another DNS target goes on with the same turn."""
    raw = os.environ.pop(TURN_ENV, None)
    if raw is None:
        return True
    try:
        fd = int(raw)
    except ValueError:
        return False
    if not _is_turn_socket(fd):
        # Not the socket bulk passes (the variable was set by hand, or copied): never
        # write to, wait on or close what may be the command's own output or input.
        return False
    try:
        os.write(fd, READY)
        readable, _, _ = select.select([fd], [], [], TURN_WAIT_S)
        return bool(readable) and os.read(fd, 1) == GO
    except OSError:
        return False
    finally:
        try:
            os.close(fd)
        except OSError:
            pass


def _is_turn_socket(fd: int) -> bool:
    """`fd` is a connected Unix stream socket, as `Turn` hands its child one."""
    try:
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):
            return False
        with socket.socket(fileno=os.dup(fd)) as sock:
            return sock.family == socket.AF_UNIX and sock.type == socket.SOCK_STREAM
    except OSError:
        return False


class Turn:
    """The parent's end of one child's turn."""

    def __init__(self) -> None:
        self._ours, self._theirs = socket.socketpair()
        self.asked = False
        """The child said READY."""
        self.given = False
        """GO was sent: the child may have sent its REGISTER."""
        self.never_ready = False
        """The child ran START_S without saying READY (it was stopped)."""

    def child_env(self, environ: dict[str, str]) -> tuple[dict[str, str], tuple[int, ...]]:
        """The child's environment and the descriptor it inherits."""
        fd = self._theirs.fileno()
        return {**environ, TURN_ENV: str(fd)}, (fd,)

    def give(self, wait_turn: Callable[[], bool]) -> bool:
        """Once the child runs: wait for its READY, then for `wait_turn()` (the pacer),
        then GO. True: let the child finish (it went, or it ended before asking).
        False: stop it; it sent nothing (the run stopped, or it never got ready)."""
        self._theirs.close()  # the child holds it now
        self._ours.settimeout(START_S)
        try:
            asked = self._ours.recv(1)
        except TimeoutError:
            self.never_ready = True
            return False
        except OSError:
            return True  # it is gone: its result says why
        if asked != READY:
            return True  # it ended first (a usage error, say): nothing to pace
        self.asked = True
        if not wait_turn():
            return False
        try:
            self._ours.sendall(GO)
        except OSError:
            return True  # it is gone: its result says why
        self.given = True
        return True

    def close(self) -> None:
        self._ours.close()
        self._theirs.close()
