"""`siptest run` finds a scenario's servers as `siptest register` does (RFC 3263), against a
real DNS server (Knot, the `dns_lab` fixture) whose records point at the lab and at dead
ports. Before, the SIP stack looked the name up itself (A/AAAA only): failover.test's own
A record is 127.0.0.3, where nothing listens, so a scenario reported a dead server where
a phone, reading SRV, reaches the lab."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.timeout(120)]

ACCOUNT = """\
  {name}:
    user: "{user}"
    host: {host}
    password_env: {env}
    transport: {transport}
"""


def scenario(
    tmp_path: Path, body: str, *accounts: tuple[str, str, str, str], transport: str = "udp"
) -> Path:
    text = "name: dns\n" + body + "accounts:\n"
    for name, user, host, env in accounts:
        text += ACCOUNT.format(name=name, user=user, host=host, env=env, transport=transport)
    path = tmp_path / "dns.sip.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def run(siptest, dns_lab, path: Path, lab_users, *extra: str):
    passwords = {u.username: u.password for u in lab_users}
    env = {"PW_1001": passwords["1001"], "PW_1002": passwords["1002"]}
    return siptest("run", str(path), "--dns-server", str(dns_lab.server), "--json", *extra, env=env)


def checks(result, kind: str) -> list[dict]:
    (run_json,) = result.json["scenarios"]
    return [check for check in run_json["checks"] if check["kind"] == kind]


def test_a_scenario_fails_over_from_the_dead_first_target_and_cleans_up(
    siptest, lab, dns_lab, lab_users, lab_log, tmp_path
):
    path = scenario(
        tmp_path,
        "steps:\n  - register: {account: a}\n  - register: {account: b}\n",
        ("a", "1001", "failover.test", "PW_1001"),
        ("b", "1002", "FailOver.Test.", "PW_1002"),  # the same server, written otherwise
    )
    result = run(siptest, dns_lab, path, lab_users)
    assert result.status == 0, result.stdout + result.stderr
    (resolution,) = checks(result, "resolution")  # one lookup for the one server
    assert resolution["ok"] is True
    assert [(t["host"], t["port"], t["failover"]) for t in resolution["failover"]["tried"]] == [
        ("dead.failover.test", dns_lab.ports.dead, "transport_error"),
        ("lab.failover.test", lab.sip_port, None),
    ]
    assert resolution["diagnosis"]["severity"] == "warning"
    registers = checks(result, "register")
    assert [(c["ok"], c["target"]) for c in registers] == [
        (True, "sip:1001@failover.test"),
        (True, "sip:1002@FailOver.Test."),  # the address of record as written
    ]
    # b went straight to the target that answered: the dead one was tried once, by a
    assert len(lab_log.requests("REGISTER", "1002")) == 4  # challenge, 200, un-REGISTER x2
    assert [c["ok"] for c in checks(result, "unregister")] == [True, True]
    assert lab.bindings("1001") == [] and lab.bindings("1002") == []


def test_a_name_that_does_not_exist_fails_the_scenario_before_anything_is_sent(
    siptest, lab, dns_lab, lab_users, lab_log, tmp_path
):
    path = scenario(tmp_path, "steps:\n  - register\n", ("a", "1001", "nosuchname.test", "PW_1001"))
    result = run(siptest, dns_lab, path, lab_users)
    assert result.status == 1, result.stdout + result.stderr
    (run_json,) = result.json["scenarios"]
    assert run_json["status"] == "failed"
    (resolution,) = checks(result, "resolution")
    assert (resolution["ok"], resolution["diagnosis"]["id"]) == (False, "dns.no_such_name")
    assert checks(result, "register") == []
    assert lab_log.requests("REGISTER", "1001") == []


def test_the_text_report_names_the_lookup_that_failed(siptest, lab, dns_lab, lab_users, tmp_path):
    path = scenario(tmp_path, "steps:\n  - register\n", ("a", "1001", "nosuchname.test", "PW_1001"))
    passwords = {u.username: u.password for u in lab_users}
    result = siptest(
        "run", str(path), "--dns-server", str(dns_lab.server), env={"PW_1001": passwords["1001"]}
    )
    assert result.status == 1, result.stdout + result.stderr
    assert "[FAIL] Server lookup (DNS) nosuchname.test" in result.stdout
    assert "FAIL dns: looking up nosuchname.test failed, so nothing was sent; 1 step not run." in (
        result.stdout
    )


def test_a_call_from_an_account_found_in_dns_reaches_the_lab(
    siptest, lab, dns_lab, lab_users, tmp_path
):
    path = scenario(
        tmp_path,
        "steps:\n  - register\n  - call: {number: '7000', talk: 1}\n    expect: {answered: true}\n",
        ("a", "1001", "failover.test", "PW_1001"),
    )
    result = run(siptest, dns_lab, path, lab_users)
    assert result.status == 0, result.stdout + result.stderr
    (call,) = checks(result, "call")
    assert call["ok"] is True and call["target"] == "sip:7000@failover.test"
    assert lab.bindings("1001") == []


def test_a_call_from_an_account_that_did_not_register_fails_over_as_siptest_call_does(
    siptest, lab, dns_lab, lab_users, lab_log, tmp_path
):
    # No register step: the first request to failover.test is the INVITE, and its first
    # target is dead. A phone (and `siptest call --no-register`) moves on to the next
    # target; the account then stays at the one that answered, so the second call goes
    # straight there (a second try at the dead target would fail it: no more failover).
    # Nothing listens at the dead target: ICMP port unreachable says so at once (a
    # transport error, as for a REGISTER), not the INVITE's timeout.
    call = "  - call: {account: a, number: '7000', talk: 1}\n    expect: {answered: true}\n"
    path = scenario(
        tmp_path, "timeout: 2\nsteps:\n" + call + call, ("a", "1001", "failover.test", "PW_1001")
    )
    result = run(siptest, dns_lab, path, lab_users)
    assert result.status == 0, result.stdout + result.stderr
    (resolution,) = checks(result, "resolution")
    assert [(t["host"], t["failover"]) for t in resolution["failover"]["tried"]] == [
        ("dead.failover.test", "transport_error"),
        ("lab.failover.test", None),
    ]
    assert [(c["ok"], c["answered"]) for c in checks(result, "call")] == [(True, True)] * 2
    assert checks(result, "register") == []
    assert lab.bindings("1001") == []


def test_a_tls_scenario_checks_the_certificate_against_the_domain(
    siptest, lab, dns_lab, lab_users, lab_log, tmp_path
):
    # _sips._tcp.failover.test leads to the lab's TLS port, whose certificate does not
    # name failover.test (RFC 5922): refused before the REGISTER, never a pass.
    path = scenario(
        tmp_path,
        f"tls_ca: {lab.ca_file}\nsteps:\n  - register\n",
        ("a", "1001", "failover.test", "PW_1001"),
        transport="tls",
    )
    result = run(siptest, dns_lab, path, lab_users)
    assert result.status == 1, result.stdout + result.stderr
    (register,) = checks(result, "register")
    assert register["ok"] is False
    assert register["response"]["local_cause"] == "tls"
    assert "failover.test" in register["response"]["detail"]
    assert register["credentials_sent"] is False
    assert lab_log.requests("REGISTER", "1001") == []


def test_a_tls_scenario_at_a_domain_its_certificate_names_passes(
    siptest, lab, dns_lab, lab_users, tmp_path
):
    path = scenario(
        tmp_path,
        f"tls_ca: {lab.ca_file}\nsteps:\n  - register: {{account: a}}\n"
        "  - register: {account: b}\n",
        ("a", "1001", "tls.test", "PW_1001"),
        ("b", "1002", "TLS.test", "PW_1002"),
        transport="tls",
    )
    result = run(siptest, dns_lab, path, lab_users)
    assert result.status == 0, result.stdout + result.stderr
    (resolution,) = checks(result, "resolution")
    assert resolution["resolution"]["tls_server_name"] == "tls.test"
    assert [(c["ok"], c["transport"]) for c in checks(result, "register")] == [
        (True, "tls"),
        (True, "tls"),
    ]
    assert lab.bindings("1001") == [] and lab.bindings("1002") == []


def test_a_tls_scenario_at_a_domain_and_an_address_is_siptests_limit(
    siptest, lab, dns_lab, lab_users, tmp_path
):
    path = scenario(
        tmp_path,
        "steps:\n  - register: {account: a}\n",
        ("a", "1001", "failover.test", "PW_1001"),
        ("b", "1002", "127.0.0.1", "PW_1002"),
        transport="tls",
    )
    result = run(siptest, dns_lab, path, lab_users)
    assert result.status == 3, result.stdout + result.stderr
    (run_json,) = result.json["scenarios"]
    assert run_json["status"] == "error"
    assert "limit of siptest" in run_json["error"]


def test_a_tls_scenario_whose_lookup_failed_is_that_failure_not_siptests_limit(
    siptest, lab, dns_lab, lab_users, lab_log, tmp_path
):
    # b's name does not exist: that is the verdict (nothing is sent), not "b is elsewhere"
    path = scenario(
        tmp_path,
        f"tls_ca: {lab.ca_file}\nsteps:\n  - register: {{account: a}}\n",
        ("a", "1001", "tls.test", "PW_1001"),
        ("b", "1002", "nosuchname.test", "PW_1002"),
        transport="tls",
    )
    result = run(siptest, dns_lab, path, lab_users)
    assert result.status == 1, result.stdout + result.stderr
    (run_json,) = result.json["scenarios"]
    assert (run_json["status"], run_json["error"]) == ("failed", None)
    assert [(c["target"], c["ok"]) for c in checks(result, "resolution")] == [
        ("tls.test", True),
        ("nosuchname.test", False),
    ]
    assert lab_log.requests("REGISTER", "1001") == []
