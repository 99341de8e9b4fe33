"""Answers siptest's SIP stack could not take, and challenges it could not answer.

Each is named for what it is: too large for the stack (a limit of siptest), not a
SIP message, or a login siptest cannot give (an algorithm, a scheme, a request
address too long to sign). Never a timeout, a server fault or a wrong password.
Pure: reads the event stream of one exchange (`siptest.ua.chains`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from siptest.sipmessage import SipMessage, header_params, parse_message, show_bytes
from siptest.ua.base import Response
from siptest.ua.chains import exchanged, stack_words
from siptest.ua.events import (
    PACKET_LIMIT,
    Event,
    MessageDropped,
    RequestSent,
    ResponseReceived,
    WireMessage,
)
from siptest.ua.evidence import failure_detail, local_cause


def unreadable_answer(events: Sequence[Event], response: Response) -> Response:
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


REQUEST_TOO_LARGE = (
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


def _answerable(challenge: str) -> bool:
    """A challenge siptest's stack answers: Digest, MD5 or SHA-256, qop auth or none."""
    parts = challenge.strip().split(None, 1)
    if not parts or parts[0].lower() != "digest":
        return False
    params = header_params(challenge)
    algorithm = params.get("algorithm", "").lower()
    qop = {token.strip().lower() for token in params.get("qop", "auth").split(",")}
    return algorithm in ("", "md5", "sha-256") and "auth" in qop


def unanswered_challenge(
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
                response, origin="local", local_cause="too_large", detail=REQUEST_TOO_LARGE
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
