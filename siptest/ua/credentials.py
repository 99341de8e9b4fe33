"""One try per password: the rule that keeps a tester from getting its user banned.

pjsip answers a 401/407 to a request that already carried credentials by
trying again whenever the nonce changed ("stale"), up to three more times with
the same wrong password. Providers count each try as a failed login and ban
the source address after a few. siptest sends credentials once per challenge:

- A challenge for a realm the challenged request itself answered is a
  **rejection**, and no credentialed request of that Call-ID leaves again.
- Unless it says `stale=true` (RFC 7616 3.3 / RFC 2617 3.2.1: the nonce expired,
  the password was right): that earns one more try. A server that keeps saying
  "stale" has the Call-ID **given up**: reported as a loop, not as a wrong password.
- A challenge only for realms not answered yet is a new challenge, not a
  rejection (RFC 3261 22.3: an outbound proxy's 407 after the registrar's 401).
  Two of those are allowed per round; a server that keeps inventing realms is
  given up too. A 2xx ends the round: a refresh or the un-REGISTER on the same
  Call-ID (sent with or without credentials first) gets the same allowance.

Realms are compared per kind: WWW-Authenticate (401) against the Authorization
headers sent, Proxy-Authenticate (407) against Proxy-Authorization. Every
challenge header counts (RFC 8760: one per algorithm).

Pure logic: the user agent feeds it the messages it sees and asks it whether
the next outgoing request may leave.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from siptest.sipmessage import SipMessage, header_params

_STALE_RETRIES = 1
_NEW_CHALLENGES = 2

Realm = tuple[str, str]
"""("www" or "proxy", realm): what one credentials header answered."""


def carries_credentials(message: SipMessage) -> bool:
    return message.header("authorization") is not None or (
        message.header("proxy-authorization") is not None
    )


def _realms(message: SipMessage) -> set[Realm]:
    """The realms the request's credentials answer."""
    return {
        (kind, header_params(value).get("realm", ""))
        for kind, name in (("www", "authorization"), ("proxy", "proxy-authorization"))
        for value in message.all(name)
    }


@dataclass
class _Exchange:
    """One Call-ID's credentialed requests, and the retries its current round has left."""

    answered: dict[int, set[Realm]] = field(default_factory=dict)
    """The realms each credentialed request (by CSeq) answered."""
    stale_left: int = _STALE_RETRIES
    new_left: int = _NEW_CHALLENGES
    judged: set[tuple[int, int]] = field(default_factory=set)
    """(CSeq, code) of the challenges already weighed: a retransmitted 401 counts once."""


@dataclass
class CredentialGuard:
    """Tracks credentialed requests per Call-ID and vetoes retries after rejection."""

    rejected: set[str] = field(default_factory=set)
    """Call-IDs whose credentials the server refused."""
    given_up: set[str] = field(default_factory=set)
    """Call-IDs where the server kept challenging (stale, or new realms) past the budget."""
    _exchanges: dict[str, _Exchange] = field(default_factory=dict)

    def sent(self, message: SipMessage) -> None:
        call_id = message.header("call-id")
        if call_id and message.cseq is not None and carries_credentials(message):
            exchange = self._exchanges.setdefault(call_id, _Exchange())
            exchange.answered[message.cseq] = _realms(message)

    def received(self, message: SipMessage) -> None:
        """Note a response; a 401/407 to a credentialed request may reject the Call-ID."""
        call_id = message.header("call-id")
        exchange = self._exchanges.get(call_id or "")
        if call_id is None or exchange is None or message.code is None:
            return
        if 200 <= message.code < 300:
            # A round that got through: a refresh or the un-REGISTER starts afresh.
            exchange.stale_left, exchange.new_left = _STALE_RETRIES, _NEW_CHALLENGES
            return
        answered = exchange.answered.get(message.cseq if message.cseq is not None else -1)
        if message.code not in (401, 407) or answered is None:
            return
        once = (message.cseq if message.cseq is not None else -1, message.code)
        if once in exchange.judged:
            return
        exchange.judged.add(once)
        kind = "www" if message.code == 401 else "proxy"
        challenges = [
            header_params(value)
            for value in message.all("www-authenticate" if kind == "www" else "proxy-authenticate")
        ]
        # A challenge for a realm this very request answered refuses it. Credentials
        # without a realm parameter answer whatever their kind asked.
        again = [c for c in challenges if {(kind, c.get("realm", "")), (kind, "")} & answered]
        if challenges and not again:
            self._allow_once(call_id, exchange, "new_left")
        elif any(c.get("stale", "").lower() == "true" for c in again):
            self._allow_once(call_id, exchange, "stale_left")
        else:
            self.rejected.add(call_id)

    def _allow_once(self, call_id: str, exchange: _Exchange, budget: str) -> None:
        left = getattr(exchange, budget)
        if left > 0:
            setattr(exchange, budget, left - 1)
        else:
            self.given_up.add(call_id)

    def allows(self, message: SipMessage) -> bool:
        """May this request go on the wire?"""
        call_id = message.header("call-id")
        stopped = call_id in self.rejected or call_id in self.given_up
        return not (stopped and carries_credentials(message))

    def was_rejected(self, call_id: str | None) -> bool:
        return call_id is not None and call_id in self.rejected

    def gave_up(self, call_id: str | None) -> bool:
        return call_id is not None and call_id in self.given_up
