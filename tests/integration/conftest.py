"""Running the real `siptest` command against the lab, as a user would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class Result:
    status: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)

    def check(self, kind: str = "register") -> dict[str, Any]:
        return next(c for c in self.json["checks"] if c["kind"] == kind)


def run_siptest(
    *args: str,
    password: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 30,
    isolated: bool = False,
) -> Result:
    """Run `python -m siptest ARGS`; `isolated` runs it in an empty network namespace."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SIPTEST_")}
    if password is not None:
        environment["SIPTEST_PASSWORD"] = password
    environment.update(env or {})
    prefix = ["unshare", "--net"] if isolated else []
    done = subprocess.run(
        [*prefix, sys.executable, "-m", "siptest", *args],
        capture_output=True,
        text=True,
        env=environment,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def lab_users():
    from siptest.lab import LAB_USERS

    return LAB_USERS


@pytest.fixture
def siptest():
    return run_siptest


@dataclass
class LabLog:
    """The lab's log, read from a mark: what the server saw during one test."""

    path: Path
    start: int = 0

    def mark(self) -> None:
        self.start = self.path.stat().st_size

    def text(self) -> str:
        with self.path.open("rb") as handle:
            handle.seek(self.start)
            return handle.read().decode("utf-8", "replace")

    def requests(self, method: str, user: str | None = None) -> list[str]:
        """Request lines the lab logged as `siptest-lab rx METHOD ...`."""
        pattern = re.compile(rf"siptest-lab rx {method} .*")
        lines = pattern.findall(self.text())
        return [line for line in lines if user is None or f"from={user} " in line + " "]


@pytest.fixture
def lab_log(lab):
    log = LabLog(Path(lab.log_file))
    log.mark()
    return log
