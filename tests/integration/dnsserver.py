"""A real DNS server for the tests: Knot DNS, authoritative for the `.test` zone, on loopback.

Why Knot (of Debian's knot, unbound, nsd and dnsmasq): it is an authoritative server that
reads a plain RFC 1035 zone file, so NAPTR, SRV, A and AAAA records are written exactly as
a provider publishes them (dnsmasq has a flag per record type and no NODATA/NXDOMAIN
control; unbound is a resolver that serves "local-data" beside its recursion); and it
starts unprivileged, in the foreground, from one config file in a temporary directory
(`knotd -c FILE`; no user switch, no chroot, no pid file outside the directory, which nsd
needs to be talked out of). It answers REFUSED for names outside its zone, which gives a
"DNS server failed" case without any traffic off the machine.

The zone is written at fixture time, so its live SRV targets carry the lab's real ports.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rdatatype
from waiting import eventually

from siptest.errors import CannotRunError
from siptest.lab import process
from siptest.lab.ports import free_port, is_port_free
from siptest.resolution import DnsServer

KNOT_MISSING = "Knot DNS is not installed. Run: apt-get install knot (./dev test does it)"
ZONE = "test"

_SBIN_PATH = "/usr/local/sbin:/usr/sbin:/sbin"


@dataclass(frozen=True)
class ZonePorts:
    """The ports the zone's SRV records point to."""

    sip: int
    """The lab's SIP port (UDP and TCP)."""
    tls: int
    """The lab's TLS port."""
    dead: int
    """A port on 127.0.0.1 where nothing listens (UDP or TCP)."""


def zone_text(ports: ZonePorts) -> str:
    """The `.test` zone: one domain per resolution case (see each comment)."""
    sip, tls, dead = ports.sip, ports.tls, ports.dead
    return f"""\
$ORIGIN test.
$TTL 60
@                       SOA   ns.test. hostmaster.test. 1 3600 600 86400 60
@                       NS    ns.test.
ns                      A     127.0.0.1

; failover.test: NAPTR -> SRV; UDP's first target is dead, its second is the lab.
; An ENUM-style "u" record and an SCTP service come first and must be skipped.
failover                NAPTR 1 10 "u" "E2U+sip" "!^.*$!sip:info@failover.test!" .
failover                NAPTR 2 10 "s" "SIP+D2S" "" _sip._sctp.failover.test.
failover                NAPTR 10 50 "s" "SIP+D2U" "" _sip._udp.failover.test.
failover                NAPTR 20 50 "s" "SIP+D2T" "" _sip._tcp.failover.test.
failover                NAPTR 30 50 "s" "SIPS+D2T" "" _sips._tcp.failover.test.
_sip._sctp.failover     SRV   10 0 {sip} lab.failover.test.
_sip._udp.failover      SRV   10 0 {dead} dead.failover.test.
_sip._udp.failover      SRV   20 0 {sip} lab.failover.test.
_sip._tcp.failover      SRV   10 0 {sip} lab.failover.test.
_sips._tcp.failover     SRV   10 0 {tls} lab.failover.test.
failover                A     127.0.0.3
dead.failover           A     127.0.0.1
lab.failover            A     127.0.0.1

; preference.test: NAPTR order beats preference, preference breaks a tie in order
preference              NAPTR 20 10 "s" "SIP+D2U" "" _sip._udp.preference.test.
preference              NAPTR 10 90 "s" "SIPS+D2T" "" _sips._tcp.preference.test.
preference              NAPTR 10 20 "s" "SIP+D2T" "" _sip._tcp.preference.test.
_sip._udp.preference    SRV   10 0 {sip} lab.preference.test.
_sip._tcp.preference    SRV   10 0 {sip} lab.preference.test.
_sips._tcp.preference   SRV   10 0 {tls} lab.preference.test.
lab.preference          A     127.0.0.1

; naptrnosrv.test: NAPTR names an SRV set that does not exist -> A with NAPTR's transport
naptrnosrv              NAPTR 10 50 "s" "SIP+D2T" "" _sip._tcp.naptrnosrv.test.
naptrnosrv              A     127.0.0.1

; srvonly.test: SRV without NAPTR; UDP has two targets of one priority (weights 60/40)
; and a lower-priority one; TCP has one.
_sip._udp.srvonly       SRV   10 60 {sip} one.srvonly.test.
_sip._udp.srvonly       SRV   10 40 {sip} two.srvonly.test.
_sip._udp.srvonly       SRV   20 0 {sip} backup.srvonly.test.
_sip._tcp.srvonly       SRV   10 0 {sip} one.srvonly.test.
one.srvonly             A     127.0.0.1
two.srvonly             A     127.0.0.2
backup.srvonly          A     127.0.0.4

; aonly.test / aaaaonly.test / dualstack.test: addresses only
aonly                   A     127.0.0.1
aaaaonly                AAAA  ::1
dualstack               AAAA  ::1
dualstack               A     127.0.0.1

; halfbroken.test: the first SRV target has no address, the second is the lab
_sip._udp.halfbroken    SRV   10 0 {sip} noaddr.halfbroken.test.
_sip._udp.halfbroken    SRV   20 0 {sip} lab.halfbroken.test.
noaddr.halfbroken       TXT   "a name without an address"
lab.halfbroken          A     127.0.0.1

; allbroken.test: every SRV target lacks an address (one does not even exist)
_sip._udp.allbroken     SRV   10 0 {sip} noaddr.allbroken.test.
_sip._udp.allbroken     SRV   20 0 {sip} missing.allbroken.test.
noaddr.allbroken        TXT   "a name without an address"

; tls.test: the lab's TLS certificate names it (siptest/lab/files/openssl.cnf), so TLS
; found by SRV passes the RFC 5922 check, where failover.test, which it does not name, fails
_sips._tcp.tls          SRV   10 0 {tls} lab.tls.test.
_sip._udp.tls           SRV   10 0 {sip} lab.tls.test.
lab.tls                 A     127.0.0.1

; norecords.test: the name exists, with neither SIP records nor an address
norecords               TXT   "no SIP here"

; any other name under test. does not exist (NXDOMAIN)
"""


def question_names(datagram: bytes) -> list[str]:
    """The names a DNS query asks about (for a test's own silent DNS server)."""
    return [str(question.name) for question in dns.message.from_wire(datagram).question]


class KnotServer:
    """`knotd` serving ``zone`` on 127.0.0.1 and ::1 (same free port); start() to run."""

    def __init__(self, workdir: Path, zone: str) -> None:
        self._workdir = Path(workdir).absolute()
        self._zone = zone
        self._port = self._free_port()
        self._popen: subprocess.Popen[bytes] | None = None
        self._identity: process.ProcessIdentity | None = None

    @property
    def server(self) -> DnsServer:
        """The server on 127.0.0.1, as `--dns-server` names it."""
        return DnsServer("127.0.0.1", self._port)

    @property
    def server_v6(self) -> DnsServer:
        return DnsServer("::1", self._port)

    @property
    def log_file(self) -> Path:
        return self._workdir / "knot.log"

    def start(self, timeout: float = 10.0) -> None:
        """Write the config and zone, start knotd, return once it answers for the zone."""
        knotd = shutil.which("knotd") or shutil.which("knotd", path=_SBIN_PATH)
        if knotd is None:
            raise CannotRunError(KNOT_MISSING)
        (self._workdir / "db").mkdir(parents=True, exist_ok=True)
        (self._workdir / f"{ZONE}.zone").write_text(self._zone, encoding="utf-8")
        config = self._workdir / "knot.conf"
        config.write_text(self._config(), encoding="utf-8")
        with self.log_file.open("wb") as log:
            self._popen = subprocess.Popen(
                [knotd, "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self._workdir,
                start_new_session=True,  # its own process group, stopped as a whole
            )
        popen = self._popen
        self._identity = process.identify("knotd", popen.pid)
        try:
            eventually(
                self._answers,
                "knotd answering",
                timeout,
                alive=lambda: popen.poll() is not None and "knotd exited",
            )
        except AssertionError:
            log_text = self.log_file.read_text(encoding="utf-8", errors="replace")
            self.stop()
            raise CannotRunError(f"knotd did not start on port {self._port}:\n{log_text}") from None

    def stop(self) -> None:
        if self._popen is None:
            return
        process.stop_group(self._popen.pid, timeout=5.0)
        try:
            self._popen.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            pass
        self._popen = None

    def _answers(self) -> bool:
        query = dns.message.make_query(f"{ZONE}.", dns.rdatatype.SOA)
        try:
            response = dns.query.udp(query, "127.0.0.1", port=self._port, timeout=0.2)
        except (dns.exception.DNSException, OSError):
            return False
        return bool(response.answer)

    def _config(self) -> str:
        # storage, rundir and the control socket all in the work directory: no root needed
        return f"""\
server:
    rundir: "{self._workdir}"
    listen: [ 127.0.0.1@{self._port}, ::1@{self._port} ]
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: info
database:
    storage: "{self._workdir / "db"}"
template:
  - id: default
    storage: "{self._workdir}"
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: {ZONE}
    file: "{ZONE}.zone"
"""

    @staticmethod
    def _free_port() -> int:
        for _ in range(20):
            port = free_port("127.0.0.1", udp=True, tcp=True)
            if is_port_free("::1", port, udp=True, tcp=True):
                return port
        raise CannotRunError("Found no port free on both 127.0.0.1 and ::1 for knotd.")


@contextlib.contextmanager
def slow_dns_server(delay: float) -> Iterator[DnsServer]:
    """A DNS server on 127.0.0.1 that answers every query `delay` seconds late, with
    NOERROR and no records."""
    import socket
    import threading

    import dns.message
    import dns.rcode

    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()

    def answer_slowly() -> None:
        while not stop.is_set():
            try:
                data, peer = server.recvfrom(4096)
            except OSError:
                continue
            reply = dns.message.make_response(dns.message.from_wire(data))
            reply.set_rcode(dns.rcode.NOERROR)
            if not stop.wait(delay):
                server.sendto(reply.to_wire(), peer)

    worker = threading.Thread(target=answer_slowly, daemon=True)
    worker.start()
    try:
        yield DnsServer("127.0.0.1", server.getsockname()[1])
    finally:
        stop.set()
        worker.join(timeout=5)
        server.close()
