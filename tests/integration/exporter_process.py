"""`siptest exporter` as a real process on loopback, for the exporter's tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from waiting import eventually


@dataclass
class ExporterProcess:
    process: subprocess.Popen[str]
    url: str
    log_path: Path
    log_file: IO[str]

    def log(self) -> str:
        return self.log_path.read_text()

    def get(self, path: str, headers: dict[str, str] | None = None, timeout: float = 20):
        """(status, body) of a GET; every wait is bounded by `timeout`."""
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def stop(self) -> int:
        """SIGTERM, then the exit status (bounded)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait(timeout=5)
        finally:
            self.log_file.close()


def start_exporter(
    config: Path, env: dict[str, str], log_path: Path, *args: str
) -> ExporterProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SIPTEST_")}
    environment.update(env)
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "siptest",
            "exporter",
            "--config",
            str(config),
            "--listen",
            "127.0.0.1:0",
            *args,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log,
        env=environment,
        text=True,
        start_new_session=True,
    )
    try:
        found = eventually(
            lambda: re.search(r"listening on (http://127\.0\.0\.1:\d+)/", log_path.read_text()),
            "the exporter listening",
            20,
            alive=lambda: process.poll() is not None and f"it exited: {log_path.read_text()}",
        )
    except AssertionError:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        log.close()
        raise
    return ExporterProcess(process, found.group(1), log_path, log)
