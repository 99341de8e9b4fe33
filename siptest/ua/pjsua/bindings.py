"""pjsua2 subclasses and the ctypes hook into pjsip, defined once pjsua2 is loaded.

pjsua2 is imported lazily (start-up time), so the subclasses are built by a
function that receives the module. Every callback catches everything: an
exception raised inside a pjsua2 callback is printed and swallowed by the
binding, and one raised into C from ctypes would be worse.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any


def subclasses(pj: Any) -> tuple[type, type, type, type]:
    """pjsua2 subclasses, defined once pjsua2 is imported (it is imported lazily)."""

    class LogSink(pj.LogWriter):  # type: ignore[misc]
        def __init__(self, on_line: Callable[[str], None]) -> None:
            super().__init__()
            self._on_line = on_line

        def write(self, entry: Any) -> None:
            # Exceptions inside callbacks are swallowed by the binding: never raise.
            try:
                self._on_line(entry.msg)
            except Exception:  # pragma: no cover - defensive
                pass

    class RegAccount(pj.Account):  # type: ignore[misc]
        def __init__(self, answers: bool, on_media: Callable[[Any], None]) -> None:
            super().__init__()
            self.events: list[tuple[int, str, str, int]] = []
            self.answers = answers
            self.on_media = on_media
            self.incoming: list[Any] = []
            """Every Call created for an incoming INVITE: it must outlive this callback,
            or pjsua2 destroys it and the caller gets 603."""
            self.digits: list[str] = []
            """DTMF received by incoming calls that have ended."""

        def onRegState(self, prm: Any) -> None:
            try:
                self.events.append((prm.code, prm.reason, prm.rdata.wholeMsg, prm.expiration))
            except Exception:  # pragma: no cover - defensive
                pass

        def onIncomingCall(self, prm: Any) -> None:
            # A test account answers only when its scenario says so; otherwise
            # it refuses politely (486) instead of the binding's default 500.
            try:
                call = TestCall(self, self.on_media, prm.callId)
                self.incoming.append(call)
                op = pj.CallOpParam()
                op.statusCode = 200 if self.answers else 486
                if self.answers:
                    call.answer(op)
                else:
                    call.hangup(op)
            except Exception:  # pragma: no cover - defensive
                pass

    class TestCall(pj.Call):  # type: ignore[misc]
        """A call whose state changes and DTMF digits are recorded; it sends a tone."""

        def __init__(
            self, account: Any, on_media: Callable[[Any], None], call_id: int = -1
        ) -> None:
            super().__init__(account, call_id)
            self.on_media = on_media
            self.state = pj.PJSIP_INV_STATE_NULL
            self.last_code = 0
            self.last_reason = ""
            self.digits: list[str] = []
            self.was_confirmed = False

        def onCallMediaState(self, prm: Any) -> None:
            try:
                self.on_media(self)
            except Exception:  # pragma: no cover - defensive
                pass

        def onCallState(self, prm: Any) -> None:
            try:
                info = self.getInfo()
                self.state = info.state
                self.last_code = info.lastStatusCode
                self.last_reason = info.lastReason
                if info.state == pj.PJSIP_INV_STATE_CONFIRMED:
                    self.was_confirmed = True
            except Exception:  # pragma: no cover - defensive
                pass

        def onDtmfDigit(self, prm: Any) -> None:
            try:
                self.digits.append(str(prm.digit))
            except Exception:  # pragma: no cover - defensive
                pass

    class WatchedEndpoint(pj.Endpoint):  # type: ignore[misc]
        """Hears why a TLS handshake failed: pjsip's log says only "verification error"."""

        def __init__(self, on_tls_failure: Callable[[list[str]], None]) -> None:
            super().__init__()
            self._on_tls_failure = on_tls_failure

        def onTransportState(self, prm: Any) -> None:
            try:
                info = prm.tlsInfo
                if not info.isEmpty() and info.verifyStatus:
                    self._on_tls_failure([str(text) for text in info.verifyMsgs])
            except Exception:  # pragma: no cover - defensive
                pass

    return LogSink, RegAccount, TestCall, WatchedEndpoint


class TxModule(ctypes.Structure):
    """pjsip_module (pjsip/sip_module.h), just enough to hook on_tx_request."""


TX_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
TxModule._fields_ = [
    ("prev", ctypes.c_void_p),
    ("next", ctypes.c_void_p),
    ("name_ptr", ctypes.c_char_p),
    ("name_len", ctypes.c_ssize_t),
    ("id", ctypes.c_int),
    ("priority", ctypes.c_int),
    ("load", ctypes.c_void_p),
    ("start", ctypes.c_void_p),
    ("stop", ctypes.c_void_p),
    ("unload", ctypes.c_void_p),
    ("on_rx_request", ctypes.c_void_p),
    ("on_rx_response", ctypes.c_void_p),
    ("on_tx_request", TX_CALLBACK),
    ("on_tx_response", ctypes.c_void_p),
    ("on_tsx_state", ctypes.c_void_p),
]
# pjsua's message logger sits at PJSIP_MOD_PRIORITY_TRANSPORT_LAYER - 1 (7);
# outgoing messages visit modules from high to low numbers, so at 5 we run
# after the message was printed and logged, just before it is sent.
TX_PRIORITY = 5
