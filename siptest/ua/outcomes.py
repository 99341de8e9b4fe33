"""What a REGISTER chain or a call came to, read from the event stream. Pure.

The pjsua2 agent hands over the events of one chain or call (the messages the
stack tap saw, pjsua's own view of the end, transport failures); these
functions decide the final response and its origin, and collect the facts the
outcome carries. A stream recorded from a real run replays to the same outcome.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from siptest.sipmessage import (
    granted_expiry,
    registered_binding,
)
from siptest.ua.base import AccountSpec, Origin, RegistrationCompleted, Response
from siptest.ua.chains import (
    exchanged,
    register_chain,
    replay_guard,
    replay_loops,
    stack_words,
)
from siptest.ua.credentials import carries_credentials
from siptest.ua.events import (
    Event,
    RegistrationStateChanged,
    RequestReceived,
    RequestSent,
    TransportCause,
    TransportFailed,
)
from siptest.ua.evidence import (
    answer_repeats,
    connected_peers,
    distinct_requests,
    failure_detail,
    final_invite,
    fold_repeats,
    invite_responses,
    local_cause,
    never_sent,
    refusal,
    requests_on_the_wire,
    response_from,
    sdp_address,
    sdp_hold,
)
from siptest.ua.unreadable import REQUEST_TOO_LARGE, unanswered_challenge, unreadable_answer

if TYPE_CHECKING:
    from siptest.ua.calls import CallCompleted, CallSpec
    from siptest.ua.mediaevents import MediaSample

NO_ANSWER_CAUSES = ("timeout", "dns", "refused", "tls", "unreachable", "no_route")
"""Local causes that mean the server said nothing at all (origin "none")."""


@dataclass(frozen=True)
class CallEnd:
    """How pjsua saw a call end."""

    last_code: int
    last_reason: str
    digits: str
    """DTMF digits the call received."""


def _looped(last: Response, times: int) -> Response:
    """The server drove the same retry past the bound and siptest stopped it."""
    return replace(
        last,
        origin="local",
        local_cause="limit",
        detail=(
            f"The server answered {last.code} {last.reason} to {times} requests in a row, "
            "each asking siptest to try again; siptest stopped after "
            f"{times} tries instead of flooding the server."
        ),
    )


_PROBE_REASONS = {
    "not_tls": "Not a TLS port",
    "tls_version": "TLS 1.3 only",
    "tls": "TLS certificate refused",
}
"""The TLS probe's findings (`siptest.ua.tlsprobe`), as the reason in the report."""


def _user_of(address: str) -> str | None:
    """The user part of a SIP URI or name-addr (`<sip:1001@host>;tag=x` → "1001")."""
    inside = address.split("<", 1)[-1]
    if ":" not in inside or "@" not in inside:
        return None
    return inside.split(":", 1)[1].split("@", 1)[0].split(";", 1)[0] or None


def _gave_up(last: Response) -> Response:
    """The server kept challenging ("stale", or new realms) and siptest stopped it:
    the last answer is the server's, the decision to stop is ours."""
    return replace(
        last,
        origin="local",
        local_cause="limit",
        detail=(
            f"The server answered {last.code} {last.reason} round after round (a stale nonce "
            "or a new realm each time); siptest stopped sending the credentials again."
        ),
    )


def _local_failure(
    method: str, code: int, reason: str, events: Sequence[Event], heard: bool, at: float
) -> Response:
    words = stack_words(events)
    cause = local_cause(code, reason, words)
    tls = [e.detail for e in events if isinstance(e, TransportFailed) and e.cause == "tls"]
    # "none" only when the server said nothing at all (a 100 Trying
    # followed by silence is a local timeout after an answer).
    origin: Origin = "none" if cause in NO_ANSWER_CAUSES and not heard else "local"
    # The reason in words; the stack's own text ("gethostbyname() has returned
    # error (PJ_ERESOLVE)") goes to the detail only.
    stack = failure_detail(reason, words)
    return Response(
        method,
        code,
        LOCAL_REASONS.get(cause, reason),
        origin,
        at,
        local_cause=cause,
        detail=tls[-1]
        if cause == "tls" and tls
        else REQUEST_TOO_LARGE
        if cause == "too_large"
        else f"siptest's SIP stack said: {stack}",
    )


LOCAL_REASONS = {
    "timeout": "No response",
    "dns": "Server name not found",
    "refused": "Connection refused",
    "unreachable": "Port unreachable",
    "no_route": "No route to the server",
    "blocked_here": "Blocked on this computer",
    "tls": "TLS connection failed",
    "transport": "Connection failed",
    "sdp": "No usable SDP answer",
    "too_large": "Message too large for siptest",
}
"""What a response siptest's own stack made up says, by cause, in words."""


def _as_the_connection_says(
    response: Response, requests: Sequence[RequestSent], peers: Collection[str]
) -> Response:
    """No answer over TCP or TLS from a peer no connection ever reached: the request
    waited for a connection that never came up (a SYN dropped, a handshake that never
    ended) and never left this machine - not "no answer from the server". And a
    connection that was up, carried the request and was reset before any answer: the
    other side closed it (`connection_reset`) - not "could not send the request"."""
    if not requests:
        return response
    last = requests[-1]
    if (
        response.local_cause == "transport"
        and "reset by peer" in (response.detail or "").lower()
        and not never_sent(last, peers)
    ):
        return replace(
            response,
            reason="Connection reset",
            local_cause="connection_reset",
            detail=(
                f"The {last.message.method} went out over {last.transport} to {last.remote}; "
                "the other side then reset the connection without answering it"
            ),
        )
    if response.origin != "none" or response.local_cause != "timeout":
        return response
    if not never_sent(last, peers):
        return response
    if last.transport.upper().startswith("TLS"):
        # pjsip calls a TLS connection up once its handshake is done: the TCP connection
        # may have been accepted, and the handshake stalled.
        what = f"TLS connection to {last.remote} was never set up (no answer to the "
        what += "connection, or to the TLS handshake)"
    else:
        what = f"TCP connection to {last.remote} was never set up: nothing answered it"
    return replace(
        response,
        reason="No connection",
        local_cause="no_connection",
        detail=f"siptest's {what}, so the {last.message.method} never left this machine",
    )


_ICMP_DETAILS = {
    "unreachable": "ICMP port unreachable: nothing is listening at that address and port",
    "no_route": (
        "ICMP host unreachable came back (a router, or a firewall that answers "
        "'administratively prohibited'): the network rejected the request"
    ),
}


def _icmp_cause(events: Sequence[Event]) -> TransportCause | None:
    """What siptest's UDP probe heard back (ua.probe): an ICMP error, or None."""
    return next(
        (e.cause for e in events if isinstance(e, TransportFailed) and e.cause in _ICMP_DETAILS),
        None,
    )


def _icmp_answer(method: str, cause: TransportCause, at: float) -> Response:
    """The network's answer to a UDP request no server answered: nothing listens there
    (`unreachable`), or a router or firewall rejected it (`no_route`)."""
    reason, detail = LOCAL_REASONS[cause], _ICMP_DETAILS[cause]
    return Response(method, 503, reason, "none", at, local_cause=cause, detail=detail)


def registration_outcome(
    events: Sequence[Event],
    account: AccountSpec,
    removing: bool = False,
    peers: Collection[str] | None = None,
) -> RegistrationCompleted:
    """What one REGISTER chain came to, from the events it produced.

    `events` run from just before the first REGISTER to the end of the chain
    (pjsua's `RegistrationStateChanged`, or none when the wait ran out).
    `removing`: the chain was our un-REGISTER; `expires_granted` is then what the
    2xx still grants our own binding (RFC 3261 10.3: it lists the bindings left),
    None when it is gone. `peers`: every peer a TCP or TLS connection reached so far
    (`connected_peers` of the whole stream: a connection may predate the chain);
    by default read from `events`.
    """
    peers = connected_peers(events) if peers is None else peers
    events = register_chain(events, account.aor)
    guard = replay_guard(events)
    exchange = [m for m in exchanged(events) if m.message.method == "REGISTER"]
    call_id = exchange[0].message.header("call-id") if exchange else None
    rejected = guard.was_rejected(call_id)
    looped = replay_loops(events).looped.get(call_id or "")
    finals = [m for m in exchange if m.direction == "received" and (m.message.code or 0) >= 200]
    state = next((e for e in reversed(events) if isinstance(e, RegistrationStateChanged)), None)
    icmp = _icmp_cause(events)
    # The TLS probe refused the server before the stack sent anything.
    probed = (
        None
        if any(isinstance(e, RequestSent) for e in events)
        else next(
            (e for e in events if isinstance(e, TransportFailed) and e.cause in _PROBE_REASONS),
            None,
        )
    )
    at = events[-1].at if events else 0.0
    response: Response
    if guard.gave_up(call_id) and finals:
        response = _gave_up(response_from(finals[-1], "REGISTER"))
    elif looped and finals:
        response = _looped(response_from(finals[-1], "REGISTER"), looped[2])
    elif rejected and finals:
        response = response_from(finals[-1], "REGISTER")
    elif probed is not None:
        response = Response(
            "REGISTER",
            503,
            _PROBE_REASONS[probed.cause],
            "none",
            probed.at,
            local_cause="tls" if probed.cause == "tls" else probed.cause,
            detail=probed.detail,
        )
    elif icmp is not None:
        response = _icmp_answer("REGISTER", icmp, at)
    elif state is None:
        response = Response("REGISTER", 408, "No final response", "none", at, local_cause="timeout")
    elif state.answered and finals:
        response = response_from(finals[-1], "REGISTER")
    else:
        heard = any(m.direction == "received" for m in exchange)
        response = _local_failure("REGISTER", state.code, state.reason, events, heard, state.at)
    response = unreadable_answer(events, response)
    requests = [m for m in exchange if isinstance(m, RequestSent)]
    response = _as_the_connection_says(response, requests, peers)
    answered = {m.message.cseq for m in exchange if m.direction == "received"}
    left = requests_on_the_wire(requests, response, answered, peers)
    credentials_sent = any(carries_credentials(m.message) for m in left)
    if response.origin == "remote" and response.code in (401, 407) and not credentials_sent:
        response = unanswered_challenge(finals[-1], response, events)
    granted = None
    contact = None
    registered = None
    if 200 <= response.code < 300 and response.origin == "remote":
        sent_contacts = [m.message.header("contact") for m in requests]
        contact = next((c for c in reversed(sent_contacts) if c), None)
        answer = finals[-1].message
        # Read from the answer itself: pjsip wraps values over 2**32 around.
        if contact:
            granted = granted_expiry(answer, contact, binding_only=removing)
            registered = registered_binding(answer, contact)
        if granted is None and state is not None and state.expiration > 0 and not removing:
            granted = state.expiration
        if removing and not granted:
            granted = None
    retried = next(
        (response_from(m, "REGISTER").min_expires for m in finals if m.message.code == 423),
        None,
    )
    provisional = tuple(
        fold_repeats(
            m.message.code
            for m in exchange
            if m.direction == "received" and m.message.code and m.message.code < 200
        )
    )
    return RegistrationCompleted(
        response=response,
        provisional=provisional,
        requests_sent=distinct_requests(left),
        credentials_sent=credentials_sent,
        credentials_rejected=rejected,
        expires_requested=account.expires,
        expires_granted=granted,
        contact=contact,
        registered_contact=registered,
        interval_retried=retried,
        sent_to=requests[-1].remote if requests else None,
    )


def call_outcome(
    events: Sequence[Event],
    spec: CallSpec,
    uri: str,
    end: CallEnd,
    call_id: str,
    answered: bool,
    cancelled: bool,
    hangup: Literal["us", "remote"] | None,
    talked: float,
    media: MediaSample | None,
    digits_sent: str,
    interrupted: bool = False,
    bye_answered: bool | None = None,
    peers: Collection[str] | None = None,
) -> CallCompleted:
    """What one call came to, from its events and how pjsua saw it end. `peers`: as
    for `registration_outcome`."""
    from siptest.ua.calls import CallCompleted  # with the first call: start-up time

    guard = replay_guard(events)
    messages = exchanged(events)
    responses = invite_responses(messages, call_id)
    provisional = tuple(
        fold_repeats(m.message.code for m in responses if (m.message.code or 0) < 200)
    )
    invites = [
        m
        for m in messages
        if isinstance(m, RequestSent)
        and m.message.method == "INVITE"
        and m.message.code is None
        and m.message.header("call-id") == call_id
    ]
    rejected = guard.was_rejected(call_id)
    remote_final = final_invite(messages, call_id)
    looped = replay_loops(events).looped.get(call_id)
    at = events[-1].at if events else 0.0
    if remote_final is not None and guard.gave_up(call_id):
        response = _gave_up(response_from(remote_final, "INVITE"))
    elif remote_final is not None and looped:
        response = _looped(response_from(remote_final, "INVITE"), looped[2])
    elif remote_final is not None and (
        answered
        or rejected
        or cancelled
        or remote_final.message.code == end.last_code
        # siptest does not follow redirects (pjsua2 stops there and ends the call
        # with a code of its own): the 3xx is the answer to explain.
        or 300 <= (remote_final.message.code or 0) < 400
    ):
        response = response_from(remote_final, "INVITE")
    elif remote_final is None and not responses and (icmp := _icmp_cause(events)) is not None:
        # Nothing answered the INVITE and the network said why (siptest's UDP probe).
        response = _icmp_answer("INVITE", icmp, at)
    elif cancelled:
        # RFC 3261 9.1: a CANCELled INVITE still gets its final answer (487). None
        # came: the server went silent after its provisional answer. pjsua's own
        # 487 is not the server's word and not a pass.
        response = Response(
            "INVITE",
            408,
            "No final response",
            "local",
            at,
            local_cause="timeout",
            detail=(
                "The server answered neither the INVITE nor siptest's CANCEL after its "
                "provisional answer."
            ),
        )
    else:
        response = _local_failure(
            "INVITE",
            end.last_code or 408,
            end.last_reason or "No final response",
            events,
            False,
            at,
        )
    response = unreadable_answer(events, response)
    peers = connected_peers(events) if peers is None else peers
    response = _as_the_connection_says(response, invites, peers)
    ours = _user_of(invites[0].message.header("from") or "") if invites else None
    came_back = [
        e
        for e in events
        if isinstance(e, RequestReceived)
        and e.message.method == "INVITE"
        and e.message.header("call-id") == call_id
        # to the calling account itself (another test account of this run is a callee)
        and _user_of(e.message.start_line.split()[1] if e.message.start_line else "") == ours
    ]
    if came_back and not answered:
        # Our own INVITE reached our own contact: the number is this account's.
        response = replace(
            response,
            origin="local",
            local_cause="own_number",
            detail=(
                f"The call came back to siptest's own registration (its INVITE arrived at "
                f"siptest's contact), and the answer {response.code} {response.reason} "
                "came from siptest itself, not from a callee."
            ),
        )
    left = requests_on_the_wire(invites, response, {m.message.cseq for m in responses}, peers)
    if (
        remote_final is not None
        and response.origin == "remote"
        and response.code in (401, 407)
        and not any(carries_credentials(m.message) for m in left)
    ):
        response = unanswered_challenge(remote_final, response, events)
    answer = next(
        (m for m in responses if m.message.code is not None and 200 <= m.message.code < 300),
        None,
    )
    if hangup == "remote" and not any(
        isinstance(e, RequestReceived)
        and e.message.method == "BYE"
        and e.message.header("call-id") == call_id
        for e in events
    ):
        # pjsua ended the call itself (an answer refusing the audio stream: its own
        # BYE); only a BYE from the far end means the far end hung up.
        hangup = "us"
    # The far end's re-INVITEs of the answered call: the last one says whether it holds.
    reinvites = [
        e
        for e in events
        if answered
        and isinstance(e, RequestReceived)
        and e.message.method == "INVITE"
        and e.message.header("call-id") == call_id
        and ";tag=" in (e.message.header("to") or "")
    ]
    return CallCompleted(
        number=spec.number,
        uri=uri,
        provisional=provisional,
        answered=answered,
        response=response,
        requests_sent=distinct_requests(left),
        credentials_sent=any(carries_credentials(m.message) for m in left),
        credentials_rejected=rejected,
        cancelled_by_us=cancelled,
        interrupted=interrupted and cancelled,
        bye_answered=bye_answered,
        answer_repeats=answer_repeats(messages, call_id) if answered else 0,
        bye_refused=refusal(messages, call_id, "BYE") if hangup == "us" else "",
        hangup=hangup,
        talk_seconds=round(talked, 3),
        media=media,
        dtmf_sent=digits_sent,
        dtmf_received=end.digits,
        dtmf_refused=refusal(messages, call_id, "INFO"),
        held=sdp_hold(reinvites[-1].text) if reinvites else None,
        remote_sdp_address=sdp_address(answer.text) if answer else None,
        sent_to=invites[-1].remote if invites else None,
    )
