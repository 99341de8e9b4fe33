"""Which payload types carry audio the far end may send (`siptest.ua.evidence`): the
audio codecs siptest's SDP and the far end's latest SDP both list (RFC 3264 5.1),
read from the captured exchange, without a SIP stack."""

from __future__ import annotations

from types import SimpleNamespace

from streams import Stream

from siptest.ua.evidence import agreed_audio, sdp_audio_formats
from siptest.ua.pjsua.media import audio_received, unnegotiated

OFFER = (
    "m=audio 4000 RTP/AVP 8 0 96 120\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:96 speex/32000\r\na=rtpmap:120 telephone-event/8000\r\na=fmtp:120 0-15\r\n"
)


def sdp(media: str) -> str:
    return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" + media


def test_an_sdps_audio_formats_are_named_by_rtpmap_or_rfc_3551():
    text = sdp("m=audio 5000 RTP/AVP 0 18 101\r\na=rtpmap:101 telephone-event/8000\r\n")
    assert sdp_audio_formats(text) == {0: "pcmu/8000", 18: "g729/8000", 101: "telephone-event/8000"}
    assert sdp_audio_formats(sdp(OFFER))[96] == "speex/32000"
    # a video stream after the audio keeps its own rtpmaps
    video = "m=video 5002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    assert sdp_audio_formats(sdp("m=audio 5000 RTP/AVP 0 96\r\n" + video)) == {
        0: "pcmu/8000",
        96: "",
    }


def test_a_refused_or_absent_audio_stream_has_no_formats():
    assert sdp_audio_formats(sdp("m=audio 0 RTP/AVP 0\r\n")) == {}
    assert sdp_audio_formats(sdp("m=video 5000 RTP/AVP 96\r\n")) == {}
    assert sdp_audio_formats("") == {}


def invite(body: str) -> str:
    return (
        "INVITE sip:7000@x SIP/2.0\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nFrom: <sip:a@x>;tag=us\r\n"
        f"To: <sip:7000@x>\r\nContent-Type: application/sdp\r\n\r\n{body}"
    )


def answer(body: str, tag: str = "far") -> str:
    return (
        "SIP/2.0 200 OK\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nFrom: <sip:a@x>;tag=us\r\n"
        f"To: <sip:7000@x>;tag={tag}\r\nContent-Type: application/sdp\r\n\r\n{body}"
    )


def test_the_audio_codecs_both_sdps_list_are_agreed():
    stream = Stream()
    stream.add("sent", invite(sdp(OFFER)))
    stream.add(
        "received",
        answer(sdp("m=audio 5000 RTP/AVP 0 8 120\r\na=rtpmap:120 telephone-event/8000\r\n")),
    )
    assert agreed_audio(stream.capture.messages, "c1") == frozenset({0, 8})
    assert agreed_audio(stream.capture.messages, "another call") == frozenset()


def test_a_codec_only_one_side_lists_is_not_agreed():
    stream = Stream()
    stream.add("sent", invite(sdp(OFFER)))
    # 18 never offered; 96 with another codec than the offer's speex/32000
    body = "m=audio 5000 RTP/AVP 0 18 96\r\na=rtpmap:96 opus/48000/2\r\n"
    stream.add("received", answer(sdp(body)))
    assert agreed_audio(stream.capture.messages, "c1") == frozenset({0})


def test_the_answer_of_the_dialog_siptest_kept_counts_not_another_forks():
    stream = Stream()
    stream.add("sent", invite(sdp(OFFER)))
    stream.add("received", answer(sdp("m=audio 5000 RTP/AVP 0\r\n")))
    stream.add("received", answer(sdp("m=audio 5002 RTP/AVP 0 8\r\n"), tag="fork"))
    assert agreed_audio(stream.capture.messages, "c1") == frozenset({0})


def test_a_reinvite_of_the_far_end_and_our_answer_make_the_new_agreement():
    stream = Stream()
    stream.add("sent", invite(sdp(OFFER)))
    stream.add("received", answer(sdp("m=audio 5000 RTP/AVP 0 8\r\n")))
    reinvite = (
        "INVITE sip:a@x SIP/2.0\r\nCall-ID: c1\r\nCSeq: 2 INVITE\r\nFrom: <sip:7000@x>;tag=far\r\n"
        "To: <sip:a@x>;tag=us\r\nContent-Type: application/sdp\r\n\r\n"
        + sdp("m=audio 5000 RTP/AVP 8\r\n")
    )
    stream.add("received", reinvite)
    ours = (
        "SIP/2.0 200 OK\r\nCall-ID: c1\r\nCSeq: 2 INVITE\r\nFrom: <sip:7000@x>;tag=far\r\n"
        "To: <sip:a@x>;tag=us\r\nContent-Type: application/sdp\r\n\r\n"
        + sdp("m=audio 4000 RTP/AVP 8\r\n")
    )
    stream.add("sent", ours)
    assert agreed_audio(stream.capture.messages, "c1") == frozenset({8})


PCMU = SimpleNamespace(rxPt=0, audRxEventPt=120)
NO_STAT = SimpleNamespace(rtcp=SimpleNamespace(rxStat=SimpleNamespace(pkt=0)))


def test_audio_of_every_agreed_codec_counts_and_is_not_unnegotiated():
    types = {0: 30, 8: 60, 120: 12, 96: 5}
    assert audio_received(NO_STAT, PCMU, types, frozenset({0, 8})) == 90
    assert unnegotiated(PCMU, types, frozenset({0, 8})) == 5
    # the hostile twin: PCMA not agreed is neither audio nor known
    assert audio_received(NO_STAT, PCMU, types, frozenset({0})) == 30
    assert unnegotiated(PCMU, types, frozenset({0})) == 65
