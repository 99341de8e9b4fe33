"""Event streams as JSON lines: a stream recorded from a real run replays to the
same verdict in a unit test (tests/data/events, tests/integration/record_stream.py).
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, fields
from typing import Any

from siptest.sipmessage import SipMessage, parse_message
from siptest.ua.events import (
    CallbackFailed,
    CallStateChanged,
    ConnectionOpened,
    Event,
    MessageDropped,
    RegistrationStateChanged,
    RequestReceived,
    RequestSent,
    ResponseReceived,
    ResponseSent,
    StackSaid,
    TransportFailed,
    WireMessage,
    redact_bytes,
)
from siptest.ua.mediaevents import (
    MediaCaptured,
    MediaPacket,
    MediaSample,
    MediaSampled,
    MediaTick,
    StreamStats,
)

_KINDS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        RequestSent,
        ResponseSent,
        RequestReceived,
        ResponseReceived,
        MessageDropped,
        RegistrationStateChanged,
        CallStateChanged,
        TransportFailed,
        ConnectionOpened,
        MediaSampled,
        MediaCaptured,
        StackSaid,
        CallbackFailed,
    )
}


def event_to_dict(event: Event) -> dict[str, Any]:
    """One event as JSON-ready data; bytes as base64 (exact, any byte value).

    Credentials in recorded messages are redacted (`redact_bytes`): recordings are
    fixtures to keep in a repository.
    """
    out: dict[str, Any] = {"event": type(event).__name__}
    for item in fields(event):
        value = getattr(event, item.name)
        if item.name == "message":
            continue
        if isinstance(value, bytes):
            out[item.name] = base64.b64encode(redact_bytes(value)).decode("ascii")
        elif isinstance(value, MediaSample):
            out[item.name] = asdict(value)
        elif item.name == "packets":
            out[item.name] = [
                dict(asdict(packet), head=base64.b64encode(packet.head).decode("ascii"))
                for packet in value
            ]
        else:
            out[item.name] = value
    return out


def event_from_dict(data: dict[str, Any]) -> Event:
    cls = _KINDS[data["event"]]
    values: dict[str, Any] = {}
    for item in fields(cls):
        if item.name == "message":
            continue
        if item.name not in data:
            if item.name == "local":
                values["local"] = ""  # recorded before siptest kept it
            continue
        value = data[item.name]
        values[item.name] = base64.b64decode(value) if item.name == "data" else value
    if cls is MediaSampled:
        sample = dict(values["sample"])
        sample["sent"] = StreamStats(**sample["sent"])
        sample["received"] = StreamStats(**sample["received"])
        sample["timeline"] = tuple(MediaTick(**tick) for tick in sample.get("timeline", ()))
        values["sample"] = MediaSample(**sample)
    if cls is MediaCaptured:
        values["packets"] = tuple(
            MediaPacket(**dict(packet, head=base64.b64decode(packet["head"])))
            for packet in values["packets"]
        )
    if issubclass(cls, WireMessage):
        parsed = parse_message(values["data"])
        values["message"] = parsed if parsed is not None else SipMessage(start_line="")
    event: Event = cls(**values)
    return event


def events_to_json(events: list[Event] | tuple[Event, ...]) -> str:
    return "\n".join(json.dumps(event_to_dict(event), sort_keys=True) for event in events) + "\n"


def events_from_json(text: str) -> list[Event]:
    return [event_from_dict(json.loads(line)) for line in text.splitlines() if line.strip()]
