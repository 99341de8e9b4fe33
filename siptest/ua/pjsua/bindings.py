"""pjsua2 subclasses, defined once pjsua2 is loaded.

pjsua2 is imported lazily (start-up time), so the subclasses are built by a
function that receives the module. Every callback catches everything and
records it as a `CallbackFailed` event: an exception raised inside a pjsua2
callback is otherwise printed and swallowed by the binding, and the agent
would carry on as if nothing happened. The agent stops on such an event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from siptest.ua.capture import Capture
from siptest.ua.events import CallStateChanged, RegistrationStateChanged

_STATES = {
    0: "NULL",
    1: "CALLING",
    2: "INCOMING",
    3: "EARLY",
    4: "CONNECTING",
    5: "CONFIRMED",
    6: "DISCONNECTED",
}
"""pjsip_inv_state values (pjsip-ua/sip_inv.h)."""


def subclasses(pj: Any, capture: Capture) -> tuple[type, type, type, type]:
    """pjsua2 subclasses, defined once pjsua2 is imported (it is imported lazily)."""

    class LogSink(pj.LogWriter):  # type: ignore[misc]
        def __init__(self, on_line: Callable[[str], None]) -> None:
            super().__init__()
            self._on_line = on_line

        def write(self, entry: Any) -> None:
            # Exceptions inside callbacks are swallowed by the binding: never raise.
            try:
                self._on_line(entry.msg)
            except Exception as exc:  # recorded: the agent stops on it
                capture.failed("LogWriter.write", exc)

    class RegAccount(pj.Account):  # type: ignore[misc]
        def __init__(
            self,
            answers: bool,
            on_media: Callable[[Any], None],
            watch_media: Callable[[int], int] | None = None,
        ) -> None:
            super().__init__()
            self.events: list[tuple[int, str, bool, int]] = []
            """(code, reason, answered by the network, expiration) per onRegState."""
            self.answers = answers
            self.on_media = on_media
            self.watch_media = watch_media
            """Puts the media of the calls it answers under the media tap (`--pcap`)."""
            self.incoming: list[Any] = []
            """Every Call created for an incoming INVITE: it must outlive this callback,
            or pjsua2 destroys it and the caller gets 603."""
            self.digits: list[str] = []
            """DTMF received by incoming calls that have ended."""
            self.shut_down = False
            """Set by `shutdown_account`. Not `isValid()`: pjsua reuses a deleted account's
            slot, and this object keeps its id, so it would read as valid again (and
            `shutdown()` would delete the account that took the slot)."""

        def onRegState(self, prm: Any) -> None:
            try:
                answered = bool(prm.rdata.wholeMsg)
                self.events.append((prm.code, prm.reason, answered, prm.expiration))
                capture.events.append(
                    RegistrationStateChanged(
                        capture.now(),
                        self.getInfo().uri,
                        int(prm.code),
                        str(prm.reason),
                        int(prm.expiration),
                        answered,
                    )
                )
            except Exception as exc:
                capture.failed("Account.onRegState", exc)

        def onIncomingCall(self, prm: Any) -> None:
            # A test account answers only when its scenario says so; otherwise
            # it refuses politely (486) instead of the binding's default 500.
            # pjsua2 calls this before it hands the call its media transport
            # (Endpoint::on_create_media_transport), and pjsua sends the 200 once
            # the transport is made: a watched call's transport is watched before
            # its stream attaches. A refused call has no stream: nothing to watch.
            try:
                watch = self.watch_media if self.answers else None
                call = TestCall(self, self.on_media, prm.callId, watch_media=watch)
                self.incoming.append(call)
                op = pj.CallOpParam()
                op.statusCode = 200 if self.answers else 486
                if self.answers:
                    call.answer(op)
                else:
                    call.hangup(op)
            except Exception as exc:
                capture.failed("Account.onIncomingCall", exc)

    class TestCall(pj.Call):  # type: ignore[misc]
        """A call whose state changes and DTMF digits are recorded; it sends a tone."""

        def __init__(
            self,
            account: Any,
            on_media: Callable[[Any], None],
            call_id: int = -1,
            watch_media: Callable[[int], int] | None = None,
        ) -> None:
            super().__init__(account, call_id)
            self.on_media = on_media
            self.watch_media = watch_media
            """Puts the call's media transports under the media tap (payload types counted,
            packets kept for `--pcap`), if set."""
            self.media_transports: list[int] = []
            """The media tap's handles of this call's transports (`MediaTap.take`)."""
            self.call_id = ""
            """Its Call-ID, kept from the last state change (readable after the end)."""
            self.state = pj.PJSIP_INV_STATE_NULL
            self.last_code = 0
            self.last_reason = ""
            self.digits: list[str] = []
            self.was_confirmed = False
            self.final_stream: tuple[Any, Any] | None = None
            """The audio stream's statistics and info read as the stream ended
            (`onStreamDestroyed`): a far end's BYE ends it between two readings."""

        def onCreateMediaTransport(self, prm: Any) -> None:
            # Called inside makeCall (placed) or before the 200 goes (answered),
            # before the transport carries anything.
            try:
                if self.watch_media is not None:
                    watched = self.watch_media(int(prm.mediaTp))
                    if watched:
                        self.media_transports.append(watched)
            except Exception as exc:
                capture.failed("Call.onCreateMediaTransport", exc)

        def onCallMediaState(self, prm: Any) -> None:
            try:
                self.on_media(self)
            except Exception as exc:
                capture.failed("Call.onCallMediaState", exc)

        def onCallState(self, prm: Any) -> None:
            try:
                info = self.getInfo()
                self.state = info.state
                self.last_code = info.lastStatusCode
                self.last_reason = info.lastReason
                self.call_id = str(info.callIdString)
                if info.state == pj.PJSIP_INV_STATE_CONFIRMED:
                    self.was_confirmed = True
                capture.events.append(
                    CallStateChanged(
                        capture.now(),
                        info.callIdString,
                        _STATES.get(int(info.state), str(info.state)),
                        int(info.lastStatusCode),
                        str(info.lastReason),
                    )
                )
            except Exception as exc:
                capture.failed("Call.onCallState", exc)

        def onStreamDestroyed(self, prm: Any) -> None:
            # Still readable here, gone by onCallState(DISCONNECTED); copies.
            try:
                if int(prm.streamIdx) == 0:
                    self.final_stream = (self.getStreamStat(0), self.getStreamInfo(0))
            except pj.Error:  # tolerated: no reading, the last one before stands
                pass
            except Exception as exc:
                capture.failed("Call.onStreamDestroyed", exc)

        def onDtmfDigit(self, prm: Any) -> None:
            try:
                self.digits.append(str(prm.digit))
            except Exception as exc:
                capture.failed("Call.onDtmfDigit", exc)

    class WatchedEndpoint(pj.Endpoint):  # type: ignore[misc]
        """Hears why a TLS handshake failed (pjsip's log says only "verification
        error"), and when a TCP or TLS connection is up (`ConnectionOpened`)."""

        def __init__(
            self,
            on_tls_failure: Callable[[list[str]], None],
            on_connected: Callable[[int], None],
        ) -> None:
            super().__init__()
            self._on_tls_failure = on_tls_failure
            self._on_connected = on_connected

        def onTransportState(self, prm: Any) -> None:
            try:
                if prm.state == pj.PJSIP_TP_STATE_CONNECTED:
                    self._on_connected(int(prm.hnd))
                info = prm.tlsInfo
                if not info.isEmpty() and info.verifyStatus:
                    self._on_tls_failure([str(text) for text in info.verifyMsgs])
            except Exception as exc:
                capture.failed("Endpoint.onTransportState", exc)

    return LogSink, RegAccount, TestCall, WatchedEndpoint
