"""SHA-256 digest (RFC 8760) against a real registrar: Kamailio challenging with it."""

from __future__ import annotations

import pytest

from siptest.lab import Lab


@pytest.fixture(scope="module")
def sha256_lab(tmp_path_factory):
    server = Lab(tmp_path_factory.mktemp("lab-sha256"), with_uas=False, auth_algorithm="SHA-256")
    server.start()
    yield server
    server.stop()


def test_siptest_registers_with_sha256_digest_once_and_removes_it(siptest, sha256_lab, tmp_path):
    trace = tmp_path / "trace.txt"
    result = siptest(
        "register", f"1001@127.0.0.1:{sha256_lab.sip_port}", "--json", "--trace", str(trace),
        password="lab-1001-pass",
    )  # fmt: skip
    assert result.status == 0, result.stdout + result.stderr
    text = trace.read_text()
    assert "algorithm=SHA-256" in text.replace('"', "")  # the challenge, and our answer
    assert 'Authorization: Digest username="1001"' in text
    assert 'algorithm="SHA-256"' in text.split("Authorization:", 1)[1].split("\n", 1)[0]
    assert result.check("register")["credentials_sent"] is True
    assert sha256_lab.bindings("1001") == []


def test_a_wrong_password_under_sha256_is_rejected_after_one_try(siptest, sha256_lab):
    result = siptest(
        "register", f"1001@127.0.0.1:{sha256_lab.sip_port}", "--json", password="wrong-one",
    )  # fmt: skip
    assert result.status == 1
    register = result.check("register")
    assert register["requests_sent"] == 2
    assert register["diagnosis"]["category"] == "credentials"
