"""`--pcap`: the SIP exchange as a capture that tshark (Wireshark) decodes, message for
message the same as the trace, with credentials redacted."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from waiting import eventually

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


def write_scenario(path: Path, port: int, steps: str, callee_answers: bool) -> Path:
    """Lab accounts 1001 (calls) and 1002 (answers calls when told), both registered."""
    path.write_text(
        "name: pcap\n"
        "accounts:\n"
        f"  caller: {{user: '1001', host: 127.0.0.1, port: {port},\n"
        "           password_env: SIPTEST_PASSWORD}\n"
        f"  callee: {{user: '1002', host: 127.0.0.1, port: {port}, password_env: PASSWORD_B,\n"
        f"           answers_calls: {'true' if callee_answers else 'false'}}}\n"
        "steps:\n"
        "  - register: caller\n"
        "  - register: callee\n" + steps
    )
    return path


def run_checks(result) -> list[dict]:
    assert result.status == 0, result.stdout + result.stderr
    return [c for c in json.loads(result.stdout)["scenarios"][0]["checks"] if c["kind"] == "call"]


def call_ports(path) -> dict[str, tuple[int, int]]:
    """Per Call-ID: the audio port of the offer (INVITE) and of the 200 answer. Every
    copy of a message (caller to proxy, proxy to callee) must name the same port."""
    rows = tshark_fields(path, "sdp", "sip.Call-ID", "sip.Method", "sip.Status-Code",
                         "sdp.media.port")  # fmt: skip
    offers: dict[str, set[int]] = {}
    answers: dict[str, set[int]] = {}
    for call_id, method, status, port in rows:
        if method == "INVITE":
            offers.setdefault(call_id, set()).add(int(port))
        elif status == "200":
            answers.setdefault(call_id, set()).add(int(port))
    assert all(len(ports) == 1 for ports in [*offers.values(), *answers.values()])
    return {cid: (offers[cid].pop(), answers[cid].pop()) for cid in answers}


RTP_FIELDS = ("frame.time_epoch", "udp.srcport", "udp.dstport", "rtp.ssrc", "rtp.seq",
              "rtp.timestamp", "frame.len", "frame.cap_len", "rtp.p_type")  # fmt: skip


def one_stream(packets: list[list[str]]) -> None:
    """One source, every packet once, none missing, each cut after its RTP header."""
    assert len({row[3] for row in packets}) == 1
    sequence = [int(row[4]) for row in packets]
    assert sequence == [(sequence[0] + n) % 65536 for n in range(len(sequence))]
    assert {row[7] for row in packets} <= {"40", "44"}  # 12-byte header (+ 4 only for
    assert all(int(row[6]) > int(row[7]) for row in packets)  # nothing: audio and events cut


def test_a_call_siptest_answers_itself_has_its_rtp_both_ways_in_the_capture_once(
    siptest, lab, tmp_path
):
    scenario = write_scenario(
        tmp_path / "pair.sip.yaml", lab.sip_port,
        "  - call: {number: '1002', account: caller, ring_timeout: 10, talk: 2}\n"
        "    expect: {answered: true}\n",
        callee_answers=True,
    )  # fmt: skip
    pcap, trace = tmp_path / "pair.pcap", tmp_path / "pair.txt"
    result = siptest(
        "run", str(scenario), "--json", "--pcap", str(pcap), "--trace", str(trace),
        password=PASSWORD, env={"PASSWORD_B": "lab-1002-pass"},
    )  # fmt: skip
    (media,) = [check["media"] for check in run_checks(result)]
    ((caller, callee),) = call_ports(pcap).values()
    assert caller != callee
    rows = tshark_fields(pcap, "rtp", *RTP_FIELDS)
    sent = [row for row in rows if (int(row[1]), int(row[2])) == (caller, callee)]
    back = [row for row in rows if (int(row[1]), int(row[2])) == (callee, caller)]
    assert len(sent) + len(back) == len(rows), "RTP between other ports than the SDP's"
    assert sent and back
    for packets in (sent, back):
        one_stream(packets)
    # Both ends are siptest's: each datagram is written once, when it was sent; what
    # the caller counts sent and received went that way, and the callee sent on
    # until the BYE reached it (README: media in the capture).
    assert len(sent) >= media["sent"]["packets"]
    assert len(back) >= media["received"]["packets"]
    rtcp = tshark_fields(pcap, "rtcp", "udp.srcport", "udp.dstport")
    assert {(int(a), int(b)) for a, b in rtcp} == {
        (caller + 1, callee + 1),
        (callee + 1, caller + 1),
    }
    assert tshark_sip(pcap) == trace_sip(trace)


def test_calls_nobody_of_ours_answers_keep_the_placed_calls_capture_alone(siptest, lab, tmp_path):
    # The callee refuses (486): no media there. Then two calls to the echo, one after
    # the other: the second call's transport is made where the first one's was freed,
    # and must be captured all the same.
    scenario = write_scenario(
        tmp_path / "refused.sip.yaml", lab.sip_port,
        "  - call: {number: '1002', account: caller}\n"
        "    expect: 486\n"
        "  - call: {number: '7000', account: caller, talk: 1}\n"
        "  - call: {number: '7000', account: caller, talk: 1}\n",
        callee_answers=False,
    )  # fmt: skip
    pcap = tmp_path / "refused.pcap"
    result = siptest(
        "run", str(scenario), "--json", "--pcap", str(pcap),
        password=PASSWORD, env={"PASSWORD_B": "lab-1002-pass"},
    )  # fmt: skip
    medias = [check["media"] for check in run_checks(result) if check.get("media")]
    ports = list(call_ports(pcap).values())
    assert len(medias) == len(ports) == 2  # the refused call has no SDP answer
    rows = tshark_fields(pcap, "rtp", *RTP_FIELDS)
    counted = 0
    for (ours, theirs), media in zip(ports, medias, strict=True):
        sent = [row for row in rows if (int(row[1]), int(row[2])) == (ours, theirs)]
        received = [row for row in rows if (int(row[1]), int(row[2])) == (theirs, ours)]
        for packets in (sent, received):
            one_stream(packets)
        # the rules for a placed call (README): received exactly, sent at least
        assert len(received) == media["received"]["packets"]
        assert len(sent) >= media["sent"]["packets"]
        counted += len(sent) + len(received)
    assert counted == len(rows), "RTP that is not the calls to the echo"
    assert len(tshark_fields(pcap, "udp && !sip && !rtp && !rtcp", "frame.number")) == 0


def test_both_ends_of_a_call_between_our_accounts_keep_their_own_media(lab):
    script = Path(__file__).with_name("pcap_pair.py")
    done = subprocess.run(
        [sys.executable, str(script), str(lab.sip_port)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=40,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip(), done.stderr
    outcome = json.loads(done.stdout.splitlines()[0])
    assert outcome["answered"] is True
    # the placed call's end first, then the answered one's, as the agent reaps it
    placed, answered = outcome["captured"]
    assert placed["call_id"] == answered["call_id"] != ""
    (caller,) = {p[2] for p in placed["packets"] if not p[1]}
    (callee,) = {p[2] for p in answered["packets"] if not p[1]}
    assert caller != callee

    def heads(packets, direction, rtcp=False):
        return [p[4] for p in packets if p[0] == direction and p[1] is rtcp]

    for leg, other in ((placed, callee), (answered, caller)):
        assert {p[3] for p in leg["packets"] if not p[1]} == {other}
        for rtcp in (False, True):
            assert heads(leg["packets"], "sent", rtcp) and heads(leg["packets"], "received", rtcp)
    # What one end received is what the other sent, in order, none twice.
    for got, gave in ((placed, answered), (answered, placed)):
        received = heads(got["packets"], "received")
        sent = heads(gave["packets"], "sent")
        assert len(set(received)) == len(received)
        assert received == [head for head in sent if head in set(received)]
    # The placed call's rule (README): it received exactly what its figures count.
    assert len(heads(placed["packets"], "received")) == outcome["media"]["received"]["packets"]


def callee_waits(path: Path, port: int, seconds: int, answers: bool = True) -> Path:
    """Lab account 1002 registers, answers calls (or refuses them, 486), and waits."""
    path.write_text(
        "name: answering\n"
        "accounts:\n"
        f"  callee: {{user: '1002', host: 127.0.0.1, port: {port}, password_env: PASSWORD_B,\n"
        f"           answers_calls: {'true' if answers else 'false'}}}\n"
        f"steps:\n  - register: callee\n  - wait: {seconds}\n"
    )
    return path


@pytest.mark.parametrize("answers", [True, False])
def test_a_call_answered_and_still_running_when_the_run_ends_keeps_its_rtp(
    lab, lab_log, tmp_path, answers
):
    # Someone else (another siptest process) calls 1002 for longer than the scenario
    # waits: siptest hangs that call up as it closes, and its media stays in the capture.
    # The twin: 1002 refuses the call (486): no media at all.
    scenario = callee_waits(tmp_path / "answering.sip.yaml", lab.sip_port, 4, answers)
    pcap = tmp_path / "answering.pcap"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIPTEST_")}
    running = subprocess.Popen(
        [sys.executable, "-m", "siptest", "run", str(scenario), "--json", "--pcap", str(pcap)],
        env={**env, "PASSWORD_B": "lab-1002-pass"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:

        def exited() -> str | None:
            return None if running.poll() is None else f"siptest run exited: {running.returncode}"

        eventually(
            lambda: lab_log.requests("REGISTER", "1002"), "1002's REGISTER at the lab", 10,
            alive=exited,
        )  # fmt: skip
        caller = subprocess.run(
            [sys.executable, "-m", "siptest", "call", f"1001@127.0.0.1:{lab.sip_port}", "1002",
             "--talk", "8", "--json"],
            env={**env, "SIPTEST_PASSWORD": PASSWORD},
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        out, err = running.communicate(timeout=30)
    finally:
        if running.poll() is None:
            running.kill()
            running.wait(timeout=10)
    assert running.returncode == 0, out + err
    (call,) = [c for c in json.loads(caller.stdout)["checks"] if c["kind"] == "call"]
    if not answers:
        assert (call["answered"], call["response"]["code"]) == (False, 486), call
        assert tshark_fields(pcap, "rtp || rtcp || (udp && !sip)", "frame.number") == []
        return
    assert (call["answered"], call["hangup"]) == (True, "remote")  # our close() hung up
    ((offer, answer),) = call_ports(pcap).values()
    rows = tshark_fields(pcap, "rtp", *RTP_FIELDS)
    came = [row for row in rows if (int(row[1]), int(row[2])) == (offer, answer)]
    went = [row for row in rows if (int(row[1]), int(row[2])) == (answer, offer)]
    assert came and went and len(came) + len(went) == len(rows)
    for packets in (came, went):
        one_stream(packets)


def test_calls_to_our_own_account_and_to_the_echo_in_turn_keep_every_packet_once(
    siptest, lab, tmp_path
):
    # Answered by our account, then the echo, then our account again: each call's
    # transports are made where the previous call's were freed (the tap's handles and
    # its tables by transport). Every stream of every call: whole, once, its own ports.
    scenario = write_scenario(
        tmp_path / "turns.sip.yaml", lab.sip_port,
        "  - call: {number: '1002', account: caller, talk: 1}\n"
        "  - call: {number: '7000', account: caller, talk: 1}\n"
        "  - call: {number: '1002', account: caller, talk: 1}\n",
        callee_answers=True,
    )  # fmt: skip
    pcap = tmp_path / "turns.pcap"
    result = siptest(
        "run", str(scenario), "--json", "--pcap", str(pcap),
        password=PASSWORD, env={"PASSWORD_B": "lab-1002-pass"},
    )  # fmt: skip
    medias = [check["media"] for check in run_checks(result)]
    ports = list(call_ports(pcap).values())
    assert len(medias) == len(ports) == 3
    rows = tshark_fields(pcap, "rtp", *RTP_FIELDS)
    counted = 0
    for (ours, theirs), media in zip(ports, medias, strict=True):
        sent = [row for row in rows if (int(row[1]), int(row[2])) == (ours, theirs)]
        back = [row for row in rows if (int(row[1]), int(row[2])) == (theirs, ours)]
        for packets in (sent, back):
            one_stream(packets)
        assert len(sent) >= media["sent"]["packets"] and len(back) >= media["received"]["packets"]
        counted += len(sent) + len(back)
    assert counted == len(rows)
