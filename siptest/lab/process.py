"""The lab's child processes: each runs in its own session and is stopped as a group.

Kamailio forks about eight workers. Signalling only its main PID leaves workers that
keep the ports bound, so everything here works on the process group, whose id is the
main PID (``start_new_session=True``). A process is identified by its PID *and* its
start time, so a recorded PID that the system has since reused for another program is
never signalled.

Zombies count as gone: a worker orphaned by a killed main process may wait a while for
init to reap it, but it holds no port and runs no code.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")
_POLL_SECONDS = 0.02


@dataclass(frozen=True)
class ProcessIdentity:
    """Enough to find a process again later, even from another siptest process."""

    name: str
    """Program name, e.g. ``kamailio`` or ``sipp``."""
    pid: int
    """Process id; also its process group id (it leads its own session)."""
    start_ticks: int | None
    """Start time in clock ticks after boot (``/proc/PID/stat`` field 22); None off Linux."""


def identify(name: str, pid: int) -> ProcessIdentity:
    """The identity of the running process ``pid``."""
    return ProcessIdentity(name=name, pid=pid, start_ticks=_stat(pid)[1] if _has_proc() else None)


def is_alive(process: ProcessIdentity) -> bool:
    """True while the very process that was identified is running (not a zombie)."""
    if not _has_proc():
        return _signal_reaches(process.pid)
    state, start_ticks = _stat(process.pid)
    return state not in (None, "Z", "X") and start_ticks == process.start_ticks


def group_members(pgid: int) -> list[int]:
    """The live (non-zombie) processes of process group ``pgid``."""
    if not _has_proc():
        return [pgid] if _group_reaches(pgid) else []
    members = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        # fields after the command name: [0] state, [1] ppid, [2] pgrp
        if fields is not None and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def group_runs(process: ProcessIdentity) -> bool:
    """True while the process, or a member of its group running the same program, lives.

    A main process killed hard leaves orphaned workers in its group; they still hold
    ports and must be stopped too. The program name guards against a PID reused since.
    """
    if is_alive(process):
        return True
    return any(_program(pid) == process.name for pid in group_members(process.pid))


def stop_group(pgid: int, *, timeout: float = 5.0) -> bool:
    """Stop every process of group ``pgid``: SIGTERM, then SIGKILL; True once none is left.

    Bounded by ``timeout`` seconds. Children of this process are reaped on the way, so
    none is left as a zombie.
    """
    deadline = time.monotonic() + timeout
    # half of the time for a clean shutdown, the rest for SIGKILL to take effect
    term_deadline = time.monotonic() + timeout / 2
    _signal_group(pgid, signal.SIGTERM)
    while _reap_and_check(pgid) and time.monotonic() < term_deadline:
        time.sleep(_POLL_SECONDS)
    if _reap_and_check(pgid):
        _signal_group(pgid, signal.SIGKILL)
    while (running := _reap_and_check(pgid)) and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
    return not running


def _reap_and_check(pgid: int) -> bool:
    """Reap finished children of ours in the group; True while any member still runs."""
    while True:
        try:
            pid, _ = os.waitpid(-pgid, os.WNOHANG)
        except ChildProcessError:
            break  # none of the group's processes is our child (any more)
        if pid == 0:
            break
    return bool(group_members(pgid))


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


def _signal_reaches(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _group_reaches(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _program(pid: int) -> str | None:
    try:
        return (_PROC / str(pid) / "comm").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _has_proc() -> bool:
    return (_PROC / "self" / "stat").exists()


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name, or None if there is no such PID."""
    try:
        text = (_PROC / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # the command name is in parentheses and may itself contain spaces or ')'
    return text[text.rfind(")") + 2 :].split()


def _stat(pid: int) -> tuple[str | None, int | None]:
    """(state, start time in ticks) of ``pid``; (None, None) if there is no such PID."""
    fields = _stat_fields(pid)
    if fields is None:
        return None, None
    # field 3 (state) is fields[0]; field 22 (starttime) is fields[19]
    return fields[0], int(fields[19])
