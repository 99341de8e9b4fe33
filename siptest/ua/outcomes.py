"""What a REGISTER chain or a call came to, read from the event stream. Pure.

The pjsua2 agent hands over the events of one chain or call (the messages the
stack tap saw, pjsua's own view of the end, transport failures); these
functions decide the final response and its origin, and collect the facts the
outcome carries. A stream recorded from a real run replays to the same outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from siptest.sipmessage import (
    SipMessage,
    contact_address,
    granted_expiry,
    header_params,
    parse_message,
    registered_binding,
    show_bytes,
)
from siptest.ua.base import (
    AccountSpec,
    CallCompleted,
    CallSpec,
    MediaSample,
    Origin,
    RegistrationCompleted,
    Response,
)
from siptest.ua.credentials import CredentialGuard, carries_credentials
from siptest.ua.events import (
    PACKET_LIMIT,
    Event,
    MessageDropped,
    RegistrationStateChanged,
    RequestReceived,
    RequestSent,
    ResponseReceived,
    StackSaid,
    TransportFailed,
    WireMessage,
)
from siptest.ua.evidence import (
    distinct_requests,
    failure_detail,
    final_invite,
    fold_repeats,
    info_refusal,
    invite_responses,
    local_cause,
    requests_on_the_wire,
    response_from,
    sdp_address,
)
from siptest.ua.loops import LoopGuard

NO_ANSWER_CAUSES = ("timeout", "dns", "refused", "tls", "unreachable")
"""Local causes that mean the server said nothing at all (origin "none")."""


@dataclass(frozen=True)
class CallEnd:
    """How pjsua saw a call end."""

    last_code: int
    last_reason: str
    digits: str
    """DTMF digits the call received."""


def replay_guard(events: Sequence[Event]) -> CredentialGuard:
    """The credential guard's decisions, rebuilt from the stream it saw."""
    guard = CredentialGuard()
    for event in events:
        if isinstance(event, RequestSent):
            guard.sent(event.message)
        elif isinstance(event, ResponseReceived) and not event.stray:
            guard.received(event.message)
    return guard


def replay_loops(events: Sequence[Event]) -> LoopGuard:
    """The loop guard's decisions, rebuilt from the stream it saw."""
    loops = LoopGuard()
    for event in events:
        if isinstance(event, RequestSent) and event.blocked:
            loops.allows(event.message)
        elif isinstance(event, ResponseReceived) and not event.stray:
            loops.received(event.message)
    return loops


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


def exchanged(events: Sequence[Event]) -> list[WireMessage]:
    """The messages between us and the server: stray responses left out."""
    return [e for e in events if isinstance(e, WireMessage) and not getattr(e, "stray", False)]


def register_chain(events: Sequence[Event], aor: str) -> list[Event]:
    """The events of one account's REGISTERs: its messages (by the Call-IDs of the
    REGISTERs it sent, From = `aor`), its pjsua state, and what belongs to no message.

    Another registered account's refresh, or a late answer to an abandoned
    un-REGISTER, can fall in the same window of the stream: it is not this chain.
    """
    ours = _aor_key(aor)
    call_ids = {
        e.message.header("call-id")
        for e in events
        if isinstance(e, RequestSent)
        and e.message.method == "REGISTER"
        and _aor_key(e.message.header("from") or "") == ours
    }
    chain: list[Event] = []
    for event in events:
        if isinstance(event, WireMessage):
            if event.message.method == "REGISTER" and event.message.header("call-id") in call_ids:
                chain.append(event)
        elif isinstance(event, RegistrationStateChanged):
            if _aor_key(event.aor) == ours:
                chain.append(event)
        else:
            chain.append(event)
    return chain


def _aor_key(address: str) -> tuple[str, str]:
    """(user, host) of an address of record, lower-case: pjsip writes the From of a
    REGISTER without the port the account's URI may carry."""
    uri = contact_address(address)
    user, _, hostport = uri.split(":", 1)[-1].rpartition("@")
    host = hostport[1:].split("]", 1)[0] if hostport.startswith("[") else hostport.split(":", 1)[0]
    return user, host


def sent_contact(events: Sequence[Event], aor: str) -> str | None:
    """The Contact our latest REGISTER for `aor` in `events` carried."""
    for event in reversed(register_chain(events, aor)):
        if isinstance(event, RequestSent) and event.message.method == "REGISTER":
            contact = event.message.header("contact")
            if contact:
                return contact.split(";expires=", 1)[0]
    return None


def final_register(events: Sequence[Event], aor: str) -> WireMessage | None:
    """The server's final answer to the latest REGISTER for `aor` (None: none came)."""
    events = register_chain(events, aor)
    sent = [
        m.message.cseq
        for m in events
        if isinstance(m, RequestSent) and not m.blocked and m.message.method == "REGISTER"
    ]
    finals = [
        m
        for m in exchanged(events)
        if m.direction == "received"
        and m.message.method == "REGISTER"
        and (m.message.code or 0) >= 200
        and (not sent or m.message.cseq == sent[-1])
    ]
    return finals[-1] if finals else None


def stack_words(events: Sequence[Event]) -> list[str]:
    return [e.text for e in events if isinstance(e, StackSaid)]


def _unreadable_answer(events: Sequence[Event], response: Response) -> Response:
    """A timeout after the stack refused what the server sent back: name why.

    Only bytes from where our requests went count (a stray datagram from a third
    party is not the server's answer). Too large is siptest's own limit.
    """
    dropped = [e for e in events if isinstance(e, MessageDropped) and e.from_server]
    # Only the decisive answer (the last one received) being cut matters.
    answers = [e for e in exchanged(events) if isinstance(e, ResponseReceived)]
    cut = answers[-1:] if answers and answers[-1].cut else []
    if cut and response.origin == "remote" and response.code >= 300:
        # The stack read only the first 4,000 bytes of the decisive answer: what it
        # made of the rest (a challenge it could not answer, say) is not the server's.
        return replace(
            response, origin="local", local_cause="too_large", detail=too_large_detail(cut[-1])
        )
    if not dropped or response.local_cause != "timeout":
        return response
    # A stream read over the limit is dropped, and what follows it is junk: the
    # first refusal for size is the reason.
    last = next((e for e in dropped if e.cause == "too_large"), dropped[-1])
    refused = parse_message(last.data)
    if (
        last.cause != "too_large"
        and refused is not None
        and refused.code in (401, 407)
        and _challenges(refused)
    ):
        # pjsip reads Digest challenges only (a Basic one fails its parser).
        return replace(
            response,
            origin="local",
            local_cause="challenge",
            detail=(
                f"The server asked for {_asked_for(_challenges(refused))}; siptest's SIP "
                f"stack reads and answers {_STACK_ANSWERS} only. A limit of siptest, not "
                "a wrong password."
            ),
        )
    if last.cause == "too_large":
        return replace(
            response,
            origin="local",
            local_cause="too_large",
            detail=too_large_detail(last),
        )
    return replace(
        response,
        origin="local",
        local_cause="malformed",
        detail=f"The server's answer was dropped as {_DROP_WORDS[last.cause]}: "
        f"{first_line(last.data)}",
    )


_DROP_WORDS = {
    "malformed": "malformed (not a SIP message siptest's stack can read)",
    "incomplete": "incomplete (a mandatory header such as Call-ID, CSeq, From, To or Via "
    "is missing)",
    "too_large": "too large",
}


def too_large_detail(dropped: MessageDropped | ResponseReceived) -> str:
    """The sentence for an answer over the stack's packet limit: siptest's limit."""
    size = announced_size(dropped.data)
    size_words = f"{size:,} bytes" if size and size > PACKET_LIMIT else "more than 4,000 bytes"
    return (
        f"The server's answer ({first_line(dropped.data)}) was {size_words}, larger than "
        f"the {PACKET_LIMIT:,} bytes siptest's SIP stack accepts. This is a limit of "
        "siptest, not a fault of the server or of your settings."
    )


_REQUEST_TOO_LARGE = (
    f"The request siptest had to send (answering the server's challenges) would be larger "
    f"than the {PACKET_LIMIT:,} bytes siptest's SIP stack can send. This is a limit of "
    "siptest, not a fault of the server or of your settings."
)


def announced_size(data: bytes) -> int | None:
    """The whole message's size, when its head (up to the blank line) and its
    Content-Length are both among the bytes kept."""
    head, sep, _ = data.partition(b"\r\n\r\n")
    if not sep:
        return None
    parsed = parse_message(data)
    length = parsed.header("content-length") if parsed else None
    if length is None or not length.strip().isdigit() or len(length.strip()) > 9:
        return None
    return len(head) + 4 + int(length.strip())


def first_line(data: bytes) -> str:
    parsed = parse_message(data[:300])
    line = parsed.start_line if parsed else show_bytes(data[:80].split(b"\n", 1)[0]).strip()
    return line[:120]


_PROBE_REASONS = {
    "not_tls": "Not a TLS port",
    "tls_version": "TLS 1.3 only",
    "tls": "TLS certificate refused",
}
"""The TLS probe's findings (`siptest.ua.tlsprobe`), as the reason in the report."""

_STACK_ANSWERS = "Digest with MD5 or SHA-256, and qop auth or none"


def _challenges(message: SipMessage) -> list[str]:
    name = "proxy-authenticate" if message.code == 407 else "www-authenticate"
    return [value for value in message.all(name) if value.strip()]


def _asked_for(challenges: list[str]) -> str:
    """What the server asked for, in words: "Digest algorithm=SHA-512-256, qop=auth-int"."""
    asked = []
    for value in challenges:
        scheme = value.strip().split(None, 1)[0]
        params = header_params(value)
        parts = [f"{key}={params[key]}" for key in ("algorithm", "qop") if params.get(key)]
        asked.append(" ".join([scheme, ", ".join(parts)]).strip())
    return "; ".join(dict.fromkeys(asked))


MAX_AUTH_URI = 256
"""PJSIP_MAX_URL_SIZE in the wheel: the longest Request-URI its auth client can sign."""


def _challenged_uri(answer: WireMessage, events: Sequence[Event]) -> str:
    """The Request-URI of the request a challenge answered ("" when not found)."""
    call_id, cseq = answer.message.header("call-id"), answer.message.cseq
    for event in events:
        if (
            isinstance(event, RequestSent)
            and event.message.header("call-id") == call_id
            and event.message.cseq == cseq
        ):
            parts = event.message.start_line.split()
            return parts[1] if len(parts) == 3 else ""
    return ""


def _user_of(address: str) -> str | None:
    """The user part of a SIP URI or name-addr (`<sip:1001@host>;tag=x` → "1001")."""
    inside = address.split("<", 1)[-1]
    if ":" not in inside or "@" not in inside:
        return None
    return inside.split(":", 1)[1].split("@", 1)[0].split(";", 1)[0] or None


def _answerable(challenge: str) -> bool:
    """A challenge siptest's stack answers: Digest, MD5 or SHA-256, qop auth or none."""
    parts = challenge.strip().split(None, 1)
    if not parts or parts[0].lower() != "digest":
        return False
    params = header_params(challenge)
    algorithm = params.get("algorithm", "").lower()
    qop = {token.strip().lower() for token in params.get("qop", "auth").split(",")}
    return algorithm in ("", "md5", "sha-256") and "auth" in qop


def _unanswered_challenge(
    answer: WireMessage, response: Response, events: Sequence[Event]
) -> Response:
    """A 401/407 siptest's stack did not answer although it had credentials."""
    challenges = _challenges(answer.message)
    uri = _challenged_uri(answer, events)
    if challenges and len(uri) >= MAX_AUTH_URI:
        # pjsip's auth client prints the Request-URI into a PJSIP_MAX_URL_SIZE buffer.
        return replace(
            response,
            origin="local",
            local_cause="challenge",
            detail=(
                f"siptest's SIP stack cannot answer a challenge for a Request-URI of "
                f"{MAX_AUTH_URI} characters or more (this one has {len(uri)}), so it sent "
                "no credentials: a limit of siptest, not a wrong password. No phone number "
                "is that long (E.164 allows 15 digits): check the number dialled."
            ),
        )
    if any(_answerable(c) for c in challenges):
        # It could have answered, so something stopped the answer on its way out.
        words = stack_words(events)
        if local_cause(response.code, "", words) == "too_large":
            return replace(
                response, origin="local", local_cause="too_large", detail=_REQUEST_TOO_LARGE
            )
        return replace(
            response,
            origin="local",
            local_cause="transport",
            detail=(
                "siptest's SIP stack could not send the request again with credentials: "
                f"{failure_detail('', words) or 'no reason given'}"
            ),
        )
    if not challenges:
        return replace(
            response,
            origin="local",
            local_cause="no_challenge",
            detail=(
                f"The server answered {response.code} {response.reason} without a "
                f"{'Proxy-Authenticate' if response.code == 407 else 'WWW-Authenticate'} "
                "header: there was no challenge to answer (RFC 3261 22.1 requires one)."
            ),
        )
    return replace(
        response,
        origin="local",
        local_cause="challenge",
        detail=(
            f"The server asked for {_asked_for(challenges)}; siptest's SIP stack answers "
            f"{_STACK_ANSWERS}, so it sent no credentials. A limit of siptest, not a wrong "
            "password."
        ),
    )


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
        else _REQUEST_TOO_LARGE
        if cause == "too_large"
        else f"siptest's SIP stack said: {stack}",
    )


LOCAL_REASONS = {
    "timeout": "No response",
    "dns": "Server name not found",
    "refused": "Connection refused",
    "unreachable": "Port unreachable",
    "tls": "TLS connection failed",
    "transport": "Connection failed",
    "sdp": "No usable SDP answer",
    "too_large": "Message too large for siptest",
}
"""What a response siptest's own stack made up says, by cause, in words."""


def registration_outcome(
    events: Sequence[Event],
    account: AccountSpec,
    removing: bool = False,
) -> RegistrationCompleted:
    """What one REGISTER chain came to, from the events it produced.

    `events` run from just before the first REGISTER to the end of the chain
    (pjsua's `RegistrationStateChanged`, or none when the wait ran out).
    `removing`: the chain was our un-REGISTER; `expires_granted` is then what the
    2xx still grants our own binding (RFC 3261 10.3: it lists the bindings left),
    None when it is gone.
    """
    events = register_chain(events, account.aor)
    guard = replay_guard(events)
    exchange = [m for m in exchanged(events) if m.message.method == "REGISTER"]
    call_id = exchange[0].message.header("call-id") if exchange else None
    rejected = guard.was_rejected(call_id)
    looped = replay_loops(events).looped.get(call_id or "")
    finals = [m for m in exchange if m.direction == "received" and (m.message.code or 0) >= 200]
    state = next((e for e in reversed(events) if isinstance(e, RegistrationStateChanged)), None)
    unreachable = any(isinstance(e, TransportFailed) and e.cause == "unreachable" for e in events)
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
    elif unreachable:
        response = Response(
            "REGISTER",
            503,
            "Port unreachable",
            "none",
            at,
            local_cause="unreachable",
            detail="ICMP port unreachable: nothing is listening at that address and port",
        )
    elif state is None:
        response = Response("REGISTER", 408, "No final response", "none", at, local_cause="timeout")
    elif state.answered and finals:
        response = response_from(finals[-1], "REGISTER")
    else:
        heard = any(m.direction == "received" for m in exchange)
        response = _local_failure("REGISTER", state.code, state.reason, events, heard, state.at)
    response = _unreadable_answer(events, response)
    requests = [m for m in exchange if isinstance(m, RequestSent)]
    answered = {m.message.cseq for m in exchange if m.direction == "received"}
    left = requests_on_the_wire(requests, response, answered)
    credentials_sent = any(carries_credentials(m.message) for m in left)
    if response.origin == "remote" and response.code in (401, 407) and not credentials_sent:
        response = _unanswered_challenge(finals[-1], response, events)
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
) -> CallCompleted:
    """What one call came to, from its events and how pjsua saw it end."""
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
    response = _unreadable_answer(events, response)
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
    left = requests_on_the_wire(invites, response, {m.message.cseq for m in responses})
    if (
        remote_final is not None
        and response.origin == "remote"
        and response.code in (401, 407)
        and not any(carries_credentials(m.message) for m in left)
    ):
        response = _unanswered_challenge(remote_final, response, events)
    answer = next(
        (m for m in responses if m.message.code is not None and 200 <= m.message.code < 300),
        None,
    )
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
        hangup=hangup,
        talk_seconds=round(talked, 3),
        media=media,
        dtmf_sent=digits_sent,
        dtmf_received=end.digits,
        dtmf_refused=info_refusal(messages, call_id),
        remote_sdp_address=sdp_address(answer.text) if answer else None,
        sent_to=invites[-1].remote if invites else None,
    )
