"""`siptest call` against far ends that answer and talk, then misbehave: their answer to
our BYE, the audio they send, our ACK they ignore. The verdict must say what happened
and blame the right party.

Each far end is a scripted SIP peer (tests/integration/sippeer.py) with plain UDP
sockets for its RTP, all on 127.0.0.1; siptest dials it directly (`--no-register`).
Every case has its twin: the nearby behaviour that keeps its verdict.
"""

from __future__ import annotations

import re
import socket
import struct
import threading
import time
from collections.abc import Callable

import pytest
from sippeer import Request, always, message, response_head
from test_call_verdicts import TAG, dial, tagged
from test_pcap import tshark_fields

pytestmark = pytest.mark.timeout(60)


class TalkingFarEnd:
    """A far end that answers at once (200 OK, PCMU) and sends 20 ms G.711 packets to
    siptest's SDP port once our ACK arrives.

    `bye`: its answer to our BYE ("200", "481", or "" for none at all).
    `rtp`: what it sends: "audio" (PCMU from the port its SDP names), "none",
    "nat" (PCMU from another port than its SDP names, as through a NAT; it reads
    what comes back on that port), "rtcp" (RTCP receiver reports only),
    "unknown_pt" (payload type 96, never offered), "ssrc" (a new SSRC every packet),
    "dtmf" (PCMU, and telephone-event/8000 with the payload type our offer gave it,
    RFC 3264 6.1: digit 5 as RFC 4733 events 0.5 s in, between the audio packets),
    "switch_pt" (PCMU for its first second, then payload type 96). `sent` counts its
    RTP packets by payload type.
    `ack`: "honour", or "ignore": the far end never sees our ACK and retransmits
    its 200 OK (RFC 3261 13.3.1.4, T1 = `t1` s, doubling to 4 s) until 64*T1, then
    ends the call with a BYE; "lose_first": the first ACK is lost, the 2xx comes
    again and the ACK siptest sends for it arrives. `hang_up_after`: seconds after
    our ACK when it sends BYE (None: never). `forks`: how many other phones of a ring
    group (a forking proxy) answer right after it, each with its own To tag;
    `fork_bye`: their answer to the BYE that ends each of them ("200" or "481").
    `audio_for`: seconds after which its RTP stops (None: never).
    `challenge_bye`: our BYE first gets 407 (a proxy that authenticates BYE), and
    `bye` answers the one sent again with credentials.
    """

    def __init__(
        self, sip_peer, *, bye: str = "200", rtp: str = "audio", ack: str = "honour",
        t1: float = 0.5, hang_up_after: float | None = None, forks: int = 0,
        fork_bye: str = "200", challenge_bye: bool = False,
        audio_for: float | None = None,
    ) -> None:  # fmt: skip
        self.bye, self.mode, self.ack, self.t1 = bye, rtp, ack, t1
        self.hang_up_after = hang_up_after
        self.forks, self.fork_bye = forks, fork_bye
        self.challenge_bye = challenge_bye
        self.audio_for = audio_for
        self.media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.media.bind(("127.0.0.1", 0))
        self.nat = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.nat.bind(("127.0.0.1", 0))
        self.nat.setblocking(False)
        self.came_back = 0
        self.event_pt = 0
        self.sent: dict[int, int] = {}
        self.stop = threading.Event()
        self.confirmed = threading.Event()
        self.threads: list[threading.Thread] = []
        self.peer = sip_peer("udp", always(self.step))

    def sdp(self) -> bytes:
        port = self.media.getsockname()[1]
        pt = self.event_pt
        events = f" {pt}" if pt else ""
        event_map = f"a=rtpmap:{pt} telephone-event/8000\r\na=fmtp:{pt} 0-15\r\n" if pt else ""
        return (
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
            f"t=0 0\r\nm=audio {port} RTP/AVP 0{events}\r\na=rtpmap:0 PCMU/8000\r\n{event_map}"
        ).encode()

    def step(self, request: Request) -> list[bytes]:
        if request.method == "INVITE":
            self.invite = request
            self.ours = re.search(r"<([^>]+)>", request.header("contact") or "").group(1)
            body = request.raw.split(b"\r\n\r\n", 1)[1].decode()
            self.audio_to = ("127.0.0.1", int(re.search(r"m=audio (\d+)", body).group(1)))
            event = re.search(r"a=rtpmap:(\d+) telephone-event/8000", body)
            self.event_pt = int(event.group(1)) if event and self.mode == "dtmf" else 0
            extra = [("Contact", f"<sip:7000@127.0.0.1:{self.peer.port}>")]
            extra.append(("Content-Type", "application/sdp"))
            self.ok = message(tagged(response_head(request, 200, "OK", extra)), self.sdp())
            if self.ack != "honour" and not self.threads:
                self.spawn(self.send_audio)
                self.spawn(self.retransmit)
            others = [
                self.ok.replace(f"tag={TAG}".encode(), f"tag=fork-{n}".encode())
                for n in range(1, self.forks + 1)
            ]
            return [self.ok, *others]
        if request.method == "ACK":
            if self.ack == "honour" and not self.threads:
                self.confirmed.set()
                self.spawn(self.send_audio)
                if self.hang_up_after is not None:
                    self.spawn(self.hang_up)
            return []
        if request.method == "BYE" and "tag=fork-" in (request.header("to") or ""):
            # another phone's call, which pjsip ends: gone already (481) or not
            code = int(self.fork_bye)
            reason = "OK" if code == 200 else "Call/Transaction Does Not Exist"
            return [message(response_head(request, code, reason))]
        if (
            request.method == "BYE"
            and self.challenge_bye
            and not request.header("proxy-authorization")
        ):
            challenge = [("Proxy-Authenticate", 'Digest realm="far-end", nonce="n0nce"')]
            return [
                message(response_head(request, 407, "Proxy Authentication Required", challenge))
            ]
        if request.method == "BYE":
            self.stop.set()
            if not self.bye:
                return []
            reason = "OK" if self.bye == "200" else "Call/Transaction Does Not Exist"
            return [message(response_head(request, int(self.bye), reason))]
        return [message(response_head(request, 200, "OK"))]

    def spawn(self, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, daemon=True)
        self.threads.append(thread)
        thread.start()

    def send_audio(self) -> None:
        ssrc = 0x5170
        number = 0  # RTP sequence number: audio and events share it (RFC 3550 5.1)
        for seq in range(500):  # 10 s at most
            if self.stop.wait(0.02):
                return
            if self.mode == "none" or (self.audio_for is not None and seq * 0.02 > self.audio_for):
                continue
            if self.mode == "rtcp":
                if seq % 50 == 0:  # an RTCP receiver report (RFC 3550 6.4.2) every second
                    report = struct.pack("!BBHI", 0x80, 201, 1, ssrc)
                    self.media.sendto(report, (self.audio_to[0], self.audio_to[1] + 1))
                continue
            switched = self.mode == "switch_pt" and seq >= 50
            kind = 96 if self.mode == "unknown_pt" or switched else 0
            if self.mode == "ssrc":
                ssrc = 0x1000 + seq
            header = struct.pack("!BBHII", 0x80, kind, number, seq * 160, ssrc)
            number += 1
            sender = self.nat if self.mode == "nat" else self.media
            sender.sendto(header + b"\xff" * 160, self.audio_to)
            self.sent[kind] = self.sent.get(kind, 0) + 1
            if self.mode == "dtmf" and 25 <= seq < 35:
                number = self.send_event(seq, number, ssrc)
            if self.mode == "nat":
                self.drain()

    def send_event(self, seq: int, number: int, ssrc: int) -> int:
        """Digit 5 (RFC 4733 2.3) after audio packet `seq`: one event from packet 25
        (its timestamp), its duration growing 160 a packet, the last one sent three
        times with the E bit (2.5.1.4); the next sequence number after them."""
        step, end = seq - 25 + 1, seq == 34
        for _ in range(3 if end else 1):
            marker = 0x80 if seq == 25 else 0
            header = struct.pack("!BBHII", 0x80, marker | self.event_pt, number, 25 * 160, ssrc)
            payload = struct.pack("!BBH", 5, (0x80 if end else 0) | 10, step * 160)
            self.media.sendto(header + payload, self.audio_to)
            self.sent[self.event_pt] = self.sent.get(self.event_pt, 0) + 1
            number += 1
        return number

    def drain(self) -> None:
        try:
            while True:
                self.nat.recvfrom(2048)
                self.came_back += 1
        except BlockingIOError:
            return

    def retransmit(self) -> None:
        """RFC 3261 13.3.1.4: the 2xx again at T1, 2*T1... (at most 4 s apart) until
        64*T1, then the call is ended with a BYE."""
        interval, started = self.t1, time.monotonic()
        while time.monotonic() - started + interval < 64 * self.t1:
            if self.stop.wait(interval):
                return
            # Repeated ACKs are retransmissions to the peer: count what it received.
            acks = sum(r.method == "ACK" for r in self.peer.received)
            if self.ack == "lose_first" and acks >= 2:
                self.confirmed.set()  # the first ACK was lost; a later one arrived
                return
            self.peer._sock.sendto(self.ok, self.invite.source)
            interval = min(interval * 2, 4.0)
        waited = self.stop.wait(max(0.0, 64 * self.t1 - (time.monotonic() - started)))
        if not waited and not self.confirmed.is_set():
            self.send_bye()

    def hang_up(self) -> None:
        if not self.stop.wait(self.hang_up_after):
            self.send_bye()

    def send_bye(self) -> None:
        self.stop.set()
        invite = self.invite
        text = (
            f"BYE {self.ours} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.peer.port};branch=z9hG4bK-far-end-bye\r\n"
            f"From: {tagged(invite.header('to') + ';tag=peer-0')}\r\n"
            f"To: {invite.header('from')}\r\n"
            f"Call-ID: {invite.header('call-id')}\r\nCSeq: 2 BYE\r\n"
            "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        self.peer._sock.sendto(text.encode(), invite.source)

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=3)
        self.media.close()
        self.nat.close()


@pytest.fixture
def far_end(sip_peer):
    made: list[TalkingFarEnd] = []

    def make(**options) -> TalkingFarEnd:
        made.append(TalkingFarEnd(sip_peer, **options))
        return made[-1]

    yield make
    for far in made:
        far.close()


# -- our BYE: the far end no longer knows the call (481), or never answers ----------


def test_a_bye_the_far_end_answers_481_says_it_had_lost_the_call(siptest, far_end):
    far = far_end(bye="481")
    result = dial(siptest, far.peer, "--talk", "2")
    assert result.status == 1, result.stdout
    call, media = result.check("call"), result.check("media")
    # The call and its audio worked: their verdicts stand.
    assert (call["ok"], call["answered"], call["hangup"]) == (True, True, "us")
    assert (media["ok"], media["diagnosis"]["id"]) == (True, "media.ok")
    hangup = result.check("hangup")
    assert hangup["ok"] is False
    assert hangup["diagnosis"]["id"] == "cleanup.bye_call_unknown"
    assert (hangup["diagnosis"]["category"], hangup["diagnosis"]["severity"]) == (
        "server",
        "warning",
    )
    assert "no longer held the call" in hangup["diagnosis"]["explanation"]
    assert [r.method for r in far.peer.requests] == ["INVITE", "ACK", "BYE"]


def test_a_bye_the_far_end_accepts_leaves_no_hangup_check(siptest, far_end):
    # The twin: the same far end, answering our BYE 200 OK.
    far = far_end(bye="200")
    result = dial(siptest, far.peer, "--talk", "2")
    assert result.status == 0, result.stdout
    assert "hangup" not in [c["kind"] for c in result.json["checks"]]


def test_a_bye_nobody_answers_is_still_named_unanswered(siptest, far_end):
    far = far_end(bye="")
    result = dial(siptest, far.peer, "--talk", "2")
    assert result.status == 1, result.stdout
    assert result.check("media")["diagnosis"]["id"] == "media.ok"
    assert result.check("hangup")["diagnosis"]["id"] == "cleanup.bye_unanswered"


# -- a final answer whose message contradicts its code ---------------------------------

PASSWORD_WARNING = ("Warning", '399 sbc.example "This password is not valid"')


def busy_with_a_password_warning(sip_peer, *, challenge_first: bool):
    """486 Busy Here with Warning: 399 "This password is not valid" to the INVITE; with
    `challenge_first` a 407 comes first, so the 486 answers an INVITE with credentials."""
    invites: list[Request] = []

    def step(request: Request) -> list[bytes]:
        if request.method != "INVITE":
            return []  # the ACKs of the 407 and the 486
        invites.append(request)
        if challenge_first and len(invites) == 1:
            value = 'Digest realm="sbc.example", nonce="n-1", algorithm=MD5'
            extra = [("Proxy-Authenticate", value)]
            return [message(response_head(request, 407, "Proxy Authentication Required", extra))]
        return [message(response_head(request, 486, "Busy Here", [PASSWORD_WARNING]))]

    return sip_peer("udp", always(step))


@pytest.mark.parametrize("challenge_first", [False, True])
def test_a_register_refused_403_with_the_password_message_is_the_password(
    siptest, sip_peer, challenge_first
):
    # A registrar refusing the REGISTER 403 "This password is not valid" - before any
    # challenge, or (the twin) after one answered with credentials: the provider's
    # guide says the password is wrong either way, not "check the user ID first".
    registers: list[Request] = []

    def step(request: Request) -> list[bytes]:
        registers.append(request)
        if challenge_first and len(registers) == 1:
            extra = [("WWW-Authenticate", 'Digest realm="reg.example", nonce="n-1"')]
            return [message(response_head(request, 401, "Unauthorized", extra))]
        return [message(response_head(request, 403, "This password is not valid"))]

    peer = sip_peer("udp", always(step))
    result = siptest(
        "register", f"1001@127.0.0.1:{peer.port}", "--json", "--timeout", "2",
        password="lab-1001-pass",
    )  # fmt: skip
    assert result.status == 1, result.stdout
    check = result.check("register")
    assert check["credentials_sent"] is challenge_first
    assert check["diagnosis"]["id"] == "credentials.password_invalid"


def test_a_busy_answer_with_a_password_warning_is_busy_when_no_password_was_sent(siptest, sip_peer):
    peer = busy_with_a_password_warning(sip_peer, challenge_first=False)
    result = dial(siptest, peer)
    assert result.status == 1, result.stdout
    call = result.check("call")
    assert call["credentials_sent"] is False
    assert (call["response"]["code"], call["response"]["warning"]) == (
        486,
        PASSWORD_WARNING[1],
    )
    # No password went out: the Warning cannot be about siptest's password.
    assert call["diagnosis"]["id"] == "callee.busy"
    assert call["diagnosis"]["category"] == "callee"


def test_a_busy_answer_with_a_password_warning_after_credentials_is_the_password(siptest, sip_peer):
    # The twin: the same 486 and Warning, to an INVITE that carried credentials: the
    # guide's rule holds (the message names the password, whatever the code).
    peer = busy_with_a_password_warning(sip_peer, challenge_first=True)
    result = dial(siptest, peer)
    assert result.status == 1, result.stdout
    call = result.check("call")
    assert call["credentials_sent"] is True
    assert call["response"]["code"] == 486
    assert call["diagnosis"]["id"] == "credentials.password_invalid"


def test_a_latin_1_reason_phrase_keeps_the_codes_verdict(siptest, sip_peer):
    def step(request: Request) -> list[bytes]:
        if request.method != "INVITE":
            return []
        head = response_head(request, 486, "Besch\xe4ftigt")
        return [message(head).replace(b"Besch\xc3\xa4ftigt", b"Besch\xe4ftigt")]

    peer = sip_peer("udp", always(step))
    result = dial(siptest, peer)
    assert result.status == 1, result.stdout
    call = result.check("call")
    assert call["response"]["code"] == 486
    assert call["diagnosis"]["id"] == "callee.busy"


# -- our ACK never reaches the far end (RFC 3261 13.3.1.4) -------------------------------


def test_an_answer_repeated_because_our_ack_never_arrives_is_not_a_pass(siptest, far_end):
    # T1 = 0.5 s: the 2xx comes again at 0.5 and 1.5 s of a 3 s call; the far end
    # would end the call at 32 s, after the test.
    far = far_end(ack="ignore", t1=0.5)
    result = dial(siptest, far.peer, "--talk", "3")
    assert result.status == 1, result.stdout
    call = result.check("call")
    assert (call["ok"], call["answered"]) == (False, True)
    assert call["answer_repeats"] >= 2
    assert call["diagnosis"]["id"] == "routing.ack_not_received"
    assert call["diagnosis"]["category"] == "routing"
    assert "32 seconds" in call["diagnosis"]["title"]
    # The audio itself flowed: the media verdict does not blame it.
    assert result.check("media")["diagnosis"]["id"] == "media.ok"


def test_a_far_end_ending_the_call_after_64_t1_without_our_ack_is_named(siptest, far_end):
    # A far end with a short T1 (25 ms): its 64*T1 (1.6 s) ends within the 3 s call,
    # with its own BYE: not "the callee hung up at once".
    far = far_end(ack="ignore", t1=0.025)
    result = dial(siptest, far.peer, "--talk", "3")
    assert result.status == 1, result.stdout
    call = result.check("call")
    assert (call["answered"], call["hangup"]) == (True, "remote")
    assert call["diagnosis"]["id"] == "routing.ack_not_received"


def test_one_lost_ack_made_good_by_the_next_is_still_a_pass(siptest, far_end):
    # The twin: the first ACK is lost, the 2xx comes once more, siptest's next ACK
    # arrives and the far end stops repeating.
    far = far_end(ack="lose_first", t1=0.5)
    result = dial(siptest, far.peer, "--talk", "3")
    assert result.status == 0, result.stdout
    call = result.check("call")
    assert (call["ok"], call["answer_repeats"]) == (True, 1)
    assert call["diagnosis"]["id"] == "ok.answered"
    assert far.confirmed.is_set()


def test_other_phones_of_a_ring_group_answering_too_are_not_a_lost_ack(siptest, far_end):
    # A forking proxy: two more phones answer (their own To tags) right after the
    # first. pjsip ACKs each and ends the extra calls with a BYE; our ACK of the
    # first answer arrived: the call is a pass, with no repeat of its answer.
    far = far_end(forks=2)
    result = dial(siptest, far.peer, "--talk", "2")
    call = result.check("call")
    assert (call["answered"], call["answer_repeats"]) == (True, 0), call
    assert call["diagnosis"]["id"] == "ok.answered"
    assert result.status == 0, result.stdout
    byes = [r for r in far.peer.received if r.method == "BYE"]
    assert sorted(re.search(r"tag=([\w-]+)", r.header("to")).group(1) for r in byes) == [
        "far-end-1", "fork-1", "fork-2",
    ]  # fmt: skip


def test_a_481_to_the_bye_ending_another_phones_answer_is_not_our_bye_refused(siptest, far_end):
    # pjsip ends the extra fork with a BYE, which that phone answers 481 (it gave up
    # already); our own BYE of the call is answered 200: no hangup check.
    far = far_end(forks=1, fork_bye="481")
    result = dial(siptest, far.peer, "--talk", "2")
    assert [c["kind"] for c in result.json["checks"] if c["kind"] == "hangup"] == []
    assert result.status == 0, result.stdout
    to_tags = [re.search(r"tag=([\w-]+)", r.header("to")).group(1)
               for r in far.peer.received if r.method == "BYE"]  # fmt: skip
    assert sorted(to_tags) == ["far-end-1", "fork-1"]


def test_a_481_to_our_own_bye_among_forks_is_still_the_call_unknown(siptest, far_end):
    # The twin: the fork's BYE is accepted and our own call's BYE gets 481.
    far = far_end(forks=1, bye="481")
    result = dial(siptest, far.peer, "--talk", "2")
    assert result.check("hangup")["diagnosis"]["id"] == "cleanup.bye_call_unknown"
    assert result.status == 1, result.stdout


def test_a_481_to_our_bye_sent_again_with_credentials_is_the_call_unknown(siptest, far_end):
    # A BYE challenged (407) and sent again with credentials, which gets 481: the
    # challenge is not the answer, the 481 is.
    far = far_end(challenge_bye=True, bye="481")
    result = dial(siptest, far.peer, "--talk", "1")
    byes = [r for r in far.peer.received if r.method == "BYE"]
    assert [bool(r.header("proxy-authorization")) for r in byes] == [False, True]
    assert result.check("hangup")["diagnosis"]["id"] == "cleanup.bye_call_unknown"
    assert result.status == 1, result.stdout


def test_a_bye_accepted_once_sent_again_with_credentials_leaves_no_hangup_check(siptest, far_end):
    # The twin: the BYE sent again with credentials gets 200.
    far = far_end(challenge_bye=True, bye="200")
    result = dial(siptest, far.peer, "--talk", "1")
    assert "hangup" not in [c["kind"] for c in result.json["checks"]]
    assert result.status == 0, result.stdout


# -- the far end's RTP: from another port (NAT), RTCP only, a payload type never offered --


def test_audio_from_another_port_than_the_sdp_said_is_followed_and_judged(siptest, far_end):
    # As through a NAT in front of the far end: pjsua latches onto where the audio comes
    # from (symmetric RTP) and sends its own there; audio both ways, not "no audio".
    far = far_end(rtp="nat")
    result = dial(siptest, far.peer, "--talk", "2")
    assert result.status == 0, result.stdout
    media = result.check("media")
    assert (media["media"]["verdict"], media["diagnosis"]["id"]) == ("both", "media.ok")
    # remote_rtp is what the far end's SDP named (pjsua's stream info), not the latch
    assert media["media"]["remote_rtp"] == f"127.0.0.1:{far.media.getsockname()[1]}"
    assert far.came_back > 0


def test_a_far_end_sending_only_rtcp_is_no_audio_from_it(siptest, far_end):
    far = far_end(rtp="rtcp")
    result = dial(siptest, far.peer, "--talk", "2")
    assert result.status == 1, result.stdout
    media = result.check("media")
    assert media["media"]["verdict"] == "one_way_out"
    assert media["diagnosis"]["id"] == "media.no_audio_from_far_end"
    # No RTP of any payload type arrived: the network is the suspect.
    assert "firewall" in media["diagnosis"]["fix"].lower()


def test_rtp_with_a_payload_type_never_negotiated_is_not_audio_heard(siptest, far_end):
    # pjmedia throws these packets away (nothing is decoded) yet counts them in its
    # statistics (rxStat.pkt); siptest counts only the negotiated payload type.
    far = far_end(rtp="unknown_pt")
    result = dial(siptest, far.peer, "--talk", "2")
    assert result.status == 1, result.stdout
    media = result.check("media")
    assert media["media"]["verdict"] == "one_way_out"
    assert media["media"]["received"]["packets"] == 0
    assert media["diagnosis"]["id"] == "media.no_audio_from_far_end"
    assert far.sent.get(96, 0) > 0 and 0 not in far.sent
    # Packets arrived: the far end's codec is named, not a firewall.
    assert "format it never agreed" in media["diagnosis"]["title"]
    assert "(PCMU)" in media["diagnosis"]["explanation"]
    assert "firewall" not in media["diagnosis"]["fix"].lower()


def test_rtp_with_the_negotiated_payload_type_is_audio_heard(siptest, far_end):
    # The twin: the same far end sending PCMU, the payload type its answer agreed.
    far = far_end(rtp="audio")
    result = dial(siptest, far.peer, "--talk", "2")
    assert result.status == 0, result.stdout
    media = result.check("media")
    assert (media["media"]["verdict"], media["diagnosis"]["id"]) == ("both", "media.ok")
    assert 0 < media["media"]["received"]["packets"] <= far.sent[0]
    assert "never agreed" not in media["diagnosis"]["explanation"]


def test_telephone_events_beside_the_audio_are_dtmf_not_audio(siptest, far_end):
    # The negotiated audio plus RFC 4733 events (digit 5): audio both ways, the digit
    # received, and the events not counted as audio packets.
    far = far_end(rtp="dtmf")
    result = dial(siptest, far.peer, "--talk", "2")
    assert result.status == 0, result.stdout
    media = result.check("media")
    assert (media["media"]["verdict"], media["diagnosis"]["id"]) == ("both", "media.ok")
    assert media["media"]["dtmf_received"] == "5"
    assert far.sent[far.event_pt] == 12
    assert 0 < media["media"]["received"]["packets"] <= far.sent[0]


def test_rtp_switching_to_a_payload_type_never_negotiated_is_audio_that_stopped(siptest, far_end):
    # PCMU for 1 s, then payload type 96 until the end of a 3 s call: what siptest
    # hears stops at 1 s, like a far end that died, though packets keep coming.
    far = far_end(rtp="switch_pt")
    result = dial(siptest, far.peer, "--talk", "3")
    assert result.status == 1, result.stdout
    media = result.check("media")
    assert media["diagnosis"]["id"] == "media.audio_stopped", media["diagnosis"]
    assert media["ok"] is False
    stopped = media["media"]["stopped"]["received_after_s"]
    assert stopped is not None and 0.6 <= stopped <= 1.6
    assert 0 < media["media"]["received"]["packets"] <= far.sent[0] == 50
    assert far.sent[96] > 0
    assert "RTP kept coming" in media["diagnosis"]["explanation"]


# -- the far end hangs up mid-call, after audio flowed ------------------------------------


def test_a_far_end_hanging_up_mid_call_after_audio_has_its_audio_judged(siptest, far_end):
    # BYE 1.6 s after our ACK, audio both ways until then: not "hung up as soon as it
    # answered, audio not checked" - the audio measured up to its BYE is judged.
    far = far_end(hang_up_after=1.6)
    result = dial(siptest, far.peer, "--talk", "3")
    call, media = result.check("call"), result.check("media")
    assert (call["answered"], call["hangup"]) == (True, "remote")
    assert media["diagnosis"]["id"] == "media.ok", media["diagnosis"]
    assert media["media"]["verdict"] == "both"
    assert media["media"]["received"]["packets"] > 0
    assert result.status == 0, result.stdout


@pytest.mark.parametrize("hang_up_after", [1.5, None])
def test_the_figures_of_a_call_the_far_end_ended_agree_with_the_capture(
    siptest, far_end, tmp_path, hang_up_after
):
    # README (media in the capture): the capture holds exactly `received.packets` RTP
    # packets. A far end's BYE ends the stream between two readings of the call's
    # audio: the figures are read as the stream ends, not at the reading before.
    # The twin: the same far end, siptest hanging up when its talk time ends.
    far = far_end(hang_up_after=hang_up_after)
    pcap = tmp_path / "bye.pcap"
    result = dial(siptest, far.peer, "--talk", "3" if hang_up_after else "1.5", "--pcap", str(pcap))
    call, media = result.check("call"), result.check("media")["media"]
    assert (call["answered"], call["hangup"]) == (True, "remote" if hang_up_after else "us")
    port = far.media.getsockname()[1]
    rows = tshark_fields(pcap, f"udp.srcport == {port}", "frame.number")
    assert media["received"]["packets"] > 50
    assert len(rows) == media["received"]["packets"]


def test_a_far_end_whose_audio_stopped_long_before_its_bye_is_audio_stopped(siptest, far_end):
    # Audio for 0.4 s, then silence until its BYE at 2.6 s: the last reading before the
    # BYE must not pass the call - the timeline shows the audio stopped.
    far = far_end(hang_up_after=2.6, audio_for=0.4)
    result = dial(siptest, far.peer, "--talk", "4")
    call, media = result.check("call"), result.check("media")
    assert (call["answered"], call["hangup"]) == (True, "remote")
    assert media["diagnosis"]["id"] == "media.audio_stopped", media["diagnosis"]
    assert result.status == 1, result.stdout


def test_a_far_end_hanging_up_mid_call_after_silence_is_no_audio_from_it(siptest, far_end):
    # The twin: the same BYE at 1.6 s from a far end that sent no audio: judged, and
    # failed, on what was measured.
    far = far_end(hang_up_after=1.6, rtp="none")
    result = dial(siptest, far.peer, "--talk", "3")
    assert result.status == 1, result.stdout
    media = result.check("media")
    assert media["media"]["verdict"] == "one_way_out"
    assert media["diagnosis"]["id"] == "media.no_audio_from_far_end"
