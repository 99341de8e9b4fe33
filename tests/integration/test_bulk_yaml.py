"""`siptest bulk` reads a YAML accounts file as it reads a CSV one, against the real lab."""

from __future__ import annotations

import os

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.timeout(90)]


def test_a_yaml_accounts_file_checks_each_account_with_its_own_password_source(
    siptest, lab, lab_users, tmp_path
):
    password_file = tmp_path / "1002.pw"
    password_file.write_text("not-the-password\n")
    os.chmod(password_file, 0o600)
    server = f"127.0.0.1:{lab.sip_port}"
    path = tmp_path / "fleet.yaml"
    path.write_text(
        "# two lab accounts: the right password from a variable, a wrong one from a file\n"
        f"- user: 1001\n  server: '{server}'\n  password_env: BULK_YAML_PW\n"
        f"- user: 1002\n  server: '{server}'\n  transport: udp\n"
        f"  password_file: '{password_file}'\n"
    )
    right = next(u.password for u in lab_users if u.username == "1001")
    result = siptest("bulk", str(path), "--json", env={"BULK_YAML_PW": right})
    assert result.status == 1, result.stderr
    accounts = {a["user"]: a for a in result.json["accounts"]}
    assert (accounts["1001"]["status"], accounts["1001"]["line"]) == ("passed", 2)
    assert (accounts["1002"]["status"], accounts["1002"]["line"]) == ("failed", 5)
    register = next(c for c in accounts["1002"]["report"]["checks"] if c["kind"] == "register")
    assert register["diagnosis"]["category"] == "credentials"
    assert right not in result.stdout + result.stderr
    assert lab.bindings("1001") == [] and lab.bindings("1002") == []


def test_a_password_in_a_yaml_accounts_file_stops_bulk_before_anything_is_sent(
    siptest, lab, lab_log, tmp_path
):
    path = tmp_path / "fleet.yaml"
    path.write_text(f"- user: 1001\n  server: '127.0.0.1:{lab.sip_port}'\n  password: Typed-In-7\n")
    lab_log.mark()
    result = siptest("bulk", str(path), "--json")
    assert result.status == 2
    assert "never written in the accounts file" in result.stderr
    assert "Typed-In-7" not in result.stdout + result.stderr
    assert lab_log.requests("REGISTER") == []
