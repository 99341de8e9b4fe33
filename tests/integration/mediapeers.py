"""Media peers for tests/integration/test_media.py: a SIPp UAS of the test's own and a
lossy RTP relay, both on 127.0.0.1 only.

`SippUas` runs SIPp with a scenario from tests/integration/sipp/ in its own session
(stopped as a process group) on free ports. The scenario's SDP names `[rtp_port]`,
which the test chooses (`-key rtp_port N`): SIPp's own media port, or the port of a
relay in front of it.

`RtpRelay` is a UDP relay in a thread of the test process. siptest sends RTP to the
relay, the relay forwards it to SIPp's echo port and the echo back to siptest,
dropping a fixed pattern in either direction: with `drop_every=(10, 0)` the 10th,
20th, 30th... packet toward the echo never arrives. Every wait is bounded; `stop()`
closes the socket and joins the thread.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from siptest.lab.ports import free_port
from siptest.lab.process import stop_group

LOCALHOST = "127.0.0.1"
SCENARIOS = Path(__file__).parent / "sipp"
MEDIA_UAS = SCENARIOS / "uas_media.xml"


def udp_port_bound(port: int, host: str = LOCALHOST) -> bool:
    """True when some process has bound UDP `host:port` (read from /proc/net/udp).

    SIPp's readiness: an OPTIONS probe would count as a call against `-m 1`.
    """
    wanted = f"{socket.inet_aton(host)[::-1].hex().upper()}:{port:04X}"
    try:
        lines = Path("/proc/net/udp").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(line.split()[1] == wanted for line in lines if line.strip())


class SippUas:
    """`sipp -sf SCENARIO` answering one call on 127.0.0.1 (`-m 1`), in its own session."""

    def __init__(
        self,
        workdir: Path,
        scenario: Path = MEDIA_UAS,
        *,
        echo: bool,
        rtp_port: int | None = None,
    ) -> None:
        """`echo`: SIPp echoes RTP on its media port (-rtp_echo); `rtp_port`: the audio
        port its SDP advertises (default: its own media port). Every SIP message SIPp
        sends or receives is logged to `messages_file` as it happens."""
        program = shutil.which("sipp")
        if program is None:
            raise RuntimeError("SIPp is not installed. Run: apt-get install sip-tester")
        taken = {rtp_port} if rtp_port else set()
        self.sip_port = free_port(LOCALHOST, tcp=False, exclude=taken)
        taken.add(self.sip_port)
        # SIPp binds the media port and media port + 2 (video)
        self.media_port = free_port(LOCALHOST, tcp=False, span=3, exclude=taken)
        taken.update(range(self.media_port, self.media_port + 3))
        control_port = free_port(LOCALHOST, tcp=False, exclude=taken)
        self.rtp_port = rtp_port or self.media_port
        self.log_file = workdir / f"sipp-{self.sip_port}.log"
        self.messages_file = workdir / f"sipp-{self.sip_port}-messages.log"
        self.command = [
            program,
            "-sf", str(scenario),
            "-i", LOCALHOST, "-p", str(self.sip_port),
            "-mi", LOCALHOST, "-mp", str(self.media_port),
            *(["-rtp_echo"] if echo else []),
            "-key", "rtp_port", str(self.rtp_port),
            "-m", "1", "-aa", "-nostdin",
            "-cp", str(control_port),
            "-trace_msg", "-message_file", str(self.messages_file),
        ]  # fmt: skip
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"sip:silent@{LOCALHOST}:{self.sip_port}"

    @property
    def media_address(self) -> tuple[str, int]:
        return LOCALHOST, self.media_port

    def start(self, timeout: float = 5.0) -> SippUas:
        with self.log_file.open("wb") as log:
            self._popen = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not udp_port_bound(self.sip_port):
            if time.monotonic() >= deadline or self.wait(0.02) is not None:
                self.stop()
                raise RuntimeError(f"SIPp did not start on {self.sip_port}:\n{self.log()}")
        return self

    def wait(self, timeout: float) -> int | None:
        """SIPp's exit status once it ended (within `timeout` s), else None."""
        assert self._popen is not None
        try:
            return self._popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def received(self, method: str) -> bool:
        """Whether SIPp has received a `method` request yet (from its message log)."""
        try:
            text = self.messages_file.read_text(errors="replace")
        except OSError:
            return False
        return f"\n{method} sip:" in text or text.startswith(f"{method} sip:")

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop SIPp's whole process group (SIGTERM, then SIGKILL) and reap it."""
        if self._popen is None:
            return
        if self._popen.poll() is None:
            stop_group(self._popen.pid, timeout=3.0)
        try:
            self._popen.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            pass
        self._popen = None

    def __enter__(self) -> SippUas:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass
class RelayCounts:
    """Packets the relay saw, per direction: toward the echo peer and back to the client."""

    to_peer: int = 0
    to_peer_dropped: int = 0
    to_client: int = 0
    to_client_dropped: int = 0


class RtpRelay:
    """A UDP relay on 127.0.0.1 between one client (siptest) and one peer (SIPp's echo).

    The first packet from anywhere but the peer fixes the client's address. Packet n
    (counted from 1) of a direction is dropped when n is a multiple of that direction's
    `drop_every` (0: drop nothing).
    """

    def __init__(self, drop_every: tuple[int, int] = (0, 0)) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((LOCALHOST, 0))
        self._sock.settimeout(0.05)
        self.port: int = self._sock.getsockname()[1]
        self.peer: tuple[str, int] | None = None
        self.drop_every = drop_every
        self.counts = RelayCounts()
        self.client: tuple[str, int] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rtp-relay", daemon=True)

    def start(self, peer: tuple[str, int]) -> RtpRelay:
        """Relay between the client and `peer` (known only once the relay's port is)."""
        self.peer = peer
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        self._sock.close()

    def __enter__(self) -> RtpRelay:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @staticmethod
    def _dropped(count: int, every: int) -> bool:
        return every > 0 and count % every == 0

    def _run(self) -> None:
        counts = self.counts
        while not self._stop.is_set():
            try:
                data, source = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                # ICMP port unreachable from an earlier send, or the socket was closed
                if self._stop.is_set():
                    return
                continue
            if source == self.peer:
                if self.client is None:
                    continue
                counts.to_client += 1
                if self._dropped(counts.to_client, self.drop_every[1]):
                    counts.to_client_dropped += 1
                    continue
                target = self.client
            else:
                if self.client is None:
                    self.client = source
                elif source != self.client:
                    continue
                counts.to_peer += 1
                if self._dropped(counts.to_peer, self.drop_every[0]):
                    counts.to_peer_dropped += 1
                    continue
                target = self.peer
            try:
                self._sock.sendto(data, target)
            except OSError:
                pass
