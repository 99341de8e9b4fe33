"""Deciding a registration's or a call's outcome from the captured exchange, without a SIP stack."""

import pytest
from streams import Stream

from siptest.ua.base import AccountSpec, Response
from siptest.ua.calls import CallSpec
from siptest.ua.evidence import (
    answer_repeats,
    awaiting_answer,
    local_cause,
    refusal,
)
from siptest.ua.outcomes import CallEnd, call_outcome, registration_outcome

ACCOUNT = AccountSpec(
    user="1001", domain="example.com", registrar="example.com", port=None,
    transport="udp", auth_user="1001", password="pw",
)  # fmt: skip


def register(cseq: int, auth: bool = False) -> str:
    credentials = 'Authorization: Digest username="1001", response="x"\r\n' if auth else ""
    return (
        f"REGISTER sip:example.com SIP/2.0\r\nCall-ID: c1\r\nCSeq: {cseq} REGISTER\r\n"
        f"{credentials}\r\n"
    )


def response(code: int, reason: str, cseq: int, extra: str = "") -> str:
    return f"SIP/2.0 {code} {reason}\r\nCall-ID: c1\r\nCSeq: {cseq} REGISTER\r\n{extra}\r\n"


def test_nothing_at_all_is_a_timeout_with_no_origin():
    stream = Stream()
    stream.sent(register(1))
    outcome = registration_outcome(stream.state(408, "Request Timeout"), ACCOUNT)
    assert (outcome.response.code, outcome.response.origin) == (408, "none")
    assert outcome.response.local_cause == "timeout"
    assert outcome.requests_sent == 1


def test_trying_then_silence_is_a_local_timeout_after_an_answer():
    stream = Stream()
    stream.sent(register(1))
    stream.received(response(100, "Trying", 1))
    outcome = registration_outcome(stream.state(408, "Request Timeout"), ACCOUNT)
    assert outcome.response.origin == "local"
    assert outcome.provisional == (100,)


def test_a_dropped_answer_turns_the_timeout_into_a_malformed_response():
    stream = Stream()
    stream.sent(register(1))
    stream.dropped(b"SIP/2.0 99999 Broken\r\n\r\n")
    outcome = registration_outcome(stream.state(408, "Request Timeout"), ACCOUNT)
    assert outcome.response.local_cause == "malformed"


def test_rejected_credentials_report_the_servers_401():
    stream = Stream()
    challenge = 'WWW-Authenticate: Digest realm="r", nonce="n{}"\r\n'
    stream.sent(register(1))
    stream.received(response(401, "Unauthorized", 1, challenge.format(1)))
    stream.sent(register(2, auth=True))
    stream.received(response(401, "Wrong", 2, challenge.format(2)))
    outcome = registration_outcome(stream.state(401, "Wrong", answered=True), ACCOUNT)
    assert (outcome.response.code, outcome.response.origin) == (401, "remote")
    assert outcome.credentials_rejected and outcome.credentials_sent
    assert outcome.requests_sent == 2


def test_icmp_unreachable_wins_over_a_pending_transaction():
    stream = Stream()
    stream.sent(register(1))
    outcome = registration_outcome(stream.failed("unreachable"), ACCOUNT)
    assert outcome.response.local_cause == "unreachable"
    assert outcome.response.origin == "none"


def test_icmp_host_unreachable_is_the_network_rejecting_not_an_absent_server():
    stream = Stream()
    stream.sent(register(1))
    response = registration_outcome(stream.failed("no_route"), ACCOUNT).response
    assert (response.local_cause, response.reason, response.origin) == (
        "no_route",
        "No route to the server",
        "none",
    )
    assert "administratively prohibited" in (response.detail or "")


def info(cseq: int) -> str:
    return f"INFO sip:1002@example.com SIP/2.0\r\nCall-ID: c1\r\nCSeq: {cseq} INFO\r\n\r\n"


def info_answer(code: int, cseq: int) -> str:
    return f"SIP/2.0 {code} Whatever\r\nCall-ID: c1\r\nCSeq: {cseq} INFO\r\n\r\n"


@pytest.mark.parametrize(
    ("exchange", "waiting"),
    [
        ([], False),
        ([("sent", info(7))], True),
        ([("sent", info(7)), ("received", info_answer(100, 7))], True),
        ([("sent", info(7)), ("received", info_answer(200, 7))], False),
        # a refusal is an answer too: the next digit may go
        ([("sent", info(7)), ("received", info_answer(500, 7))], False),
        # a challenge answered with credentials: the new CSeq is still open
        ([("sent", info(7)), ("received", info_answer(407, 7)), ("sent", info(8))], True),
        ([("sent", info(7)), ("sent", info(8)), ("received", info_answer(200, 8))], True),
        # another dialog's or another method's answer does not count
        ([("sent", info(7)), ("received", info_answer(200, 7).replace("c1", "c2"))], True),
        ([("sent", info(7)), ("received", response(200, "OK", 7))], True),
    ],
)
def test_an_info_request_is_awaited_until_its_final_answer(exchange, waiting):
    stream = Stream()
    for direction, text in exchange:
        stream.add(direction, text)
    assert awaiting_answer(stream.capture.messages, "c1", "INFO") is waiting


@pytest.mark.parametrize(
    ("cause", "counted"),
    [
        ("refused", 0),  # logged before the TCP connection failed: never left
        ("tls", 0),  # logged before the TLS handshake failed: never left
        ("timeout", 1),  # it left; nothing came back
        ("unreachable", 1),  # it left; ICMP came back
    ],
)
def test_a_request_logged_before_its_connection_failed_is_not_counted(cause, counted):
    stream = Stream()
    stream.sent(register(1))
    reason = {"refused": "Connection refused", "tls": "TLS handshake failed"}.get(cause, "x")
    code = 408 if cause == "timeout" else 503
    events = stream.failed("unreachable") if cause == "unreachable" else stream.state(code, reason)
    outcome = registration_outcome(events, ACCOUNT)
    assert outcome.response.local_cause == cause
    assert outcome.requests_sent == counted


def test_only_the_request_whose_connection_failed_is_taken_off():
    stream = Stream()
    challenge = 'WWW-Authenticate: Digest realm="r", nonce="n1"\r\n'
    stream.sent(register(1))
    stream.received(response(401, "Unauthorized", 1, challenge))
    stream.sent(register(2, auth=True))
    outcome = registration_outcome(stream.state(503, "Connection refused"), ACCOUNT)
    assert outcome.requests_sent == 1
    assert outcome.credentials_sent is False


@pytest.mark.parametrize(
    ("code", "reason", "log", "cause"),
    [
        (408, "Request Timeout", [], "timeout"),
        (502, "Bad Gateway", ["gethostbyname() has returned error"], "dns"),
        (503, "Connection refused", [], "refused"),
        # a closed TLS port: pjsip's words name TLS, the problem is the port
        (503, "Connection refused", ["TLS connect() error: [code=120111] Connection refused"],
         "refused"),
        (503, "Service Unavailable", ["SSL_ERROR_SSL: certificate verify failed"], "tls"),
        # a TLS connection that timed out is silence, not a certificate problem
        (503, "Operation timed out (PJ_ETIMEDOUT)",
         ["TLS connect() error: Operation timed out (PJ_ETIMEDOUT)"], "timeout"),
        (503, "Service Unavailable", ["SSL handshake failed: certificate has expired"], "tls"),
        (503, "Network is unreachable", [], "unreachable"),
        # ICMP host unreachable or "administratively prohibited": the network said no
        (503, "No route to host", [], "no_route"),
        # EPERM: a policy on this machine refused to send
        (503, "Error sending request: Operation not permitted", [], "blocked_here"),
        (503, "Connection reset by peer", [], "transport"),
        # a 200 OK whose SDP cannot complete the offer/answer: pjsua's own 406
        (406, "SDP offer/answer incomplete", [], "sdp"),
    ],
)  # fmt: skip
def test_the_local_cause_is_named_from_the_stacks_words(code, reason, log, cause):
    assert local_cause(code, reason, log) == cause


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120),
        ("120 (Maintenance)", 120),
        ("120(Maintenance)", 120),  # RFC 3261 20.33: the comment may follow at once
        ("120;duration=60", 120),
        ("18000000000", 2**32 - 1),  # RFC 3261 25.1: capped, not dropped
        ("9" * 5000, 2**32 - 1),  # longer than Python converts
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_reads_the_leading_delta_seconds(value, seconds):
    response = Response("REGISTER", 503, "Service Unavailable", "remote", 0.0,
                        (("retry-after", value),))  # fmt: skip
    assert response.retry_after == seconds


def test_a_request_that_got_an_answer_did_leave_whatever_failed_after():
    # 100 Trying came back, then the TLS connection died: the REGISTER left.
    stream = Stream()
    stream.sent(register(1, auth=True))
    stream.received(response(100, "Trying", 1))
    stream.said("tlsc0x1 TLS connection closed by peer")
    outcome = registration_outcome(stream.state(503, "TLS connection closed"), ACCOUNT)
    assert outcome.response.local_cause == "tls"
    assert (outcome.requests_sent, outcome.credentials_sent) == (1, True)


def test_a_refused_info_digit_is_reported_with_the_far_ends_answer():
    def info_message(direction: str, cseq: int, code: int | None = None, call_id: str = "c1"):
        start = f"SIP/2.0 {code} Not Implemented" if code else "INFO sip:7000@x SIP/2.0"
        return direction, f"{start}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} INFO\r\n\r\n"

    stream = Stream()
    stream.add(*info_message("sent", 3))
    stream.add(*info_message("received", 3, 501, call_id="another call"))
    assert refusal(stream.capture.messages, "c1", "INFO") == ""
    stream.add(*info_message("received", 3, 501))
    assert refusal(stream.capture.messages, "c1", "INFO") == "501 Not Implemented"


def test_a_bye_answered_481_is_the_far_ends_refusal_and_a_200_is_none():
    def bye(direction: str, code: int | None = None, call_id: str = "c1"):
        reasons = {200: "OK", 481: "Call/Transaction Does Not Exist"}
        start = f"SIP/2.0 {code} {reasons[code]}" if code else "BYE sip:7000@x SIP/2.0"
        return direction, f"{start}\r\nCall-ID: {call_id}\r\nCSeq: 2 BYE\r\n\r\n"

    accepted, refused = Stream(), Stream()
    accepted.add(*bye("sent"))
    accepted.add(*bye("received", 481, call_id="another call"))
    accepted.add(*bye("received", 200))
    assert refusal(accepted.capture.messages, "c1", "BYE") == ""
    refused.add(*bye("sent"))
    refused.add(*bye("received", 481))
    assert refusal(refused.capture.messages, "c1", "BYE") == "481 Call/Transaction Does Not Exist"


@pytest.mark.parametrize(
    ("dtmf", "shown"),
    [
        ({"method": "info", "sent": "12", "received": "", "refused": "501 Not Implemented"},
         "sent '12' as SIP INFO; the far end refused the SIP INFO requests (501 Not "),
        ({"method": "rfc4733", "sent": "123#", "received": "123#", "refused": None},
         "sent '123#' as RFC 4733 events; received '123#' back"),
        ({"method": "rfc4733", "sent": "", "received": "", "refused": None},
         "nothing sent (RFC 4733 events)"),
    ],
)  # fmt: skip
def test_the_text_report_says_what_became_of_the_digits(dtmf, shown):
    from siptest.analysis.model import Check, Report
    from siptest.report.text import render_text

    check = Check(kind="call", ok=True, diagnosis=None, details={"dtmf": dtmf})
    text = " ".join(render_text(Report(checks=(check,))).split())
    assert "DTMF: " + shown in text


@pytest.mark.parametrize(
    ("points", "end", "stalls"),
    [
        ([], 2.0, (None, None)),
        # steady audio to the end
        ([(0.2 * i, 10 * i, 0, 0) for i in range(1, 11)], 2.0, (None, None)),
        # packets stop rising after 1.0 s of a 3 s call
        ([(0.2 * i, 10 * min(i, 5), 0, 0) for i in range(1, 16)], 3.0, (1.0, None)),
        # a pause shorter than the stall limit at the very end is not a stop
        ([(0.2 * i, 10 * min(i, 8), 0, 0) for i in range(1, 11)], 2.0, (None, None)),
        # never any packet: that is one-way audio, judged elsewhere
        ([(0.2 * i, 0, 0, 0) for i in range(1, 11)], 2.0, (None, None)),
        # RTCP: two reports in a row with the same count: it stopped receiving us
        ([(1.0, 50, 1, 40), (3.0, 150, 1, 40), (5.0, 250, 2, 40)], 5.2, (None, 1.0)),
        ([(1.0, 50, 1, 40), (5.0, 250, 2, 240)], 5.2, (None, None)),
    ],
)
def test_audio_that_stops_for_good_is_found_in_each_direction(points, end, stalls):
    from siptest.ua.evidence import media_stalls

    assert media_stalls(points, end) == stalls


def test_another_accounts_refresh_in_the_window_is_not_this_chain():
    # Bob's REGISTER gets nothing; Alice's refresh, in the same window, gets a 200.
    bob = AccountSpec(user="bob", domain="example.com", registrar="example.com", port=None,
                      transport="udp", auth_user="bob", password="-")  # fmt: skip

    def register_from(user: str, call_id: str, cseq: int) -> str:
        return (
            f"REGISTER sip:example.com SIP/2.0\r\nFrom: <sip:{user}@example.com>;tag=t\r\n"
            f"Call-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n"
            f"Contact: <sip:{user}@192.0.2.9:5060>\r\n\r\n"
        )

    stream = Stream()
    stream.sent(register_from("bob", "b1", 1))
    stream.sent(register_from("alice", "a1", 7))
    stream.received("SIP/2.0 200 OK\r\nCall-ID: a1\r\nCSeq: 7 REGISTER\r\n\r\n")
    outcome = registration_outcome(stream.events, bob)
    assert (outcome.response.code, outcome.response.origin) == (408, "none")
    assert outcome.requests_sent == 1


# -- a call's INVITE and what the network said (siptest's UDP probe) ---------------------


def invite() -> str:
    return "INVITE sip:7000@example.com SIP/2.0\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\r\n"


def invite_answer(code: int, reason: str) -> str:
    return f"SIP/2.0 {code} {reason}\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\r\n"


def dialled(events: list, cancelled: bool = False):
    end = CallEnd(487, "Request Terminated", "")
    return call_outcome(events, CallSpec(number="7000"), "sip:7000@example.com", end, "c1",
                        False, cancelled, None, 0.0, None, "")  # fmt: skip


@pytest.mark.parametrize(
    ("cause", "reason"),
    [("unreachable", "Port unreachable"), ("no_route", "No route to the server")],
)
def test_an_invite_nothing_answered_takes_the_networks_word(cause, reason):
    # pjsua ends the call itself (siptest hung up once the probe heard ICMP): its 487 is
    # not the answer, and neither is "no answer from the server"
    stream = Stream()
    stream.sent(invite())
    outcome = dialled(stream.failed(cause))
    assert (outcome.response.code, outcome.response.reason) == (503, reason)
    assert (outcome.response.origin, outcome.response.local_cause) == ("none", cause)
    assert (outcome.requests_sent, outcome.cancelled_by_us) == (1, False)


def test_an_invite_the_server_answered_keeps_the_servers_answer_whatever_icmp_said():
    stream = Stream()
    stream.sent(invite())
    stream.failed("unreachable")
    stream.received(invite_answer(486, "Busy Here"))
    outcome = call_outcome(stream.events, CallSpec(number="7000"), "sip:7000@example.com",
                           CallEnd(486, "Busy Here", ""), "c1", False, False, None, 0.0,
                           None, "")  # fmt: skip
    assert (outcome.response.code, outcome.response.origin) == (486, "remote")


def test_an_invite_that_got_a_provisional_answer_is_not_taken_for_an_absent_server():
    # something answered (100 Trying): whatever ICMP came back, a server is there
    stream = Stream()
    stream.sent(invite())
    stream.received(invite_answer(100, "Trying"))
    outcome = dialled(stream.failed("unreachable"), cancelled=True)
    assert outcome.response.local_cause == "timeout"
    assert outcome.response.origin == "local"


# -- who ended an answered call ------------------------------------------------------------


def answered_call(events: list, hangup: str):
    return call_outcome(events, CallSpec(number="7000"), "sip:7000@example.com",
                        CallEnd(200, "OK", ""), "c1", True, False, hangup, 0.0, None,
                        "")  # fmt: skip


def test_a_call_the_far_ends_bye_ended_was_hung_up_by_the_far_end():
    stream = Stream()
    stream.sent(invite())
    stream.received(invite_answer(200, "OK"))
    stream.received("BYE sip:1001@192.0.2.9 SIP/2.0\r\nCall-ID: c1\r\nCSeq: 1 BYE\r\n\r\n")
    assert answered_call(stream.events, "remote").hangup == "remote"


def test_a_call_siptests_own_stack_ended_was_not_hung_up_by_the_far_end():
    # pjsua ends a call whose answer refused the audio stream with a BYE of its own;
    # it reports the call disconnected all the same, as if the far end had hung up
    stream = Stream()
    stream.sent(invite())
    stream.received(invite_answer(200, "OK"))
    stream.sent("BYE sip:7000@example.com SIP/2.0\r\nCall-ID: c1\r\nCSeq: 2 BYE\r\n\r\n")
    assert answered_call(stream.events, "remote").hangup == "us"


def test_a_bye_of_another_call_is_not_this_calls_hang_up():
    stream = Stream()
    stream.sent(invite())
    stream.received(invite_answer(200, "OK"))
    stream.received("BYE sip:1001@192.0.2.9 SIP/2.0\r\nCall-ID: c2\r\nCSeq: 1 BYE\r\n\r\n")
    assert answered_call(stream.events, "remote").hangup == "us"


# -- a hold in the far end's SDP (RFC 3264 8.4) ---------------------------------------------

AUDIO = "v=0\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"


@pytest.mark.parametrize(
    ("sdp", "hold"),
    [
        (AUDIO + "a=sendonly\r\n", "a=sendonly"),
        (AUDIO + "a=inactive\r\n", "a=inactive"),
        (AUDIO.replace("192.0.2.7", "0.0.0.0"), "c=0.0.0.0"),
        ("v=0\r\na=inactive\r\n" + AUDIO, "a=inactive"),  # the session's, for the stream
        # the twins: audio both ways, or a far end that only listens, is no hold
        (AUDIO, None),
        (AUDIO + "a=sendrecv\r\n", None),
        (AUDIO + "a=recvonly\r\n", None),
        ("v=0\r\na=inactive\r\n" + AUDIO + "a=sendrecv\r\n", None),  # the stream's wins
    ],
)
def test_a_hold_is_read_from_the_sdp_direction(sdp, hold):
    from siptest.ua.evidence import sdp_hold

    assert sdp_hold(sdp) == hold


def test_a_2xx_repeated_after_our_ack_counts_and_one_before_it_does_not():
    def wire(direction: str, start: str, method: str, cseq: int = 2, call_id: str = "c1"):
        return direction, f"{start}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n\r\n"

    ok, ack = "SIP/2.0 200 OK", "ACK sip:7000@x SIP/2.0"
    stream = Stream()
    stream.add(*wire("sent", "ACK sip:7000@x SIP/2.0", "ACK", cseq=1))  # the ACK of a 407
    stream.add(*wire("received", ok, "INVITE"))
    stream.add(*wire("received", ok, "INVITE"))  # crossed our ACK: not after it
    stream.add(*wire("sent", ack, "ACK"))
    assert answer_repeats(stream.capture.messages, "c1") == 0
    stream.add(*wire("received", ok, "INVITE", call_id="another call"))
    stream.add(*wire("received", ok, "INVITE"))
    stream.add(*wire("sent", ack, "ACK"))
    stream.add(*wire("received", ok, "INVITE"))
    assert answer_repeats(stream.capture.messages, "c1") == 2


def _answer_wire(direction: str, start: str, method: str, to_tag: str = "", cseq: int = 2):
    to = "To: <sip:7000@x>" + (f";tag={to_tag}" if to_tag else "")
    return direction, f"{start}\r\nCall-ID: c1\r\n{to}\r\nCSeq: {cseq} {method}\r\n\r\n"


def test_2xx_of_other_forks_after_our_ack_are_not_repeats_of_our_answer():
    # A forking proxy (a ring group: three phones pick up at once): pjsip ACKs the
    # first 2xx and ends each other fork (ACK + BYE). Their 2xx are answers of
    # other dialogs, not our answer repeated because our ACK never arrived.
    ok, ack = "SIP/2.0 200 OK", "ACK sip:7000@x SIP/2.0"
    stream = Stream()
    stream.add(*_answer_wire("received", ok, "INVITE", "phone-a"))
    stream.add(*_answer_wire("sent", ack, "ACK", "phone-a"))
    stream.add(*_answer_wire("received", ok, "INVITE", "phone-b"))
    stream.add(*_answer_wire("sent", ack, "ACK", "phone-b"))
    stream.add(*_answer_wire("received", ok, "INVITE", "phone-c"))
    stream.add(*_answer_wire("sent", ack, "ACK", "phone-c"))
    assert answer_repeats(stream.capture.messages, "c1") == 0


def test_2xx_of_our_dialog_repeated_after_our_ack_count_among_other_forks():
    # The twin: the first phone's 2xx itself comes twice more after our ACK.
    ok, ack = "SIP/2.0 200 OK", "ACK sip:7000@x SIP/2.0"
    stream = Stream()
    stream.add(*_answer_wire("received", ok, "INVITE", "phone-a"))
    stream.add(*_answer_wire("sent", ack, "ACK", "phone-a"))
    stream.add(*_answer_wire("received", ok, "INVITE", "phone-b"))
    stream.add(*_answer_wire("received", ok, "INVITE", "phone-a"))
    stream.add(*_answer_wire("sent", ack, "ACK", "phone-a"))
    stream.add(*_answer_wire("received", ok, "INVITE", "phone-a"))
    assert answer_repeats(stream.capture.messages, "c1") == 2


def _forked_call(fork_bye: str, our_bye: str | None) -> Stream:
    """Our answer (tag a) and another fork's (tag b), each ended by a BYE of CSeq 3."""
    ok, ack, bye = "SIP/2.0 200 OK", "ACK sip:7000@x SIP/2.0", "BYE sip:7000@x SIP/2.0"
    stream = Stream()
    stream.add(*_answer_wire("received", ok, "INVITE", "a"))
    stream.add(*_answer_wire("sent", ack, "ACK", "a"))
    stream.add(*_answer_wire("received", ok, "INVITE", "b"))
    stream.add(*_answer_wire("sent", ack, "ACK", "b"))
    stream.add(*_answer_wire("sent", bye, "BYE", "b", cseq=3))
    stream.add(*_answer_wire("received", f"SIP/2.0 {fork_bye}", "BYE", "b", cseq=3))
    stream.add(*_answer_wire("sent", bye, "BYE", "a", cseq=3))
    if our_bye is not None:
        stream.add(*_answer_wire("received", f"SIP/2.0 {our_bye}", "BYE", "a", cseq=3))
    return stream


def test_another_forks_answer_to_its_bye_is_not_the_answer_to_ours():
    from siptest.ua.evidence import awaiting_answer, refusal

    # the fork's BYE answered (200 or 481), ours not yet: still waiting, nothing refused
    for fork_bye in ("200 OK", "481 Call/Transaction Does Not Exist"):
        messages = _forked_call(fork_bye, None).capture.messages
        assert awaiting_answer(messages, "c1", "BYE") is True
        assert refusal(messages, "c1", "BYE") == ""


def test_our_bye_answered_481_among_forks_is_refused_and_answered():
    # The twin: our own dialog's BYE gets 481, the fork's gets 200.
    from siptest.ua.evidence import awaiting_answer, refusal

    messages = _forked_call("200 OK", "481 Call/Transaction Does Not Exist").capture.messages
    assert awaiting_answer(messages, "c1", "BYE") is False
    assert refusal(messages, "c1", "BYE") == "481 Call/Transaction Does Not Exist"


def _challenged_bye(then: str | None) -> Stream:
    """An answered call whose BYE is challenged (407); `then`: the answer to the BYE
    sent again with credentials (None: it was not sent again)."""
    ok, ack, bye = "SIP/2.0 200 OK", "ACK sip:7000@x SIP/2.0", "BYE sip:7000@x SIP/2.0"
    stream = Stream()
    stream.add(*_answer_wire("received", ok, "INVITE", "a"))
    stream.add(*_answer_wire("sent", ack, "ACK", "a"))
    stream.add(*_answer_wire("sent", bye, "BYE", "a", cseq=3))
    stream.add(*_answer_wire("received", "SIP/2.0 407 Proxy Auth", "BYE", "a", cseq=3))
    if then is not None:
        stream.add(*_answer_wire("sent", bye, "BYE", "a", cseq=4))
        stream.add(*_answer_wire("received", f"SIP/2.0 {then}", "BYE", "a", cseq=4))
    return stream


@pytest.mark.parametrize(
    ("then", "refused"),
    [
        ("481 Call/Transaction Does Not Exist", "481 Call/Transaction Does Not Exist"),
        ("200 OK", ""),
        (None, "407 Proxy Auth"),  # the twin: a challenge never answered is the answer
    ],
)
def test_a_challenge_answered_with_credentials_is_not_the_refusal(then, refused):
    from siptest.ua.evidence import refusal

    assert refusal(_challenged_bye(then).capture.messages, "c1", "BYE") == refused
