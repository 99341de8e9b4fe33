"""Reading what the SIP stack captured: pure helpers with no SIP stack in them.

The pjsua2 agent records every message as a `WireMessage`; these functions turn
those records (and the stack's own words for local failures) into the facts the
outcome dataclasses carry.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Sequence
from typing import Any

from siptest.sipmessage import header_params
from siptest.ua.base import AccountSpec, LocalCause, Response
from siptest.ua.events import (
    STALL_SECONDS,
    ConnectionOpened,
    Event,
    MessageDropped,
    RequestSent,
    StackSaid,
    WireMessage,
)


def dial_uri(number: str, account: AccountSpec) -> str:
    """The Request-URI for what the user dialled: digits at the account's domain."""
    if number.lower().startswith(("sip:", "sips:")):
        return number
    target = number if "@" in number else f"{number}@{account.domain}"
    uri = f"sip:{target}"
    # Without the parameter pjsip would pick UDP for a URI with no transport.
    return uri if account.transport == "udp" else f"{uri};transport={account.transport}"


def fold_repeats(codes: Any) -> list[int]:
    """Provisional codes in order, retransmissions of the same code folded."""
    result: list[int] = []
    for code in codes:
        if not result or result[-1] != code:
            result.append(code)
    return result


def sdp_address(text: str) -> str | None:
    match = re.search(r"^c=IN IP[46] (\S+)", text, re.MULTILINE)
    return match.group(1) if match else None


def sdp_hold(text: str) -> str | None:
    """How an SDP puts the call on hold (RFC 3264 8.4): its "a=sendonly" or
    "a=inactive" for the audio (the session's when the stream has none), or the old
    "c=0.0.0.0" (RFC 2543); None when it does not."""
    session, _, audio = text.partition("m=audio")
    audio = audio.split("\nm=", 1)[0]
    for part in (audio, session):
        found = re.search(r"^a=(sendonly|inactive|recvonly|sendrecv)\s*$", part, re.MULTILINE)
        if found:
            if found.group(1) in ("sendonly", "inactive"):
                return f"a={found.group(1)}"
            break
    if sdp_address(text) == "0.0.0.0":
        return "c=0.0.0.0"
    return None


_STATIC_AUDIO = {
    0: "pcmu/8000", 3: "gsm/8000", 4: "g723/8000", 5: "dvi4/8000", 6: "dvi4/16000",
    7: "lpc/8000", 8: "pcma/8000", 9: "g722/8000", 10: "l16/44100", 11: "l16/44100",
    12: "qcelp/8000", 13: "cn/8000", 14: "mpa/90000", 15: "g728/8000", 16: "dvi4/11025",
    17: "dvi4/22050", 18: "g729/8000",
}  # fmt: skip
"""RFC 3551 table 4: the static audio payload types, which an SDP may list without an
rtpmap."""

_NOT_AUDIO = ("telephone-event/", "cn/")
"""Formats of an audio stream that carry no audio: RFC 4733 events, RFC 3389 comfort noise."""


def sdp_audio_formats(text: str) -> dict[int, str]:
    """The formats of an SDP's first audio stream (RFC 4566 5.14): payload type to
    encoding name and clock rate in lower case ("pcma/8000"), from its rtpmap or, for
    a static type without one, RFC 3551's. Empty without an audio stream, or with
    one refused (port 0)."""
    found = re.search(r"^m=audio (\d+)(?:/\d+)? [^ \r\n]+([ 0-9]*)", text, re.MULTILINE)
    if found is None or found.group(1) == "0":
        return {}
    stream = text[found.end() :].split("\nm=", 1)[0]
    maps = {
        int(kind): f"{name.lower()}/{rate}"
        for kind, name, rate in re.findall(
            r"^a=rtpmap: *(\d+) +([^/\s]+)/(\d+)", stream, re.MULTILINE
        )
    }
    kinds = [int(kind) for kind in found.group(2).split()]
    return {kind: maps.get(kind, _STATIC_AUDIO.get(kind, "")) for kind in kinds}


def agreed_audio(messages: Sequence[WireMessage], call_id: str) -> frozenset[int]:
    """The payload types of the audio codecs the call's offer and answer both list:
    of the latest SDP siptest sent and the latest the far end sent (in the dialog
    siptest kept), the formats of the same payload type and codec in both, telephone
    events and comfort noise left out. RFC 3264 5.1: the far end may send any of them,
    and change among them, without a new offer; pjsua's stream decodes only the
    first (`StreamInfo.rxPt`)."""
    kept = _answer_tag(messages, call_id)
    ours: dict[int, str] = {}
    theirs: dict[int, str] = {}
    for wire in messages:
        msg = wire.message
        if msg.header("call-id") != call_id:
            continue
        text = wire.text
        if "m=audio" not in text:
            continue
        if wire.direction == "sent":
            ours = sdp_audio_formats(text)
            continue
        their_tag = (
            _to_tag(msg)
            if msg.code is not None
            else header_params(msg.header("from") or "").get("tag", "")
        )
        if kept is None or their_tag == kept:
            theirs = sdp_audio_formats(text)
    return frozenset(
        kind
        for kind, codec in theirs.items()
        if codec and ours.get(kind) == codec and not codec.startswith(_NOT_AUDIO)
    )


def distinct_requests(messages: Any) -> int:
    """Count requests by CSeq: UDP retransmissions are the same request."""
    return len({(m.message.header("call-id"), m.message.cseq) for m in messages})


def _to_tag(msg: Any) -> str:
    """The To tag: the far end's tag of a dialog (forks of one INVITE differ in it)."""
    return header_params(msg.header("to") or "").get("tag", "")


def _answer_tag(messages: Sequence[WireMessage], call_id: str) -> str | None:
    """The To tag of the first 2xx to the call's INVITE: the dialog siptest kept. A
    forking proxy may bring more 2xx, each its own dialog, which pjsip ACKs and ends
    with a BYE of the same CSeq as siptest's own (RFC 3261 13.2.2.4)."""
    for wire in messages:
        msg = wire.message
        if (
            wire.direction == "received"
            and msg.method == "INVITE"
            and 200 <= (msg.code or 0) < 300
            and msg.header("call-id") == call_id
        ):
            return _to_tag(msg)
    return None


def awaiting_answer(messages: Sequence[WireMessage], call_id: str, method: str) -> bool:
    """True while a request of the call sent with `method` has no final response yet
    (requests told apart by CSeq and dialog: pjsip's BYE ending another fork has the
    CSeq of siptest's own BYE)."""
    asked: set[tuple[int, str]] = set()
    answered: set[tuple[int, str]] = set()
    for wire in messages:
        msg = wire.message
        if msg.method != method or msg.header("call-id") != call_id or msg.cseq is None:
            continue
        if isinstance(wire, RequestSent) and not wire.blocked:
            asked.add((msg.cseq, _to_tag(msg)))
        elif wire.direction == "received" and (msg.code or 0) >= 200:
            answered.add((msg.cseq, _to_tag(msg)))
    return bool(asked - answered)


def refusal(messages: Sequence[WireMessage], call_id: str, method: str) -> str:
    """The first failure answer to the call's `method` requests ("501 Not Implemented"
    to an INFO, "481 Call/Transaction Does Not Exist" to our BYE), or "" when every
    one was accepted, went unanswered, or none was sent. Only in the dialog of the
    call's answer: another fork's answer to the BYE that ends it is not ours. A
    challenge (401, 407) that the stack answered by sending the request again is
    not the answer either: the answer to the request sent again is."""
    dialog = _answer_tag(messages, call_id)
    ours = [
        wire
        for wire in messages
        if wire.message.method == method
        and wire.message.header("call-id") == call_id
        and (dialog is None or _to_tag(wire.message) == dialog)
    ]
    for index, wire in enumerate(ours):
        msg = wire.message
        if wire.direction != "received" or (msg.code or 0) < 300:
            continue
        if msg.code in (401, 407) and any(
            isinstance(later, RequestSent) and (later.message.cseq or 0) > (msg.cseq or 0)
            for later in ours[index + 1 :]
        ):
            continue  # challenged, and sent again with credentials
        return f"{msg.code} {msg.reason}".strip()
    return ""


def answer_repeats(messages: Sequence[WireMessage], call_id: str) -> int:
    """How often the far end sent its 2xx to the call's INVITE again after siptest's
    first ACK of it. RFC 3261 13.3.1.4: a UAS repeats its 2xx (T1, 2*T1... apart) until
    an ACK reaches it, and ends the call after 64*T1 without one; a repeat or two can
    cross an ACK in flight or follow one lost ACK, and siptest ACKs each again.

    Only the 2xx of the answer's own dialog (its To tag) repeat it: a forking proxy
    (a ring group whose phones pick up at once) brings 2xx of other dialogs, which
    pjsip ACKs and ends (RFC 3261 13.2.2.4), whatever became of our ACK."""
    answer: tuple[int | None, str] | None = None
    acked = False
    repeats = 0
    for wire in messages:
        msg = wire.message
        if msg.header("call-id") != call_id:
            continue
        dialog = (msg.cseq, _to_tag(msg))
        is_answer = (
            wire.direction == "received"
            and msg.method == "INVITE"
            and msg.code is not None
            and 200 <= msg.code < 300
        )
        if is_answer and answer is None:
            answer = dialog
        elif is_answer and acked and dialog == answer:
            repeats += 1
        elif wire.direction == "sent" and msg.method == "ACK" and dialog == answer:
            acked = True
    return repeats


def connected_peers(events: Sequence[Event]) -> frozenset[str]:
    """The peers (`host:port`) a TCP or TLS connection reached (`ConnectionOpened`),
    or that anything came from: what the stack queued for them went on the wire."""
    return frozenset(
        e.remote
        for e in events
        if isinstance(e, (ConnectionOpened, MessageDropped))
        or (isinstance(e, WireMessage) and e.direction == "received")
    )


def over_a_connection(transport: str) -> bool:
    """TCP or TLS (pjsip's names: TCP, TLS, TCP6, TLS6), not UDP."""
    return not transport.upper().startswith("UDP")


def never_sent(message: WireMessage, peers: Collection[str]) -> bool:
    """A message handed to the stack over TCP or TLS for a peer no connection ever
    reached (`connected_peers`): it waited for the connection, and never left."""
    return (
        message.direction == "sent"
        and over_a_connection(message.transport)
        and message.remote not in peers
    )


_SEND_FAILED = re.compile(r"Failed to send Request msg (\S+)/cseq=(\d+) .*\((.+)\)\s*$")
"""pjsip's words when a request could not be sent: "Failed to send Request msg
REGISTER/cseq=2471 (tdta0x...)! err=120001 (Operation not permitted)"."""


def unsent(events: Sequence[Event]) -> dict[int, str]:
    """The requests the stack was handed that never went on the wire, by their index in
    `events`, with why: over TCP or TLS to a peer no connection ever reached
    (`never_sent`), or the stack's own report that sending it failed (the latest
    request of that method and CSeq before its words)."""
    peers = connected_peers(events)
    found: dict[int, str] = {}
    latest: dict[tuple[str, int], int] = {}
    for index, event in enumerate(events):
        if isinstance(event, RequestSent):
            if never_sent(event, peers):
                found[index] = "its connection was never set up, nothing answered it"
            if event.message.method and event.message.cseq is not None:
                latest[(event.message.method, event.message.cseq)] = index
        elif isinstance(event, StackSaid):
            match = _SEND_FAILED.search(event.text)
            if match is not None:
                sent = latest.get((match.group(1), int(match.group(2))))
                if sent is not None:
                    found[sent] = f"the stack could not send it ({match.group(3)})"
    return found


def requests_on_the_wire(
    requests: Sequence[RequestSent],
    response: Response,
    answered: Collection[int | None],
    peers: Collection[str],
) -> list[RequestSent]:
    """The sent requests (in order) that really left, given how the exchange ended.

    pjsip hands a request over TCP or TLS to its modules (the tap) before the
    connection is up. When the connection was refused or its TLS handshake
    failed, or this machine refused to send it (`blocked_here`), the last request
    was logged but never left this machine - unless something came back for it
    (`answered`: CSeqs of the responses received). A request for a peer no connection
    ever reached (`peers`: `connected_peers`) never left at all (`never_sent`).
    """
    kept = [m for m in requests if not m.blocked and not never_sent(m, peers)]
    if (
        response.origin == "remote"
        or response.local_cause not in ("refused", "tls", "blocked_here")
        or not kept
    ):
        return kept
    last = kept[-1].message.cseq
    if last in answered:
        return kept
    return [m for m in kept if m.message.cseq != last]


def response_from(wire: WireMessage, method: str) -> Response:
    msg = wire.message
    return Response(method, msg.code or 0, msg.reason, "remote", wire.at, msg.headers)


def local_cause(code: int, reason: str, log_tail: Sequence[str]) -> LocalCause:
    text = (reason + " " + " ".join(list(log_tail)[-6:])).lower()
    if code == 408:
        return "timeout"
    # pjsip could not build a request within its 4,000-byte buffer (PJSIP_EMSGTOOLONG),
    # e.g. one answering dozens of challenges: siptest's limit.
    if "emsgtoolong" in text or "message too long" in text:
        return "too_large"
    # pjsip's own words when an answer's SDP cannot complete the offer/answer
    # (RFC 3264): "SDP offer/answer incomplete", "... SDP negotiation failed".
    if "sdp" in reason.lower():
        return "sdp"
    if code == 502 or "eresolve" in text or "gethostbyname" in text or "resolve" in text:
        return "dns"
    # A closed TLS port is refused like a TCP one: pjsip's words for it name TLS
    # ("TLS connect() error: ... Connection refused"), the problem is the port.
    if "refused" in text:
        return "refused"
    # "No route to host" (EHOSTUNREACH): ICMP host unreachable, or a firewall on the
    # way answering "administratively prohibited" - the network rejected it.
    if "no route to host" in text or "ehostunreach" in text:
        return "no_route"
    # "Operation not permitted" (EPERM) on sending: only a policy on this machine
    # (a firewall rule, a security product) refuses to send.
    if "operation not permitted" in text or "eperm" in text:
        return "blocked_here"
    if "unreachable" in text:
        return "unreachable"
    # A connection that timed out (pjsip: "Operation timed out (PJ_ETIMEDOUT)", also for
    # a TLS connection) is silence, not a certificate problem: the outcome then tells a
    # connection that never came up (`no_connection`) from a server that went quiet.
    if "etimedout" in text or "timed out" in text:
        return "timeout"
    if "ssl" in text or "tls" in text or "certificate" in text or "handshake" in text:
        return "tls"
    return "transport"


def failure_detail(reason: str, log_tail: Sequence[str]) -> str:
    """The stack's own last words on a local failure, for the report."""
    for line in reversed(log_tail):
        lowered = line.lower()
        # pjsip's failover note after Timer B ("will try next server: Unsuitable
        # transport") is an after-effect, not the cause.
        if "will try next server" in lowered:
            continue
        if any(word in lowered for word in ("error", "fail", "verif", "refused")):
            return line.strip()[:300]
    return reason


def invite_responses(messages: Sequence[WireMessage], call_id: str) -> list[WireMessage]:
    """Responses received to the INVITEs of one call (challenges included)."""
    return [
        m
        for m in messages
        if m.direction == "received"
        and m.message.method == "INVITE"
        and m.message.code is not None
        and m.message.header("call-id") == call_id
    ]


def final_invite(messages: Sequence[WireMessage], call_id: str) -> WireMessage | None:
    """The final response to the latest INVITE of the call (not an earlier challenge)."""
    responses = invite_responses(messages, call_id)
    latest = max((m.message.cseq or 0 for m in responses), default=0)
    finals = [
        m for m in responses if (m.message.code or 0) >= 200 and (m.message.cseq or 0) == latest
    ]
    return finals[-1] if finals else None


MediaPoint = tuple[float, int, int, int]
"""(seconds into the call, packets received, RTCP reports received, packets the far
end's latest report says it got)."""


def media_stalls(points: Sequence[MediaPoint], end: float) -> tuple[float | None, float | None]:
    """When audio stopped for good in each direction: (from the far end, to the far end).

    From the far end: the time of the last increase of the packets received, when
    nothing more came for STALL_SECONDS before `end`. To the far end: two RTCP
    receiver reports in a row saying no more packets arrived, the first one's time.
    """
    received: float | None = None
    last_rise: float | None = None
    previous = 0
    for t, count, _, _ in points:
        if count > previous:
            last_rise = t
        previous = count
    if last_rise is not None and end - last_rise >= STALL_SECONDS:
        received = round(last_rise, 1)
    sent: float | None = None
    reports = [
        (t, got)
        for i, (t, _, count, got) in enumerate(points)
        if count and (i == 0 or count != points[i - 1][2])
    ]
    for (first_t, first_got), (_, second_got) in itertools.pairwise(reports):
        if first_got > 0 and second_got <= first_got:
            sent = round(first_t, 1)
            break
    return received, sent
