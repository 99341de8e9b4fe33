"""Hostile peers at siptest's contact (issues 10 and 11): the RFC 4475/5118 torture
messages and a burst of 500 INVITEs, while registered and idle and while in a call.

siptest must keep running, report correctly and leave nothing registered. The user
agent runs in its own process (pjsua2 aborts a process on misuse, never pytest's).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

DATA = Path(__file__).parent.parent / "data"
PASSWORD = "lab-1001-pass"


def torture_messages() -> list[bytes]:
    messages = [path.read_bytes() for path in sorted((DATA / "rfc4475").glob("*.dat"))]
    # RFC 5118's archive files have bare LF line ends: SIP wants CRLF.
    messages += [
        path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        for path in sorted((DATA / "rfc5118").glob("*.dat"))
    ]
    assert len(messages) == 61
    return messages


def invite(n: int, port: int) -> bytes:
    return (
        f"INVITE sip:1001@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-burst-{n}\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:burst@127.0.0.1>;tag=b\r\n"
        f"To: <sip:1001@127.0.0.1>\r\nCall-ID: burst-{n}@127.0.0.1\r\nCSeq: 1 INVITE\r\n"
        f"Contact: <sip:burst@127.0.0.1:9>\r\nContent-Type: application/sdp\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def send_all(port: int, datagrams: list[bytes]) -> None:
    """Send the datagrams to 127.0.0.1:port as fast as possible."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for data in datagrams:
            try:
                sock.sendto(data, ("127.0.0.1", port))
            except OSError:
                pass  # datagrams over 64 KB, or ICMP from an earlier send


def blast_while(
    port: int, datagrams: list[bytes], begin: threading.Event, stop: threading.Event
) -> threading.Thread:
    """Once `begin` is set, send the datagrams again every 0.5 s until `stop` is (at most
    4 rounds): the whole window, ringing and talking, whatever its timing."""

    def send() -> None:
        if not begin.wait(30):
            return
        for _ in range(4):
            send_all(port, datagrams)
            if stop.wait(0.5):
                return

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


AGENT = Path(__file__).parent / "hostile_agent.py"


def agent(*args: object, timeout: float = 60) -> list[dict[str, object]]:
    done = subprocess.run(
        [sys.executable, str(AGENT), *map(str, args)], capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def run_idle(lab, datagrams: list[bytes]) -> dict[str, object]:
    local = free_udp_port()
    process = subprocess.Popen(
        [sys.executable, str(AGENT), "idle", str(local), str(lab.sip_port), PASSWORD],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    assert json.loads(process.stdout.readline()) == {"ready": True}
    send_all(local, datagrams)  # it is registered and idle now
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    lines = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    assert lines[-1] == {"survived": True}, stdout + stderr
    return dict(lines[-2])


def test_500_invites_in_a_burst_while_idle_are_refused_and_siptest_survives(lab):
    port_probe = 0
    result = run_idle(lab, [invite(n, port_probe) for n in range(500)])
    assert result["registered"] is True
    assert result["removed"] is True
    # Every INVITE got siptest's own 486 before pjsua allocated anything for it.
    assert result["refused"] == result["requests"] and result["refused"] > 0
    assert lab.bindings("1001") == []


def test_the_rfc_4475_and_5118_messages_while_idle_leave_siptest_running(lab):
    result = run_idle(lab, torture_messages())
    assert result["registered"] is True
    assert result["removed"] is True
    assert lab.bindings("1001") == []


def run_call(siptest, lab, datagrams: list[bytes]):
    local = free_udp_port()
    begin, stop = threading.Event(), threading.Event()
    sender = blast_while(local, datagrams, begin, stop)

    def watch_registration() -> None:
        # Begin once the lab holds siptest's binding: the call follows at once.
        deadline = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < deadline:
            if lab.bindings("1001"):
                begin.set()
                return
            stop.wait(0.05)

    watcher = threading.Thread(target=watch_registration, daemon=True)
    watcher.start()
    try:
        result = siptest(
            "call", f"1001@127.0.0.1:{lab.sip_port}", "7000", "--talk", "3", "--json",
            "--local-port", str(local), password=PASSWORD, timeout=60,
        )  # fmt: skip
    finally:
        stop.set()
        watcher.join(timeout=10)
        sender.join(timeout=10)
    assert begin.is_set(), "siptest never registered: nothing was sent at it"
    return result


@pytest.mark.parametrize("what", ["burst", "torture"])
def test_hostile_messages_during_a_call_leave_a_correct_report(siptest, lab, what):
    datagrams = [invite(n, 0) for n in range(500)] if what == "burst" else torture_messages()
    result = run_call(siptest, lab, datagrams)
    assert "Traceback" not in result.stderr
    assert result.status == 0, result.stdout + result.stderr
    call = result.check("call")
    assert call["answered"] is True
    assert call["response"]["code"] == 200
    assert lab.bindings("1001") == []


def test_a_callback_that_raises_stops_the_run_instead_of_passing_as_a_timeout(lab):
    (result,) = agent("broken-callback", lab.sip_port, PASSWORD)
    assert result == {
        "stopped": "siptest hit an internal error in on_rx_response (RuntimeError: boom) and "
        "stopped instead of reporting a result it cannot trust. Please report it with the "
        "trace."
    }
    assert lab.bindings("1001") == []


def test_core_dumps_are_off_while_the_password_is_in_memory():
    (result,) = agent("core-dumps")
    assert result == {"rlimit_core": [0, 0], "dumpable": 0}
