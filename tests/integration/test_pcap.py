"""`--pcap`: the SIP exchange as a capture that tshark (Wireshark) decodes, message for
message the same as the trace, with credentials redacted."""

from __future__ import annotations

import itertools
import json
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


def tshark_fields(path, display_filter: str, *fields: str) -> list[list[str]]:
    """The fields of every packet that matches, as tshark decodes the file by itself
    (RTP by the SDP of the SIP messages in it: no `-d` needed)."""
    tshark = shutil.which("tshark")
    assert tshark, "tshark is not installed: ./dev test installs it (Debian package tshark)"
    arguments = [arg for field in fields for arg in ("-e", field)]
    done = subprocess.run(
        [tshark, "-r", str(path), "-Y", display_filter, "-T", "fields", *arguments],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [line.split("\t") for line in done.stdout.splitlines() if line.strip()]


def sdp_ports(path) -> tuple[int, int]:
    """The audio ports of our offer (the last INVITE) and of the far end's 200 answer."""
    rows = tshark_fields(path, "sdp", "sip.Method", "sip.Status-Code", "sdp.media.port")
    ours = [int(port) for method, _, port in rows if method == "INVITE"][-1]
    theirs = [int(port) for _, status, port in rows if status == "200"][-1]
    return ours, theirs


def test_a_calls_capture_holds_its_rtp_both_ways_between_the_ports_of_the_sdp(
    siptest, lab, tmp_path
):
    pcap, trace = tmp_path / "call.pcap", tmp_path / "call.txt"
    result = siptest(
        "call", f"1001@127.0.0.1:{lab.sip_port}", "7000", "--talk", "2", "--json",
        "--pcap", str(pcap), "--trace", str(trace), password=PASSWORD,
    )  # fmt: skip
    assert result.status == 0, result.stdout + result.stderr
    media = next(c for c in json.loads(result.stdout)["checks"] if c["kind"] == "call")["media"]
    ours, theirs = sdp_ports(pcap)
    rows = tshark_fields(
        pcap, "rtp", "frame.time_epoch", "udp.srcport", "udp.dstport", "rtp.version",
        "rtp.p_type", "rtp.seq", "rtp.timestamp", "rtp.ssrc", "frame.len", "frame.cap_len",
    )  # fmt: skip
    sent = [row for row in rows if (int(row[1]), int(row[2])) == (ours, theirs)]
    received = [row for row in rows if (int(row[1]), int(row[2])) == (theirs, ours)]
    assert len(sent) + len(received) == len(rows), "RTP between other ports than the SDP's"
    assert sent and received
    for packets in (sent, received):
        assert {row[3] for row in packets} == {"2"}
        assert {row[4] for row in packets} == {"8"}  # PCMA, as the echo answered
        assert len({row[7] for row in packets}) == 1  # one SSRC
        sequence = [int(row[5]) for row in packets]
        assert sequence == [(sequence[0] + n) % 65536 for n in range(len(sequence))]
        stamps = [int(row[6]) for row in packets]
        assert all(b - a == 160 for a, b in itertools.pairwise(stamps))
        # header only: IP 20 + UDP 8 + RTP 12 kept of 20 + 8 + 12 + 160 bytes of audio
        assert {(row[8], row[9]) for row in packets} == {("200", "40")}
    # The rule (README, --pcap): the report's figures are read when the talk time
    # ends, and siptest hangs up at once, which stops the stream. Received packets
    # are handed up only while siptest polls, so the capture holds exactly those
    # counted; sent ones go on from the audio clock's thread until the stream stops:
    # the few sent after the reading are all after the last packet received.
    assert len(received) == media["received"]["packets"]
    assert len(sent) >= media["sent"]["packets"]
    last_received = max(float(row[0]) for row in received)
    after = sum(1 for row in sent if float(row[0]) > last_received)
    assert len(sent) - media["sent"]["packets"] <= after
    # RTCP: ours from the port after our RTP port to the one after theirs (RFC 3550 11)
    rtcp = tshark_fields(pcap, "rtcp", "udp.srcport", "udp.dstport")
    assert rtcp and {(int(a), int(b)) for a, b in rtcp} == {(ours + 1, theirs + 1)}
    # The SIP part is the same as without media: message for message the trace.
    assert tshark_sip(pcap) == trace_sip(trace)


def test_a_call_nobody_answers_writes_no_media_into_the_capture(siptest, lab, tmp_path):
    pcap, trace = tmp_path / "unanswered.pcap", tmp_path / "unanswered.txt"
    result = siptest(
        "call", f"1001@127.0.0.1:{lab.sip_port}", "7001", "--ring-timeout", "1",
        "--expect", "callee", "--pcap", str(pcap), "--trace", str(trace), password=PASSWORD,
    )  # fmt: skip
    assert result.status == 0, result.stdout + result.stderr
    assert tshark_fields(pcap, "rtp || rtcp || (udp && !sip)", "frame.number") == []
    messages = tshark_sip(pcap)
    assert messages == trace_sip(trace) and "CANCEL" in messages
