"""IPv6 servers ([::1]) from the command line and scenarios: registration as over IPv4;
calls are siptest's limit (its pjsua2 wheel has no IPv6 media), said before any packet."""

from __future__ import annotations

import socket

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.timeout(90)]

PASSWORD = "lab-1001-pass"


def target(lab, transport: str) -> str:
    port = lab.tls_port if transport == "tls" else lab.sip_port
    return f"1001@[::1]:{port}"


def tls_args(lab, transport: str) -> list[str]:
    return ["--tls-ca", str(lab.ca_file)] if transport == "tls" else []


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_register_to_an_ipv6_server_passes_and_leaves_nothing(siptest, lab, lab_log, transport):
    result = siptest(
        "register", target(lab, transport), "-t", transport, *tls_args(lab, transport), "--json",
        password=PASSWORD,
    )  # fmt: skip
    assert result.status == 0, result.stdout + result.stderr
    register = result.check("register")
    assert register["target"] == f"sip:{target(lab, transport)}"
    assert register["response"]["code"] == 200
    assert register["via_received"] == "::1"
    assert all(f"proto={transport} src=::1:" in line for line in lab_log.requests("REGISTER"))
    assert lab.bindings("1001") == []


def test_a_wrong_password_over_ipv6_is_the_same_diagnosis(siptest, lab):
    result = siptest("register", target(lab, "udp"), "--json", password="not-the-password")
    assert result.status == 1
    assert result.check("register")["diagnosis"]["id"] == "credentials.password_invalid"


def test_a_call_through_an_ipv6_server_is_siptests_limit_before_any_packet(siptest, lab, lab_log):
    result = siptest("call", target(lab, "udp"), "7000", "--json", password=PASSWORD)
    assert result.status == 3, result.stdout + result.stderr
    message = result.json["error"]["message"]
    assert "This is a limit of siptest, not of the server" in message
    assert "carries audio over IPv4 only" in message
    assert lab_log.requests("REGISTER") == [] and lab_log.requests("INVITE") == []


def scenario(tmp_path, lab, steps: str):
    path = tmp_path / "v6.sip.yaml"
    path.write_text(
        "accounts:\n"
        f"  a: {{user: '1001', host: '[::1]:{lab.sip_port}', password_env: V6_PASSWORD}}\n"
        f"steps:\n{steps}"
    )
    return path


def test_a_scenario_registers_over_ipv6(siptest, lab, tmp_path):
    path = scenario(tmp_path, lab, "  - register\n  - unregister\n")
    result = siptest("run", str(path), "--json", env={"V6_PASSWORD": PASSWORD})
    assert result.status == 0, result.stdout + result.stderr
    assert lab.bindings("1001") == []


def test_a_scenario_that_calls_through_an_ipv6_server_cannot_run(siptest, lab, lab_log, tmp_path):
    path = scenario(tmp_path, lab, "  - register\n  - call: 7000\n")
    result = siptest("run", str(path), "--json", env={"V6_PASSWORD": PASSWORD})
    assert result.status == 3, result.stdout + result.stderr
    assert "carries audio over IPv4 only" in result.stdout
    assert lab_log.requests("REGISTER") == []


# -- nothing listening over IPv6, or a server that stays silent ----------------------------


def test_a_closed_udp_port_over_ipv6_says_nothing_is_listening(siptest):
    # ICMPv6 port unreachable, as ICMP over IPv4: not the server's silence after 5 s
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        sock.bind(("::1", 0))
        port = sock.getsockname()[1]
    result = siptest(
        "register", f"1001@[::1]:{port}", "--timeout", "5", "--json", password=PASSWORD
    )
    assert result.status == 1, result.stdout + result.stderr
    register = result.check("register")
    assert (register["response"]["local_cause"], register["diagnosis"]["id"]) == (
        "unreachable",
        "network.unreachable",
    )


def test_a_silent_udp_server_over_ipv6_is_still_no_answer(siptest):
    # The twin: something listens on [::1] and never answers; its silence is no ICMP.
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        sock.bind(("::1", 0))
        port = sock.getsockname()[1]
        result = siptest(
            "register", f"1001@[::1]:{port}", "--timeout", "1", "--json", password=PASSWORD
        )
        sock.settimeout(5)
        heard, _ = sock.recvfrom(4096)  # the REGISTER (or the probe's keep-alive) came
    assert result.status == 1, result.stdout + result.stderr
    register = result.check("register")
    assert (register["response"]["local_cause"], register["diagnosis"]["id"]) == (
        "timeout",
        "network.no_response",
    )
    assert heard
