"""`siptest call` against the lab: every call outcome of the provider guide."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sippeer import always, silence

pytestmark = pytest.mark.lab

PASSWORD = "lab-1001-pass"


def call_args(lab, number: str, transport: str = "udp", *extra: str) -> list[str]:
    port = lab.tls_port if transport == "tls" else lab.sip_port
    args = ["call", f"1001@127.0.0.1:{port}", number, "--transport", transport, "--json"]
    args += ["--timeout", "2", "--talk", "0.5", *extra]
    if transport == "tls":
        args += ["--tls-ca", str(lab.ca_file)]
    return args


# number, code, category, a word the fix (or explanation) must contain
GUIDE_CASES = [
    # siptest is a freshly configured device: what the guide blames on the caller's
    # device points at the server when siptest gets it (`siptest explain` keeps it)
    ("999400", 400, "server", "freshly configured"),
    ("999403", 403, "routing", ""),
    ("0900123456", 403, "tariff", "credit"),
    ("12345678", 404, "number", "number"),
    ("1003", 480, "callee", ""),
    ("999481", 481, "server", "freshly configured"),
    ("7002", 482, "routing", ""),
    ("7003", 483, "routing", ""),
    ("0123", 484, "number", "area code"),
    ("999486", 486, "callee", ""),
    ("999500", 500, "server", "firmware"),
    ("999503", 503, "server", ""),
]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize(("number", "code", "category", "word"), GUIDE_CASES)
def test_guide_outcome_is_diagnosed(siptest, lab, transport, number, code, category, word):
    result = siptest(
        *call_args(lab, number, transport, "--profile", "sipcall", "--force"), password=PASSWORD
    )
    assert result.status == 1, result.stdout + result.stderr
    call = result.check("call")
    assert call["response"]["code"] == code
    assert call["response"]["origin"] == "remote"
    assert call["diagnosis"]["category"] == category, call["diagnosis"]
    text = (call["diagnosis"]["fix"] + " " + call["diagnosis"]["explanation"]).lower()
    assert word.lower() in text
    assert call["answered"] is False


def test_503_reports_retry_after(siptest, lab):
    result = siptest(*call_args(lab, "999503"), password=PASSWORD)
    call = result.check("call")
    assert call["response"]["retry_after"] == 30
    assert "30" in call["diagnosis"]["explanation"] + call["diagnosis"]["fix"]


def test_tariff_message_explains_the_three_reasons(siptest, lab):
    result = siptest(*call_args(lab, "0900123456", "udp", "--profile", "sipcall", "--force"),
                     password=PASSWORD)  # fmt: skip
    fix = result.check("call")["diagnosis"]["fix"]
    assert "top up" in fix.lower()
    assert "004132xxxxxxx" in fix  # the 00 form instead of +41
    assert "premium" in fix.lower()


def test_ringing_without_answer_is_no_answer_not_network(siptest, lab):
    result = siptest(*call_args(lab, "7001", "udp", "--ring-timeout", "30"), password=PASSWORD)
    call = result.check("call")
    assert call["response"]["code"] == 408
    assert call["response"]["origin"] == "remote"
    assert 180 in call["provisional"]
    assert call["diagnosis"]["category"] == "callee"


def test_silent_next_hop_is_a_routing_timeout(siptest, lab):
    result = siptest(*call_args(lab, "7004"), password=PASSWORD)
    call = result.check("call")
    assert call["response"]["code"] == 408
    assert call["response"]["origin"] == "remote"
    assert 180 not in call["provisional"]
    assert call["diagnosis"]["category"] != "callee"


@pytest.mark.parametrize("transport", ["udp", "tls"])
def test_a_ring_timeout_is_nobody_answering_not_a_pass(siptest, lab, lab_log, transport):
    result = siptest(*call_args(lab, "7001", transport, "--ring-timeout", "1"), password=PASSWORD)
    assert result.status == 1, result.stdout + result.stderr
    call = result.check("call")
    assert call["cancelled_by_us"] is True
    assert call["response"]["code"] == 487
    assert call["response"]["origin"] == "remote"
    assert call["diagnosis"]["id"] == "callee.ring_timeout"
    assert "rang for 1 second and" in call["diagnosis"]["explanation"]
    assert lab_log.requests("CANCEL")


@pytest.mark.parametrize("expect", ["callee", "487"])
def test_a_ring_timeout_the_user_expects_passes(siptest, lab, expect):
    args = call_args(lab, "7001", "udp", "--ring-timeout", "1", "--expect", expect)
    result = siptest(*args, password=PASSWORD)
    assert result.status == 0, result.stdout + result.stderr
    assert result.check("call")["expectation_met"] is True


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_answered_call_sends_bye_and_leaves_nothing(siptest, lab, lab_log, transport):
    result = siptest(*call_args(lab, "7000", transport), password=PASSWORD)
    assert result.status == 0, result.stdout + result.stderr
    call = result.check("call")
    assert call["answered"] is True
    assert call["response"]["code"] == 200
    assert call["hangup"] == "us"
    assert 180 in call["provisional"]
    assert lab_log.requests("BYE")
    assert lab.bindings("1001") == []


def test_wrong_password_on_invite_is_407_credentials_and_one_try(siptest, lab, lab_log):
    result = siptest(*call_args(lab, "7000", "udp", "--no-register"), password="wrong-pass")
    assert result.status == 1
    call = result.check("call")
    assert call["response"]["code"] == 407
    assert call["diagnosis"]["category"] == "credentials"
    assert call["stopped_after_rejection"] is True
    assert len(lab_log.requests("INVITE")) == 2


def test_unknown_account_on_invite_is_an_account_problem(siptest, lab):
    result = siptest(
        "call", f"1009@127.0.0.1:{lab.sip_port}", "7000", "--no-register", "--json",
        password="lab-1009-pass",
    )  # fmt: skip
    call = result.check("call")
    assert call["response"]["code"] == 403
    assert call["diagnosis"]["category"] == "account"


def test_no_register_answered_call(siptest, lab):
    result = siptest(*call_args(lab, "7000", "udp", "--no-register"), password=PASSWORD)
    assert result.status == 0, result.stdout
    assert result.check("call")["answered"] is True
    assert not [c for c in result.json["checks"] if c["kind"] == "register"]


def test_plus_number_is_stopped_before_any_invite_with_the_00_form(siptest, lab, lab_log):
    result = siptest(*call_args(lab, "+41321234567", "udp", "--profile", "sipcall"),
                     password=PASSWORD)  # fmt: skip
    assert result.status == 1
    pre = [c for c in result.json["checks"] if c["kind"] == "preflight"]
    plus = next(c for c in pre if c["diagnosis"]["id"] == "preflight.number_plus_form")
    assert "0041321234567" in plus["diagnosis"]["fix"]
    assert lab_log.requests("INVITE") == []
    assert lab_log.requests("REGISTER") == []


def test_plus_number_gets_a_general_warning_without_profile(siptest, lab):
    result = siptest(*call_args(lab, "+41321234567"), password=PASSWORD)
    pre = [c for c in result.json["checks"] if c["kind"] == "preflight"]
    assert any("0041321234567" in c["diagnosis"]["fix"] for c in pre)


@pytest.mark.parametrize(("expect", "status"), [("403", 0), ("tariff", 0), ("404", 1)])
def test_expect_turns_an_expected_refusal_into_a_pass(siptest, lab, expect, status):
    result = siptest(*call_args(lab, "0900123456", "udp", "--expect", expect), password=PASSWORD)
    assert result.status == status, result.stdout
    assert result.check("call")["expectation_met"] is (status == 0)


def test_password_canary_never_appears_in_call_outputs(siptest, lab, tmp_path):
    canary = "Canary-Call-Pw-93b1"
    trace = tmp_path / "trace.txt"
    texts = []
    for extra in (["--no-register"], []):
        result = siptest(*call_args(lab, "7000", "udp", *extra, "--trace", str(trace)),
                         password=canary)  # fmt: skip
        texts += [result.stdout, result.stderr, trace.read_text()]
    assert "Proxy-Authorization" in texts[2]
    for text in texts:
        assert canary not in text
        assert "response=" not in text


LIMITS_AGENT = Path(__file__).parent / "limits_agent.py"


def limits_agent(*args: object) -> str:
    done = subprocess.run(
        [sys.executable, str(LIMITS_AGENT), *map(str, args)], capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_account_limit_is_refused_clearly_and_the_process_survives(lab):
    out = limits_agent("accounts", lab.sip_port)
    # nine failed REGISTERs: their accounts are gone, none counts (a scenario's DNS
    # failover attempts must not make it run into siptest's limit)
    assert out.count("registered: 401") == 9
    # then eight live accounts (a call without registering keeps one per server), and
    # the ninth is refused. Their eight calls, in a row, each to a port where nothing
    # listens, end at once and free their place: pjsua holds 4 calls, and a call left
    # waiting for Timer B would have made the fifth siptest's limit.
    called = [line.removeprefix("called: ") for line in out.splitlines() if "called:" in line]
    assert called == ["unreachable"] * 8, out
    assert "refused: siptest's SIP stack holds at most 8 accounts" in out
    assert out.rstrip().endswith("survived")


def test_fifth_concurrent_call_is_refused_clearly_and_the_process_survives(lab):
    out = limits_agent("calls", lab.sip_port, PASSWORD)
    assert "refused: siptest's SIP stack handles at most 4 calls at once" in out
    assert "outcomes: [487, 487, 487, 487]" in out
    assert out.rstrip().endswith("survived")
    assert lab.bindings("1001") == []


def test_incoming_call_to_the_test_account_is_refused_politely(lab):
    out = limits_agent("incoming", lab.sip_port)
    assert "outcome: 486 remote" in out


@pytest.mark.parametrize(
    ("number", "status"),
    [
        ("sip:7000@", 2),
        ("sips:7000@127.0.0.1", 2),
        ("sip:7000@127.0.0.1;transport=tcp", 2),
    ],
)
def test_undiallable_uri_is_a_clear_error_never_a_crash(siptest, lab, number, status):
    result = siptest(*call_args(lab, number, "udp", "--no-register"), password=PASSWORD)
    assert result.status == status, result.stdout + result.stderr
    assert result.json["error"]["exit_status"] == status
    assert "Traceback" not in result.stderr
    assert "Assertion" not in result.stderr


def test_short_ring_timeout_against_a_dead_server_is_no_answer_not_a_pass(siptest):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        result = siptest(
            "call", f"1001@127.0.0.1:{port}", "7000", "--no-register", "--json",
            "--ring-timeout", "0.5", "--timeout", "1", password=PASSWORD,
        )  # fmt: skip
    assert result.status == 1, result.stdout
    call = result.check("call")
    assert call["cancelled_by_us"] is False
    assert call["response"]["code"] == 408
    assert call["response"]["origin"] == "none"
    assert call["diagnosis"]["category"] == "network"


@pytest.mark.parametrize("code", [301, 302])
def test_a_redirect_is_explained_not_followed(siptest, sip_peer, code):
    from sippeer import always, respond

    target = sip_peer("udp", always(respond(486, "Busy Here")))
    moved = {"Contact": f"<sip:7000@127.0.0.1:{target.port}>"}
    peer = sip_peer("udp", always(respond(code, "Moved", moved)))
    result = siptest(
        "call", f"1001@127.0.0.1:{peer.port}", "7000", "--no-register", "--json",
        "--timeout", "1", password=PASSWORD,
    )  # fmt: skip
    assert result.status == 1, result.stdout
    call = result.check("call")
    assert (call["response"]["code"], call["response"]["origin"]) == (code, "remote")
    assert call["diagnosis"]["category"] == "routing"
    # A tester shows the redirect; it does not send the call somewhere else.
    assert target.received == []


def test_an_answer_without_sdp_is_a_media_failure_not_a_transport_one(siptest, sip_peer):
    # RFC 3264: the 200 OK must answer the INVITE's offer. pjsua ACKs, hangs up and
    # ends the call with a code of its own, which used to read as a transport error.
    from sippeer import always, respond

    peer = sip_peer("udp", always(respond(200, "OK")))
    result = siptest(
        "call", f"1001@127.0.0.1:{peer.port}", "7000", "--no-register", "--json",
        "--timeout", "1", password=PASSWORD,
    )  # fmt: skip
    assert result.status == 1, result.stdout
    call = result.check("call")
    assert (call["response"]["origin"], call["response"]["local_cause"]) == ("local", "sdp")
    assert call["diagnosis"]["id"] == "media.no_sdp_answer"
    assert call["diagnosis"]["category"] == "media"
    assert list(dict.fromkeys(r.method for r in peer.received)) == ["INVITE", "ACK", "BYE"]


def test_a_far_end_that_refuses_sip_info_dtmf_is_named(siptest, sip_peer):
    from sippeer import message, response_head

    sdp = (
        b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        b"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )
    contact: list[tuple[str, str]] = []

    def answer(request):
        if request.method == "ACK":
            return []
        if request.method == "INVITE":
            head = response_head(
                request, 200, "OK", [*contact, ("Content-Type", "application/sdp")]
            )
            return [message(head, sdp)]
        if request.method == "INFO":
            return [message(response_head(request, 501, "Not Implemented"))]
        return [message(response_head(request, 200, "OK"))]

    peer = sip_peer("udp", [answer] * 20)
    contact.append(("Contact", f"<sip:7000@127.0.0.1:{peer.port}>"))
    result = siptest(
        "call", f"1001@127.0.0.1:{peer.port}", "7000", "--no-register", "--timeout", "1",
        "--talk", "0.5", "--dtmf", "12", "--dtmf-method", "info", password=PASSWORD,
    )  # fmt: skip
    assert "Traceback" not in result.stderr
    # one INFO per digit, each after the previous one's answer
    assert [r.method for r in peer.received].count("INFO") == 2
    text = " ".join(result.stdout.split())
    assert "DTMF: sent '12' as SIP INFO; the far end refused the SIP INFO requests (501" in text
    assert "--dtmf-method rfc4733" in text


def test_trying_then_silence_on_an_invite_is_a_failure_not_our_own_cancel(siptest, sip_peer):
    from sippeer import always, trying

    # 100 Trying to the INVITE, and to the CANCEL too: never a final answer.
    peer = sip_peer("udp", always(trying()))
    result = siptest(
        "call", f"1001@127.0.0.1:{peer.port}", "7000", "--no-register", "--json",
        "--ring-timeout", "1", "--timeout", "1", password=PASSWORD,
    )  # fmt: skip
    assert result.status == 1, result.stdout
    call = result.check("call")
    assert call["cancelled_by_us"] is True
    assert call["response"]["origin"] == "local"
    assert call["response"]["local_cause"] == "timeout"
    assert call["diagnosis"]["id"] == "network.lost_after_provisional"
    assert [r.method for r in peer.requests] == ["INVITE", "CANCEL"]


def test_a_proxy_challenge_siptest_cannot_answer_on_invite_is_its_limit(siptest, sip_peer):
    from sippeer import message, response_head

    def unsupported(request):
        value = 'Digest realm="p", nonce="n", algorithm=SHA-512-256'
        head = response_head(request, 407, "Proxy Authentication Required",
                             [("Proxy-Authenticate", value)])  # fmt: skip
        return [message(head)]

    peer = sip_peer("udp", [unsupported])
    result = siptest(
        "call", f"1001@127.0.0.1:{peer.port}", "7000", "--no-register", "--json",
        "--timeout", "1", password=PASSWORD,
    )  # fmt: skip
    assert result.status == 1, result.stdout
    call = result.check("call")
    assert call["credentials_sent"] is False
    assert call["diagnosis"]["id"] == "siptest.unsupported_challenge"
    assert "Digest algorithm=SHA-512-256" in call["response"]["detail"]
    assert [r.method for r in peer.requests] == ["INVITE", "ACK"]


def test_a_number_too_long_to_sign_is_siptests_limit_never_a_wrong_password(siptest, lab):
    number = "1" * 240  # the Request-URI passes pjsip's 256-character signing buffer
    result = siptest(*call_args(lab, number, "udp", "--force"), password=PASSWORD)
    assert result.status == 1, result.stdout
    call = result.check("call")
    assert call["credentials_sent"] is False
    assert call["diagnosis"]["id"] == "siptest.unsupported_challenge"
    assert "Request-URI of 256 characters or more" in call["response"]["detail"]
    assert "password" not in call["diagnosis"]["title"].lower()


def test_a_long_number_that_can_be_signed_is_sent_over_udp_with_credentials(siptest, lab):
    # 200 digits: the credentialed INVITE is over 1,300 bytes, which pjsip would move
    # to TCP (RFC 3261 18.1.1); siptest stays on the transport it tests.
    result = siptest(*call_args(lab, "1" * 200, "udp", "--force"), password=PASSWORD)
    call = result.check("call")
    assert call["credentials_sent"] is True, result.stdout
    assert call["response"]["origin"] == "remote"
    assert call["response"]["code"] == 404


def test_calling_your_own_number_is_recognised(siptest, lab):
    result = siptest(*call_args(lab, "1001"), password=PASSWORD)
    assert result.status == 1, result.stdout
    call = result.check("call")
    assert call["diagnosis"]["id"] == "number.own_number"
    assert call["response"]["local_cause"] == "own_number"
    assert "busy" not in call["diagnosis"]["title"].lower()
    assert lab.bindings("1001") == []


def test_a_busy_answer_from_another_phone_is_still_the_callee_being_busy(siptest, lab):
    result = siptest(*call_args(lab, "999486"), password=PASSWORD)
    assert result.check("call")["diagnosis"]["id"] == "callee.busy"


# -- an INVITE over UDP that no server answers: ICMP, or silence -----------------------


def test_a_call_to_a_closed_udp_port_says_nothing_is_listening(siptest):
    # pjsip ignores ICMP for UDP; without siptest's probe this INVITE would wait out the
    # 5 s timeout and read as the server's silence (with registration, the REGISTER
    # would have said it first)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = siptest(
        "call", f"1001@127.0.0.1:{port}", "7000", "--no-register", "--timeout", "5", "--json",
        password=PASSWORD,
    )  # fmt: skip
    assert result.status == 1, result.stdout + result.stderr
    call = result.check("call")
    assert (call["response"]["local_cause"], call["diagnosis"]["id"]) == (
        "unreachable",
        "network.unreachable",
    )
    assert (call["response"]["origin"], call["requests_sent"]) == ("none", 1)
    assert call["cancelled_by_us"] is False


def test_a_call_to_a_silent_udp_server_is_still_no_answer(siptest, sip_peer):
    # The twin: something listens (no ICMP comes back) and never answers. The probe's
    # keep-alive reaches it too; that must not pass for an answer, nor for a refusal.
    peer = sip_peer("udp", always(silence()))
    result = siptest(
        "call", f"1001@127.0.0.1:{peer.port}", "7000", "--no-register", "--timeout", "1",
        "--json", password=PASSWORD,
    )  # fmt: skip
    assert result.status == 1, result.stdout + result.stderr
    call = result.check("call")
    assert (call["response"]["local_cause"], call["response"]["origin"]) == ("timeout", "none")
    assert call["diagnosis"]["id"] == "network.no_response"
    assert peer.requests_of("INVITE")
