"""Which answers make siptest try the next server (as a phone does), and what it looks up."""

from __future__ import annotations

import pytest

from siptest.analysis.model import Check, Report
from siptest.registration import CheckRun
from siptest.resolution import FailoverCause
from siptest.routing import failover_cause, needs_dns
from siptest.ua.base import Response


def run(code: int | None, origin: str = "remote", cause: str | None = None, status=None):
    response = Response("REGISTER", code, "x", origin, 0.0, local_cause=cause)
    check = Check(kind="register", ok=False, diagnosis=None, response=response)
    preflight = Check(kind="preflight", ok=True, diagnosis=None)
    return CheckRun(Report(checks=(preflight, check)), (), status)


@pytest.mark.parametrize(
    ("result", "cause"),
    [
        (run(503), FailoverCause.SERVICE_UNAVAILABLE),
        (run(408, "none", "timeout"), FailoverCause.TIMEOUT),
        (run(503, "none", "refused"), FailoverCause.TRANSPORT_ERROR),
        (run(503, "none", "unreachable"), FailoverCause.TRANSPORT_ERROR),
        (run(503, "none", "transport"), FailoverCause.TRANSPORT_ERROR),
        # a TCP or TLS connection nothing answered: the request never left
        (run(408, "none", "no_connection"), FailoverCause.TRANSPORT_ERROR),
        # a router or firewall on the way to this target rejected it
        (run(503, "none", "no_route"), FailoverCause.TRANSPORT_ERROR),
        # answers: the server spoke, a phone would not try elsewhere
        (run(200), None),
        (run(401), None),
        (run(403), None),
        (run(500), None),
        (run(408), None),  # the server's own 408 is its answer
        (run(503, "local", "limit"), None),  # siptest stopped a loop: not the next server
        # a TLS handshake that fails (certificate included) is a transport failure
        # (RFC 3263 4.3); nothing was sent, so the next server is tried
        (run(503, "none", "tls"), FailoverCause.TRANSPORT_ERROR),
        (run(503, "none", "not_tls"), FailoverCause.TRANSPORT_ERROR),
        # siptest's own TLS limit is no fault of that server: said, not skipped
        (run(503, "none", "tls_version"), None),
        # interrupted by the user: stop, whatever the answer
        (run(408, "none", "timeout", status=130), None),
    ],
)
def test_failover_cause(result, cause):
    assert failover_cause(result) is cause


def test_a_run_that_sent_nothing_has_no_cause():
    assert failover_cause(CheckRun(Report(checks=()), ())) is None


@pytest.mark.parametrize(
    ("host", "looked_up"),
    [
        ("sip.example.test", True),
        ("example.test.", True),
        ("127.0.0.1", False),
        ("::1", False),
        ("2001:db8::1", False),
        ("localhost", False),
        ("LOCALHOST.", False),
        ("pbx.localhost", False),  # RFC 6761 6.3: never asked of DNS
        ("localhost.example.test", True),
    ],
)
def test_what_siptest_looks_up_itself(host, looked_up):
    assert needs_dns(host) is looked_up


def test_tls_to_an_address_found_in_dns_checks_the_domain_name():
    from siptest.routing import tls_for
    from siptest.ua.base import AccountSpec, TlsSettings

    def account(registrar: str, transport: str) -> AccountSpec:
        return AccountSpec("1001", "sip.example.test", registrar, 5061, transport, "1001", "pw")

    tls = TlsSettings()
    # the address DNS gave: the certificate must name the domain (RFC 5922 4.2)
    assert tls_for(account("192.0.2.7", "tls"), tls, "sip.example.test").server_name == (
        "sip.example.test"
    )
    # twins: no TLS; an address typed by the user; the name itself given to the stack
    assert tls_for(account("192.0.2.7", "udp"), tls, "sip.example.test") == tls
    assert tls_for(account("192.0.2.7", "tls"), tls, "192.0.2.7") == tls
    assert tls_for(account("localhost", "tls"), tls, "localhost") == tls


def test_a_call_leaves_ipv6_targets_out_while_an_ipv4_one_remains():
    # siptest's stack carries audio over IPv4 only: a dual-stack server's IPv6 address
    # must not end the failover with siptest's limit while another server is left
    from siptest.knowledge import load_knowledge
    from siptest.resolution import Resolution, ResolvedTarget
    from siptest.routing import routed_run

    targets = (
        ResolvedTarget("a.example.test", "192.0.2.10", 5060, "udp", "srv"),
        ResolvedTarget("a.example.test", "2001:db8::10", 5060, "udp", "srv"),
        ResolvedTarget("b.example.test", "192.0.2.20", 5060, "udp", "srv"),
    )
    resolution = Resolution("example.test", "example.test", "test", (), targets)
    tried: list[str] = []

    def attempt(target):
        tried.append(target.address)
        return run(408, "none", "timeout") if target.address == "192.0.2.10" else run(200)

    routed_run(resolution, load_knowledge(), attempt, calls=True)
    assert tried == ["192.0.2.10", "192.0.2.20"]
    tried.clear()
    routed_run(resolution, load_knowledge(), attempt)  # registration reaches IPv6 too
    assert tried == ["192.0.2.10", "2001:db8::10"]
