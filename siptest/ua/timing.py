"""How long a phase of an exchange took, read from the event stream's own clock.

Only what the stream shows is measured: the time from the first INVITE that left to
the 2xx that answered it (challenge round trip, post-dial delay and ringing
included). Nothing here guesses a phase the stream does not hold (DNS, connect).
"""

from __future__ import annotations

from collections.abc import Sequence

from siptest.ua.events import Event, RequestSent, ResponseReceived


def invite_to_answer(events: Sequence[Event]) -> float | None:
    """Seconds from the first INVITE sent to the first 2xx answering an INVITE of the
    same call (same Call-ID); None when the call was not answered in `events`."""
    sent_at: float | None = None
    call_id: str | None = None
    for event in events:
        message = getattr(event, "message", None)
        if message is None:
            continue
        if sent_at is None:
            if isinstance(event, RequestSent) and not event.blocked and message.method == "INVITE":
                sent_at, call_id = event.at, message.header("call-id")
            continue
        if (
            isinstance(event, ResponseReceived)
            and not event.stray
            and message.method == "INVITE"
            and message.code is not None
            and 200 <= message.code < 300
            and message.header("call-id") == call_id
        ):
            return max(0.0, event.at - sent_at)
    return None
