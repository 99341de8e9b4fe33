"""Bad input and anti-abuse (issue 7): refused with exit 2 before any packet leaves,
the message naming the bad token; odd but legal passwords digested correctly; and
nothing that looks like, or could serve as, a password-guessing tool.

A scripted peer listens where each command points, so "before any packet" is
checked by the peer having received nothing at all (not even a keep-alive).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
from pathlib import Path

import pytest
from sippeer import challenge, ok

import siptest as siptest_package
from siptest.sipmessage import header_params

GOOD_PASSWORD = "peer-test-pass"


@pytest.fixture
def peer(sip_peer):
    return sip_peer("udp", [challenge(), ok(), ok()])


def assert_refused_before_any_packet(result, peer, *tokens: str) -> None:
    assert result.status == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    if result.stdout:
        # With --json, pipelines still get exactly one object: the error.
        assert json.loads(result.stdout)["error"]["exit_status"] == 2
    for token in tokens:
        assert token in result.stderr, result.stderr
    assert peer.received == [] and peer.junk == [], "a packet left before the input was checked"


# -- targets -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "token"),
    [
        ("1001@::1:{port}", "brackets"),
        # loopback, so that a regression would reach nobody but this machine
        ("1001@::1", "must be written in brackets"),
        ("1001@127.0.0.1:70000", "70000"),
        ("1001@127.0.0.1:0", "'0'"),
        ("1001@127.0.0.1:port", "'port'"),
        ("tel:+41441234567", "tel:"),
        ("sips:1001@127.0.0.1:{port}", "sips:"),
        ("<sip:1001@127.0.0.1:{port}>", "angle brackets"),
        ("1001@[::1:{port}", "]"),
        ("@127.0.0.1:{port}", "user ID is missing"),
        ("1001@", "server is missing"),
        ("10 01@127.0.0.1:{port}", "'10 01'"),
        ("1001@bad_host!:{port}", "bad_host!"),
        ("", "empty"),
    ],
)
def test_bad_target_is_refused_before_any_packet(siptest, peer, target, token):
    # Targets with {port} point at the listening peer, so "no packet" can fail there;
    # the others (an impossible port, another scheme, no host) could reach nothing, and
    # only their exit status and message are checked.
    result = siptest("register", target.format(port=peer.port), "--json", password=GOOD_PASSWORD)
    assert_refused_before_any_packet(result, peer, token)


@pytest.mark.parametrize(
    ("option", "value", "token"),
    [
        ("--outbound-proxy", "1001@127.0.0.1:{port}", "without a user part"),
        ("--outbound-proxy", "127.0.0.1:99999", "99999"),
        ("--domain", "::1", "brackets"),
        ("--timeout", "0", "timeout"),
        ("--timeout", "1000", "timeout"),
        ("--local-port", "70000", "local-port"),
    ],
)
def test_bad_option_is_refused_before_any_packet(siptest, peer, option, value, token):
    result = siptest(
        "register",
        f"1001@127.0.0.1:{peer.port}",
        "--json",
        option,
        value.format(port=peer.port),
        password=GOOD_PASSWORD,
    )
    assert_refused_before_any_packet(result, peer, token)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_local_port_in_use_is_a_clear_cannot_run(siptest, transport):
    """Bind failure (DESIGN.md): exit 3 with a hint, one JSON object, no traceback."""
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as taken:
        taken.bind(("127.0.0.1", 0))
        if transport == "tcp":
            taken.listen()
        port = taken.getsockname()[1]
        # Nothing may answer at the target either: the run must stop at the bind.
        target = f"1001@127.0.0.1:{port}"
        result = siptest(
            "register", target, "--json", "--transport", transport, "--local-port", str(port),
            password=GOOD_PASSWORD,
        )  # fmt: skip
    assert result.status == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"local {transport.upper()} port {port}" in result.stderr
    assert "--local-port" in result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["exit_status"] == 3 and "in use" in error["message"]


# -- passwords that cannot be right ---------------------------------------------------


def private_file(path, content: bytes | str, mode: int = 0o600):
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("value", "token"),
    [
        ("", "empty"),
        ("x" * 100_000, "100000 characters"),  # an environment string tops out at 128 KiB
        ("two\nlines", "line break"),
    ],
    ids=["empty", "100k", "newline"],
)
def test_unusable_password_in_the_environment_is_refused(siptest, peer, value, token):
    result = siptest("register", f"1001@127.0.0.1:{peer.port}", "--json", password=value)
    assert_refused_before_any_packet(result, peer, "$SIPTEST_PASSWORD", token)
    if value:
        assert value not in result.stderr


@pytest.mark.parametrize(
    ("content", "token"),
    [
        (b"", "empty"),
        (b"\n", "empty"),
        (b"x" * 1_048_576, "1048576 bytes"),
        (b"\xff\xfe not utf-8", "not UTF-8"),
        (b"first\nsecond\n", "line break"),
    ],
    ids=["empty", "only-newline", "1MB", "not-utf8", "two-lines"],
)
def test_unusable_password_file_is_refused(siptest, peer, tmp_path, content, token):
    path = private_file(tmp_path / "sip-password", content)
    result = siptest(
        "register", f"1001@127.0.0.1:{peer.port}", "--json", "--password-file", str(path)
    )
    assert_refused_before_any_packet(result, peer, str(path), token)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o700 | 0o070])
def test_password_file_others_can_read_is_refused(siptest, peer, tmp_path, mode):
    path = private_file(tmp_path / "sip-password", GOOD_PASSWORD, mode)
    result = siptest(
        "register", f"1001@127.0.0.1:{peer.port}", "--json", "--password-file", str(path)
    )
    assert_refused_before_any_packet(result, peer, str(path), f"chmod 600 {path}")


@pytest.mark.parametrize("kind", ["missing", "directory", "fifo", "symlink-to-shared-file"])
def test_password_file_that_is_not_a_private_file_is_refused(siptest, peer, tmp_path, kind):
    path = tmp_path / "sip-password"
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path, 0o600)  # reading it would block for ever: never opened
    elif kind == "symlink-to-shared-file":
        path.symlink_to(private_file(tmp_path / "shared", GOOD_PASSWORD, 0o644))
    result = siptest(
        "register", f"1001@127.0.0.1:{peer.port}", "--json", "--password-file", str(path)
    )
    assert_refused_before_any_packet(result, peer, str(path))


def test_missing_password_says_how_to_give_one(siptest, peer):
    result = siptest("register", f"1001@127.0.0.1:{peer.port}", "--json")
    assert_refused_before_any_packet(result, peer, "SIPTEST_PASSWORD=", "--password-file")


# -- passwords that are odd but legal ---------------------------------------------------

ODD_PASSWORDS = {
    "quote-backslash": 'say "hi" \\ bye',
    "colon-at-percent": "user:pass@host%41%",
    "all-specials": '" \\ : @ %',
    "utf8": "pässwörd-密码-🔑",
    "spaces-around": "  padded  ",
}


def digest_response(password: str, authorization: str, method: str = "REGISTER") -> str:
    """RFC 2617 3.2.2.1 (qop absent, as the peer's challenge offers none), over UTF-8."""
    params = header_params(authorization.split(None, 1)[1])

    def md5(text: str) -> str:
        return hashlib.md5(text.encode("utf-8")).hexdigest()

    ha1 = md5(f"{params['username']}:{params['realm']}:{password}")
    ha2 = md5(f"{method}:{params['uri']}")
    return md5(f"{ha1}:{params['nonce']}:{ha2}")


@pytest.mark.parametrize("source", ["env", "file"])
@pytest.mark.parametrize("name", ODD_PASSWORDS, ids=list(ODD_PASSWORDS))
def test_odd_password_is_digested_correctly(sip_peer, register_at, tmp_path, name, source):
    password = ODD_PASSWORDS[name]
    peer = sip_peer("udp", [challenge(nonce="fixed-nonce"), ok(), ok()])
    if source == "file":
        path = private_file(tmp_path / "sip-password", password + "\n")
        run = register_at(peer.port, "--password-file", str(path), password=None)
    else:
        run = register_at(peer.port, password=password)
    assert run.result.status == 0, run.result.stdout
    answered = peer.requests_of("REGISTER")[1]
    authorization = answered.header("authorization")
    assert authorization is not None
    sent = header_params(authorization.split(None, 1)[1])["response"]
    assert sent == digest_response(password, authorization)
    assert password not in run.result.stdout + run.result.stderr


@pytest.mark.lab
@pytest.mark.parametrize("name", ["all-specials", "utf8"])
def test_odd_wrong_password_is_rejected_by_the_lab_once(siptest, lab, lab_log, name):
    result = siptest(
        "register",
        f"1003@127.0.0.1:{lab.sip_port}",
        "--json",
        "--timeout",
        "2",
        password=ODD_PASSWORDS[name],
    )
    assert result.status == 1, result.stderr
    register = result.check("register")
    assert register["response"]["code"] == 401
    assert register["response"]["reason"] == "This password is not valid"
    assert register["diagnosis"]["category"] == "credentials"
    assert len(lab_log.requests("REGISTER", user="1003")) == 2


# -- anti-abuse -------------------------------------------------------------------------

SCANNER_SIGNATURES = re.compile(
    r"friendly-scanner|sipvicious|sipcli|VaxSIPUserAgent|sundayddr|iWar|sip-scan|SIPScan"
    r"|pplsip|smap",
    re.IGNORECASE,
)


def test_register_offers_no_way_to_try_many_passwords(siptest):
    result = siptest("register", "--help", env={"COLUMNS": "200"})
    assert result.status == 0
    options = set(re.findall(r"--[a-z][a-z-]*", result.stdout))
    assert {"--password-file", "--password-env"} <= options
    assert {o for o in options if "pass" in o} == {"--password-file", "--password-env"}
    suspicious = re.compile(r"list|range|dict|wordlist|brute|guess|users|extensions|scan")
    assert not {o for o in options if suspicious.search(o)}, options


def test_no_command_is_a_scanner(siptest):
    result = siptest("--help", env={"COLUMNS": "200"})
    assert result.status == 0
    assert not re.search(r"\b(scan|crack|brute|enumerate|guess)", result.stdout, re.IGNORECASE)


def test_user_agent_is_siptest_and_no_scanner_signature(peer, register_at):
    run = register_at(peer.port)
    assert run.result.status == 0, run.result.stdout
    for request in peer.received:
        assert request.header("user-agent") == f"siptest/{siptest_package.__version__}"
        text = request.raw.decode("utf-8", "replace")
        assert not SCANNER_SIGNATURES.search(text), text


@pytest.mark.parametrize("kind", ["symlink", "dangling-symlink", "fifo", "folder", "device"])
def test_a_trace_path_that_is_not_a_regular_file_is_refused_before_anything_is_sent(
    siptest, tmp_path, kind
):
    import os

    target = tmp_path / "victim.txt"
    target.write_text("keep me\n")
    target.chmod(0o644)
    path = tmp_path / "trace.txt"
    if kind == "symlink":
        path.symlink_to(target)
    elif kind == "dangling-symlink":
        path.symlink_to(tmp_path / "created-through-the-link.txt")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path = Path("/dev/null")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(0.2)
        result = siptest(
            "register", f"1001@127.0.0.1:{server.getsockname()[1]}", "--trace", str(path),
            "--timeout", "1", password=GOOD_PASSWORD, timeout=10,
        )  # fmt: skip
        with pytest.raises(TimeoutError):
            server.recv(4096)  # nothing was sent
    assert result.status == 2, result.stdout + result.stderr
    assert "--trace" in result.stderr and "Traceback" not in result.stderr
    assert target.read_text() == "keep me\n" and (target.stat().st_mode & 0o777) == 0o644
    assert not (tmp_path / "created-through-the-link.txt").exists()


def test_a_trace_is_written_private_over_an_existing_regular_file(siptest, tmp_path):
    path = tmp_path / "trace.txt"
    path.write_text("old and much longer content than a trace header\n" * 100)
    path.chmod(0o644)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        siptest(
            "register", f"1001@127.0.0.1:{server.getsockname()[1]}", "--trace", str(path),
            "--timeout", "0.5", password=GOOD_PASSWORD, timeout=20,
        )  # fmt: skip
    assert (path.stat().st_mode & 0o777) == 0o600
    text = path.read_text()
    assert text.startswith("# siptest") and "old and much longer" not in text


NOT_UTF8 = b"\xff\xfe"


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        ([b"register", b"1001@127.0.0.1:9", b"--json"], {b"SIPTEST_PASSWORD": b"pa" + NOT_UTF8},
         "The password from $SIPTEST_PASSWORD holds bytes that are not UTF-8"),
        ([b"register", b"1001@127.0.0.1:9", b"--auth-user", b"a" + NOT_UTF8, b"--json"], {},
         "argument 4 (the value of --auth-user) holds bytes that are not UTF-8"),
        ([b"call", b"1001@127.0.0.1:9", b"12" + NOT_UTF8, b"--json"], {},
         "argument 3 holds bytes that are not UTF-8"),
        ([b"register", b"10" + NOT_UTF8 + b"@127.0.0.1:9", b"--json"], {},
         "argument 2 holds bytes that are not UTF-8"),
    ],
)  # fmt: skip
def test_bytes_that_are_not_utf8_are_a_usage_error_never_a_traceback(args, env, words):
    import subprocess
    import sys

    environment = {
        k.encode(): v.encode() for k, v in os.environ.items() if not k.startswith("SIPTEST_")
    }
    environment.setdefault(b"SIPTEST_PASSWORD", b"good")
    environment.update(env)
    done = subprocess.run(
        [sys.executable.encode(), b"-m", b"siptest", *args], capture_output=True,
        env=environment, timeout=30,
    )  # fmt: skip
    stderr = done.stderr.decode("utf-8")
    assert done.returncode == 2, stderr
    assert "Traceback" not in stderr and words in stderr
    assert NOT_UTF8 not in done.stderr  # the value itself is never echoed
    report = json.loads(done.stdout.decode("utf-8"))
    assert report["error"]["exit_status"] == 2


def test_a_trace_to_standard_output_is_refused_not_written_to_a_file_named_dash(siptest, tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "siptest", "register", "1001@127.0.0.1:9", "--trace", "-"],
        capture_output=True, text=True, cwd=tmp_path, timeout=30,
        env={**os.environ, "SIPTEST_PASSWORD": GOOD_PASSWORD},
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--trace -: give a file name" in done.stderr
    assert not (tmp_path / "-").exists()
