"""Ctrl-C, SIGTERM and SIGKILL in every phase (issue 7, interruption).

Each test starts the real `siptest register|call ... --json` in a session of its
own, waits (bounded, polling) until the lab's log or a scripted peer shows the
phase was reached, sends the signal and checks what a user relies on: exit
status 130 (SIGINT) / 143 (SIGTERM) within the un-REGISTER wait plus a margin,
exactly one JSON object with `"interrupted": true` on stdout, CANCEL while
ringing, BYE while talking, and an un-REGISTER of siptest's own contact (never
`Contact: *`, which would also log out the customer's ATA).

Users 1004 and 41411234567 are used here and by few other tests; the tests that
kill siptest before it can clean up remove the binding it left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sippeer import challenge, ok, respond, respond_when, silence

pytestmark = pytest.mark.lab

TIMEOUT = 2.0
"""--timeout for every run: the un-REGISTER (and a REGISTER in flight) waits timeout + 1 s."""
BOUND = TIMEOUT + 3
"""Issue 7: an interrupted run ends within the un-REGISTER wait plus a margin."""
AT_ONCE = 1.5
"""A second Ctrl-C (or a clean-up with nothing in flight) ends the process this fast."""
PHASE_WAIT = 15.0
"""How long a run may take to reach the phase the test interrupts."""

CLEAN_USER = "1004"
"""Interrupted runs that clean up after themselves."""
KILLED_USER = "41411234567"
"""Runs killed before they can clean up; the test removes what they leave."""

SIGNALS = [
    pytest.param(signal.SIGINT, 130, id="SIGINT"),
    pytest.param(signal.SIGTERM, 143, id="SIGTERM"),
]


def password_of(lab_users, name: str) -> str:
    return next(u.password for u in lab_users if u.username == name)


@dataclass
class Run:
    """One `python -m siptest ...` running in its own session; output goes to files."""

    process: subprocess.Popen[bytes]
    stdout_file: Path
    stderr_file: Path
    started_at: float = field(default_factory=time.monotonic)
    signalled_at: float | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def stdout(self) -> str:
        return self.stdout_file.read_text(encoding="utf-8")

    def stderr(self) -> str:
        return self.stderr_file.read_text(encoding="utf-8")

    def running(self) -> bool:
        return self.process.poll() is None

    def wait_until(self, condition: Callable[[], Any], what: str, seconds: float = PHASE_WAIT):
        """Poll `condition` until it holds; fail if siptest ends first or time runs out."""
        deadline = time.monotonic() + seconds
        while True:
            value = condition()
            if value:
                return value
            assert self.running(), (
                f"siptest ended (status {self.process.returncode}) before {what}:\n"
                f"{self.stdout()}\n{self.stderr()}"
            )
            assert time.monotonic() < deadline, f"no {what} within {seconds} s"
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=0.02)

    def signal(self, signum: int) -> None:
        self.signalled_at = time.monotonic()
        self.process.send_signal(signum)

    def finish(self, seconds: float) -> tuple[int, float]:
        """Wait (bounded) for the end: the exit status and the seconds it took since the
        first signal (or since the start, for a run nobody signalled)."""
        try:
            status = self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            pytest.fail(f"siptest still runs after {seconds} s more:\n{self.stderr()}")
        elapsed = time.monotonic() - (self.signalled_at or self.started_at)
        print(f"{self.process.args[3:5]}: exit {status} after {elapsed:.3f} s")
        return status, elapsed

    def report(self) -> dict[str, Any]:
        """stdout must be exactly one JSON object (json.loads refuses anything more)."""
        assert "Traceback" not in self.stderr(), self.stderr()
        document = json.loads(self.stdout())
        assert isinstance(document, dict), self.stdout()
        return document


@pytest.fixture
def start(tmp_path) -> Iterator[Callable[..., Run]]:
    """Start siptest with the password in SIPTEST_PASSWORD; kill what is left at the end."""
    runs: list[Run] = []

    def launch(*args: str, password: str) -> Run:
        n = len(runs)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("SIPTEST_")}
        environment["SIPTEST_PASSWORD"] = password
        stdout_file, stderr_file = tmp_path / f"out-{n}.txt", tmp_path / f"err-{n}.txt"
        with stdout_file.open("wb") as out, stderr_file.open("wb") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "siptest", *args],
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        run = Run(process, stdout_file, stderr_file)
        runs.append(run)
        return run

    yield launch
    for run in runs:
        if run.running():
            # Only the process group this fixture started (start_new_session: pgid = pid).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(run.pid, signal.SIGKILL)
            run.process.wait(timeout=5)


def lab_target(lab, user: str) -> str:
    return f"{user}@{lab.host}:{lab.sip_port}"


def from_client(lines: list[str], lab) -> list[str]:
    """The lab logs requests it relays to itself too (7001 rings that way): drop those."""
    return [line for line in lines if not line.endswith(f"src={lab.host}:{lab.sip_port}")]


def sent_requests(trace: str, method: str) -> list[dict[str, str]]:
    """Requests siptest sent, from its --trace file: lower-case header name -> value."""
    requests = []
    for block in re.split(r"\n(?=--> |<-- )", trace):
        if not block.startswith("-->"):
            continue
        lines = block.split("\n")[1:]
        if not lines or not lines[0].startswith(f"{method} "):
            continue
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep and name and " " not in name:
                headers.setdefault(name.lower(), value.strip())
        requests.append(headers)
    return requests


def assert_own_contact_unregistered(trace: Path, document: dict[str, Any]) -> None:
    """The un-REGISTER removed siptest's own contact (from its register check), never `*`."""
    register = next(c for c in document["checks"] if c["kind"] == "register")
    contact = register["contact"]
    assert contact and "*" not in contact
    removals = [r for r in sent_requests(trace.read_text(), "REGISTER") if r.get("expires") == "0"]
    assert removals, "no un-REGISTER was sent"
    assert {r.get("contact") for r in removals} == {contact}
    assert all(not r.get("contact", "").strip().startswith("*") for r in removals)
    assert any(c["kind"] == "unregister" and c["ok"] for c in document["checks"])


def remove_bindings(lab, lab_users, user: str, start: Callable[..., Run]) -> list[str]:
    """Remove the bindings a killed run left: register and unregister from each stale
    contact's own port, so the un-REGISTER names exactly that contact. Returns them."""
    stale = lab.bindings(user)
    for contact in stale:
        match = re.fullmatch(rf"sip:{user}@127\.0\.0\.1:(\d+)", contact)
        assert match, f"unexpected contact {contact}"
        run = start(
            "register", lab_target(lab, user), "--json", "--timeout", f"{TIMEOUT:g}",
            "--local-port", match.group(1),
            password=password_of(lab_users, user),
        )  # fmt: skip
        status, _ = run.finish(BOUND * 2)
        assert status == 0, run.stdout() + run.stderr()
    return stale


@pytest.fixture
def killed_user_cleanup(lab, lab_users, start) -> Iterator[None]:
    """Whatever a test killed, no binding of KILLED_USER outlives it."""
    yield
    remove_bindings(lab, lab_users, KILLED_USER, start)
    assert lab.bindings(KILLED_USER) == []


# -- registering: a REGISTER in flight to a server that never answers ----------------


@pytest.mark.parametrize(("signum", "expected"), SIGNALS)
def test_signal_while_registering_stops_waiting_for_the_register_in_flight(
    sip_peer, start, signum, expected
):
    peer = sip_peer("udp", [])  # bound, records everything, never answers
    run = start(
        "register", f"1004@127.0.0.1:{peer.port}", "--json", "--timeout", f"{TIMEOUT:g}",
        password="peer-test-pass",
    )  # fmt: skip
    run.wait_until(lambda: peer.requests_of("REGISTER"), "REGISTER at the silent peer")
    run.signal(signum)
    status, elapsed = run.finish(BOUND + 5)
    assert status == expected, run.stderr()
    assert elapsed <= BOUND, elapsed
    document = run.report()
    assert document["interrupted"] is True
    assert document["ok"] is False
    (register,) = [c for c in document["checks"] if c["kind"] == "register"]
    assert register["response"]["origin"] == "none"
    assert register["response"]["code"] == 408
    assert not [c for c in document["checks"] if c["kind"] == "unregister"]
    assert "Stopping: cleaning up" in run.stderr()
    # Nothing was bound, so nothing is removed: one REGISTER (and its retransmissions).
    assert len(peer.requests_of("REGISTER")) == 1
    assert all(r.header("expires") != "0" for r in peer.received)


REACTION = 3.0
"""Issue 16: Ctrl-C during a wait reacts at once (within 1 s; before, a REGISTER with
--timeout 20 waited ~17 s more). Not a speed test: a generous bound on the reaction
alone, far below the 17 s it replaces, is the issue's requirement."""


def test_sigint_during_a_long_register_wait_exits_at_once_without_an_unregister(sip_peer, start):
    peer = sip_peer("udp", [])  # never answers: pjsip would wait the whole --timeout 20
    run = start(
        "register", f"1004@127.0.0.1:{peer.port}", "--json", "--timeout", "20",
        password="peer-test-pass",
    )  # fmt: skip
    run.wait_until(lambda: peer.requests_of("REGISTER"), "REGISTER at the silent peer")
    run.signal(signal.SIGINT)
    status, elapsed = run.finish(30)
    assert status == 130, run.stderr()
    assert elapsed <= REACTION, elapsed
    document = run.report()
    assert document["interrupted"] is True
    (register,) = [c for c in document["checks"] if c["kind"] == "register"]
    assert register["response"]["origin"] == "none"
    # Nothing ever answered: nothing can be bound, so no un-REGISTER is sent.
    assert all(r.header("expires") != "0" for r in peer.received)


def test_sigint_after_a_challenge_exits_at_once_and_removes_its_contact(sip_peer, start):
    # The server challenged, then stays silent on the REGISTER with credentials: it
    # heard us and may bind, so siptest sends an un-REGISTER of its own contact (bounded).
    peer = sip_peer("udp", [challenge()])
    run = start(
        "register", f"1004@127.0.0.1:{peer.port}", "--json", "--timeout", "20",
        password="peer-test-pass",
    )  # fmt: skip
    run.wait_until(lambda: len(peer.requests_of("REGISTER")) >= 2, "the REGISTER with credentials")
    run.signal(signal.SIGINT)
    status, elapsed = run.finish(30)
    assert status == 130, run.stderr()
    assert elapsed <= REACTION + 1.5, elapsed  # + the bounded un-REGISTER wait
    assert run.report()["interrupted"] is True
    bind = peer.requests_of("REGISTER")[1]
    removals = [r for r in peer.requests_of("REGISTER") if r.header("expires") == "0"]
    assert removals, [r.method for r in peer.received]
    assert {r.header("contact") for r in removals} == {bind.header("contact")}
    assert all("*" not in (r.header("contact") or "") for r in removals)


# -- unregistering: the un-REGISTER is in flight and the server does not answer it ---


def test_sigint_while_unregistering_still_waits_for_the_unregister_bounded(sip_peer, start):
    peer = sip_peer("udp", [ok()])  # binds the REGISTER, then never answers again
    run = start(
        "register", f"1004@127.0.0.1:{peer.port}", "--json", "--timeout", f"{TIMEOUT:g}",
        password="peer-test-pass",
    )  # fmt: skip
    run.wait_until(lambda: len(peer.requests_of("REGISTER")) >= 2, "the un-REGISTER")
    run.signal(signal.SIGINT)
    status, elapsed = run.finish(BOUND + 5)
    assert status == 130, run.stderr()
    assert elapsed <= BOUND, elapsed
    document = run.report()
    assert document["interrupted"] is True
    register, removal = (c for c in document["checks"] if c["kind"] in ("register", "unregister"))
    assert register["ok"] is True
    assert removal["kind"] == "unregister"
    assert removal["ok"] is False  # the server never confirmed it
    bind, unbind = peer.requests_of("REGISTER")
    assert unbind.header("expires") == "0"
    assert unbind.header("contact") == bind.header("contact") == register["contact"]


def test_second_sigint_while_unregistering_exits_at_once(sip_peer, start):
    # A long --timeout: the clean-up alone would wait 11 s for the silent server.
    peer = sip_peer("udp", [ok()])
    run = start(
        "register", f"1004@127.0.0.1:{peer.port}", "--json", "--timeout", "10",
        password="peer-test-pass",
    )  # fmt: skip
    run.wait_until(lambda: len(peer.requests_of("REGISTER")) >= 2, "the un-REGISTER")
    run.signal(signal.SIGINT)
    run.wait_until(lambda: "Stopping: cleaning up" in run.stderr(), "the first signal's notice")
    run.signal(signal.SIGINT)
    status, elapsed = run.finish(10)
    assert status == 130, run.stderr()
    assert elapsed <= AT_ONCE, elapsed
    assert "Traceback" not in run.stderr()
    # Out at once means no report: stdout is empty (never a half-written object).
    assert run.stdout() == ""


def test_a_ringing_that_comes_after_sigint_is_cancelled_before_the_unregister(sip_peer, start):
    # Ctrl-C before any provisional response: RFC 3261 9.1 allows no CANCEL yet, and pjsip
    # holds it until a 180 comes. The 180 comes after the signal was handled: the CANCEL
    # it lets out must still go before the un-REGISTER, never after (a half-open INVITE
    # behind a removed binding). The peer never answers the CANCEL; the wait is bounded.
    released = threading.Event()
    peer = sip_peer("udp", [ok(), respond_when(released, 180), silence(), ok()])
    run = start(
        "call", f"1004@127.0.0.1:{peer.port}", "7001", "--ring-timeout", "30",
        "--timeout", f"{TIMEOUT:g}", "--json", password="peer-test-pass",
    )  # fmt: skip
    try:
        run.wait_until(lambda: peer.requests_of("INVITE"), "the INVITE at the peer")
        run.signal(signal.SIGINT)
        run.wait_until(lambda: "Stopping: cleaning up" in run.stderr(), "the signal's notice")
        # time for a too-early un-REGISTER to show before the 180 (one would come at once)
        peer.wait_for_requests(3, timeout=0.5)
    finally:
        released.set()
    status, elapsed = run.finish(BOUND + 5)
    assert status == 130, run.stderr()
    assert elapsed <= BOUND, elapsed
    methods = [(r.method, r.header("expires")) for r in peer.requests]
    assert methods == [("REGISTER", "300"), ("INVITE", None), ("CANCEL", None), ("REGISTER", "0")]


def test_sigint_while_a_scenario_looks_up_its_servers_asks_dns_no_more(start, tmp_path):
    # A DNS server that never answers: each server's lookup lasts its whole lifetime.
    # Ctrl-C during the first must not wait for the lookups of the other servers too.
    from dnsserver import question_names

    accounts = "".join(
        f"  {name}:\n    user: '1004'\n    host: {name}.test\n" for name in ("one", "two", "three")
    )
    path = tmp_path / "three.sip.yaml"
    path.write_text(
        f"name: three\ntimeout: {TIMEOUT:g}\nsteps:\n  - register: {{account: one}}\n"
        f"accounts:\n{accounts}",
        encoding="utf-8",
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.setblocking(False)
        asked: set[str] = set()

        def queries() -> set[str]:
            with contextlib.suppress(BlockingIOError):
                while True:
                    asked.update(question_names(silent.recv(4096)))
            return asked

        run = start(
            "run", str(path), "--dns-server", f"127.0.0.1:{silent.getsockname()[1]}", "--json",
            password="not-used",
        )  # fmt: skip
        run.wait_until(queries, "a DNS query")
        run.signal(signal.SIGINT)
        status, _ = run.finish(BOUND + 5)
        queries()
    assert status == 130, run.stderr()
    assert asked and all(name.endswith("one.test.") for name in asked), asked
    (scenario,) = run.report()["scenarios"]
    assert scenario["status"] == "interrupted"
    assert [check["kind"] for check in scenario["checks"]] == ["resolution"]


# -- dialling and ringing at a scripted peer: the server is slow to end the call ----


def test_sigint_while_dialling_unanswered_sends_no_cancel_and_unregisters(sip_peer, start):
    # Registered, the INVITE in flight and not even a 100 Trying: RFC 3261 9.1 allows
    # no CANCEL yet, so siptest waits (bounded) for the INVITE to end, then unregisters.
    peer = sip_peer("udp", [ok(), silence(), ok()])
    run = start(
        "call", f"1004@127.0.0.1:{peer.port}", "7001", "--ring-timeout", "30",
        "--timeout", f"{TIMEOUT:g}", "--json", password="peer-test-pass",
    )  # fmt: skip
    run.wait_until(lambda: peer.requests_of("INVITE"), "the INVITE at the peer")
    run.signal(signal.SIGINT)
    status, elapsed = run.finish(BOUND + 5)
    assert status == 130, run.stderr()
    assert elapsed <= BOUND, elapsed
    document = run.report()
    assert document["interrupted"] is True
    kinds = [c["kind"] for c in document["checks"] if c["kind"] != "preflight"]
    assert kinds == ["register", "call", "unregister"], kinds
    call = next(c for c in document["checks"] if c["kind"] == "call")
    assert call["answered"] is False and call["cancelled_by_us"] is True
    assert [r.method for r in peer.requests] == ["REGISTER", "INVITE", "REGISTER"]
    bind, unbind = peer.requests_of("REGISTER")
    assert unbind.header("expires") == "0"
    assert unbind.header("contact") == bind.header("contact")


def test_second_sigint_while_ringing_exits_at_once_skipping_the_clean_up(sip_peer, start):
    # The server rings and never answers the CANCEL: the clean-up waits for the INVITE
    # to end (at most INTERRUPTED_WAIT_S after the first signal). The second Ctrl-C
    # does not wait. It is sent as soon as the CANCEL shows the first was handled: the
    # clean-up's bounded wait is the only window, and a loaded machine must not miss it.
    peer = sip_peer("udp", [ok(), respond(180), silence(), ok(), ok()])
    run = start(
        "call", f"1004@127.0.0.1:{peer.port}", "7001", "--ring-timeout", "30",
        "--timeout", "10", "--json", password="peer-test-pass",
    )  # fmt: skip
    run.wait_until(lambda: peer.requests_of("INVITE"), "the INVITE at the peer")
    run.signal(signal.SIGINT)
    run.wait_until(lambda: peer.requests_of("CANCEL"), "the CANCEL at the peer")
    run.signal(signal.SIGINT)
    status, elapsed = run.finish(15)
    assert status == 130, run.stderr()
    assert "Stopping: cleaning up" in run.stderr()  # the first signal's notice
    assert elapsed <= AT_ONCE, elapsed
    assert "Traceback" not in run.stderr()
    assert run.stdout() == ""  # out at once: no report, never half an object
    # The clean-up was skipped: no un-REGISTER (this peer forgets the binding anyway).
    assert len(peer.requests_of("REGISTER")) == 1


# -- ringing and talking, against the lab ----------------------------------------------


@pytest.mark.parametrize(("signum", "expected"), SIGNALS)
def test_signal_while_ringing_cancels_and_unregisters_its_own_contact(
    lab, lab_users, lab_log, start, tmp_path, signum, expected
):
    trace = tmp_path / "ringing.sip"
    run = start(
        "call", lab_target(lab, CLEAN_USER), "7001", "--ring-timeout", "30",
        "--timeout", f"{TIMEOUT:g}", "--json", "--trace", str(trace),
        password=password_of(lab_users, CLEAN_USER),
    )  # fmt: skip

    def ringing() -> bool:
        # The authenticated INVITE arrived and the lab relayed it to its ringing leg.
        invites = lab_log.requests("INVITE", CLEAN_USER)
        return any("auth=yes" in line for line in invites) and len(invites) > len(
            from_client(invites, lab)
        )

    run.wait_until(ringing, "ringing at the lab")
    run.signal(signum)
    status, elapsed = run.finish(BOUND + 5)
    assert status == expected, run.stderr()
    assert elapsed <= BOUND, elapsed
    document = run.report()
    assert document["interrupted"] is True
    call = next(c for c in document["checks"] if c["kind"] == "call")
    assert call["cancelled_by_us"] is True
    assert call["answered"] is False
    assert call["response"]["code"] == 487
    assert from_client(lab_log.requests("CANCEL", CLEAN_USER), lab), lab_log.text()
    assert not lab_log.requests("BYE", CLEAN_USER)
    assert_own_contact_unregistered(trace, document)
    assert lab.bindings(CLEAN_USER) == []


@pytest.mark.parametrize(("signum", "expected"), SIGNALS)
def test_signal_while_talking_hangs_up_with_bye_and_unregisters_its_own_contact(
    lab, lab_users, lab_log, start, tmp_path, signum, expected
):
    trace = tmp_path / "talking.sip"
    run = start(
        "call", lab_target(lab, CLEAN_USER), "7000", "--talk", "30",
        "--timeout", f"{TIMEOUT:g}", "--json", "--trace", str(trace),
        password=password_of(lab_users, CLEAN_USER),
    )  # fmt: skip
    run.wait_until(lambda: lab_log.requests("ACK", CLEAN_USER), "the ACK of the answered call")
    run.signal(signum)
    status, elapsed = run.finish(BOUND + 5)
    assert status == expected, run.stderr()
    assert elapsed <= BOUND, elapsed
    document = run.report()
    assert document["interrupted"] is True
    call = next(c for c in document["checks"] if c["kind"] == "call")
    assert call["answered"] is True
    assert call["hangup"] == "us"
    assert call["talk_seconds"] < 30
    assert from_client(lab_log.requests("BYE", CLEAN_USER), lab), lab_log.text()
    assert not lab_log.requests("CANCEL", CLEAN_USER)
    assert_own_contact_unregistered(trace, document)
    assert lab.bindings(CLEAN_USER) == []


# -- a second Ctrl-C and SIGKILL: no clean-up, and the next run must not care --------


def test_two_quick_sigints_while_ringing_exit_130_at_once(
    lab, lab_users, lab_log, start, killed_user_cleanup
):
    run = start(
        "call", lab_target(lab, KILLED_USER), "7001", "--ring-timeout", "30",
        "--timeout", f"{TIMEOUT:g}", "--json",
        password=password_of(lab_users, KILLED_USER),
    )  # fmt: skip
    run.wait_until(
        lambda: [line for line in lab_log.requests("INVITE", KILLED_USER) if "auth=yes" in line],
        "the authenticated INVITE at the lab",
    )
    run.signal(signal.SIGINT)
    run.process.send_signal(signal.SIGINT)
    status, elapsed = run.finish(BOUND + 5)
    assert status == 130, run.stderr()
    assert elapsed <= AT_ONCE, elapsed
    assert "Traceback" not in run.stderr()
    stdout = run.stdout()
    if stdout:  # both signals may land as one (the clean-up then ran, and is fast here)
        assert json.loads(stdout)["interrupted"] is True
    # What it left (a binding, an INVITE the lab ends with 408) is removed by the fixture.
    left = lab.bindings(KILLED_USER)
    print(
        f"two SIGINTs while ringing: exit 130 after {elapsed:.3f} s, "
        f"{'a report' if stdout else 'no report'}, CANCEL sent: "
        f"{bool(from_client(lab_log.requests('CANCEL', KILLED_USER), lab))}, "
        f"bindings left: {left}"
    )


def test_sigkill_while_talking_then_a_rerun_starts_clean(
    lab, lab_users, lab_log, start, killed_user_cleanup
):
    password = password_of(lab_users, KILLED_USER)
    killed = start(
        "call", lab_target(lab, KILLED_USER), "7000", "--talk", "30",
        "--timeout", f"{TIMEOUT:g}", "--json",
        password=password,
    )  # fmt: skip
    killed.wait_until(lambda: lab_log.requests("ACK", KILLED_USER), "the ACK of the answered call")
    killed.signal(signal.SIGKILL)
    status, _ = killed.finish(5)
    assert status == -signal.SIGKILL
    assert killed.stdout() == ""
    # No clean-up ran: the lab still holds the killed run's contact (it would expire
    # after the 300 s siptest asks for).
    stale = lab.bindings(KILLED_USER)
    assert len(stale) == 1, stale

    rerun = start(
        "register", lab_target(lab, KILLED_USER), "--json", "--timeout", f"{TIMEOUT:g}",
        password=password,
    )  # fmt: skip
    status, elapsed = rerun.finish(BOUND * 2)
    assert status == 0, rerun.stdout() + rerun.stderr()
    document = rerun.report()
    assert document["ok"] is True
    assert not document.get("interrupted")
    register = next(c for c in document["checks"] if c["kind"] == "register")
    assert register["response"]["code"] == 200
    assert next(c for c in document["checks"] if c["kind"] == "unregister")["ok"] is True
    # The rerun removed its own contact and left the stale one alone (never `Contact: *`).
    assert register["contact"] not in [f"<{c}>" for c in lab.bindings(KILLED_USER)]
    assert lab.bindings(KILLED_USER) == stale
    print(
        f"SIGKILL while talking: stale binding {stale} kept by the lab; rerun exit 0 "
        f"in {elapsed:.2f} s with contact {register['contact']}, removed by its own un-REGISTER"
    )
