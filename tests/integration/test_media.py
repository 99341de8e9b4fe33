"""Media verdicts (issue 6) with real RTP: the lab's echo, a silent SIPp, a lossy relay, DTMF.

Every call is a real `siptest call ... --json` (or, for DTMF between two lab accounts,
a PjsuaAgent in a subprocess: tests/integration/dtmf_pair.py). The SIPp peers and the
relay of this file are in tests/integration/mediapeers.py; traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import Result, run_siptest
from mediapeers import RtpRelay, SippUas
from waiting import eventually

PASSWORD = "lab-1001-pass"
TALK = "2"


def media_of(result: Result) -> dict:
    return result.check("media")


def direct_call(uas: SippUas, talk: str = TALK) -> Result:
    """Dial SIPp directly: no registrar, and SIPp challenges nothing."""
    return run_siptest(
        "call", f"1001@127.0.0.1:{uas.sip_port}", uas.uri,
        "--no-register", "--talk", talk, "--timeout", "2", "--json",
        password="no-challenge",
    )  # fmt: skip


@pytest.fixture(scope="module")
def echo_call(lab) -> Result:
    """One clean call to the lab's RTP-echoing SIPp (7000), shared as the reference."""
    return run_siptest(
        "call", f"1001@127.0.0.1:{lab.sip_port}", "7000", "--talk", TALK, "--timeout", "2",
        "--json", password=PASSWORD,
    )  # fmt: skip


@pytest.mark.lab
def test_echo_peer_gives_audio_both_ways_with_a_mos(echo_call):
    assert echo_call.status == 0, echo_call.stdout + echo_call.stderr
    check = media_of(echo_call)
    assert check["ok"] is True
    assert check["diagnosis"]["id"] == "media.ok"
    media = check["media"]
    assert media["verdict"] == "both"
    assert media["audio_in"] is True and media["audio_out"] is True
    assert media["codec"] == "PCMA"
    assert media["mos"] is not None and media["mos"] >= 4.0
    # --talk 2 at 20 ms a packet: about 100 packets each way, none lost on loopback
    assert media["received"]["packets"] >= 80
    assert media["sent"]["packets"] >= 80
    assert media["received"]["loss_percent"] < 1
    assert media["summary"].startswith("audio both ways")


def test_peer_that_sends_no_rtp_is_one_way_audio(tmp_path):
    with SippUas(tmp_path, echo=False) as uas:
        result = direct_call(uas)
        sipp_status = uas.wait(5)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.status == 1, result.stdout + result.stderr
    assert result.check("call")["answered"] is True
    check = media_of(result)
    assert check["ok"] is False
    assert check["diagnosis"]["category"] == "media"
    assert check["diagnosis"]["id"] == "media.no_audio_from_far_end"
    assert "you can hear nothing from the far end" in check["diagnosis"]["title"]
    media = check["media"]
    assert media["verdict"] == "one_way_out"
    assert media["audio_out"] is True and media["audio_in"] is False
    assert media["received"]["packets"] == 0
    assert media["sent"]["packets"] >= 80
    assert media["mos"] is None
    assert media["remote_rtp"] == f"127.0.0.1:{uas.media_port}"
    assert sipp_status == 0, uas.log()  # SIPp saw INVITE, ACK and BYE as scripted


# (drop every Nth packet toward the echo, every Mth on the way back); 0: none.
# A packet lost on the way to the echo never comes back either, so siptest sees
# both directions' drops in what it receives: 1 - (1 - 1/N)(1 - 1/M). The echo sends
# no RTCP, so siptest cannot tell which leg lost them, and the outgoing direction
# keeps siptest's own count (0 % lost).
LOSS_PATTERNS = [pytest.param((10, 0), id="10pct-toward-echo"),
                 pytest.param((10, 20), id="10pct-out-5pct-back")]  # fmt: skip


@pytest.mark.lab
@pytest.mark.parametrize("drop_every", LOSS_PATTERNS)
def test_relay_loss_shows_as_received_loss_and_lowers_the_mos(tmp_path, echo_call, drop_every):
    out, back = drop_every
    kept = (1 - (1 / out if out else 0)) * (1 - (1 / back if back else 0))
    injected = 100 * (1 - kept)
    with RtpRelay(drop_every) as relay:
        uas = SippUas(tmp_path, echo=True, rtp_port=relay.port)
        relay.start(uas.media_address)
        with uas:
            # 3 s (about 150 packets): the pattern's rounding stays well inside 2 points
            result = direct_call(uas, talk="3")
            uas.wait(5)
    assert "Traceback" not in result.stderr, result.stderr
    media = media_of(result)["media"]
    assert media["remote_rtp"] == f"127.0.0.1:{relay.port}"
    counts = relay.counts
    assert counts.to_peer >= 120, counts
    assert counts.to_peer_dropped == counts.to_peer // out
    measured = media["received"]["loss_percent"]
    assert abs(measured - injected) <= 2, (measured, injected, counts, media)
    # Exactly the relay's drops, but one at the very end of the stream leaves no
    # sequence gap for siptest to see.
    dropped = counts.to_peer_dropped + counts.to_client_dropped
    assert dropped - 1 <= media["received"]["lost"] <= dropped, (counts, media)
    assert media["sent"]["loss_percent"] == 0
    assert media["audio_in"] is True and media["audio_out"] is True
    clean = media_of(echo_call)["media"]
    assert media["mos"] is not None and media["mos"] < clean["mos"]
    assert media["received"]["mos"] < clean["received"]["mos"]
    # more than 5 % loss: poor quality, a failed media check (docs/media.md thresholds)
    assert media["verdict"] == "poor"
    check = media_of(result)
    assert check["diagnosis"]["id"] == "media.poor_quality"
    assert check["diagnosis"]["category"] == "media"
    assert result.status == 1


@pytest.mark.lab
@pytest.mark.parametrize("method", ["rfc4733", "info"])
def test_dtmf_arrives_at_a_second_test_account(lab, method):
    script = Path(__file__).with_name("dtmf_pair.py")
    done = subprocess.run(
        [sys.executable, str(script), str(lab.sip_port), "123#", method],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=40,
    )
    assert done.stdout.strip(), done.stderr
    outcome = json.loads(done.stdout.splitlines()[0])
    assert outcome["registered"] == [True, True], outcome
    assert outcome["answered"] is True, outcome
    assert outcome["dtmf_sent"] == "123#"
    assert outcome["received_digits"] == "123#", outcome
    media = outcome["media"]
    assert media["codec"] == "PCMA"
    assert media["received"]["packets"] > 0 and media["sent"]["packets"] > 0
    # The callee's call is still up when the caller's call() returns (the caller's BYE
    # is in flight); closing the agent must end it without aborting the process.
    assert done.returncode == 0, done.stderr


AUDIO_BEFORE_DEATH_S = 1.5


def test_a_far_end_that_dies_mid_call_is_not_a_pass(tmp_path):
    """SIPp echoes audio, then dies 1.5 s into a 4 s call: its RTP stops and nobody
    answers the BYE. The media check fails with "stopped", the hang-up is reported."""
    with SippUas(tmp_path, echo=True) as uas:

        def kill_after_audio_flowed() -> None:
            # From the ACK (the call is up), 1.5 s of audio, then SIPp dies: timed from
            # the answer, so a slow start cannot make the far end die before it answers.
            eventually(lambda: uas.received("ACK"), "the ACK at SIPp", 30)
            # Not a wait on anything: how long the far end's audio lives before it dies.
            time.sleep(AUDIO_BEFORE_DEATH_S)
            uas.stop()

        killer = threading.Thread(target=kill_after_audio_flowed, daemon=True)
        killer.start()
        try:
            result = subprocess.run(
                [sys.executable, "-m", "siptest", "call", f"1001@127.0.0.1:{uas.sip_port}",
                 uas.uri, "--no-register", "--talk", "4", "--timeout", "1", "--json"],
                capture_output=True, text=True, timeout=60,
                env={**os.environ, "SIPTEST_PASSWORD": "no-challenge"},
            )  # fmt: skip
        finally:
            killer.join(timeout=35)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    media = next(c for c in report["checks"] if c["kind"] == "media")
    assert media["ok"] is False
    assert media["diagnosis"]["id"] == "media.audio_stopped"
    stopped = media["media"]["stopped"]["received_after_s"]
    assert stopped is not None and 0.5 <= stopped <= 3.5
    hangup = next(c for c in report["checks"] if c["kind"] == "hangup")
    assert hangup["diagnosis"]["id"] == "cleanup.bye_unanswered"
    call = next(c for c in report["checks"] if c["kind"] == "call")
    assert call["answered"] is True


def test_a_clean_call_has_no_hangup_check_and_no_stop(echo_call):
    kinds = [c["kind"] for c in echo_call.json["checks"]]
    assert "hangup" not in kinds
    assert "stopped" not in media_of(echo_call)["media"]
