"""`siptest register` and `call` find the server as a phone does (RFC 3263), against a real
DNS server (Knot, the `dns_lab` fixture) whose records point at the lab and at dead ports."""

from __future__ import annotations

import socket

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.timeout(90)]

PASSWORD = "lab-1001-pass"


def register(siptest, dns_lab, target: str, *extra: str, password: str = PASSWORD):
    args = ["register", target, "--dns-server", str(dns_lab.server), "--json", *extra]
    return siptest(*args, password=password)


def test_a_dead_first_target_fails_over_to_the_next_as_a_phone_does(siptest, lab, dns_lab):
    result = register(siptest, dns_lab, "1001@failover.test")
    assert result.status == 0, result.stdout + result.stderr
    resolution = result.check("resolution")
    assert resolution["ok"] is True
    tried = resolution["failover"]["tried"]
    assert [(t["host"], t["port"], t["failover"]) for t in tried] == [
        ("dead.failover.test", dns_lab.ports.dead, "transport_error"),
        ("lab.failover.test", lab.sip_port, None),
    ]
    assert resolution["failover"]["final"] == f"127.0.0.1:{lab.sip_port}"
    assert "moved on to the next one" in resolution["diagnosis"]["explanation"]
    assert resolution["diagnosis"]["severity"] == "warning"
    register_check = result.check("register")
    assert register_check["target"] == "sip:1001@failover.test"  # the AOR keeps the domain
    assert register_check["transport"] == "udp"  # NAPTR's first SIP service
    assert lab.bindings("1001") == []


def test_the_text_report_shows_the_records_and_the_targets_tried(siptest, lab, dns_lab):
    result = siptest(
        "register", "1001@failover.test", "--dns-server", str(dns_lab.server), password=PASSWORD
    )
    assert result.status == 0, result.stdout + result.stderr
    # a warning: the first server listed is down (a device that does not fail over fails)
    assert "[WARN] Server lookup (DNS) failover.test" in result.stdout
    assert "not every server listed works" in result.stdout
    assert "Record:" in result.stdout and "_sip._udp.failover.test" in result.stdout
    assert f"dead.failover.test 127.0.0.1:{dns_lab.ports.dead} over udp: moved on" in (
        " ".join(result.stdout.split())
    )


def test_an_explicit_port_skips_naptr_and_srv(siptest, lab, dns_lab):
    # RFC 3263 4.2: with a port, only A/AAAA; failover.test's own A record is 127.0.0.3,
    # where nothing listens: the SRV records that lead to the lab are not used.
    result = register(siptest, dns_lab, f"1001@failover.test:{lab.sip_port}")
    assert result.status == 1, result.stdout + result.stderr
    records = result.check("resolution")["resolution"]["records"]
    assert {r["type"] for r in records} <= {"A", "AAAA"}
    assert result.check("register")["response"]["local_cause"] == "unreachable"


def test_an_explicit_transport_asks_its_srv_only(siptest, lab, dns_lab):
    result = register(siptest, dns_lab, "1001@failover.test", "-t", "tcp")
    assert result.status == 0, result.stdout + result.stderr
    records = result.check("resolution")["resolution"]["records"]
    assert [r["name"] for r in records if r["type"] == "SRV"] == ["_sip._tcp.failover.test"]
    assert not [r for r in records if r["type"] == "NAPTR"]
    assert result.check("register")["transport"] == "tcp"


def test_a_wrong_password_is_an_answer_not_a_reason_to_fail_over(siptest, lab, dns_lab, lab_log):
    result = register(siptest, dns_lab, "1001@failover.test", password="not-the-password")
    assert result.status == 1
    assert result.check("register")["diagnosis"]["id"] == "credentials.password_invalid"
    assert len(result.check("resolution")["failover"]["tried"]) == 2  # dead, then the lab
    assert len(lab_log.requests("REGISTER", "1001")) == 2  # one try with credentials


@pytest.mark.parametrize(
    ("name", "diagnosis"),
    [
        ("nosuch.test", "dns.no_such_name"),
        ("norecords.test", "dns.no_records"),
        ("allbroken.test", "dns.targets_without_address"),
    ],
)
def test_each_dns_failure_is_its_own_diagnosis_and_nothing_is_sent(
    siptest, lab, dns_lab, lab_log, name, diagnosis
):
    result = register(siptest, dns_lab, f"1001@{name}")
    assert result.status == 1, result.stdout + result.stderr
    (check,) = result.json["checks"]
    assert (check["kind"], check["ok"]) == ("resolution", False)
    assert check["diagnosis"]["id"] == diagnosis
    assert name in check["diagnosis"]["explanation"]
    assert lab_log.requests("REGISTER") == []


def test_a_silent_dns_server_is_named_and_the_wait_is_bounded(siptest, lab):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        result = siptest(
            "register", "1001@failover.test", "--dns-server", f"127.0.0.1:{port}",
            "--timeout", "1", "--json", password=PASSWORD,
        )  # fmt: skip
    assert result.status == 1, result.stdout + result.stderr
    check = result.check("resolution")
    assert check["diagnosis"]["id"] == "dns.server_silent"
    assert f"127.0.0.1:{port}" in check["diagnosis"]["explanation"]


def test_one_srv_target_without_address_is_a_warning_when_another_works(siptest, lab, dns_lab):
    result = register(siptest, dns_lab, "1001@halfbroken.test")
    assert result.status == 0, result.stdout + result.stderr
    check = result.check("resolution")
    assert check["ok"] is True
    assert check["diagnosis"]["id"] == "dns.target_without_address"
    assert "noaddr.halfbroken.test" in check["diagnosis"]["explanation"]
    assert "lab.halfbroken.test" in check["diagnosis"]["fix"]


def test_tls_by_srv_checks_the_certificate_against_the_domain(siptest, lab, dns_lab):
    # RFC 5922 4.2: the name checked is the domain asked for (failover.test), not the
    # SRV target nor the address; the lab's certificate does not name it: refused, and
    # no password was sent.
    result = register(
        siptest, dns_lab, "1001@failover.test", "-t", "tls", "--tls-ca", str(lab.ca_file)
    )
    assert result.status == 1, result.stdout + result.stderr
    check = result.check("register")
    assert check["response"]["local_cause"] == "tls"
    assert "failover.test" in check["response"]["detail"]
    assert check["credentials_sent"] is False


def test_tls_by_srv_to_a_certificate_that_names_the_domain_registers(
    siptest, lab, dns_lab, lab_log
):
    # The twin of the test above: the lab's certificate names tls.test, whose SRV record
    # leads to the lab's TLS port: the name check passes, and the account registers.
    result = register(siptest, dns_lab, "1001@tls.test", "-t", "tls", "--tls-ca", str(lab.ca_file))
    assert result.status == 0, result.stdout + result.stderr
    resolution = result.check("resolution")["resolution"]
    assert resolution["tls_server_name"] == "tls.test"
    assert [(t["port"], t["transport"]) for t in resolution["targets"]] == [(lab.tls_port, "tls")]
    check = result.check("register")
    assert (check["ok"], check["transport"], check["target"]) == (True, "tls", "sip:1001@tls.test")
    assert len(lab_log.requests("REGISTER", "1001")) == 4  # challenge, 200, un-REGISTER x2
    assert lab.bindings("1001") == []


def test_a_call_through_dns_is_answered(siptest, lab, dns_lab, lab_log):
    result = siptest(
        "call", "1001@failover.test", "7000", "--dns-server", str(dns_lab.server), "--json",
        password=PASSWORD,
    )  # fmt: skip
    assert result.status == 0, result.stdout + result.stderr
    assert result.check("call")["answered"] is True
    assert lab_log.requests("BYE")
    assert lab.bindings("1001") == []
