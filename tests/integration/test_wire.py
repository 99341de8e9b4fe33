"""See the wire exactly (issue 10): what the stack tap shows, against real peers on loopback.

Each case sends the real siptest command at a scripted peer (sippeer.py) and
checks the report, the exit status and what the peer itself received.
"""

from __future__ import annotations

import secrets
import socket
import threading

import pytest
from sippeer import (
    Request,
    always,
    challenge,
    challenge_with,
    message,
    ok,
    raw,
    respond,
    response_head,
)

from siptest.ua.events import PACKET_LIMIT

TIMEOUT = 1.0


def padded_challenge(total: int, *, fresh_nonce: bool = True):
    """A 401 padded with one long header to `total` bytes; a new nonce each time."""

    def build(request: Request) -> bytes:
        nonce = secrets.token_hex(8) if fresh_nonce else "same"
        www = ("WWW-Authenticate", f'Digest realm="peer.test", nonce="{nonce}", algorithm=MD5')
        empty = message(response_head(request, 401, "Unauthorized", [www, ("X-Pad", "")]))
        pad = "p" * (total - len(empty))
        return message(response_head(request, 401, "Unauthorized", [www, ("X-Pad", pad)]))

    return build


def many_realms(count: int):
    """One 401 challenging for `count` realms, fresh nonces every time."""

    def build(request: Request) -> bytes:
        headers = [
            ("WWW-Authenticate", f'Digest realm="r{n}", nonce="{secrets.token_hex(4)}"')
            for n in range(count)
        ]
        return message(response_head(request, 401, "Unauthorized", headers))

    return build


def credentialed(peer) -> int:
    return sum(1 for r in peer.requests_of("REGISTER") if r.header("authorization"))


@pytest.mark.parametrize("size", [3_700, 3_950])
def test_a_challenge_near_the_packet_limit_gets_the_password_once(sip_peer, register_at, size):
    # Over the old log limit, under the stack's packet limit: pjsip reads it whole.
    peer = sip_peer("udp", always(raw(padded_challenge(size))))
    run = register_at(peer.port, timeout=TIMEOUT)
    assert run.result.status == 1, run.result.stdout
    assert credentialed(peer) == 1
    assert len(peer.requests_of("REGISTER")) == 2
    register = run.register
    assert register["credentials_sent"] is True
    assert register["stopped_after_rejection"] is True
    assert register["diagnosis"]["category"] == "credentials"


def test_a_challenge_over_the_packet_limit_is_named_as_siptests_limit(sip_peer, register_at):
    peer = sip_peer("udp", always(raw(padded_challenge(5_000))))
    run = register_at(peer.port, timeout=TIMEOUT)
    assert run.result.status == 1, run.result.stdout
    register = run.register
    assert register["response"]["local_cause"] == "too_large"
    assert register["diagnosis"]["id"] == "siptest.packet_limit"
    assert register["diagnosis"]["category"] == "siptest"
    assert "4,000 bytes siptest's SIP stack accepts" in register["response"]["detail"]
    # The stack read the challenge's first 4,000 bytes (the challenge itself) and
    # answered it once; the cut refusal that followed is not taken as the server's.
    assert credentialed(peer) == 1


def test_a_60kb_nonce_over_tcp_is_named_as_siptests_limit(sip_peer, register_at):
    peer = sip_peer(
        "tcp", always(challenge_with(f'Digest realm="peer.test", nonce="{"n" * 60_000}"'))
    )
    run = register_at(peer.port, transport="tcp", timeout=TIMEOUT)
    assert run.result.status == 1, run.result.stdout
    register = run.register
    assert register["response"]["local_cause"] == "too_large"
    assert register["diagnosis"]["category"] == "siptest"
    assert credentialed(peer) == 0


def test_fifteen_realms_get_one_credentialed_request(sip_peer, register_at):
    peer = sip_peer("udp", always(raw(many_realms(15))))
    run = register_at(peer.port, timeout=TIMEOUT)
    assert run.result.status == 1, run.result.stdout
    assert credentialed(peer) == 1
    assert run.register["stopped_after_rejection"] is True


def test_fifty_realms_are_more_than_siptest_can_answer_and_it_says_so(sip_peer, register_at):
    # 50 Authorization headers do not fit the 4,000 bytes the stack can send.
    peer = sip_peer("udp", always(raw(many_realms(50))))
    run = register_at(peer.port, timeout=TIMEOUT)
    assert run.result.status == 1, run.result.stdout
    register = run.register
    assert register["response"]["local_cause"] == "too_large"
    assert register["diagnosis"]["category"] == "siptest"
    assert "request siptest had to send" in register["response"]["detail"]
    assert credentialed(peer) == 0


def test_a_fresh_nonce_on_every_401_gets_one_credentialed_request(sip_peer, register_at):
    peer = sip_peer("udp", always(challenge(nonce=None)))
    run = register_at(peer.port, timeout=TIMEOUT)
    assert run.result.status == 1
    assert credentialed(peer) == 1


def many_bindings(count: int):
    def build(request: Request) -> bytes:
        ours = (request.header("contact") or "").split(";expires=")[0]
        others = [
            f"<sip:1001@198.51.100.{n % 250}:{5060 + n};ob>;expires=300" for n in range(count)
        ]
        contacts = [("Contact", f"{ours};expires=300")] + [("Contact", c) for c in others]
        return message(response_head(request, 200, "OK", contacts))

    return build


def test_a_200_ok_over_the_packet_limit_over_tcp_is_named_as_siptests_limit(sip_peer, register_at):
    # A stream message over the limit is dropped whole by the stack.
    peer = sip_peer("tcp", [raw(many_bindings(70)), ok()])
    run = register_at(peer.port, transport="tcp", timeout=TIMEOUT)
    register = run.register
    assert register["response"]["local_cause"] == "too_large", run.result.stdout
    assert register["diagnosis"]["id"] == "siptest.packet_limit"
    assert "malformed" not in register["diagnosis"]["title"].lower()
    assert run.result.status == 1


def test_a_200_ok_over_the_packet_limit_over_udp_is_marked_cut_in_the_trace(
    sip_peer, register_at, tmp_path
):
    # The kernel hands the stack the first 4,000 bytes of the datagram; the status
    # line and our binding are in them, so the registration is real (and removed).
    peer = sip_peer("udp", [raw(many_bindings(70)), ok()])
    trace = tmp_path / "trace.txt"
    run = register_at(peer.port, "--trace", str(trace), timeout=TIMEOUT)
    assert run.result.status == 0, run.result.stdout
    assert "(CUT: the datagram filled the 4,000 bytes" in trace.read_text()
    assert len(peer.requests_of("REGISTER")) == 2  # and the un-REGISTER went out


def test_a_challenge_cut_at_the_packet_limit_over_udp_is_siptests_limit(sip_peer, register_at):
    peer = sip_peer("udp", always(raw(padded_challenge(9_000))))
    run = register_at(peer.port, timeout=TIMEOUT)
    assert run.register["response"]["local_cause"] == "too_large", run.result.stdout
    assert "4,000 bytes" in run.register["response"]["detail"]


def test_a_latin1_reason_phrase_gives_valid_json_a_whole_trace_and_exit_1(
    sip_peer, register_at, tmp_path
):
    reason = "Verboten f\xfcr dieses Konto"
    forbidden = respond(403, reason)

    def latin1(request: Request) -> list[bytes]:
        return [forbidden(request)[0].decode("utf-8").encode("latin-1")]

    peer = sip_peer("udp", [latin1])
    trace = tmp_path / "trace.txt"
    run = register_at(peer.port, "--trace", str(trace), timeout=TIMEOUT)
    assert run.result.status == 1
    run.result.stdout.encode("utf-8")  # the runner decoded it as UTF-8 already
    register = run.register
    assert register["response"]["code"] == 403
    assert register["response"]["reason"] == "Verboten f\\xfcr dieses Konto"
    text = trace.read_text(encoding="utf-8")
    assert "SIP/2.0 403 Verboten f\\xfcr dieses Konto" in text
    assert text.count("\n<-- ") == 1 and text.count("\n--> ") == 1


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_stray_datagram_is_not_blamed_on_the_server(sip_peer, register_at):
    # The server stays silent; a third party sends junk and a fake 200 to our port.
    peer = sip_peer("udp", always(raw(b"")))
    port = _free_udp_port()
    stop = threading.Event()

    def third_party() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            fake = (
                b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKnot-ours\r\n"
                b"From: <sip:1001@x>;tag=1\r\nTo: <sip:1001@x>;tag=2\r\nCall-ID: stray\r\n"
                b"CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
            )
            while not stop.wait(0.05):
                sock.sendto(b"\x16\x03\x01garbage that is not SIP\r\n\r\n", ("127.0.0.1", port))
                sock.sendto(fake, ("127.0.0.1", port))

    sender = threading.Thread(target=third_party, daemon=True)
    sender.start()
    try:
        run = register_at(peer.port, "--local-port", str(port), timeout=TIMEOUT)
    finally:
        stop.set()
        sender.join(timeout=2)
    register = run.register
    assert run.result.status == 1
    assert register["response"]["local_cause"] == "timeout", run.result.stdout
    assert register["response"]["origin"] == "none"
    assert register["diagnosis"]["id"] != "server.malformed_response"


def test_a_password_that_is_a_common_word_masks_nothing(sip_peer, register_at, tmp_path):
    peer = sip_peer("udp", [challenge(), ok(), ok()])
    trace = tmp_path / "trace.txt"
    run = register_at(peer.port, "--trace", str(trace), password="siptest", timeout=TIMEOUT)
    assert run.result.status == 0, run.result.stdout
    text = trace.read_text()
    assert "User-Agent: siptest/" in text
    assert "*****" not in text
    assert 'response="' not in text  # digest response redacted structurally


def test_packet_limit_is_the_stacks():
    assert PACKET_LIMIT == 4000


def test_a_stray_refusal_after_the_real_answer_does_not_decide(sip_peer, register_at):
    # The server's socket sends the real 200, then at once a 403 for a transaction we
    # never started (another Via branch): the report is the server's 200.
    def stray_then_ok(request: Request) -> list[bytes]:
        stray = response_head(request, 403, "Forbidden").replace(
            "branch=", "branch=z9hG4bKnot-ours-"
        )
        return [*ok()(request), message(stray)]

    peer = sip_peer("udp", [stray_then_ok, ok()])
    run = register_at(peer.port, timeout=TIMEOUT)
    assert run.result.status == 0, run.result.stdout
    assert run.register["response"]["code"] == 200


def test_a_server_that_answers_from_another_port_is_still_the_server(register_at, tmp_path):
    """A multi-homed or load-balanced registrar answers from another address: the
    answer carries our Via branch, so it is the server's (pjsip takes it too)."""
    from sippeer import parse_request

    listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    answer_from = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listen.bind(("127.0.0.1", 0))
    answer_from.bind(("127.0.0.1", 0))
    listen.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, source = listen.recvfrom(65535)
            except TimeoutError:
                continue
            request = parse_request(data, "udp", source)
            if request is not None and request.method == "REGISTER":
                answer_from.sendto(ok()(request)[0], source)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    trace = tmp_path / "trace.txt"
    try:
        run = register_at(listen.getsockname()[1], "--trace", str(trace), timeout=TIMEOUT)
    finally:
        stop.set()
        server.join(timeout=2)
        listen.close()
        answer_from.close()
    assert run.result.status == 0, run.result.stdout
    assert run.register["response"]["code"] == 200
    assert "(from another address than the request went to)" in trace.read_text()
