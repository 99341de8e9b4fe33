"""Registering and removing siptest's own bindings, and the clean-up after a
REGISTER whose answer may have been lost (a late 2xx, an unreadable one)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from siptest.hostport import split_hostport
from siptest.ua.base import (
    AccountSpec,
    RegistrationCompleted,
)
from siptest.ua.chains import final_register, sent_contact
from siptest.ua.events import (
    RegistrationStateChanged,
    RequestSent,
    TransportCause,
    TransportFailed,
    WireMessage,
)
from siptest.ua.outcomes import registration_outcome
from siptest.ua.pjsua.config import (
    system_ca_bundle,
)
from siptest.ua.pjsua.core import AgentCore, shutdown_account
from siptest.ua.pjsua.errors import (
    InternalError,
    at_stack_boundary,
    stack_failure,
)
from siptest.ua.pjsua.unregister import RawUnregister, unsent_unregister
from siptest.ua.probe import UnreachableProbe

if TYPE_CHECKING:
    from siptest.ua.tlsprobe import TlsProblem

LATE_ANSWER_S = 0.5
"""How long siptest listens for a late answer after a REGISTER timed out in silence."""
LOST_UNREGISTER_S = 1.5
"""How long the un-REGISTER after a possibly lost 2xx may take (a challenge included)."""
_ANSWER_MAY_BE_LOST = ("timeout", "malformed", "too_large", "transport", "connection_reset")
"""Local causes after which the server may hold a binding siptest never heard of."""


class Registering(AgentCore):
    """REGISTER, un-REGISTER and what may be left behind."""

    @at_stack_boundary("register")
    def register(self, account: AccountSpec) -> RegistrationCompleted:
        if account.aor in self._registered or account.aor in self._maybe_registered:
            # Registering again: remove the binding the last REGISTER made, or may have
            # made (a 2xx siptest could not read), first. Its account is shut down then;
            # forgotten instead, it would keep one of the stack's MAX_ACCOUNTS and its
            # binding until the end of the run.
            self.unregister(account)
        cfg = self._account_config(account, registering=True)
        first = len(self.events)
        refused = self._tls_refused(account)
        if refused is not None:
            return registration_outcome(self.capture.events[first:], account, peers=self._peers())
        acc = self._create_account(cfg, answers=account.answers_calls)
        probe = UnreachableProbe.open(account, self.config.transport)
        rejected: TransportCause | None = None

        def finished() -> bool:
            nonlocal rejected
            if acc.events:
                return True
            if rejected is None and probe is not None:
                # an answer to this REGISTER (its Call-ID), not a late one to another
                answered = self.capture.received_since(first, self._register_call_id(first))
                rejected = probe.verdict(answered, time.monotonic())
            return rejected is not None

        try:
            # Two transactions (challenge + answer), each bounded by the timeout.
            if not self._wait(finished, 2 * self.config.timeout + 2) and self._interrupted:
                # Ctrl-C with a REGISTER in flight: linger briefly for its answer, then
                # stop; a server that answered anything may bind (handled below).
                self._wait(finished, LATE_ANSWER_S, interruptible=False)
        except InternalError:
            self._maybe_registered[account.aor] = (account, acc)
            raise
        finally:
            if probe is not None:
                probe.close()
        if rejected is not None and probe is not None:
            self.capture.events.append(probe.failure(self.capture.now(), rejected))
        outcome = registration_outcome(self.capture.events[first:], account, peers=self._peers())
        contact = sent_contact(self.capture.events[first:], account.aor)
        if contact:
            self._contacts[account.aor] = contact
        if outcome.ok:
            self._registered[account.aor] = (account, acc)
        elif self._interrupted and not acc.events and self.capture.received_since(first):
            # Interrupted mid-chain (after a challenge, say): the server heard us and may
            # bind our contact yet. Remove it; pjsua's own client is busy, so `unregister`
            # sends a raw un-REGISTER. (Total silence: nothing heard us, nothing to remove.)
            self._maybe_registered[account.aor] = (account, acc)
        elif (
            outcome.requests_sent
            and (
                (
                    outcome.response.origin == "local"
                    and outcome.response.local_cause in _ANSWER_MAY_BE_LOST
                    # a final answer siptest could read (a cut 401, say) made no binding
                    and final_register(self.capture.events[first:], account.aor) is None
                )
                or self._late_answer(account, outcome, first)
            )
        ):
            # The server heard us (something came back), and a 2xx may have been
            # made on its side and lost on the way (late, garbled, too large):
            # remove our own contact before exiting. Total silence is not that.
            self._maybe_registered[account.aor] = (account, acc)
        else:
            shutdown_account(acc)
        return outcome

    def _register_call_id(self, first: int) -> str | None:
        """The Call-ID of the REGISTER sent since event `first` (None before it goes)."""
        return next(
            (
                e.message.header("call-id")
                for e in self.capture.events[first:]
                if isinstance(e, RequestSent) and e.message.method == "REGISTER"
            ),
            None,
        )

    @at_stack_boundary("unregister")
    def unregister(self, account: AccountSpec | None = None) -> RegistrationCompleted | None:
        """Remove one registration (the latest by default); None if it was not registered."""
        if account is None:
            if not self._registered:
                return None
            account = next(reversed(self._registered.values()))[0]
        entry = self._registered.pop(account.aor, None) or self._maybe_registered.pop(
            account.aor, None
        )
        if entry is None:
            return None
        spec, acc = entry
        # A chain still running would refuse the un-REGISTER (busy): let it end first,
        # unless interrupted (then the refusal sends a raw un-REGISTER at once).
        chain_wait = 0.0 if self._interrupted else self.config.timeout + 1
        self._wait(lambda: bool(acc.events), chain_wait, interruptible=False)
        acc.events.clear()
        first = len(self.events)
        try:
            # pjsip_regc_unregister: our own Contact with expires=0, never "*".
            acc.setRegistration(False)
        except self._pj.Error as exc:
            failure = stack_failure(exc)
            self._carry_on("un-REGISTER", failure)
            shutdown_account(acc)
            # pjsua drops its registration session after a failure: send ours.
            return self._unregister_raw(spec, first) or unsent_unregister(
                spec, failure, self.capture.now()
            )
        self._wait(lambda: bool(acc.events), self.config.timeout + 1, interruptible=False)
        outcome = registration_outcome(
            self.capture.events[first:], spec, removing=True, peers=self._peers()
        )
        shutdown_account(acc)
        return outcome

    def _tls_refused(self, account: AccountSpec) -> TlsProblem | None:
        """Probe the TLS server before the stack connects (see `siptest.ua.tlsprobe`):
        a problem the stack would misreport is recorded, and nothing is sent."""
        if self.config.transport != "tls":
            return None
        from siptest.ua.tlsprobe import probe_tls  # ssl: only over TLS

        host, written = split_hostport(account.outbound_proxy or account.hostport)
        port = written or 5061
        tls = self.config.tls
        problem = probe_tls(
            host,
            port,
            verify=tls.verify,
            ca_file=tls.ca_file or system_ca_bundle(),
            timeout=min(self.config.timeout, 3.0),
            server_name=tls.server_name,
        )
        if problem is not None:
            self.capture.events.append(
                TransportFailed(self.capture.now(), f"{host}:{port}", problem.cause, problem.detail)
            )
        return problem

    def _late_answer(
        self, account: AccountSpec, outcome: RegistrationCompleted, first: int
    ) -> bool:
        """After total silence, linger (at most LATE_ANSWER_S) for an answer that comes
        after the timeout: a late 2xx made a binding siptest must remove. (A late
        refusal made none: no un-REGISTER, no second login, for it.)"""
        if outcome.response.origin != "none" or outcome.response.local_cause != "timeout":
            return False

        def late() -> WireMessage | None:
            return final_register(self.capture.events[first:], account.aor)

        self._wait(lambda: late() is not None, min(LATE_ANSWER_S, self.config.timeout / 2))
        answer = late()
        return answer is not None and 200 <= (answer.message.code or 0) < 300

    def _unregister_raw(self, spec: AccountSpec, first: int) -> RegistrationCompleted | None:
        """An un-REGISTER on a registration client of our own; None when it cannot be
        sent (no Contact known, an outbound proxy, the stack refusing)."""
        contact = self._contacts.get(spec.aor)
        if not contact or spec.outbound_proxy:
            return None
        raw = RawUnregister(self._lib)
        failure = raw.send(
            self._registrar_uri(spec), spec.aor, contact, spec.auth_user, spec.password
        )
        if failure is not None:
            self._carry_on("un-REGISTER", failure)
            raw.close()
            return None
        # The server already failed to answer once: wait less than a whole timeout.
        self._wait(
            lambda: raw.done, min(self.config.timeout + 1, LOST_UNREGISTER_S), interruptible=False
        )
        raw.close()
        events = self.capture.events[first:]
        final = final_register(events, spec.aor)
        self.capture.events.append(
            RegistrationStateChanged(
                self.capture.now(),
                spec.aor,
                final.message.code or 0 if final else 408,
                final.message.reason if final else "No final response",
                0,
                final is not None,
            )
        )
        return registration_outcome(
            self.capture.events[first:], spec, removing=True, peers=self._peers()
        )
