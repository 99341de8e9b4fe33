"""Running the real `siptest` command against the lab, as a user would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
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


# -- scripted SIP peers (tests/integration/sippeer.py) -------------------------------


@pytest.fixture
def sip_peer():
    """Start scripted SIP peers on 127.0.0.1: `sip_peer("udp", [challenge(), ok()])`.

    Every peer started through it is stopped when the test ends.
    """
    from sippeer import SipPeer

    peers: list[SipPeer] = []

    def start(transport: str = "udp", script=(), **options: Any) -> SipPeer:
        peer = SipPeer(transport, script, **options).start()
        peers.append(peer)
        return peer

    yield start
    for peer in peers:
        peer.stop()


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory):
    """A test CA and good, self-signed, expired and wrong-name server certificates."""
    from sippeer import make_tls_material

    return make_tls_material(tmp_path_factory.mktemp("peer-tls"))


@dataclass
class PeerRun:
    """`siptest register --json` against a peer, checked for what every run must keep."""

    result: Result
    elapsed: float
    """Wall-clock seconds of the whole command, process start included."""

    @property
    def register(self) -> dict[str, Any]:
        return self.result.check("register")


@pytest.fixture(scope="session")
def register_at():
    """Run `siptest register USER@127.0.0.1:PORT --json` and check the invariants:
    no traceback, stdout is exactly one JSON object, a register check is in it."""

    def run(
        port: int,
        *extra: str,
        transport: str = "udp",
        timeout: float = 1,
        password: str | None = "peer-test-pass",
        user: str = "1001",
        env: dict[str, str] | None = None,
    ) -> PeerRun:
        args = ["register", f"{user}@127.0.0.1:{port}", "--json"]
        args += ["--transport", transport, "--timeout", f"{timeout:g}", *extra]
        started = time.monotonic()
        result = run_siptest(*args, password=password, env=env, timeout=timeout * 3 + 10)
        elapsed = time.monotonic() - started
        assert "Traceback" not in result.stderr, result.stderr
        report = json.loads(result.stdout)  # raises on anything but exactly one JSON value
        assert isinstance(report, dict), result.stdout
        assert any(c["kind"] == "register" for c in report["checks"]), result.stdout
        return PeerRun(result, elapsed)

    return run


# -- a real DNS server (tests/integration/dnsserver.py) ------------------------------


@dataclass(frozen=True)
class DnsLab:
    """Knot DNS serving the `.test` zone on loopback, its SRV records pointing at the lab."""

    server: Any
    """`siptest.resolution.DnsServer` on 127.0.0.1: pass it to `resolve(dns_server=...)`,
    or `str(server)` to `--dns-server`."""
    server_v6: Any
    """The same server on ::1."""
    ports: Any
    """`dnsserver.ZonePorts`: the lab's SIP and TLS ports and the dead port the zone uses."""
    log_file: Path


@pytest.fixture(scope="session")
def dns_lab(lab, tmp_path_factory):
    """One Knot DNS per session (per xdist worker), zone written from this lab's ports.

    Names (see `dnsserver.zone_text`): failover.test (NAPTR -> SRV, dead first UDP
    target, the lab second), preference.test, naptrnosrv.test, srvonly.test,
    aonly.test, aaaaonly.test, dualstack.test, halfbroken.test, allbroken.test,
    tls.test (TLS by SRV to a certificate that names it), norecords.test; any other name
    under .test is NXDOMAIN.
    """
    from dnsserver import KnotServer, ZonePorts, zone_text

    from siptest.errors import CannotRunError
    from siptest.lab.ports import free_port

    taken = {lab.sip_port, lab.tls_port, lab.uas_port}
    ports = ZonePorts(
        sip=lab.sip_port,
        tls=lab.tls_port,
        dead=free_port("127.0.0.1", udp=True, tcp=True, exclude=taken),
    )
    knot = KnotServer(tmp_path_factory.mktemp("dns"), zone_text(ports))
    try:
        knot.start()
    except CannotRunError as error:
        # not a skip: a missing knotd must be seen, with the message saying what to do
        pytest.fail(f"The DNS server could not start: {error}", pytrace=False)
    yield DnsLab(knot.server, knot.server_v6, ports, knot.log_file)
    knot.stop()
