"""Firewalls, each with its own sentence: one that drops TCP (no RST, no ICMP), one on the
way that rejects with ICMP "administratively prohibited", this machine's own policy that
refuses to send; against a refused port, and a server that accepts the connection and
then says nothing.

The firewalls run in a network namespace of their own (`unshare --net`, nftables in it:
tests/integration/netns_firewall.py), so no rule ever touches this machine's network.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sippeer import ok, silence

pytestmark = [pytest.mark.lab, pytest.mark.timeout(120)]

HERE = Path(__file__).resolve().parent


def behind_a_firewall(mode: str, trace: Path) -> dict:
    """siptest against the lab through one firewall (`netns_firewall.py MODE`)."""
    if shutil.which("nft") is None:
        pytest.fail("nftables is not installed: apt-get install nftables (./dev does it)")
    done = subprocess.run(
        ["unshare", "--net", sys.executable, str(HERE / "netns_firewall.py"), mode, str(trace)],
        capture_output=True, text=True, timeout=100, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def registered(results: dict, name: str) -> dict:
    return next(c for c in results[name]["report"]["checks"] if c["kind"] == "register")


def test_a_tcp_connection_nothing_answers_is_never_sent_and_said_so(tmp_path):
    trace = tmp_path / "tcp.trace"
    results = behind_a_firewall("drop", trace)
    tcp = registered(results, "tcp")
    assert results["tcp"]["status"] == 1
    assert (tcp["response"]["local_cause"], tcp["diagnosis"]["id"]) == (
        "no_connection",
        "network.no_connection",
    )
    assert "never left this machine" in tcp["diagnosis"]["explanation"]
    assert (tcp["requests_sent"], tcp["credentials_sent"]) == (0, False)
    # the trace shows the REGISTER the stack was handed, and that it never left
    assert "NOT SENT: its connection was never set up" in trace.read_text()
    # the same server over UDP (not dropped) registers: it is the firewall, not the account
    udp = registered(results, "udp")
    assert udp["ok"] is True
    # over TLS no certificate was ever seen: not a certificate problem
    tls = registered(results, "tls")
    assert (tls["response"]["local_cause"], tls["diagnosis"]["id"]) == (
        "no_connection",
        "tls.no_connection",
    )
    assert "or to the TLS handshake" in tls["response"]["detail"]
    assert (tls["requests_sent"], tls["credentials_sent"]) == (0, False)
    steps = {step["name"]: step for step in results["doctor"]["report"]["steps"]}
    assert (steps["udp"]["ok"], steps["tcp"]["ok"]) == (True, False)
    assert "no answer to the connection attempt" in steps["tcp"]["summary"]
    assert results["bindings"] == []


def test_a_firewall_on_the_way_that_rejects_is_named(tmp_path):
    # ICMP "administratively prohibited": over UDP pjsip ignores it (siptest's probe does
    # not), over TCP the connection fails with "No route to host". Not silence, not a
    # server: the network said no.
    results = behind_a_firewall("reject", tmp_path / "unused.trace")
    for name in ("udp", "tcp", "udp6"):
        check = registered(results, name)
        assert results[name]["status"] == 1
        assert (check["response"]["local_cause"], check["diagnosis"]["id"]) == (
            "no_route",
            "network.no_route",
        ), name
        assert check["credentials_sent"] is False
    # an INVITE sent without registering (nothing found the firewall before it): not
    # the server's silence after the 5 s timeout either
    call = next(c for c in results["call"]["report"]["checks"] if c["kind"] == "call")
    assert results["call"]["status"] == 1
    assert (call["response"]["local_cause"], call["diagnosis"]["id"]) == (
        "no_route",
        "network.no_route",
    )
    assert results["bindings"] == []


def test_this_machines_own_firewall_is_named(tmp_path):
    # The output hook: the kernel refuses to send (EPERM) - not the network, not the server
    trace = tmp_path / "udp.trace"
    results = behind_a_firewall("local", trace)
    check = registered(results, "udp")
    assert results["udp"]["status"] == 1
    assert (check["response"]["local_cause"], check["diagnosis"]["id"]) == (
        "blocked_here",
        "network.blocked_here",
    )
    assert "Nothing left this computer" in check["diagnosis"]["explanation"]
    assert (check["requests_sent"], check["credentials_sent"]) == (0, False)
    # the trace shows the REGISTER the stack was handed, and that it never left
    assert "NOT SENT: the stack could not send it (Operation not permitted)" in (trace.read_text())


def test_a_server_that_accepts_the_connection_and_says_nothing_is_no_answer(sip_peer, siptest):
    # The twin: the connection comes up (the peer accepts it), the REGISTER goes out,
    # and nothing comes back: the server's silence, not a dropped connection.
    peer = sip_peer("tcp", [silence()])
    result = siptest(
        "register", f"1004@127.0.0.1:{peer.port}", "-t", "tcp", "--timeout", "1", "--json",
        password="peer-test-pass",
    )  # fmt: skip
    assert result.status == 1, result.stdout + result.stderr
    check = result.check("register")
    assert (check["response"]["local_cause"], check["diagnosis"]["id"]) == (
        "timeout",
        "network.no_response",
    )
    assert check["requests_sent"] == 1
    assert len(peer.requests_of("REGISTER")) == 1


def test_a_refused_tcp_connection_is_still_refused(sip_peer, siptest):
    peer = sip_peer("tcp", [ok()])
    port = peer.port
    peer.stop()  # nothing listens there now: the kernel answers RST
    result = siptest(
        "register", f"1004@127.0.0.1:{port}", "-t", "tcp", "--timeout", "1", "--json",
        password="peer-test-pass",
    )  # fmt: skip
    assert result.status == 1, result.stdout + result.stderr
    assert result.check("register")["response"]["local_cause"] == "refused"
