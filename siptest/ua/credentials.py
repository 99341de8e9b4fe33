"""One try per password: the rule that keeps a tester from getting its user banned.

pjsip answers a 401/407 to a request that already carried credentials by
trying again whenever the nonce changed ("stale"), up to three more times with
the same wrong password. Providers count each try as a failed login and ban
the source address after a few. siptest sends credentials once per challenge;
it allows one more try only when the server says `stale=true` explicitly
(RFC 2617 3.2.1: the nonce expired, the password was right), and never again
after a definitive rejection.

Pure logic: the user agent feeds it the messages it sees and asks it whether
the next outgoing request may leave.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from siptest.sipmessage import SipMessage, header_params

_STALE_RETRIES = 1


def carries_credentials(message: SipMessage) -> bool:
    return message.header("authorization") is not None or (
        message.header("proxy-authorization") is not None
    )


@dataclass
class CredentialGuard:
    """Tracks credentialed requests per Call-ID and vetoes retries after rejection."""

    rejected: set[str] = field(default_factory=set)
    """Call-IDs whose credentials the server refused."""
    _credentialed: dict[str, set[int]] = field(default_factory=dict)
    _stale_left: dict[str, int] = field(default_factory=dict)

    def sent(self, message: SipMessage) -> None:
        call_id = message.header("call-id")
        if call_id and message.cseq is not None and carries_credentials(message):
            self._credentialed.setdefault(call_id, set()).add(message.cseq)

    def received(self, message: SipMessage) -> None:
        """Note a response; a 401/407 to a credentialed request may reject the Call-ID."""
        if message.code not in (401, 407):
            return
        call_id = message.header("call-id")
        if not call_id or message.cseq not in self._credentialed.get(call_id, set()):
            return
        challenge = message.header(
            "www-authenticate" if message.code == 401 else "proxy-authenticate"
        )
        stale = header_params(challenge or "").get("stale", "").lower() == "true"
        left = self._stale_left.setdefault(call_id, _STALE_RETRIES)
        if stale and left > 0:
            self._stale_left[call_id] = left - 1
            return
        self.rejected.add(call_id)

    def allows(self, message: SipMessage) -> bool:
        """May this request go on the wire?"""
        call_id = message.header("call-id")
        return not (call_id in self.rejected and carries_credentials(message))

    def was_rejected(self, call_id: str | None) -> bool:
        return call_id is not None and call_id in self.rejected
