"""The SIP ladder of the HTML report: an inline SVG with one arrow per message of the
trace, in the trace's order and with its notes, between siptest, the server and (when
the messages name one) the far end."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from siptest.report.markup import Markup, join, tag
from siptest.report.trace import Traced, heading, note_kind, note_of
from siptest.sipmessage import contact_address
from siptest.ua.events import (
    MessageDropped,
    RequestReceived,
    RequestSent,
    ResponseReceived,
    WireMessage,
)

if TYPE_CHECKING:
    pass


_COLUMN_GAP = 300
_ROW = 38
_TOP = 72
_GUTTER = 90
_LABEL_MAX = 40


def ladder(messages: Sequence[Traced], prefix: str) -> Markup:
    """One arrow per message on the wire, in the trace's order, with its time."""
    local = next((m.local for m in messages if m.local), "")
    remotes: list[str] = []
    for m in messages:
        address = m.remote or "an unknown address"
        if address not in remotes:
            remotes.append(address)
    first = next((m.remote for m in messages if isinstance(m, RequestSent)), remotes[0])
    labels = {address: ("server" if address == first else "other address") for address in remotes}
    far = _far_end(messages, [local, *remotes])
    columns = [("siptest", local or "this machine", "")]
    columns += [(labels[a], a, "") for a in remotes]
    if far is not None:
        columns.append(("far end", far, "its Contact, through the server"))
    x = {i: _GUTTER + 40 + i * _COLUMN_GAP for i in range(len(columns))}
    height = _TOP + _ROW * len(messages) + 20
    width = x[len(columns) - 1] + 180
    parts: list[Markup] = []
    for i, (name, address, how) in enumerate(columns):
        parts.append(
            tag(
                "g",
                tag("text", name, x=x[i], y=16, text_anchor="middle"),
                tag("text", short(address, 40), x=x[i], y=31, text_anchor="middle"),
                *(
                    [tag("text", how, x=x[i], y=46, text_anchor="middle", class_="how")]
                    if how
                    else []
                ),
                tag("line", x1=x[i], y1=52, x2=x[i], y2=height - 8, stroke="#aab"),
                class_="column",
            )
        )
    column_of = {address: remotes.index(address) + 1 for address in remotes}
    for n, message in enumerate(messages):
        y = _TOP + n * _ROW + 18
        remote_x = x[column_of[message.remote or "an unknown address"]]
        far_x = x[len(columns) - 1] if far is not None and _touches(message, far) else None
        parts.append(_arrow(n, message, prefix, x[0], remote_x, far_x, y))
    legend = (
        "Columns: siptest, then each address siptest exchanged SIP messages with "
        "(the first one its requests went to is the server)."
    )
    if far is not None:
        legend += (
            " The far end is not on siptest's wire: its messages were relayed by the server; "
            "a dashed line is that hop, as the message's Contact or Request-URI says."
        )
    elif any(isinstance(m, WireMessage) and m.message.method == "INVITE" for m in messages):
        legend += (
            " No far end column: no answer to the INVITE named an address other than "
            "those siptest talked to."
        )
    svg = tag(
        "svg",
        tag("title", "SIP ladder"),
        *parts,
        width=width,
        height=height,
        viewBox=f"0 0 {width} {height}",
        xmlns="http://www.w3.org/2000/svg",
        role="img",
    )
    return join([tag("div", svg, class_="ladder"), tag("p", legend, class_="meta")])


def _arrow(
    n: int,
    message: Traced,
    prefix: str,
    local_x: int,
    remote_x: int,
    far_x: int | None,
    y: int,
) -> Markup:
    sent = isinstance(message, WireMessage) and message.direction == "sent"
    start, end = (local_x, remote_x) if sent else (remote_x, local_x)
    classes = ["arrow", "sent" if sent else "received"]
    note = note_of(message)
    if note:
        classes.append("note")
    word = _tag_word(message)
    if word:
        classes.append(word.lower().replace(" ", "-"))
    head = 8 if end > start else -8
    text = arrow_label(message)
    items: list[str | Markup] = [
        tag("title", heading(message)),
        tag("text", f"+{message.at * 1000:.1f} ms", x=6, y=y + 4),
        tag("line", x1=start, y1=y, x2=end - head, y2=y),
        tag("polygon", points=f"{end},{y} {end - head},{y - 4} {end - head},{y + 4}"),
        tag(
            "text",
            tag("tspan", short(text, _LABEL_MAX)),
            *([tag("tspan", f"  {word}", class_="tag")] if word else []),
            x=(start + end) / 2,
            y=y - 6,
            text_anchor="middle",
        ),
    ]
    if far_x is not None:
        items.append(tag("line", x1=remote_x, y1=y, x2=far_x, y2=y, class_="relay"))
    return tag(
        "g",
        tag("a", *items, href=f"#{prefix}-msg-{n}"),
        class_=" ".join(classes),
        data_message=n,
    )


def _tag_word(message: Traced) -> str:
    """The trace's note for the message, in one or two words for the arrow."""
    kind = note_kind(message)
    if kind == "answered" and isinstance(message, RequestReceived):
        return f"ANSWERED {message.refused}"
    return _TAG_WORDS.get(kind or "", "")


_TAG_WORDS = {
    "dropped": "REFUSED",
    "blocked": "NOT SENT",
    "unsent": "NOT SENT",
    "stray": "STRAY",
    "elsewhere": "OTHER ADDRESS",
    "cut": "CUT",
}


def arrow_label(message: Traced) -> str:
    if isinstance(message, MessageDropped) or not message.message.start_line:
        return "(unreadable bytes)"
    sip = message.message
    if sip.code is not None:
        return f"{sip.code} {sip.reason}".strip()
    return sip.method or sip.start_line.split(" ", 1)[0]


def short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _far_end(messages: Sequence[Traced], seen: Sequence[str]) -> str | None:
    """The far end of a call, when its answer names one siptest never talked to.

    The Contact of a 1xx/2xx with a tag to our INVITE is the far end's address
    (RFC 3261 12.1.2); behind a proxy it is not an address on siptest's wire.
    """
    for m in messages:
        if not isinstance(m, ResponseReceived) or m.stray or m.message.method != "INVITE":
            continue
        code, contact = m.message.code or 0, m.message.header("contact")
        if 100 < code < 300 and contact:
            address = contact_address(contact)
            hostport = address.split("@", 1)[-1].removeprefix("sip:").removeprefix("sips:")
            if hostport and hostport not in seen:
                return address
    return None


def _touches(message: Traced, far: str) -> bool:
    """The message came from the far end or goes to it, as its own headers say."""
    if not isinstance(message, WireMessage):
        return False
    sip = message.message
    if isinstance(message, RequestSent) and sip.code is None:
        parts = sip.start_line.split(" ")
        return len(parts) > 1 and contact_address(parts[1]) == far
    if isinstance(message, (ResponseReceived, RequestReceived)):
        contact = sip.header("contact")
        return contact is not None and contact_address(contact) == far
    return False
