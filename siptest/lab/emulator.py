"""The lab: Kamailio acting as a VoIP provider, plus a SIPp UAS that answers calls.

`Lab` runs both as child processes on loopback, each in its own session so that the
whole process group can be stopped (Kamailio forks workers that would otherwise keep
the ports). Everything it writes goes into its work directory:

    workdir/
      db/subscriber      copy of the lab's users (db_text table Kamailio loads)
      run/kamailio_ctl   binrpc socket: `kamcmd -s unix:PATH ul.dump`
      tls/ca.crt ...     lab CA and server certificate (see certificates.py)
      kamailio.log       Kamailio's log (stderr)
      sipp.log           SIPp's screen at exit; sipp-errors.log: unexpected messages

In a test, use it as a context manager. `Lab.up`, `Lab.status` and `Lab.down` run a
*detached* lab for `siptest lab`: it keeps running after the command exits and is
found again through a JSON record in a state directory (see state.py).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from siptest.errors import CannotRunError, UsageError
from siptest.lab import process
from siptest.lab.certificates import ensure_certificates, tls_files
from siptest.lab.ports import can_bind, free_port, preferred_port
from siptest.lab.probe import send_options
from siptest.lab.state import (
    LabProcess,
    LabRecord,
    LabStatus,
    read_record,
    remove_record,
    write_record,
)
from siptest.lab.users import LAB_USERS, LabUser, generated_users, subscriber_table

FILES_DIR = Path(__file__).parent / "files"
KAMAILIO_CONFIG = FILES_DIR / "kamailio.cfg"
UAS_SCENARIO = FILES_DIR / "uas.xml"

DEFAULT_SIP_PORT = 5070
DEFAULT_TLS_PORT = 5071
DEFAULT_UAS_PORT = 5090
DEFAULT_HOST6 = "::1"

KAMAILIO_MISSING = "Kamailio is not installed. Run: apt-get install kamailio kamailio-tls-modules"
TLS_MODULE_MISSING = (
    "Kamailio's TLS module is not installed. Run: apt-get install kamailio-tls-modules"
)
SIPP_MISSING = (
    "SIPp is not installed. Run: apt-get install sip-tester (or start the lab without "
    "the answering UAS)"
)

# Kamailio and kamcmd live in /usr/sbin, which is not on a normal user's PATH on Debian.
_SBIN_PATH = "/usr/local/sbin:/usr/sbin:/sbin"
# sun_path of struct sockaddr_un holds 108 bytes including the terminating NUL
_MAX_UNIX_SOCKET_PATH = 107
_POLL_SECONDS = 0.02
_PROBE_SECONDS = 0.25
_KAMCMD_SECONDS = 5.0
_LOG_TAIL_LINES = 15
# keeps the Popen objects of detached labs referenced: an unreferenced Popen whose
# child still runs warns (ResourceWarning) when it is collected
_DETACHED: list[subprocess.Popen[bytes]] = []


@dataclass(frozen=True)
class _Child:
    identity: process.ProcessIdentity
    popen: subprocess.Popen[bytes]
    log_file: Path


class Lab:
    """Kamailio (the provider) and optionally a SIPp UAS, on ``host``; start() to run."""

    def __init__(
        self,
        workdir: Path,
        *,
        host: str = "127.0.0.1",
        host6: str | None = DEFAULT_HOST6,
        sip_port: int | None = None,
        tls_port: int | None = None,
        uas_port: int | None = None,
        ring_ms: int = 4000,
        with_uas: bool = True,
        auth_algorithm: str = "MD5",
        extra_users: int = 0,
    ) -> None:
        """Choose the ports now (None: any free port); nothing runs until start().

        ``extra_users`` adds that many generated active subscribers (20000, 20001, ...
        with passwords lab-20000-pass, ...; at most 5000) for bulk tests.

        ``host6`` is an IPv6 address where Kamailio also listens (UDP, TCP and TLS, on
        the same ports); None, or an address this machine does not have, for IPv4 only.
        """
        if '"' in str(workdir):
            # paths reach Kamailio as quoted string defines
            raise UsageError(f"The lab directory must not contain '\"': {workdir}")
        if ring_ms <= 0:
            raise UsageError(f"ring_ms must be a positive number of milliseconds, not {ring_ms}")
        self._workdir = Path(workdir).absolute()
        self._host = host
        self._host6 = host6 if host6 is not None and can_bind(host6) else None
        self._ring_ms = ring_ms
        self._with_uas = with_uas
        if auth_algorithm not in ("MD5", "SHA-256"):
            raise UsageError(f"auth_algorithm is MD5 or SHA-256, not {auth_algorithm!r}")
        self._auth_algorithm = auth_algorithm
        """The digest algorithm Kamailio challenges with (RFC 8760)."""
        try:
            self._generated = generated_users(extra_users)
        except ValueError as error:
            raise UsageError(str(error)) from None
        taken: set[int] = set()
        also_on = (self._host6,) if self._host6 else ()
        self._sip_port = sip_port or free_port(host, udp=True, tcp=True, also_on=also_on)
        taken.add(self._sip_port)
        self._tls_port = tls_port or free_port(
            host, udp=False, tcp=True, exclude=taken, also_on=also_on
        )
        taken.add(self._tls_port)
        self._uas_port = uas_port or free_port(host, udp=True, tcp=False, exclude=taken)
        taken.add(self._uas_port)
        # SIPp's RTP echo binds the media port and media port + 2 (video)
        self._rtp_port = free_port(host, udp=True, tcp=False, span=3, exclude=taken)
        taken.update(range(self._rtp_port, self._rtp_port + 3))
        # SIPp's control socket (default 8888 would clash between two SIPps)
        self._sipp_control_port = free_port(host, udp=True, tcp=False, exclude=taken)
        self._children: list[_Child] = []

    # -- where things are --------------------------------------------------------

    @property
    def workdir(self) -> Path:
        return self._workdir

    @property
    def host(self) -> str:
        return self._host

    @property
    def host6(self) -> str | None:
        """The IPv6 address Kamailio also listens on (same ports), or None."""
        return self._host6

    @property
    def sip_port(self) -> int:
        """SIP over UDP and TCP."""
        return self._sip_port

    @property
    def tls_port(self) -> int:
        """SIP over TLS (certificate signed by the lab CA, ``ca_file``)."""
        return self._tls_port

    @property
    def uas_port(self) -> int:
        """The SIPp UAS (UDP) that answers calls to 7000."""
        return self._uas_port

    @property
    def generated_users(self) -> tuple[LabUser, ...]:
        """The generated subscribers (``extra_users``), in order."""
        return self._generated

    @property
    def ring_ms(self) -> int:
        return self._ring_ms

    @property
    def ca_file(self) -> Path:
        """The lab CA certificate (PEM): trust it to verify the TLS port."""
        return tls_files(self._tls_dir).ca_file

    @property
    def log_file(self) -> Path:
        """Kamailio's log."""
        return self._workdir / "kamailio.log"

    @property
    def uas_log_file(self) -> Path:
        """SIPp's output (its statistics screen, written when it exits)."""
        return self._workdir / "sipp.log"

    @property
    def ctl_socket(self) -> Path:
        """Kamailio's binrpc control socket (for kamcmd)."""
        return self._workdir / "run" / "kamailio_ctl"

    @property
    def processes(self) -> tuple[process.ProcessIdentity, ...]:
        """The running processes (Kamailio, then SIPp); each leads its own process group."""
        return tuple(child.identity for child in self._children)

    @property
    def _db_dir(self) -> Path:
        return self._workdir / "db"

    @property
    def _tls_dir(self) -> Path:
        return self._workdir / "tls"

    # -- running -----------------------------------------------------------------

    def kamailio_command(self) -> list[str]:
        """The Kamailio command line (docker-compose.yml runs the same one)."""
        files = tls_files(self._tls_dir)
        return [
            _require_program("kamailio", KAMAILIO_MISSING),
            "-f", str(KAMAILIO_CONFIG),
            # -DD: stay in the foreground, still fork workers; -E: log to stderr
            "-DD", "-E",
            "-Y", str(self.ctl_socket.parent),
            "-m", "64", "-M", "8",
            "-A", f"SIP_IP={self._host}",
            "-A", f"SIP_PORT={self._sip_port}",
            *(["-A", f"SIP_IP6=[{self._host6}]"] if self._host6 else []),
            "-A", "WITH_TLS",
            "-A", f"TLS_PORT={self._tls_port}",
            "-A", f'TLS_CERT="{files.certificate}"',
            "-A", f'TLS_KEY="{files.private_key}"',
            "-A", f'DB_URL="text://{self._db_dir}"',
            "-A", f'CTL_SOCK="unix:{self.ctl_socket}"',
            "-A", f'UAS_ADDR="{self._host}:{self._uas_port}"',
            "-A", f"RING_MS={self._ring_ms}",
            *(["-A", f'AUTH_ALGORITHM="{self._auth_algorithm}"']
              if self._auth_algorithm != "MD5" else []),
        ]  # fmt: skip

    def sipp_command(self) -> list[str]:
        """The SIPp UAS command line: answers every call to 7000 and echoes its RTP."""
        return [
            _require_program("sipp", SIPP_MISSING),
            "-sf", str(UAS_SCENARIO),
            "-i", self._host, "-p", str(self._uas_port),
            "-mi", self._host, "-mp", str(self._rtp_port), "-rtp_echo",
            # -aa: answer INFO (DTMF), UPDATE, OPTIONS (our readiness probe) with 200
            "-aa",
            "-cp", str(self._sipp_control_port),
            "-trace_err", "-error_file", str(self._workdir / "sipp-errors.log"),
            "-nostdin",
        ]  # fmt: skip

    def start(self, timeout: float = 10.0) -> None:
        """Write the run files, start Kamailio (and SIPp), return once they answer.

        Raises CannotRunError, with what to do, when a program is missing, exits during
        start-up or does not answer within ``timeout`` seconds; nothing is left running.
        """
        if self._children:
            raise RuntimeError("the lab is already started")
        deadline = time.monotonic() + timeout
        kamailio = self.kamailio_command()
        sipp = self.sipp_command() if self._with_uas else None
        self._prepare_workdir()
        try:
            self._spawn("kamailio", kamailio, self.log_file)
            self._wait_until_ready("Kamailio", self._sip_port, deadline, self._kamailio_ready)
            if sipp is not None:
                self._spawn("sipp", sipp, self.uas_log_file)
                self._wait_until_ready("SIPp", self._uas_port, deadline, self._sipp_ready)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every process group of the lab (SIGTERM, then SIGKILL) and reap it."""
        deadline = time.monotonic() + timeout
        stubborn = []
        for child in reversed(self._children):
            remaining = max(deadline - time.monotonic(), 0.5)
            if not process.stop_group(child.identity.pid, timeout=remaining):
                stubborn.append(child.identity)
            # the group is gone (and our child reaped): let Popen see it too
            try:
                child.popen.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                stubborn.append(child.identity)
        self._children.clear()
        if stubborn:
            names = ", ".join(f"{item.name} (process group {item.pid})" for item in stubborn)
            raise CannotRunError(f"Could not stop {names}. Kill it by hand: kill -9 -PGID")

    def is_ready(self, timeout: float = 1.0) -> bool:
        """True if Kamailio answers an OPTIONS over UDP with 200."""
        return send_options(self._host, self._sip_port, timeout=timeout) == 200

    def bindings(self, username: str) -> list[str]:
        """The contact URIs registered for ``username`` right now (expired ones left out)."""
        kamcmd = _require_program("kamcmd", KAMAILIO_MISSING)
        if not self.ctl_socket.exists():
            raise CannotRunError("The lab is not running: start it before asking for bindings.")
        try:
            result = subprocess.run(
                # "s:" keeps kamcmd from sending a numeric user ID as an integer
                [kamcmd, "-s", f"unix:{self.ctl_socket}", "ul.lookup", "location", f"s:{username}"],
                capture_output=True,
                text=True,
                timeout=_KAMCMD_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CannotRunError(
                f"kamcmd did not answer within {_KAMCMD_SECONDS:.0f} s; see {self.log_file}"
            ) from None
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            raise CannotRunError(
                "kamcmd could not reach the lab's control socket "
                f"({detail[-1] if detail else f'exit status {result.returncode}'}). "
                f"Is the lab still running? See {self.log_file}"
            )
        return _contacts_from_lookup(result.stdout)

    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- detached labs (siptest lab up / status / down) -----------------------------

    @classmethod
    def up(
        cls,
        state_dir: Path,
        *,
        host: str = "127.0.0.1",
        host6: str | None = DEFAULT_HOST6,
        sip_port: int | None = None,
        tls_port: int | None = None,
        uas_port: int | None = None,
        ring_ms: int = 4000,
        with_uas: bool = True,
        timeout: float = 10.0,
    ) -> LabStatus:
        """Start a lab that outlives this process, recorded in ``state_dir``.

        Ports left as None are 5070 (SIP), 5071 (TLS) and 5090 (UAS) when free, else
        any free port. If the recorded lab is already running, nothing is started and
        its status says ``already_running``.
        """
        current = cls.status(state_dir)
        if current.running:
            return LabStatus(
                state_dir=current.state_dir,
                record=current.record,
                alive=current.alive,
                ready=current.ready,
                already_running=True,
            )
        if current.record is not None:
            cls.down(state_dir)  # leftovers of a lab that half died
        taken: set[int] = set()
        also_on = (host6,) if host6 is not None and can_bind(host6) else ()
        if sip_port is None:
            sip_port = preferred_port(host, DEFAULT_SIP_PORT, udp=True, tcp=True, also_on=also_on)
        taken.add(sip_port)
        if tls_port is None:
            tls_port = preferred_port(
                host, DEFAULT_TLS_PORT, udp=False, tcp=True, exclude=taken, also_on=also_on
            )
        taken.add(tls_port)
        if uas_port is None:
            uas_port = preferred_port(host, DEFAULT_UAS_PORT, udp=True, tcp=False, exclude=taken)
        lab = cls(
            state_dir,
            host=host,
            host6=host6,
            sip_port=sip_port,
            tls_port=tls_port,
            uas_port=uas_port,
            ring_ms=ring_ms,
            with_uas=with_uas,
        )
        lab.start(timeout=timeout)
        try:
            write_record(state_dir, lab._record())
        except BaseException:
            lab.stop()
            raise
        lab._detach()
        return cls.status(state_dir)

    @staticmethod
    def status(state_dir: Path) -> LabStatus:
        """What runs of the lab recorded in ``state_dir``, and whether it answers."""
        record = read_record(state_dir)
        if record is None:
            return LabStatus(state_dir=state_dir, record=None, alive=(), ready=False)
        alive = tuple(item.name for item in record.processes if process.is_alive(item.identity()))
        ready = "kamailio" in alive and send_options(record.host, record.sip_port) == 200
        return LabStatus(state_dir=state_dir, record=record, alive=alive, ready=ready)

    @staticmethod
    def down(state_dir: Path, timeout: float = 5.0) -> tuple[LabProcess, ...]:
        """Stop the lab recorded in ``state_dir``; the processes that were still running.

        The record is removed even when nothing ran any more (a stale record).
        """
        record = read_record(state_dir)
        if record is None:
            return ()
        deadline = time.monotonic() + timeout
        stopped = []
        for item in record.processes:
            if not process.group_runs(item.identity()):
                continue
            remaining = max(deadline - time.monotonic(), 0.5)
            if not process.stop_group(item.pid, timeout=remaining):
                raise CannotRunError(
                    f"Could not stop {item.name} (process group {item.pid}). "
                    f"Kill it by hand: kill -9 -{item.pid}"
                )
            stopped.append(item)
        remove_record(state_dir)
        return tuple(stopped)

    # -- internals ------------------------------------------------------------------

    def _prepare_workdir(self) -> None:
        if len(str(self.ctl_socket).encode()) > _MAX_UNIX_SOCKET_PATH:
            raise CannotRunError(
                f"The lab directory {self._workdir} is too long a path for Kamailio's control "
                "socket. Use a shorter one (e.g. set SIPTEST_LAB_DIR=/tmp/siptest-lab)."
            )
        try:
            self.ctl_socket.parent.mkdir(parents=True, exist_ok=True)
            self.ctl_socket.unlink(missing_ok=True)  # left by a lab killed hard
            self._db_dir.mkdir(exist_ok=True)
            table = subscriber_table(LAB_USERS + self._generated)
            (self._db_dir / "subscriber").write_text(table, encoding="utf-8")
        except OSError as error:
            raise CannotRunError(
                f"Cannot write the lab's files in {self._workdir}: {error.strerror}. "
                "Choose a directory you can write to."
            ) from None
        ensure_certificates(self._tls_dir)

    def _spawn(self, name: str, command: list[str], log_file: Path) -> None:
        with log_file.open("wb") as log:
            popen = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self._workdir,
                # own session and process group: stopped as a whole, and not hit by the
                # Ctrl-C meant for the siptest command that started it
                start_new_session=True,
            )
        self._children.append(_Child(process.identify(name, popen.pid), popen, log_file))

    def _wait_until_ready(
        self,
        title: str,
        port: int,
        deadline: float,
        ready: Callable[[float], bool],
    ) -> None:
        child = self._children[-1]
        while True:
            exit_status = child.popen.poll()
            if exit_status is not None:
                raise CannotRunError(_early_exit_message(title, exit_status, child.log_file, self))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CannotRunError(
                    f"{title} did not answer on {self._host}:{port} within the start-up "
                    f"timeout. See its log: {child.log_file}" + _log_tail(child.log_file)
                )
            if ready(min(remaining, _PROBE_SECONDS)):
                return
            time.sleep(min(_POLL_SECONDS, max(deadline - time.monotonic(), 0)))

    def _kamailio_ready(self, timeout: float) -> bool:
        # the control socket too: bindings() must work as soon as start() returns
        return self.ctl_socket.exists() and self.is_ready(timeout)

    def _sipp_ready(self, timeout: float) -> bool:
        # SIPp answers an out-of-dialog OPTIONS itself because of -aa
        return send_options(self._host, self._uas_port, timeout=timeout) == 200

    def _record(self) -> LabRecord:
        return LabRecord(
            host=self._host,
            host6=self._host6,
            sip_port=self._sip_port,
            tls_port=self._tls_port,
            uas_port=self._uas_port,
            ring_ms=self._ring_ms,
            with_uas=self._with_uas,
            workdir=self._workdir,
            ca_file=self.ca_file,
            log_file=self.log_file,
            processes=tuple(
                LabProcess(
                    name=child.identity.name,
                    pid=child.identity.pid,
                    start_ticks=child.identity.start_ticks,
                    log_file=child.log_file,
                )
                for child in self._children
            ),
            started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )

    def _detach(self) -> None:
        """Let the processes run on after this object (and this process) is gone."""
        _DETACHED.extend(child.popen for child in self._children)
        self._children.clear()


def _require_program(name: str, missing: str) -> str:
    path = shutil.which(name) or shutil.which(name, path=_SBIN_PATH)
    if path is None:
        raise CannotRunError(missing)
    return path


def _contacts_from_lookup(output: str) -> list[str]:
    """Contact URIs from `kamcmd ul.lookup` output, skipping expired ones.

    kamcmd prints ``error: 500 - AOR not found in location table`` (and exits 0) for a
    user without bindings; any other error means the lookup itself failed.
    """
    lines = [line.strip() for line in output.splitlines()]
    errors = [line for line in lines if line.lower().startswith("error:")]
    if errors:
        if "not found" in errors[0]:
            return []
        raise CannotRunError(f"kamcmd could not read the lab's registrations: {errors[0]}")
    contacts: list[str] = []
    address: str | None = None
    for line in lines:
        key, _, value = line.partition(": ")
        if key == "Address":
            address = value
        elif key == "Expires" and address is not None:
            # usrloc keeps an expired contact until its timer runs; it is not a binding
            if value != "expired":
                contacts.append(address)
            address = None
    return contacts


def _log_tail(log_file: Path) -> str:
    try:
        lines = log_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    if not lines:
        return ""
    return f"\nLast lines of {log_file}:\n" + "\n".join(lines[-_LOG_TAIL_LINES:])


def _early_exit_message(title: str, exit_status: int, log_file: Path, lab: Lab) -> str:
    text = log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else ""
    if "could not find module <tls>" in text:
        advice = TLS_MODULE_MISSING
    elif "Address already in use" in text or "address already in use" in text.lower():
        ports = (
            f"SIP {lab.sip_port} (UDP/TCP) or TLS {lab.tls_port}"
            if title == "Kamailio"
            else f"UAS {lab.uas_port} (UDP)"
        )
        advice = (
            f"A port of the lab is already in use on {lab.host}: {ports}. "
            "Choose other ports or stop the program that holds them."
        )
    else:
        advice = "See its log for the reason."
    return f"{title} exited during start-up (exit status {exit_status}). {advice}" + _log_tail(
        log_file
    )
