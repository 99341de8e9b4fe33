"""`siptest register` against the real Kamailio lab, over UDP, TCP and TLS."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

CANARY = "Canary-Pw-7f3a9c"

pytestmark = pytest.mark.lab

TRANSPORTS = ["udp", "tcp", "tls"]


def target(lab, user: str, transport: str) -> list[str]:
    port = lab.tls_port if transport == "tls" else lab.sip_port
    args = [f"{user}@127.0.0.1:{port}", "--transport", transport, "--json", "--timeout", "2"]
    if transport == "tls":
        args += ["--tls-ca", str(lab.ca_file)]
    return args


def password_of(lab_users, name: str) -> str:
    return next(u.password for u in lab_users if u.username == name)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_register_with_right_password_passes_and_leaves_no_binding(
    siptest, lab, lab_users, transport
):
    result = siptest(
        "register", *target(lab, "1002", transport), password=password_of(lab_users, "1002")
    )
    assert result.status == 0, result.stderr
    report = result.json
    assert report["ok"] is True
    register = result.check("register")
    assert register["response"]["code"] == 200
    assert register["response"]["origin"] == "remote"
    assert register["diagnosis"]["category"] == "none"
    assert register["expires_granted"] > 0
    assert result.check("unregister")["ok"] is True
    assert lab.bindings("1002") == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_register_with_wrong_password_diagnoses_credentials_after_two_registers(
    siptest, lab, lab_log, transport
):
    result = siptest("register", *target(lab, "1003", transport), password="wrong-password")
    assert result.status == 1, result.stderr
    register = result.check("register")
    assert register["response"]["code"] == 401
    assert register["response"]["origin"] == "remote"
    assert register["diagnosis"]["category"] == "credentials"
    assert register["stopped_after_rejection"] is True
    assert register["requests_sent"] == 2
    # The server's own count: one REGISTER without credentials, one with,
    # even though the lab sends a fresh nonce with every 401.
    seen = lab_log.requests("REGISTER", user="1003")
    assert len(seen) == 2, seen
    assert "auth=no" in seen[0] and "auth=yes" in seen[1]


def test_wrong_password_text_explains_and_warns_about_bans(siptest, lab):
    result = siptest("register", f"1003@127.0.0.1:{lab.sip_port}", password="wrong-password")
    assert result.status == 1
    out = result.stdout
    assert "401 This password is not valid" in out
    assert "SIP password" in out
    assert "providers block an IP address" in out


@pytest.mark.parametrize("user", ["1009", "4199999"])
def test_suspended_or_unknown_user_is_an_account_problem(siptest, lab, user):
    result = siptest("register", *target(lab, user, "udp"), password="whatever-pass")
    assert result.status == 1
    register = result.check("register")
    assert register["response"]["code"] == 403
    assert register["response"]["reason"] == "This account is not valid"
    assert register["diagnosis"]["category"] == "account"
    assert "user ID" in register["diagnosis"]["fix"]


def test_account_problem_with_provider_profile_names_the_user_id_format(siptest, lab):
    result = siptest(
        "register", *target(lab, "1009", "udp"), "--profile", "sipcall", password="whatever-pass"
    )
    assert result.status == 1
    fix = result.check("register")["diagnosis"]["fix"]
    assert "41" in fix
    preflight = result.check("preflight")
    assert preflight["diagnosis"]["id"] == "preflight.user_id_format"


@pytest.fixture
def silent_udp_port():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def test_silent_udp_server_gives_local_408_within_timeout(siptest, silent_udp_port):
    started = time.monotonic()
    result = siptest(
        "register",
        f"1001@127.0.0.1:{silent_udp_port}",
        "--json",
        "--timeout",
        "1",
        password="whatever-pass",
    )
    elapsed = time.monotonic() - started
    assert result.status == 1, result.stderr
    register = result.check("register")
    assert register["response"]["code"] == 408
    assert register["response"]["origin"] == "none"  # nothing at all came back
    assert register["diagnosis"]["category"] == "network"
    # Timer F was set from --timeout (1 s), not pjsip's 32 s; the margin is generous
    # for a loaded machine and the 0.5 s siptest listens for a late answer.
    assert register["duration_ms"] < (1 + 3) * 1000, elapsed


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_closed_tcp_port_is_refused_quickly(siptest):
    port = free_port(socket.SOCK_STREAM)
    result = siptest(
        "register",
        f"1001@127.0.0.1:{port}",
        "--transport",
        "tcp",
        "--json",
        password="whatever-pass",
    )
    assert result.status == 1
    register = result.check("register")
    assert register["response"]["code"] == 503
    assert register["response"]["local_cause"] == "refused"
    assert register["diagnosis"]["category"] == "network"
    assert register["duration_ms"] < 3000  # at once, not after the 5 s timeout
    # pjsip logs the REGISTER before connecting; it never left.
    assert (register["requests_sent"], register["credentials_sent"]) == (0, False)


def test_closed_udp_port_says_nothing_is_listening(siptest):
    port = free_port(socket.SOCK_DGRAM)
    result = siptest(
        "register", f"1001@127.0.0.1:{port}", "--json", "--timeout", "5", password="whatever-pass"
    )
    assert result.status == 1
    register = result.check("register")
    assert register["response"]["local_cause"] == "unreachable"
    assert register["diagnosis"]["category"] == "network"
    assert register["duration_ms"] < 3000  # ICMP, not the 5 s timeout


def test_unresolvable_host_is_a_dns_problem(siptest):
    # In a network namespace of its own no DNS query can leave this machine.
    result = siptest(
        "register", "1001@no-such-host.invalid", "--json", password="whatever-pass", isolated=True
    )
    assert result.status == 1
    (resolution,) = result.json["checks"]  # nothing else: no server to send to
    assert resolution["kind"] == "resolution"
    assert resolution["diagnosis"]["id"] == "dns.server_failed"
    assert resolution["diagnosis"]["category"] == "network"
    assert "Network is unreachable" in resolution["diagnosis"]["explanation"]


@pytest.fixture(scope="module")
def unrelated_ca(tmp_path_factory):
    """A CA that did not sign the lab's certificate (as for a self-signed server)."""
    folder = tmp_path_factory.mktemp("other-ca")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=Unrelated test CA",
            "-keyout",
            str(folder / "key.pem"),
            "-out",
            str(folder / "ca.pem"),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return folder / "ca.pem"


def test_tls_with_untrusted_certificate_fails_closed(siptest, lab, lab_log, unrelated_ca):
    args = [
        f"1001@127.0.0.1:{lab.tls_port}",
        "--transport",
        "tls",
        "--json",
        "--timeout",
        "2",
        "--tls-ca",
        str(unrelated_ca),
    ]
    result = siptest("register", *args, password="whatever-pass")
    assert result.status == 1, result.stdout + result.stderr
    register = result.check("register")
    assert register["response"]["origin"] == "none"  # refused at the handshake probe
    assert register["response"]["local_cause"] == "tls"
    assert register["diagnosis"]["category"] == "tls"
    assert "--tls-ca" in register["diagnosis"]["fix"]
    assert lab_log.requests("REGISTER") == []


def test_tls_insecure_registers_and_says_insecure(siptest, lab, lab_users):
    args = [f"1004@127.0.0.1:{lab.tls_port}", "--transport", "tls", "--tls-insecure"]
    result = siptest("register", *args, password=password_of(lab_users, "1004"))
    assert result.status == 0, result.stdout + result.stderr
    assert "INSECURE" in result.stdout
    result = siptest("register", *args, "--json", password=password_of(lab_users, "1004"))
    assert result.json["insecure"] is True


def test_password_canary_appears_nowhere(siptest, lab, tmp_path):
    trace = tmp_path / "trace.txt"
    outputs = []
    for extra in ([], ["--json"]):
        result = siptest(
            "register",
            f"1001@127.0.0.1:{lab.sip_port}",
            "--trace",
            str(trace),
            *extra,
            password=CANARY,
        )
        assert result.status == 1
        outputs += [result.stdout, result.stderr, trace.read_text()]
    outputs.append(Path(lab.log_file).read_text(encoding="utf-8", errors="replace"))
    for text in outputs:
        assert CANARY not in text
    trace_text = trace.read_text()
    assert "REGISTER sip:" in trace_text
    assert "response=" not in trace_text
    assert "<credentials redacted>" in trace_text


def test_password_is_not_on_the_command_line(siptest, lab):
    result = siptest("register", f"1001@127.0.0.1:{lab.sip_port}", "--password", CANARY)
    assert result.status == 2
    assert CANARY not in result.stdout + result.stderr


def test_world_readable_password_file_is_refused(siptest, lab, tmp_path):
    path = tmp_path / "pw"
    path.write_text("lab-1001-pass\n")
    path.chmod(0o644)
    result = siptest("register", f"1001@127.0.0.1:{lab.sip_port}", "--password-file", str(path))
    assert result.status == 2
    assert "chmod 600" in result.stderr
    assert "Traceback" not in result.stderr


def test_json_still_prints_one_object_when_the_test_cannot_run(siptest):
    result = siptest("register", "1001@[::1]:99999", "--json", password="whatever-pass")
    assert result.status == 2
    assert result.json["ok"] is False
    assert "'99999' is not a valid port" in result.json["error"]["message"]


def test_unwritable_trace_keeps_the_report_and_exits_3(siptest, lab, lab_users):
    # A regular file that refuses writes even to root (a device such as /dev/full is
    # refused up front, exit 2: test_input_validation.py).
    result = siptest(
        "register", f"1002@127.0.0.1:{lab.sip_port}", "--json", "--trace", "/proc/version",
        password=password_of(lab_users, "1002"),
    )  # fmt: skip
    assert result.status == 3
    assert result.json["ok"] is True
    assert "Could not write the trace" in result.stderr
    assert "Traceback" not in result.stderr


def test_trace_is_private_even_when_the_file_existed(siptest, lab, tmp_path):
    trace = tmp_path / "trace.txt"
    trace.write_text("old")
    trace.chmod(0o644)
    siptest("register", f"1001@127.0.0.1:{lab.sip_port}", "--trace", str(trace), password="x-pass")
    assert trace.stat().st_mode & 0o777 == 0o600
    assert "REGISTER" in trace.read_text()


def test_a_wrong_auth_user_is_named_as_the_field_that_was_sent(siptest, lab):
    result = siptest(
        "register", f"1001@127.0.0.1:{lab.sip_port}", "--auth-user", "9999", "--json",
        password="lab-1001-pass",
    )  # fmt: skip
    register = result.check("register")
    assert register["diagnosis"]["id"] == "account.invalid"
    text = register["diagnosis"]["explanation"]
    assert 'the authentication user "9999" (given with --auth-user' in text
    assert 'does not recognise the user ID "1001"' not in text


def test_an_auth_user_of_another_account_names_both_fields_not_just_the_password(siptest, lab):
    result = siptest(
        "register", f"1001@127.0.0.1:{lab.sip_port}", "--auth-user", "1002", "--json",
        password="lab-1001-pass",
    )  # fmt: skip
    register = result.check("register")
    assert register["diagnosis"]["id"] == "credentials.password_invalid"
    assert 'authentication user "1002"' in register["diagnosis"]["explanation"]


def test_a_suspended_account_is_not_only_called_a_typo(siptest, lab):
    result = siptest(
        "register", f"1009@127.0.0.1:{lab.sip_port}", "--json", password="lab-1009-pass"
    )
    register = result.check("register")
    assert register["diagnosis"]["category"] == "account"
    assert "suspended, not activated yet or terminated" in register["diagnosis"]["explanation"]
    assert "account's status" in register["diagnosis"]["explanation"]
