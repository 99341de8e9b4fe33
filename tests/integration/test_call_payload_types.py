"""`siptest call` against far ends that send RTP of another payload type than the one
pjsua's stream decodes, legitimately or not: another codec both SDPs list (RFC 3264
5.1: the far end may change among them without a new offer), a codec only one side
named, and a codec change by a re-INVITE. What the far end sent as agreed audio is
audio heard; anything else is not.

Each far end is TalkingFarEnd (test_call_far_end_faults.py) with the formats of its
SDP answer and the payload type of its RTP set by the test; all on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from test_call_far_end_faults import TalkingFarEnd
from test_call_verdicts import dial, tagged

pytestmark = pytest.mark.timeout(60)


class CodecFarEnd(TalkingFarEnd):
    """`answer`: the formats its SDP answer lists, "PT name/rate" each, in order (its
    first is what pjsua's stream decodes); `sends`: the payload type of its RTP;
    `reinvite_to`: after 1 s it offers only this format in a re-INVITE, ACKs pjsua's
    answer and sends that payload type from then on (marker bit set on the first)."""

    def __init__(
        self, sip_peer, *, answer: tuple[str, ...], sends: int,
        reinvite_to: str | None = None,
    ) -> None:  # fmt: skip
        self.answer, self.sends, self.reinvite_to = answer, sends, reinvite_to
        super().__init__(sip_peer, rtp="audio")

    def media_lines(self, formats: tuple[str, ...]) -> str:
        port = self.media.getsockname()[1]
        kinds = " ".join(f.split()[0] for f in formats)
        maps = "".join(f"a=rtpmap:{f}\r\n" for f in formats)
        return f"m=audio {port} RTP/AVP {kinds}\r\n{maps}"

    def sdp(self) -> bytes:
        return (
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            + self.media_lines(self.answer)
        ).encode()

    def reinvite(self, offer: str) -> None:
        invite, cseq = self.invite, 2
        body = (
            "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            + self.media_lines((offer,))
        )
        head = (
            f"{{method}} {self.ours} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.peer.port};branch=z9hG4bK-far-{{method}}\r\n"
            f"From: {tagged(invite.header('to') + ';tag=peer-0')}\r\n"
            f"To: {invite.header('from')}\r\n"
            f"Call-ID: {invite.header('call-id')}\r\nCSeq: {cseq} {{method}}\r\n"
            f"Contact: <sip:7000@127.0.0.1:{self.peer.port}>\r\nMax-Forwards: 70\r\n"
        )
        text = head.format(method="INVITE") + (
            f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}"
        )
        self.peer._sock.sendto(text.encode(), invite.source)
        self.stop.wait(0.1)  # pjsua's 200 OK has come; ACK it (not read here)
        ack = head.format(method="ACK") + "Content-Length: 0\r\n\r\n"
        self.peer._sock.sendto(ack.encode(), invite.source)

    def send_audio(self) -> None:
        ssrc, number, kind, marker = 0x5170, 0, self.sends, 0
        for seq in range(500):  # 10 s at most
            if self.stop.wait(0.02):
                return
            if self.reinvite_to is not None and seq == 50:
                self.reinvite(self.reinvite_to)
                kind, marker = int(self.reinvite_to.split()[0]), 0x80
            header = struct.pack("!BBHII", 0x80, marker | kind, number, seq * 160, ssrc)
            number, marker = number + 1, 0
            self.media.sendto(header + b"\xd5" * 160, self.audio_to)
            self.sent[kind] = self.sent.get(kind, 0) + 1


@pytest.fixture
def codec_far_end(sip_peer):
    made: list[CodecFarEnd] = []

    def make(**options) -> CodecFarEnd:
        made.append(CodecFarEnd(sip_peer, **options))
        return made[-1]

    yield make
    for far in made:
        far.close()


def test_audio_in_the_second_codec_both_sdps_list_is_audio_heard(siptest, codec_far_end):
    # Our offer lists PCMA first and PCMU; the answer "0 8" keeps both, and the far end
    # sends PCMA, the offer's preferred one (RFC 3264 6.1). pjsua's stream decodes
    # only the answer's first (PCMU), yet the far end's audio did arrive, as agreed.
    far = codec_far_end(answer=("0 PCMU/8000", "8 PCMA/8000"), sends=8)
    result = dial(siptest, far.peer, "--talk", "2")
    assert result.status == 0, result.stdout
    media = result.check("media")
    assert (media["media"]["verdict"], media["diagnosis"]["id"]) == ("both", "media.ok")
    assert 0 < media["media"]["received"]["packets"] <= far.sent[8]
    assert "stopped" not in media["media"]


def test_audio_in_a_codec_of_our_offer_the_answer_left_out_is_not_audio_heard(
    siptest, codec_far_end
):
    # The twin: the answer keeps only PCMU, and the far end sends PCMA all the same.
    # PCMA was in our offer, but not agreed: nothing heard, and the codec named.
    far = codec_far_end(answer=("0 PCMU/8000",), sends=8)
    result = dial(siptest, far.peer, "--talk", "2")
    assert result.status == 1, result.stdout
    media = result.check("media")
    assert media["media"]["verdict"] == "one_way_out"
    assert media["media"]["received"]["packets"] == 0
    assert media["diagnosis"]["id"] == "media.no_audio_from_far_end"
    assert "format it never agreed" in media["diagnosis"]["title"]


def test_audio_in_a_codec_of_the_answer_we_never_offered_is_not_audio_heard(siptest, codec_far_end):
    # The other twin: the answer adds G.729 (PT 18), which our offer never listed
    # (RFC 3264 6.1: an answer names only formats of the offer), and sends it.
    far = codec_far_end(answer=("0 PCMU/8000", "18 G729/8000"), sends=18)
    result = dial(siptest, far.peer, "--talk", "2")
    assert result.status == 1, result.stdout
    media = result.check("media")
    assert media["media"]["verdict"] == "one_way_out"
    assert media["media"]["received"]["packets"] == 0
    assert "format it never agreed" in media["diagnosis"]["title"]


def test_a_reinvite_changing_the_codec_keeps_the_audio_heard(siptest, codec_far_end):
    # PCMU for 1 s, then the far end's re-INVITE offers PCMA alone and its RTP follows
    # (marker bit on the first packet): pjsua makes a new stream, whose count starts
    # afresh; the audio never stopped.
    far = codec_far_end(answer=("0 PCMU/8000",), sends=0, reinvite_to="8 PCMA/8000")
    result = dial(siptest, far.peer, "--talk", "3")
    assert result.status == 0, result.stdout
    media = result.check("media")
    assert (media["media"]["verdict"], media["diagnosis"]["id"]) == ("both", "media.ok")
    assert media["media"]["codec"] == "PCMA"
    assert "stopped" not in media["media"]
    assert 0 < media["media"]["received"]["packets"] <= far.sent[8]


# -- the tap on every call, against the lab's echo, in a process of its own ---------------

TAP_AGENT = Path(__file__).parent / "tap_agent.py"
PASSWORD = "lab-1001-pass"


def tap_agent(*args: object) -> str:
    done = subprocess.run(
        [sys.executable, str(TAP_AGENT), *map(str, args)], capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return done.stdout


def test_calls_still_up_when_the_agent_closes_leave_the_process_alive(lab):
    out = tap_agent("up_at_close", lab.sip_port, PASSWORD)
    assert "calls up: 2" in out
    assert out.rstrip().endswith("survived")


def test_four_calls_at_once_each_count_only_their_own_echo(lab):
    # Four transports under the tap at once, each call's packets counted for it alone:
    # the echo returns what the call sent, so no call can have heard more than it sent.
    out = tap_agent("four", lab.sip_port, PASSWORD)
    calls = [line.split() for line in out.splitlines() if line.startswith("call:")]
    assert len(calls) == 4, out
    for _, code, received, sent, stopped, *_ in calls:
        assert code == "200" and stopped == "None", out
        assert 0 < int(received) <= int(sent), out
    assert out.rstrip().endswith("survived")


def test_an_interrupted_call_carrying_audio_ends_cleanly(siptest, far_end_for_signal):
    # SIGINT while the tap is counting the far end's RTP: the call is hung up, the
    # stack destroyed before the tap's tables, and siptest exits 130, not an abort (134).
    far, child = far_end_for_signal
    assert far.confirmed.wait(10), "the call was never answered"
    far.stop.wait(0.5)  # audio flows
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 130, (child.returncode, err)
    assert "Traceback" not in err
    assert json.loads(out)["interrupted"] is True
    assert any(r.method == "BYE" for r in far.peer.received)


@pytest.fixture
def far_end_for_signal(sip_peer):
    far = TalkingFarEnd(sip_peer, rtp="audio")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SIPTEST_")}
    environment["SIPTEST_PASSWORD"] = PASSWORD
    child = subprocess.Popen(
        [sys.executable, "-m", "siptest", "call", f"1001@127.0.0.1:{far.peer.port}", "7000",
         "--no-register", "--json", "--timeout", "2", "--talk", "20"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=environment,
    )  # fmt: skip
    try:
        yield far, child
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
        far.close()
