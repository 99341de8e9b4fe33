"""A small bound on every retry a server can drive: 423, 3xx, 491, 503.

pjsip answers some responses by sending the request again on its own: a 423
Interval Too Brief with the server's Min-Expires (RFC 3261 10.2.8). A
registrar that answers every REGISTER with 423 made siptest send 20,000
REGISTERs in 6 s. The credential guard bounds challenges (`credentials.py`);
this guard bounds the rest: after `RETRIES` retries of one request on one
Call-ID that the server asked for, the next one is stopped and the exchange
is reported as a server loop that names the response that repeated.

Pure logic, fed the same messages as the credential guard.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from siptest.sipmessage import SipMessage

RETRIES = 2
"""Retries a server may drive per Call-ID and method (the first one is legitimate)."""


def drives_a_retry(code: int) -> bool:
    """Answers after which a client may send the request again (RFC 3261 10.2.8, 8.1.3.4,
    14.1, 21.5.4): 423 with Min-Expires, redirects, 491 glare, 503 with Retry-After."""
    return code in (423, 491, 503) or 300 <= code < 400


@dataclass
class LoopGuard:
    """Counts server-driven retries per (Call-ID, method) and stops the one too many."""

    looped: dict[str, tuple[int, str, int]] = field(default_factory=dict)
    """Call-ID -> (code, reason, times) of the answer that kept coming back."""
    _asked: dict[tuple[str, str], list[tuple[int, str]]] = field(default_factory=dict)
    _counted: set[tuple[str, str, int | None]] = field(default_factory=set)
    """(Call-ID, method, CSeq) already counted: a retransmitted answer counts once."""

    def received(self, message: SipMessage) -> None:
        call_id = message.header("call-id")
        if call_id is None or message.code is None or message.method is None:
            return
        key = (call_id, message.method)
        if 200 <= message.code < 300:
            self._asked.pop(key, None)
        elif drives_a_retry(message.code):
            # The tap sees every copy a server retransmits (RFC 3261 17.2.1): one
            # request's answer is one retry asked for, however often it arrives.
            once = (call_id, message.method, message.cseq)
            if once in self._counted:
                return
            self._counted.add(once)
            self._asked.setdefault(key, []).append((message.code, message.reason))

    def allows(self, message: SipMessage) -> bool:
        """May this request go on the wire? (CANCEL and ACK always may.)"""
        call_id = message.header("call-id")
        if call_id is None or message.method in (None, "ACK", "CANCEL"):
            return True
        asked = self._asked.get((call_id, message.method), [])
        if len(asked) <= RETRIES:
            return True
        code, reason = asked[-1]
        self.looped[call_id] = (code, reason, len(asked))
        return False
