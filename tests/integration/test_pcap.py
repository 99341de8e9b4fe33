"""`--pcap`: the SIP exchange as a capture that tshark (Wireshark) decodes, message for
message the same as the trace, with credentials redacted."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

PASSWORD = "lab-1001-pass"


def tshark_sip(path, sip_over_tcp_port: int | None = None) -> list[str]:
    """Method or status code of every SIP message tshark finds in the file, in order."""
    tshark = shutil.which("tshark")
    assert tshark, "tshark is not installed: ./dev test installs it (Debian package tshark)"
    decode = ["-d", f"tcp.port=={sip_over_tcp_port},sip"] if sip_over_tcp_port else []
    done = subprocess.run(
        [tshark, "-r", str(path), *decode, "-Y", "sip", "-T", "fields", "-e", "sip.Method",
         "-e", "sip.Status-Code"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return ["".join(line.split("\t")) for line in done.stdout.splitlines() if line.strip()]


def trace_sip(path) -> list[str]:
    """The same, read from siptest's own trace: the line after each message header."""
    lines = path.read_text().splitlines()
    found = []
    for index, line in enumerate(lines):
        if re.match(r"^(-->|<--) ", line):
            start = lines[index + 1]
            status = re.match(r"^SIP/2\.0 (\d+)", start)
            found.append(status.group(1) if status else start.split()[0])
    return found


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_the_capture_decodes_to_the_same_messages_as_the_trace(siptest, lab, tmp_path, transport):
    pcap, trace = tmp_path / "exchange.pcap", tmp_path / "trace.txt"
    port = lab.tls_port if transport == "tls" else lab.sip_port
    extra = ["--tls-ca", str(lab.ca_file)] if transport == "tls" else []
    result = siptest(
        "call", f"1001@127.0.0.1:{port}", "7000", "--talk", "1", "--transport", transport,
        "--pcap", str(pcap), "--trace", str(trace), *extra, password=PASSWORD,
    )  # fmt: skip
    assert result.status == 0, result.stdout + result.stderr
    # TLS is written decrypted, as TCP on the TLS port: tell tshark that port is SIP.
    messages = tshark_sip(pcap, port if transport == "tls" else None)
    assert messages == trace_sip(trace)
    assert messages[0] == "REGISTER" and "INVITE" in messages and "BYE" in messages
    data = pcap.read_bytes()
    assert b"<credentials redacted>" in data and b'response="' not in data
    assert pcap.stat().st_mode & 0o777 == 0o600


def test_a_pcap_path_that_is_a_symbolic_link_is_refused(siptest, tmp_path):
    target = tmp_path / "target"
    target.write_bytes(b"keep")
    link = tmp_path / "capture.pcap"
    link.symlink_to(target)
    result = siptest("register", "1001@127.0.0.1:9", "--pcap", str(link), password=PASSWORD)
    assert result.status == 2
    assert "--pcap" in result.stderr and target.read_bytes() == b"keep"


def test_run_writes_every_scenarios_messages_into_one_capture(siptest, lab, tmp_path):
    scenarios = Path(__file__).parents[2] / "scenarios"
    pcap, trace = tmp_path / "runs.pcap", tmp_path / "runs.txt"
    result = siptest(
        "run", str(scenarios / "credential-check.sip.yaml"),
        str(scenarios / "ata-self-check.sip.yaml"),
        "--pcap", str(pcap), "--trace", str(trace), password=PASSWORD,
        env={"SIPTEST_PORT": str(lab.sip_port)},
    )  # fmt: skip
    assert result.status == 0, result.stdout + result.stderr
    messages = tshark_sip(pcap)
    assert messages == trace_sip(trace)
    assert messages.count("INVITE") >= 1 and messages.count("REGISTER") >= 4
