"""What a REGISTER chain or a call came to, read from the captured exchange. Pure.

The pjsua2 agent hands over the capture and how pjsua saw the end (its last
registration state, or the call's last status); these functions decide the
final response and its origin, and collect the facts the outcome carries.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from siptest.sipmessage import granted_expiry, parse_message, registered_binding
from siptest.ua.base import (
    AccountSpec,
    CallCompleted,
    CallSpec,
    LocalCause,
    MediaSample,
    Origin,
    RegistrationCompleted,
    Response,
)
from siptest.ua.capture import Capture
from siptest.ua.credentials import carries_credentials
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

RegEvent = tuple[int, str, str, int]
"""pjsua's registration state: (code, reason, whole response or "", expiration)."""

NO_ANSWER_CAUSES = ("timeout", "dns", "refused", "tls", "unreachable")
"""Local causes that mean the server said nothing at all (origin "none")."""


@dataclass(frozen=True)
class CallEnd:
    """How pjsua saw a call end."""

    last_code: int
    last_reason: str
    digits: str
    """DTMF digits the call received."""


def _malformed_if_dropped(capture: Capture, first: int, response: Response) -> Response:
    """A timeout after pjsip dropped an unparsable answer is a malformed answer."""
    dropped = [why for index, why in capture.dropped if index >= first]
    if not dropped or response.local_cause != "timeout":
        return response
    return replace(
        response,
        origin="local",
        local_cause="malformed",
        detail=f"The server's answer was dropped as malformed: {dropped[-1]}",
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


def registration_outcome(
    capture: Capture,
    account: AccountSpec,
    event: RegEvent | None,
    first: int,
    unreachable: bool,
    removing: bool = False,
) -> RegistrationCompleted:
    """What one REGISTER chain came to, from the exchange and pjsua's last reg state.

    `removing`: the chain was our un-REGISTER; `expires_granted` is then what the
    2xx still grants our own binding (RFC 3261 10.3: it lists the bindings left),
    None when it is gone.
    """
    exchange = [m for m in capture.messages[first:] if m.message.method == "REGISTER"]
    call_id = exchange[0].message.header("call-id") if exchange else None
    rejected = capture.guard.was_rejected(call_id)
    finals = [m for m in exchange if m.direction == "received" and (m.message.code or 0) >= 200]
    response: Response
    if capture.guard.gave_up(call_id) and finals:
        response = _gave_up(response_from(finals[-1], "REGISTER"))
    elif rejected and finals:
        response = response_from(finals[-1], "REGISTER")
    elif unreachable:
        response = Response(
            "REGISTER",
            503,
            "Port unreachable",
            "none",
            capture.now(),
            local_cause="unreachable",
            detail="ICMP port unreachable: nothing is listening at that address and port",
        )
    elif event is None:
        response = Response(
            "REGISTER",
            408,
            "No final response",
            "none",
            capture.now(),
            local_cause="timeout",
        )
    else:
        code, reason, whole, _ = event
        if whole:
            parsed = parse_message(whole)
            headers = parsed.headers if parsed else ()
            response = Response("REGISTER", code, reason, "remote", capture.now(), headers)
        else:
            cause = local_cause(code, reason, capture.log_tail)
            heard = any(m.direction == "received" for m in exchange)
            # "none" only when the server said nothing at all (a 100 Trying
            # followed by silence is a local timeout after an answer).
            origin: Origin = "none" if cause in NO_ANSWER_CAUSES and not heard else "local"
            response = Response(
                "REGISTER",
                code,
                reason,
                origin,
                capture.now(),
                local_cause=cause,
                detail=(
                    "; ".join(capture.tls_problems)
                    if cause == "tls" and capture.tls_problems
                    else failure_detail(reason, capture.log_tail)
                ),
            )
    response = _malformed_if_dropped(capture, first, response)
    requests = [m for m in exchange if m.direction == "sent" and m.message.code is None]
    answered = {m.message.cseq for m in exchange if m.direction == "received"}
    left = requests_on_the_wire(requests, response, answered)
    credentials_sent = any(carries_credentials(m.message) for m in left)
    granted = None
    contact = None
    registered = None
    if 200 <= response.code < 300 and event is not None:
        sent_contacts = [m.message.header("contact") for m in exchange if m.direction == "sent"]
        contact = next((c for c in reversed(sent_contacts) if c), None)
        answer = parse_message(event[2]) if event[2] else None
        # Read from the answer itself: pjsip wraps values over 2**32 around.
        if answer and contact:
            granted = granted_expiry(answer, contact, binding_only=removing)
            registered = registered_binding(answer, contact)
        if granted is None and event[3] > 0 and not removing:
            granted = event[3]
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
    )


def call_outcome(
    capture: Capture,
    spec: CallSpec,
    uri: str,
    end: CallEnd,
    call_id: str,
    first: int,
    answered: bool,
    cancelled: bool,
    hangup: Literal["us", "remote"] | None,
    talked: float,
    media: MediaSample | None,
    digits_sent: str,
) -> CallCompleted:
    """What one call came to, from the exchange and how pjsua saw it end."""
    responses = invite_responses(capture.messages[first:], call_id)
    provisional = tuple(
        fold_repeats(m.message.code for m in responses if (m.message.code or 0) < 200)
    )
    invites = [
        m
        for m in capture.messages[first:]
        if m.direction == "sent"
        and m.message.method == "INVITE"
        and m.message.code is None
        and m.message.header("call-id") == call_id
    ]
    rejected = capture.guard.was_rejected(call_id)
    remote_final = final_invite(capture.messages[first:], call_id)
    if remote_final is not None and capture.guard.gave_up(call_id):
        response = _gave_up(response_from(remote_final, "INVITE"))
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
    else:
        code = end.last_code or 408
        reason = end.last_reason or "No final response"
        cause: LocalCause = (
            "cancelled" if cancelled else local_cause(code, reason, capture.log_tail)
        )
        response = Response(
            "INVITE",
            code,
            reason,
            "local" if cancelled else "none" if cause in NO_ANSWER_CAUSES else "local",
            capture.now(),
            local_cause=cause,
            detail=failure_detail(reason, capture.log_tail),
        )
    response = _malformed_if_dropped(capture, first, response)
    invites = requests_on_the_wire(invites, response, {m.message.cseq for m in responses})
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
        requests_sent=distinct_requests(invites),
        credentials_sent=any(carries_credentials(m.message) for m in invites),
        credentials_rejected=rejected,
        cancelled_by_us=cancelled,
        hangup=hangup,
        talk_seconds=round(talked, 3),
        media=media,
        dtmf_sent=digits_sent,
        dtmf_received=end.digits,
        dtmf_refused=info_refusal(capture.messages[first:], call_id),
        remote_sdp_address=sdp_address(answer.text) if answer else None,
    )
