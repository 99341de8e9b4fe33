"""`siptest call` against far ends that answer in ways a phone rarely sees: the verdict
must say what happened and blame the right party.

Each far end is a scripted peer (tests/integration/sippeer.py) on 127.0.0.1; siptest
dials it directly (`--no-register`). Every case has its twin: the nearby behaviour that
must keep its old verdict.
"""

from __future__ import annotations

import re
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from sippeer import Request, always, message, response_head

PASSWORD = "no-challenge"
TAG = "far-end-1"


@pytest.fixture
def rtp_port() -> Iterator[int]:
    """A bound UDP port the far end's SDP names (it sends nothing from it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def sdp(port: int) -> bytes:
    return (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    ).encode()


def tagged(head: str) -> str:
    """The same To tag on every response of the far end (one dialog, no forking)."""
    return re.sub(r"tag=peer-[0-9a-f]+", f"tag={TAG}", head)


def answer(request: Request, port: int, contact: str) -> bytes:
    extra = [("Contact", contact), ("Content-Type", "application/sdp")]
    return message(tagged(response_head(request, 200, "OK", extra)), sdp(port))


def as_invite(cancel: Request) -> Request:
    """The INVITE a CANCEL cancels: same Via branch, Call-ID and CSeq number (RFC 3261 9.1)."""
    headers = tuple(
        (name, value.replace("CANCEL", "INVITE") if name == "cseq" else value)
        for name, value in cancel.headers
    )
    return replace(cancel, headers=headers)


def far_end(sip_peer: Callable[..., object], on_cancel: str, port: int) -> object:
    """A far end that rings (180) and, when the CANCEL comes, either answers the INVITE
    after all (`on_cancel="answer"`: 200 to the CANCEL, then 200 OK with SDP to the
    INVITE, the RFC 3261 9.1 race) or ends it as it should ("terminate": 487)."""
    contact: list[str] = []

    def step(request: Request) -> list[bytes]:
        if request.method == "INVITE":
            return [message(tagged(response_head(request, 180, "Ringing")))]
        if request.method == "ACK":
            return []
        if request.method == "CANCEL":
            invite = as_invite(request)
            final = (
                answer(invite, port, contact[0])
                if on_cancel == "answer"
                else message(tagged(response_head(invite, 487, "Request Terminated")))
            )
            return [message(response_head(request, 200, "OK")), final]
        return [message(response_head(request, 200, "OK"))]

    peer = sip_peer("udp", always(step))
    contact.append(f"<sip:7000@127.0.0.1:{peer.port}>")  # type: ignore[attr-defined]
    return peer


def dial(siptest, peer, *extra: str):
    result = siptest(
        "call", f"1001@127.0.0.1:{peer.port}", "7000", "--no-register", "--json",
        "--timeout", "2", *extra, password=PASSWORD,
    )  # fmt: skip
    assert "Traceback" not in result.stderr, result.stderr
    return result


# -- answered after our CANCEL (RFC 3261 9.1: the 2xx wins the race) -------------------


def test_an_answer_after_the_ring_timeouts_cancel_is_not_a_pass(siptest, sip_peer, rtp_port):
    peer = far_end(sip_peer, "answer", rtp_port)
    result = dial(siptest, peer, "--ring-timeout", "1")
    assert result.status == 1, result.stdout
    call = result.check("call")
    assert call["ok"] is False
    assert (call["cancelled_by_us"], call["answered"]) == (True, False)
    assert (call["response"]["code"], call["response"]["origin"]) == (200, "remote")
    assert call["diagnosis"]["id"] == "callee.answered_after_cancel"
    assert call["diagnosis"]["category"] == "callee"
    assert "rang for 1 second" in call["diagnosis"]["explanation"]
    # siptest acknowledged the late answer and ended that call at once (RFC 3261 15)
    assert [r.method for r in peer.requests] == ["INVITE", "CANCEL", "ACK", "BYE"]


def test_a_late_answer_passes_when_an_unanswered_call_is_expected(siptest, sip_peer, rtp_port):
    peer = far_end(sip_peer, "answer", rtp_port)
    result = dial(siptest, peer, "--ring-timeout", "1", "--expect", "callee")
    assert result.status == 0, result.stdout
    assert result.check("call")["expectation_met"] is True


def test_a_late_answer_is_no_answer_the_user_expected(siptest, sip_peer, rtp_port):
    peer = far_end(sip_peer, "answer", rtp_port)
    result = dial(siptest, peer, "--ring-timeout", "1", "--expect", "answered")
    assert result.status == 1, result.stdout
    assert result.check("call")["expectation_met"] is False


def test_a_cancel_the_far_end_honours_is_still_the_ring_timeout(siptest, sip_peer, rtp_port):
    # The twin: the same far end, ending the INVITE with 487 as RFC 3261 9.2 says.
    peer = far_end(sip_peer, "terminate", rtp_port)
    result = dial(siptest, peer, "--ring-timeout", "1")
    assert result.status == 1, result.stdout
    call = result.check("call")
    assert (call["response"]["code"], call["response"]["origin"]) == (487, "remote")
    assert call["diagnosis"]["id"] == "callee.ring_timeout"
    assert [r.method for r in peer.requests] == ["INVITE", "CANCEL", "ACK"]


# -- answered, then hung up at once (BYE right after our ACK) ----------------------------


def hanging_up(sip_peer, port: int, *, bye: bool, audio_port: int | None = None):
    """A far end that answers at once; with `bye` it sends BYE as soon as our ACK
    arrives (before any audio); `audio_port` is the port its SDP names (0: it
    refuses the audio stream, RFC 3264 6)."""
    contact: list[str] = []
    ours: list[str] = []

    def step(request: Request) -> list[bytes]:
        if request.method == "INVITE":
            ours.append((request.header("contact") or "").strip("<>").split(">")[0])
            media = port if audio_port is None else audio_port
            return [answer(request, media, contact[0])]
        if request.method == "ACK":
            if not bye:
                return []
            text = (
                f"BYE {ours[0]} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{peer.port};branch=z9hG4bK-far-end-bye\r\n"
                f"From: {request.header('to')}\r\nTo: {request.header('from')}\r\n"
                f"Call-ID: {request.header('call-id')}\r\nCSeq: 1 BYE\r\n"
                "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            )
            return [text.encode()]
        return [message(response_head(request, 200, "OK"))]

    peer = sip_peer("udp", always(step))
    contact.append(f"<sip:7000@127.0.0.1:{peer.port}>")
    return peer


def test_a_far_end_that_hangs_up_as_it_answers_is_named_not_an_sdp_fault(
    siptest, sip_peer, rtp_port
):
    peer = hanging_up(sip_peer, rtp_port, bye=True)
    result = dial(siptest, peer, "--talk", "2")
    assert result.status == 1, result.stdout
    call = result.check("call")
    assert (call["answered"], call["hangup"]) == (True, "remote")
    media = result.check("media")
    assert media["ok"] is False
    # Its SDP was fine: not "no audio stream was set up (port 0, no common codec)".
    assert media["diagnosis"]["id"] == "callee.hung_up_at_once"
    assert media["diagnosis"]["category"] == "callee"
    assert "codec" not in media["diagnosis"]["explanation"].lower()
    # siptest answered the far end's BYE and sent none of its own
    assert [r.method for r in peer.requests] == ["INVITE", "ACK"]


def test_an_answer_that_refuses_the_audio_stream_is_still_no_stream(siptest, sip_peer, rtp_port):
    # The twin: the far end answers with m=audio 0 (stream refused, RFC 3264 6) and
    # siptest's own stack ends the call (its BYE): no audio stream, and siptest hung up.
    peer = hanging_up(sip_peer, rtp_port, bye=False, audio_port=0)
    result = dial(siptest, peer, "--talk", "2")
    assert result.status == 1, result.stdout
    call = result.check("call")
    assert (call["answered"], call["hangup"]) == (True, "us")
    media = result.check("media")
    assert media["diagnosis"]["id"] == "media.no_stream"
    assert [r.method for r in peer.requests][:2] == ["INVITE", "BYE"]


# -- put on hold mid-call by the far end's re-INVITE (RFC 3264 8.4) ---------------------


class AudioFarEnd:
    """A far end that answers, sends G.711 audio (20 ms packets) to siptest's SDP port
    once our ACK arrives, and 1 s later sends a re-INVITE whose SDP carries
    `direction` (e.g. "a=inactive": hold; "" keeps sendrecv). On hold it stops sending,
    as a far end does for a=inactive (and nothing changes for "")."""

    def __init__(self, sip_peer, direction: str) -> None:
        self.direction = direction
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", 0))
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.peer = sip_peer("udp", always(self.step))

    def sdp(self, version: int, direction: str = "") -> bytes:
        port = self.rtp.getsockname()[1]
        text = (
            f"v=0\r\no=- 1 {version} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
            f"t=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        )
        return (text + (f"{direction}\r\n" if direction else "")).encode()

    def step(self, request: Request) -> list[bytes]:
        if request.method == "INVITE":
            self.ours = re.search(r"<([^>]+)>", request.header("contact") or "").group(1)
            body = request.raw.split(b"\r\n\r\n", 1)[1].decode()
            self.audio_to = ("127.0.0.1", int(re.search(r"m=audio (\d+)", body).group(1)))
            extra = [("Contact", f"<sip:7000@127.0.0.1:{self.peer.port}>")]
            extra.append(("Content-Type", "application/sdp"))
            return [message(tagged(response_head(request, 200, "OK", extra)), self.sdp(1))]
        if request.method == "ACK" and not self.threads:
            self.spawn(self.send_audio)
            self.spawn(lambda: self.reinvite(request))
            return []
        if request.method == "ACK":
            return []
        return [message(response_head(request, 200, "OK"))]

    def spawn(self, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, daemon=True)
        self.threads.append(thread)
        thread.start()

    def send_audio(self) -> None:
        for seq in range(500):  # 10 s at most
            if self.stop.wait(0.02):
                return
            header = struct.pack("!BBHII", 0x80, 0, seq, seq * 160, 0x5170)
            self.rtp.sendto(header + b"\xff" * 160, self.audio_to)

    def reinvite(self, ack: Request) -> None:
        if self.stop.wait(1.0):  # 1 s of audio both ways first
            return
        if self.direction == "a=inactive":
            self.stop.set()
        body = self.sdp(2, self.direction)
        head = (
            f"INVITE {self.ours} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.peer.port};branch=z9hG4bK-far-end-reinvite\r\n"
            f"From: {ack.header('to')}\r\nTo: {ack.header('from')}\r\n"
            f"Call-ID: {ack.header('call-id')}\r\nCSeq: 5 INVITE\r\n"
            f"Contact: <sip:7000@127.0.0.1:{self.peer.port}>\r\nMax-Forwards: 70\r\n"
            f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.peer._sock.sendto(head.encode() + body, ack.source)

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=3)
        self.rtp.close()


@pytest.fixture
def audio_far_end(sip_peer):
    made: list[AudioFarEnd] = []

    def make(direction: str) -> AudioFarEnd:
        made.append(AudioFarEnd(sip_peer, direction))
        return made[-1]

    yield make
    for far in made:
        far.close()


@pytest.mark.parametrize(
    ("direction", "verdict"), [("a=inactive", "none"), ("a=sendonly", "one_way_in")]
)
def test_a_far_end_that_puts_the_call_on_hold_is_named_not_the_network(
    siptest, audio_far_end, direction, verdict
):
    far = audio_far_end(direction)
    result = dial(siptest, far.peer, "--talk", "3")
    assert result.status == 1, result.stdout
    media = result.check("media")
    assert media["media"]["verdict"] == verdict
    assert media["diagnosis"]["id"] == "media.on_hold"
    assert direction in media["diagnosis"]["explanation"]
    assert "firewall" not in media["diagnosis"]["fix"].lower()


def test_a_re_invite_that_keeps_audio_both_ways_is_no_hold(siptest, audio_far_end):
    # The twin: the same re-INVITE 1 s into the call, its SDP still sendrecv.
    far = audio_far_end("")
    result = dial(siptest, far.peer, "--talk", "3")
    assert result.status == 0, result.stdout
    media = result.check("media")
    assert (media["media"]["verdict"], media["diagnosis"]["id"]) == ("both", "media.ok")
