"""The lab itself: Kamailio and SIPp started, probed, inspected and stopped for real."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from siptest.errors import CannotRunError
from siptest.lab import LAB_USERS, Lab, LabUser, find_user, send_options
from siptest.lab import emulator as lab_emulator
from siptest.lab.ports import free_port, is_port_free
from siptest.lab.process import group_members

pytestmark = pytest.mark.lab


def test_lab_answers_options_over_udp_and_tcp(lab: Lab) -> None:
    assert send_options(lab.host, lab.sip_port, transport="udp") == 200
    assert send_options(lab.host, lab.sip_port, transport="tcp") == 200
    assert lab.is_ready()


def test_uas_answers_options(lab: Lab) -> None:
    assert send_options(lab.host, lab.uas_port) == 200


def test_tls_port_presents_a_certificate_the_lab_ca_verifies(lab: Lab) -> None:
    context = ssl.create_default_context(cafile=str(lab.ca_file))
    with (
        socket.create_connection((lab.host, lab.tls_port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        certificate = tls.getpeercert()
    assert ("IP Address", "127.0.0.1") in certificate["subjectAltName"]
    assert ("DNS", "localhost") in certificate["subjectAltName"]


def test_lab_answers_options_over_ipv6_udp_and_tcp(lab: Lab) -> None:
    assert lab.host6 == "::1"
    assert send_options("::1", lab.sip_port, transport="udp") == 200
    assert send_options("::1", lab.sip_port, transport="tcp") == 200


def test_ipv6_answers_come_from_the_labs_ipv6_listener_only(lab: Lab) -> None:
    # SIPp listens on 127.0.0.1 only: the same probe to its port on ::1 gets nothing
    assert send_options(lab.host, lab.uas_port, timeout=0.5) == 200
    assert send_options("::1", lab.uas_port, timeout=0.5) is None


def test_lab_answers_options_over_ipv6_tls(lab: Lab) -> None:
    context = ssl.create_default_context(cafile=str(lab.ca_file))
    with (
        socket.create_connection(("::1", lab.tls_port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="::1") as tls,
    ):
        local_port = tls.getsockname()[1]
        branch, call_id = secrets.token_hex(8), secrets.token_hex(8)
        request = (
            f"OPTIONS sip:[::1]:{lab.tls_port};transport=tls SIP/2.0\r\n"
            f"Via: SIP/2.0/TLS [::1]:{local_port};branch=z9hG4bK{branch};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:probe@[::1]>;tag={secrets.token_hex(4)}\r\n"
            f"To: <sip:[::1]:{lab.tls_port}>\r\n"
            f"Call-ID: {call_id}@ipv6-test\r\n"
            "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
        tls.sendall(request.encode("ascii"))
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = tls.recv(65535)
            assert chunk, f"the lab closed the TLS connection: {answer!r}"
            answer += chunk
        certificate = tls.getpeercert()
    assert answer.startswith(b"SIP/2.0 200 "), answer
    assert f"Call-ID: {call_id}@ipv6-test".encode() in answer
    assert ("IP Address", "0:0:0:0:0:0:0:1") in certificate["subjectAltName"]


def test_lab_without_ipv6_listens_on_ipv4_only(tmp_path: Path) -> None:
    with Lab(tmp_path / "lab4", host6=None, with_uas=False) as lab4:
        assert lab4.host6 is None
        assert "SIP_IP6" not in " ".join(lab4.kamailio_command())
        assert send_options(lab4.host, lab4.sip_port, timeout=1) == 200
        assert send_options("::1", lab4.sip_port, timeout=0.5) is None


def test_tls_port_is_not_trusted_without_the_lab_ca(lab: Lab) -> None:
    context = ssl.create_default_context()
    with (
        socket.create_connection((lab.host, lab.tls_port), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        context.wrap_socket(raw, server_hostname="127.0.0.1")


def test_lab_users_come_from_the_subscriber_table() -> None:
    by_name = {user.username: user for user in LAB_USERS}
    assert {"1001", "1002", "1003", "1004", "41411234567"} <= {
        user.username for user in LAB_USERS if user.active
    }
    assert by_name["1009"].active is False
    assert all(user.password for user in LAB_USERS)


def test_bindings_are_empty_for_an_unregistered_user(lab: Lab) -> None:
    assert lab.bindings("1004") == []
    assert lab.bindings("no-such-user") == []


def test_bindings_show_a_registered_contact_until_it_unregisters(lab: Lab) -> None:
    # a provider-style user ID: too big for a 32-bit integer, which kamcmd must not make of it
    user = find_user("41411234567")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        contact = f"sip:{user.username}@127.0.0.1:{sock.getsockname()[1]}"
        assert _register(sock, lab, user, contact, expires=60) == 200
        try:
            assert lab.bindings(user.username) == [contact]
        finally:
            assert _register(sock, lab, user, contact, expires=0) == 200
    assert lab.bindings(user.username) == []


def test_wrong_password_gets_a_fresh_challenge_that_says_so(lab: Lab) -> None:
    user = find_user("1002")
    wrong = LabUser(user.username, "not-the-password", active=True)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        contact = f"sip:{user.username}@127.0.0.1:{sock.getsockname()[1]}"
        responses: list[str] = []
        assert _register(sock, lab, wrong, contact, expires=60, responses=responses) == 401
    challenge, rejection = responses
    assert rejection.startswith("SIP/2.0 401 This password is not valid")
    assert 'Warning: 399 siptest.local "This password is not valid"' in rejection
    assert _nonce(challenge) != _nonce(rejection)


def test_stop_frees_the_ports_and_leaves_no_process(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    lab.start()
    groups = [item.pid for item in lab.processes]
    assert len(groups) == 2
    lab.stop()
    assert [group_members(group) for group in groups] == [[], []]
    assert is_port_free(lab.host, lab.sip_port, udp=True, tcp=True)
    assert is_port_free(lab.host, lab.tls_port, udp=False, tcp=True)
    assert is_port_free(lab.host, lab.uas_port, udp=True, tcp=False)
    assert not lab.is_ready(timeout=0.2)
    with pytest.raises(CannotRunError, match=r"not running|control socket"):
        lab.bindings("1001")


def test_start_on_a_taken_port_fails_clearly_and_leaves_nothing(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        lab = Lab(tmp_path, sip_port=squatter.getsockname()[1], with_uas=False)
        with pytest.raises(CannotRunError, match="already in use") as caught:
            lab.start(timeout=5)
    assert str(lab.log_file) in str(caught.value)
    assert lab.processes == ()


def test_start_without_kamailio_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(lab_emulator, "_SBIN_PATH", str(tmp_path))
    with pytest.raises(CannotRunError, match="apt-get install kamailio kamailio-tls-modules"):
        Lab(tmp_path).start()


def test_lab_command_starts_reports_stops_a_detached_lab(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    sip_port = free_port("127.0.0.1", udp=True, tcp=True)
    tls_port = free_port("127.0.0.1", udp=False, tcp=True, exclude={sip_port})
    uas_port = free_port("127.0.0.1", udp=True, tcp=False, exclude={sip_port, tls_port})
    ports = ["--sip-port", str(sip_port), "--tls-port", str(tls_port)]
    ports += ["--uas-port", str(uas_port)]
    try:
        started = _siptest_lab(state_dir, "up", *ports)
        assert started.returncode == 0, started.stderr
        assert "The lab is up." in started.stdout
        assert "running, answers OPTIONS" in started.stdout
        assert f"127.0.0.1:{sip_port} (UDP and TCP)" in started.stdout
        assert f"127.0.0.1:{tls_port}" in started.stdout
        assert f"[::1]:{sip_port} (UDP, TCP), [::1]:{tls_port} (TLS)" in started.stdout
        assert str(state_dir / "tls" / "ca.crt") in started.stdout
        assert "41411234567" in started.stdout
        # the lab outlived the command that started it
        assert send_options("127.0.0.1", sip_port) == 200

        again = _siptest_lab(state_dir, "up")
        assert again.returncode == 0, again.stderr
        assert "already running" in again.stdout

        status = _siptest_lab(state_dir, "status", "--json")
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        assert report["running"] is True
        assert report["ready"] is True
        assert report["host6"] == "::1"
        assert (report["sip_port"], report["tls_port"], report["uas_port"]) == (
            sip_port,
            tls_port,
            uas_port,
        )
        pids = [item["pid"] for item in report["processes"]]

        stopped = _siptest_lab(state_dir, "down")
        assert stopped.returncode == 0, stopped.stderr
        assert "Stopped the lab" in stopped.stdout
        assert [group_members(pid) for pid in pids] == [[], []]
    finally:
        Lab.down(state_dir)

    after = _siptest_lab(state_dir, "status")
    assert after.returncode == 1
    assert "not running" in after.stdout
    assert send_options("127.0.0.1", sip_port, timeout=0.2) is None


def _siptest_lab(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SIPTEST_")}
    environment["SIPTEST_LAB_DIR"] = str(state_dir)
    return subprocess.run(
        [sys.executable, "-m", "siptest", "lab", *args],
        capture_output=True,
        text=True,
        env=environment,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )


def _register(
    sock: socket.socket,
    lab: Lab,
    user: LabUser,
    contact: str,
    *,
    expires: int,
    responses: list[str] | None = None,
) -> int:
    """REGISTER ``contact`` with digest auth (RFC 2617, qop=auth); the final status code."""
    seen = [] if responses is None else responses
    registrar = f"sip:127.0.0.1:{lab.sip_port}"
    call_id = secrets.token_hex(8)
    tag = secrets.token_hex(4)
    local_port = sock.getsockname()[1]

    def send(cseq: int, authorization: str) -> str:
        request = (
            f"REGISTER {registrar} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch=z9hG4bK{secrets.token_hex(8)}"
            ";rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:{user.username}@127.0.0.1>;tag={tag}\r\n"
            f"To: <sip:{user.username}@127.0.0.1>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n"
            f"Contact: <{contact}>\r\nExpires: {expires}\r\n{authorization}"
            "Content-Length: 0\r\n\r\n"
        )
        sock.sendto(request.encode(), ("127.0.0.1", lab.sip_port))
        deadline = time.monotonic() + 5
        while (remaining := deadline - time.monotonic()) > 0:
            sock.settimeout(remaining)
            response = sock.recv(65535).decode()
            if f"CSeq: {cseq} REGISTER" in response and not response.startswith("SIP/2.0 1"):
                seen.append(response)
                return response
        raise TimeoutError(f"no final response to REGISTER CSeq {cseq}")

    challenge = send(1, "")
    if not challenge.startswith("SIP/2.0 401"):
        return int(challenge.split()[1])
    realm = re.search(r'realm="([^"]+)"', challenge)
    assert realm is not None
    nonce = _nonce(challenge)
    cnonce, count = secrets.token_hex(4), "00000001"
    ha1 = _md5(f"{user.username}:{realm[1]}:{user.password}")
    ha2 = _md5(f"REGISTER:{registrar}")
    digest = _md5(f"{ha1}:{nonce}:{count}:{cnonce}:auth:{ha2}")
    authorization = (
        f'Authorization: Digest username="{user.username}", realm="{realm[1]}", '
        f'nonce="{nonce}", uri="{registrar}", response="{digest}", algorithm=MD5, '
        f'qop=auth, nc={count}, cnonce="{cnonce}"\r\n'
    )
    return int(send(2, authorization).split()[1])


def _nonce(challenge: str) -> str:
    found = re.search(r'nonce="([^"]+)"', challenge)
    assert found is not None, challenge
    return found[1]


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()
