"""What `siptest lab up` leaves behind: a JSON record of the running lab.

The lab started by `siptest lab up` outlives the command, so its processes, ports and
paths are written to ``lab.json`` in the state directory; `siptest lab status` and
`siptest lab down` read them back from there (possibly from another shell).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from siptest.errors import CannotRunError
from siptest.lab.process import ProcessIdentity

STATE_DIR_ENV = "SIPTEST_LAB_DIR"
STATE_FILE_NAME = "lab.json"
_FORMAT = 1


def default_state_dir() -> Path:
    """``$SIPTEST_LAB_DIR``, else ``$XDG_CACHE_HOME/siptest/lab`` (``~/.cache/siptest/lab``)."""
    if configured := os.environ.get(STATE_DIR_ENV):
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "siptest" / "lab"


@dataclass(frozen=True)
class LabProcess:
    """A process of a detached lab, as recorded by `siptest lab up`."""

    name: str
    """Program name: ``kamailio`` or ``sipp``."""
    pid: int
    """Process id, also its process group id."""
    start_ticks: int | None
    """Start time in clock ticks after boot: tells the process from a later one with its PID."""
    log_file: Path
    """Where its stdout and stderr go."""

    def identity(self) -> ProcessIdentity:
        return ProcessIdentity(name=self.name, pid=self.pid, start_ticks=self.start_ticks)


@dataclass(frozen=True)
class LabRecord:
    """Everything `siptest lab up` knows about the lab it started."""

    host: str
    sip_port: int
    """SIP over UDP and TCP."""
    tls_port: int
    """SIP over TLS."""
    uas_port: int
    """The SIPp UAS behind the number 7000 (UDP)."""
    ring_ms: int
    """How long 7001 rings before the lab gives up with 408."""
    with_uas: bool
    workdir: Path
    ca_file: Path
    """The lab CA certificate a client trusts for the TLS port."""
    log_file: Path
    """Kamailio's log."""
    processes: tuple[LabProcess, ...]
    started_at: str
    """ISO 8601 time the lab became ready."""
    host6: str | None = None
    """The IPv6 address Kamailio also listens on (same SIP and TLS ports), or None."""


@dataclass(frozen=True)
class LabStatus:
    """The state of a detached lab, as seen now."""

    state_dir: Path
    record: LabRecord | None
    """What `up` recorded; None when no lab is recorded in ``state_dir``."""
    alive: tuple[str, ...]
    """Names of the recorded processes that still run."""
    ready: bool
    """Kamailio answered an OPTIONS probe with 200."""
    already_running: bool = False
    """Set by `up` when it found the lab running and started nothing."""

    @property
    def running(self) -> bool:
        """True when every recorded process still runs."""
        return self.record is not None and len(self.alive) == len(self.record.processes)


def state_file(state_dir: Path) -> Path:
    return state_dir / STATE_FILE_NAME


def write_record(state_dir: Path, record: LabRecord) -> None:
    """Write ``record`` atomically, so a reader never sees half a file."""
    data = asdict(record)
    data["format"] = _FORMAT
    target = state_file(state_dir)
    partial = target.with_suffix(".json.partial")
    try:
        partial.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
        partial.replace(target)
    except OSError as error:
        raise CannotRunError(
            f"Cannot write the lab state file {target}: {error.strerror}. "
            "Choose a state directory you can write to."
        ) from None


def read_record(state_dir: Path) -> LabRecord | None:
    """The recorded lab, or None if none is recorded in ``state_dir``."""
    path = state_file(state_dir)
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return _record_from_json(data)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise CannotRunError(
            f"Cannot read the lab state file {path}: {error.strerror}. "
            "Choose a state directory you can write to."
        ) from None
    except (ValueError, KeyError, TypeError) as error:
        raise CannotRunError(
            f"The lab state file {path} is damaged ({error}). Stop any leftover kamailio "
            "and sipp processes, then delete the file."
        ) from None


def remove_record(state_dir: Path) -> None:
    state_file(state_dir).unlink(missing_ok=True)


def _record_from_json(data: dict[str, Any]) -> LabRecord:
    if data.get("format") != _FORMAT:
        raise ValueError(f"unknown format {data.get('format')!r}")
    processes = tuple(
        LabProcess(
            name=str(item["name"]),
            pid=int(item["pid"]),
            start_ticks=None if item["start_ticks"] is None else int(item["start_ticks"]),
            log_file=Path(item["log_file"]),
        )
        for item in data["processes"]
    )
    return LabRecord(
        host=str(data["host"]),
        sip_port=int(data["sip_port"]),
        tls_port=int(data["tls_port"]),
        uas_port=int(data["uas_port"]),
        ring_ms=int(data["ring_ms"]),
        with_uas=bool(data["with_uas"]),
        workdir=Path(data["workdir"]),
        ca_file=Path(data["ca_file"]),
        log_file=Path(data["log_file"]),
        processes=processes,
        started_at=str(data["started_at"]),
        # absent from records written before the lab listened on IPv6
        host6=None if data.get("host6") is None else str(data["host6"]),
    )
