"""Malformed and odd responses to REGISTER (issue 7; RFC 4475 torture cases that are
responses): siptest must not crash or hang, must keep stdout one JSON object, and
must read an odd but valid answer as what it is.

The peer (sippeer.py) sends the bytes below as they are. `{via}`, `{from}`, `{to}`,
`{call_id}`, `{cseq}` and `{tag}` are filled from the REGISTER so pjsip can match
the answer to its transaction; everything else is deliberately wrong.
"""

from __future__ import annotations

import pytest
from sippeer import Request, SipPeer, always, fields_of, message, ok, raw, response_head

from siptest.ua.pjsua.agent import LOST_UNREGISTER_S

TIMEOUT = 0.5
BOUND = TIMEOUT + 4
"""Within the timeout, not pjsip's 32 s Timer F (the margin is for a loaded machine)."""

MATCHING = (
    "Via: {via}\r\nFrom: {from}\r\nTo: {to};tag={tag}\r\nCall-ID: {call_id}\r\nCSeq: {cseq}\r\n"
)


def response(status_line: str, extra: str = "", length: str = "Content-Length: 0\r\n") -> str:
    return f"{status_line}\r\n{MATCHING}{extra}{length}\r\n"


def datagram_of(size: int):
    """A valid 200 OK padded with one huge header to exactly `size` bytes."""

    def build(request: Request) -> bytes:
        head = response_head(request, 200, "OK", [("Expires", "300")])
        empty = message(f"{head}\r\nX-Padding: ")
        return message(f"{head}\r\nX-Padding: {'x' * (size - len(empty))}")

    return build


def many_headers(count: int):
    def build(request: Request) -> bytes:
        filler = [(f"X-Filler-{n}", f"value {n}") for n in range(count)]
        return message(response_head(request, 200, "OK", filler))

    return build


def huge_expires(request: Request) -> bytes:
    contact = request.header("contact") or ""
    text = response(
        "SIP/2.0 200 OK",
        f"Contact: {contact};expires=99999999999999\r\nExpires: 99999999999999\r\n",
    )
    return text.format(**fields_of(request)).encode()


# Answers pjsip accepts: (step, exit status, expected code, expected reason).
ACCEPTED = {
    "unknown-reason-phrase": (raw(response("SIP/2.0 200 Totally Fine By Me")), 0, 200,
                              "Totally Fine By Me"),
    "missing-reason-phrase": (raw(response("SIP/2.0 200")), 0, 200, ""),
    "empty-reason-phrase": (raw(response("SIP/2.0 200 ")), 0, 200, ""),
    "unknown-6xx-code": (raw(response("SIP/2.0 699 Unheard Of")), 1, 699, "Unheard Of"),
    "unknown-2xx-code": (raw(response("SIP/2.0 299 Odd Success")), 0, 299, "Odd Success"),
    "missing-to-tag": (raw(response("SIP/2.0 200 OK").replace(";tag={tag}", "")), 0, 200, "OK"),
    "duplicate-content-length": (raw(response("SIP/2.0 200 OK", "Content-Length: 0\r\n")),
                                 0, 200, "OK"),
    "conflicting-content-length": (raw(response("SIP/2.0 200 OK", "Content-Length: 5\r\n")),
                                   0, 200, "OK"),
    "huge-content-length": (raw(response("SIP/2.0 200 OK", "",
                                         "Content-Length: 99999999999999999999\r\n")),
                            0, 200, "OK"),
    "bad-via-received": (raw(response("SIP/2.0 200 OK").replace(
        "Via: {via}", "Via: {via};received=255.255.255.255.255")), 0, 200, "OK"),
    "broadcast-via-received": (raw(response("SIP/2.0 200 OK").replace(
        "Via: {via}", "Via: {via};received=255.255.255.255")), 0, 200, "OK"),
    "folded-header": (raw(response("SIP/2.0 200 OK", "Server: folded\r\n  over two lines\r\n")),
                      0, 200, "OK"),
    "64kib-datagram": (raw(datagram_of(65_000)), 0, 200, "OK"),
    "hundreds-of-headers": (raw(many_headers(500)), 0, 200, "OK"),
    "huge-expires": (raw(huge_expires), 0, 200, "OK"),
}  # fmt: skip

# Answers pjsip drops as unparsable (it logs "Dropping ... packet"): (transport, step).
DROPPED = {
    "huge-status-code": ("udp", raw(response("SIP/2.0 9999999999 Huge"))),
    "four-digit-status-code": ("udp", raw(response("SIP/2.0 4040 Odd"))),
    "huge-retry-after": ("udp", raw(response(
        "SIP/2.0 503 Service Unavailable", "Retry-After: 184467440737095516161\r\n"))),
    "negative-cseq": ("udp", raw(response("SIP/2.0 200 OK").replace("{cseq}", "-1 REGISTER"))),
    "unknown-sip-version": ("udp", raw(response("SIP/7.0 200 OK"))),
    "garbage-bytes": ("udp", raw(bytes(range(256)) * 4)),
    "huge-status-code-tcp": ("tcp", raw(response("SIP/2.0 9999999999 Huge"))),
    "huge-content-length-tcp": ("tcp", raw(response(
        "SIP/2.0 200 OK", "", "Content-Length: 99999999999999999999\r\n"))),
}  # fmt: skip

# Answers a stream transport cannot even frame: pjsip waits for the rest, then times out.
UNFRAMED = {
    "garbage-bytes-tcp": raw(bytes(range(256)) * 4),
    "conflicting-content-length-tcp": raw(response("SIP/2.0 200 OK", "Content-Length: 5\r\n")),
}


@pytest.mark.parametrize("case", ACCEPTED, ids=list(ACCEPTED))
def test_odd_but_readable_response_is_read(sip_peer, register_at, case):
    step, status, code, reason = ACCEPTED[case]
    peer = sip_peer("udp", [step, ok()])
    run = register_at(peer.port, timeout=TIMEOUT)
    assert run.result.status == status, run.result.stdout
    register = run.register
    assert register["response"]["code"] == code
    assert register["response"]["reason"] == reason
    assert register["response"]["origin"] == "remote"
    assert run.elapsed <= BOUND + 1, run.elapsed  # + the un-REGISTER


def test_huge_expires_is_capped_not_wrapped_around(sip_peer, register_at):
    # RFC 3261 25.1: delta-seconds stop at 2**32-1; pjsip's own reading wraps
    # 99999999999999 around to 276447231, so siptest reads the answer itself.
    peer = sip_peer("udp", [raw(huge_expires), ok()])
    run = register_at(peer.port, timeout=TIMEOUT)
    assert run.result.status == 0, run.result.stdout
    assert run.register["expires_granted"] == 2**32 - 1


@pytest.fixture(scope="module", params=list(DROPPED))
def dropped(request, register_at):
    """One run per dropped answer, shared by the two tests that read it."""
    transport, step = DROPPED[request.param]
    with SipPeer(transport, always(step)) as peer:
        run = register_at(peer.port, transport=transport, timeout=TIMEOUT)
        return run, peer.requests_of("REGISTER")


def test_unreadable_response_times_out_without_a_crash(dropped):
    run, registers = dropped
    assert run.result.status == 1, run.result.stdout
    register = run.register
    assert register["response"]["code"] == 408
    assert register["response"]["origin"] == "local"
    assert register["diagnosis"]["category"] == "server"
    # The answer it could not read may have been a 2xx: the REGISTER, then an
    # un-REGISTER of our own contact (expires=0, never "*"), nothing more.
    first, removal = registers
    assert removal.header("expires") == "0"
    assert removal.header("contact") == first.header("contact")
    assert run.elapsed <= BOUND + LOST_UNREGISTER_S, run.elapsed


def test_dropped_response_is_reported_as_malformed(dropped):
    # Needs pjsua.py to notice pjsip's "Dropping ... packet" log line and a
    # `malformed` local cause (see the report on issue 7).
    register = dropped[0].register
    assert register["response"]["origin"] == "local"
    assert register["response"]["local_cause"] == "malformed"
    assert register["diagnosis"]["id"] == "server.malformed_response"
    assert "malformed" in register["diagnosis"]["title"].lower()


@pytest.mark.parametrize("case", UNFRAMED, ids=list(UNFRAMED))
def test_unframed_stream_times_out_without_a_crash(sip_peer, register_at, case):
    peer = sip_peer("tcp", always(UNFRAMED[case]))
    run = register_at(peer.port, transport="tcp", timeout=TIMEOUT)
    assert run.result.status == 1, run.result.stdout
    assert run.register["response"]["code"] == 408
    assert run.register["diagnosis"]["category"] == "network"
    assert run.elapsed <= BOUND, run.elapsed
