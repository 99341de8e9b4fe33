"""Secrets sweep (issue 7): a canary password through every command, then grep everything.

Every command that sends a password runs against the lab with the canary as the
password: `register` (UDP, TLS, text and JSON, password from the environment and
from a file), `call` (registered, and `--no-register`, which answers the 407 with
Proxy-Authorization) and `run` on scenario files (UDP with password_env, TLS with
password_file; JSON, JUnit, text). The lab rejects the canary: the point is that
the credentials made from it travel and are challenged, not that they work.

Then every argv (read from /proc/PID/cmdline while the process runs; the
environment legitimately holds the password and is not checked), stdout, stderr,
JSON report, JUnit file, trace file and every file the lab wrote is searched for
the canary, its base64, MD5, SHA-1 and SHA-256 digests, the digest HA1 of each user
with it, and any `response=` / `cnonce=` value: 0 hits, or the test fails naming them.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

CANARY = "Sweep-Canary-5f1e"
REALM = "siptest.local"
UDP_USER = "41411234567"
TLS_USER = "1004"
REDACTED = "<credentials redacted>"
UNREDACTED_DIGEST = re.compile(rb"""(?i)\b(?:response|cnonce)\s*=\s*"?[^\s",>]+""")


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def forbidden_patterns(users: list[str]) -> dict[str, re.Pattern[bytes]]:
    """What must never be written anywhere, by name."""
    plain = {
        "canary": CANARY,
        "canary base64": base64.b64encode(CANARY.encode()).decode(),
        "canary MD5": md5(CANARY),
        "canary SHA-1": hashlib.sha1(CANARY.encode()).hexdigest(),
        "canary SHA-256": hashlib.sha256(CANARY.encode()).hexdigest(),
    }
    for user in users:
        plain[f"HA1 of {user}"] = md5(f"{user}:{REALM}:{CANARY}")
    patterns = {name: re.compile(re.escape(value.encode()), re.I) for name, value in plain.items()}
    patterns["unredacted response=/cnonce="] = UNREDACTED_DIGEST
    return patterns


@dataclass
class Sweep:
    """Everything the runs wrote, as bytes, by (kind, source name)."""

    sources: dict[tuple[str, str], bytes] = field(default_factory=dict)

    def add(self, kind: str, name: str, data: bytes) -> None:
        assert (kind, name) not in self.sources, name
        self.sources[kind, name] = data

    def counts(self) -> str:
        kinds = Counter(kind for kind, _ in self.sources)
        return ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))

    def hits(self, patterns: dict[str, re.Pattern[bytes]]) -> list[str]:
        return [
            f"{kind} of {source}: {name}: {match.group(0)[:80]!r}"
            for (kind, source), data in self.sources.items()
            for name, pattern in patterns.items()
            for match in pattern.finditer(data)
        ]


def argv_of(process: subprocess.Popen[bytes], seconds: float = 5) -> bytes:
    """/proc/PID/cmdline of the running process (empty for a moment while exec finishes)."""
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, "siptest ended before its argv could be read"
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        if cmdline:
            return cmdline
        assert time.monotonic() < deadline, "no argv in /proc"
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.002)


def run_and_capture(
    sweep: Sweep, label: str, args: list[str], env: dict[str, str]
) -> tuple[int, str]:
    """Run siptest; its argv (read from /proc while it runs), stdout and stderr go in."""
    process = subprocess.Popen(
        [sys.executable, "-m", "siptest", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        cmdline = argv_of(process)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert cmdline.split(b"\0")[1:3] == [b"-m", b"siptest"], cmdline  # really its argv
    sweep.add("argv", label, cmdline)
    if "--json" in args:
        assert isinstance(json.loads(stdout), dict), stdout  # exactly one JSON object
        sweep.add("JSON report (stdout)", label, stdout)
    else:
        sweep.add("text report (stdout)", label, stdout)
    sweep.add("stderr", label, stderr)
    assert b"Traceback" not in stderr, stderr.decode()
    return process.returncode, stdout.decode()


def test_the_sweep_patterns_find_what_they_look_for():
    """The sweep cannot pass vacuously: each pattern finds its own leak."""
    ha1 = md5(f"{UDP_USER}:{REALM}:{CANARY}")
    leaks = {
        "canary": f"password={CANARY}",
        "canary base64": "Basic " + base64.b64encode(CANARY.encode()).decode(),
        "canary MD5": hashlib.md5(CANARY.encode()).hexdigest().upper(),
        "canary SHA-1": hashlib.sha1(CANARY.encode()).hexdigest(),
        "canary SHA-256": hashlib.sha256(CANARY.encode()).hexdigest(),
        f"HA1 of {UDP_USER}": f"ha1={ha1}",
        "unredacted response=/cnonce=": 'Authorization: Digest username="1", response="0a1b"',
    }
    patterns = forbidden_patterns([UDP_USER])
    assert set(leaks) == set(patterns)
    for name, leak in leaks.items():
        sweep = Sweep()
        sweep.add("test", name, leak.encode())
        assert [hit.split(": ")[1] for hit in sweep.hits(patterns)] == [name], name
    for clean in ('Authorization: Digest username="1", qop="auth", <credentials redacted>',
                  "cnonce", '"response": {"code": 401}'):  # fmt: skip
        sweep = Sweep()
        sweep.add("test", "clean", clean.encode())
        assert sweep.hits(patterns) == [], clean
    sweep = Sweep()
    sweep.add("test", "cnonce", b"cnonce=deadbeef")
    assert len(sweep.hits(patterns)) == 1


UDP_SCENARIO = """\
name: sweep udp
continue_on_failure: true
timeout: 2
account:
  user: "{user}"
  host: 127.0.0.1
  port: {port}
  password_env: SWEEP_PASSWORD
steps:
  - register
  - call: 7000
"""

TLS_SCENARIO = """\
name: sweep tls
continue_on_failure: true
timeout: 2
tls_ca: {ca}
account:
  user: "{user}"
  host: 127.0.0.1
  port: {port}
  transport: tls
  password_file: {password_file}
steps:
  - register
  - call: 7000
"""


def test_canary_password_leaves_no_trace_anywhere(lab, lab_log, tmp_path):
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    password_file = tmp_path / "password"
    password_file.write_text(CANARY)
    password_file.chmod(0o600)
    base = {k: v for k, v in os.environ.items() if not k.startswith("SIPTEST_")}
    env = {**base, "SIPTEST_PASSWORD": CANARY}
    udp = f"{UDP_USER}@127.0.0.1:{lab.sip_port}"
    tls = [f"{TLS_USER}@127.0.0.1:{lab.tls_port}", "--transport", "tls"]
    tls += ["--tls-ca", str(lab.ca_file)]
    common = ["--timeout", "2"]

    def trace(name: str) -> list[str]:
        return ["--trace", str(outputs / f"{name}.sip")]

    sweep = Sweep()
    runs = {
        "register udp json": (["register", udp, "--json", *common, *trace("reg-udp")], env),
        "register tls json": (["register", *tls, "--json", *common, *trace("reg-tls")], env),
        "register udp text, password file": (
            ["register", udp, *common, "--password-file", str(password_file), *trace("reg-file")],
            base,
        ),
        "call registered json": (["call", udp, "7000", "--json", *common, *trace("call-reg")], env),
        "call --no-register json": (
            ["call", udp, "7000", "--no-register", "--json", *common, *trace("call-noreg")],
            env,
        ),
        "call --no-register tls text, --password-env": (
            ["call", *tls, "7000", "--no-register", "--password-env", "SWEEP_PASSWORD",
             *common, *trace("call-tls")],
            {**base, "SWEEP_PASSWORD": CANARY},
        ),
    }  # fmt: skip
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "a-udp.sip.yaml").write_text(UDP_SCENARIO.format(user=UDP_USER, port=lab.sip_port))
    (scenarios / "b-tls.sip.yaml").write_text(
        TLS_SCENARIO.format(
            user=TLS_USER, port=lab.tls_port, ca=lab.ca_file, password_file=password_file
        )
    )
    scenario_env = {**base, "SWEEP_PASSWORD": CANARY}
    runs["run json junit"] = (
        ["run", str(scenarios), "--json", "--junit", str(outputs / "run.xml"), *trace("run")],
        scenario_env,
    )
    runs["run text junit"] = (
        ["run", str(scenarios), "--junit", str(outputs / "run-text.xml"), *trace("run-text")],
        scenario_env,
    )

    for label, (args, environment) in runs.items():
        status, stdout = run_and_capture(sweep, label, args, environment)
        assert status == 1, f"{label}: exit {status}\n{stdout}"
        assert "This password is not valid" in stdout, stdout  # the lab refused the canary

    # The canary really travelled: the lab checked digests made from it and refused
    # them, for REGISTER (401) and INVITE (407), over UDP and TLS.
    failed = re.findall(r"auth failed rc=-2 user=(\S+)", lab_log.text())
    assert {UDP_USER, TLS_USER} <= set(failed), lab_log.text()

    traces = sorted(outputs.glob("*.sip"))
    assert len(traces) == 8
    for path in traces:
        text = path.read_text()
        # Not vacuous: every trace holds credentials, and they are redacted.
        assert REDACTED in text, f"{path.name} has no redacted credentials"
        sweep.add("trace", path.name, path.read_bytes())
    assert "Proxy-Authorization: Digest" in (outputs / "call-noreg.sip").read_text()
    for path in sorted(outputs.glob("*.xml")):
        sweep.add("JUnit", path.name, path.read_bytes())
    lab_files = [p for p in sorted(lab.workdir.rglob("*")) if p.is_file()]
    assert lab.log_file in lab_files and lab.uas_log_file in lab_files
    for path in lab_files:
        sweep.add("lab file", str(path.relative_to(lab.workdir)), path.read_bytes())

    patterns = forbidden_patterns([UDP_USER, TLS_USER])
    hits = sweep.hits(patterns)
    print(
        f"secrets sweep: {len(runs)} runs, {len(sweep.sources)} sources checked "
        f"({sweep.counts()}), {len(patterns)} patterns, {len(hits)} hits"
    )
    assert hits == [], "\n".join(hits)
