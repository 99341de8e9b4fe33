"""One probe: `siptest register|call ... --json` in a child process, bounded in time.

A child process per probe: the SIP stack allows 8 accounts and 4 calls per process
and holds global state, so probes running side by side each get their own. The
password never passes through the exporter: the child reads it from the
environment variable or file the module names, as `siptest` always does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from siptest.exporter.modules import Module


@dataclass(frozen=True)
class ProbeResult:
    duration_s: float
    exit_status: int | None
    """siptest's exit status (None when it was stopped at the deadline)."""
    report: dict[str, Any] | None
    """The child's JSON report (with `error` when it could not run)."""
    timed_out: bool = False

    @property
    def success(self) -> bool:
        return (
            not self.timed_out
            and self.exit_status == 0
            and self.report is not None
            and self.report.get("ok") is True
        )

    @property
    def error(self) -> str | None:
        """Why the probe failed without a diagnosis (timeout, could not run)."""
        if self.timed_out:
            return "stopped at the scrape deadline"
        if self.report is None:
            return f"siptest printed no JSON report (exit status {self.exit_status})"
        error = self.report.get("error")
        return str(error.get("message")) if isinstance(error, dict) else None


class Children:
    """The probes' processes in flight, so a stopping exporter can stop them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()

    def add(self, child: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._running.add(child)

    def discard(self, child: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._running.discard(child)

    def terminate_all(self) -> None:
        """SIGTERM: each child cancels its call and un-registers before it exits."""
        with self._lock:
            running = list(self._running)
        for child in running:
            _signal_group(child, signal.SIGTERM)


def _signal_group(child: subprocess.Popen[bytes], signum: int) -> None:
    # The child leads its own process group (start_new_session): only it is signalled.
    try:
        os.killpg(child.pid, signum)
    except ProcessLookupError:
        pass


def command(module: Module, target: str) -> list[str]:
    """The child's command line: options first, then `--` and the positional values,
    so nothing in a target can be read as an option."""
    positional = [target] + ([module.number] if module.number is not None else [])
    return [sys.executable, "-m", "siptest", *module.arguments(), "--", *positional]


CLEAN_UP_S = 10.0
"""How long a probe stopped at the scrape deadline may go on cleaning up (hang up,
un-REGISTER) after the scrape got its answer, before it is killed: killing it sooner
can leave a binding on the server until it expires."""


def run_probe(
    module: Module,
    target: str,
    budget: float,
    grace: float,
    children: Children,
    on_exit: Callable[[], None] | None = None,
) -> ProbeResult:
    """Run the module's check of `target` (see `run_command`)."""
    return run_command(
        command(module, target), budget, grace, children, linger=CLEAN_UP_S, on_exit=on_exit
    )


def run_command(
    argv: list[str],
    budget: float,
    grace: float,
    children: Children,
    env: dict[str, str] | None = None,
    linger: float = 0.0,
    on_exit: Callable[[], None] | None = None,
    pass_fds: tuple[int, ...] = (),
    after_start: Callable[[], bool] | None = None,
) -> ProbeResult:
    """Run `siptest ... --json` as a child; at `budget` seconds SIGTERM (the child
    cancels and un-registers). Its report is awaited `grace` seconds; a child still
    cleaning up then is left `linger` seconds more in the background (the caller has
    its answer) before SIGKILL. `on_exit` is called once, when the child has exited
    (from the background then) or could not start: what the child holds, such as the
    exporter's concurrency slot, is held until then. `siptest bulk` runs its accounts
    through here too: `after_start` runs once the child does (bulk's turn, turn.py);
    False stops the child at once. The budget counts from then."""
    exited = _Once(on_exit)
    try:
        child = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            pass_fds=pass_fds,
        )
    except BaseException:
        exited()
        raise
    children.add(child)
    timed_out = False
    try:
        if after_start is not None and not after_start():
            _signal_group(child, signal.SIGTERM)
        started = time.monotonic()
        try:
            out, _ = child.communicate(timeout=max(budget, 0.0))
        except subprocess.TimeoutExpired:
            timed_out = True
            _signal_group(child, signal.SIGTERM)
            try:
                out, _ = child.communicate(timeout=grace)
            except subprocess.TimeoutExpired:
                if linger > 0:
                    _reap_later(child, linger, children, exited)
                    return ProbeResult(time.monotonic() - started, None, None, timed_out=True)
                _signal_group(child, signal.SIGKILL)
                out, _ = child.communicate()
        children.discard(child)
        exited()
    except BaseException:
        children.discard(child)
        exited()
        raise
    report = _report(out)
    return ProbeResult(
        duration_s=time.monotonic() - started,
        exit_status=None if timed_out else child.returncode,
        report=report,
        timed_out=timed_out,
    )


class _Once:
    """A callback that runs at most once, from whichever thread gets there first."""

    def __init__(self, callback: Callable[[], None] | None) -> None:
        self._callback = callback
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            callback, self._callback = self._callback, None
        if callback is not None:
            callback()


def _reap_later(
    child: subprocess.Popen[bytes], linger: float, children: Children, exited: _Once
) -> None:
    """Let a stopped child finish its clean-up in the background, then kill it; only
    then is it gone (`exited`)."""

    def reap() -> None:
        try:
            child.communicate(timeout=linger)
        except subprocess.TimeoutExpired:
            _signal_group(child, signal.SIGKILL)
            child.communicate()
        finally:
            children.discard(child)
            exited()

    threading.Thread(target=reap, name="siptest-probe-reaper", daemon=True).start()


def _report(out: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(out.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None
