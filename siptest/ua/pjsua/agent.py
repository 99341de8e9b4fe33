"""The user agent, backed by pjsua2 (this package is the only one that imports it).

How pjsua2 is driven here, and why (measured with this wheel; the project's shared
lab notes hold the numbers):

* Single-threaded: no SIP worker threads, no media threads, no sound card.
  Everything happens inside `libHandleEvents()` called from our own bounded
  poll loops, so callbacks run on this thread and nothing runs behind our back.
* pjsua2 is a debug build: misuse aborts the process instead of raising. The
  account and call limits are checked here before pjsua2 would abort.
* Every SIP message is read byte for byte from the stack itself by a tap
  (`tap.py`: a pjsip module and the dropped-data hook), never from its log,
  and kept as events (`siptest.ua.events`). The tap lets `CredentialGuard`
  veto credential retries and refuses INVITEs the test did not ask for before
  pjsua allocates anything for them. Nothing pjsua2 logs reaches the console.
* The transaction timeout (Timer B/F, 32 s in pjsip) is set from `--timeout`
  through the exported `pjsip_tsx_set_timers`.
"""

from __future__ import annotations

import ctypes
import gc
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from siptest.errors import CannotRunError
from siptest.hostport import split_hostport
from siptest.sipmessage import SipMessage
from siptest.ua.base import (
    AccountSpec,
    AgentConfig,
    CallCompleted,
    CallSpec,
    MediaSample,
    RegistrationCompleted,
)
from siptest.ua.capture import Capture
from siptest.ua.chains import exchanged, final_register, sent_contact
from siptest.ua.events import (
    CallStateChanged,
    Event,
    MediaCaptured,
    MediaSampled,
    MediaTick,
    RegistrationStateChanged,
    ResponseSent,
    StackSaid,
    TransportFailed,
    Watcher,
    WireMessage,
)
from siptest.ua.evidence import (
    awaiting_answer,
    dial_uri,
    final_invite,
    invite_responses,
)
from siptest.ua.outcomes import CallEnd, call_outcome, registration_outcome
from siptest.ua.pjsua.bindings import subclasses
from siptest.ua.pjsua.config import (
    MAX_ACCOUNTS,
    MAX_CALLS,
    USER_AGENT,
    system_ca_bundle,
    transport_config,
)
from siptest.ua.pjsua.errors import (
    InternalError,
    StackFailure,
    at_stack_boundary,
    stack_failure,
    translate,
)
from siptest.ua.pjsua.media import ToneSource, media_sample, media_tick, send_dtmf
from siptest.ua.pjsua.mediatap import MediaTap
from siptest.ua.pjsua.process import forbid_core_dumps
from siptest.ua.pjsua.tap import StackTap, check_layout, stay_on_the_chosen_transport
from siptest.ua.pjsua.unregister import RawUnregister, unsent_unregister
from siptest.ua.probe import UnreachableProbe

if TYPE_CHECKING:
    from siptest.ua.tlsprobe import TlsProblem

_POLL_MS = 10
LATE_ANSWER_S = 0.5
"""How long siptest listens for a late answer after a REGISTER timed out in silence."""
LOST_UNREGISTER_S = 1.5
"""How long the un-REGISTER after a possibly lost 2xx may take (a challenge included)."""
INTERRUPTED_WAIT_S = 1.5
"""After Ctrl-C no clean-up wait lasts longer than this: a CANCEL's 487 or an
un-REGISTER with its challenge, on any usable network (a second Ctrl-C quits at once)."""
_ANSWER_MAY_BE_LOST = ("timeout", "malformed", "too_large", "transport")
"""Local causes after which the server may hold a binding siptest never heard of."""


class DialledCall:
    """A call in progress, between `PjsuaAgent.dial` and `PjsuaAgent.follow`."""

    def __init__(
        self, spec: CallSpec, uri: str, call: Any, call_id: str, first: int, started: float
    ) -> None:
        self.spec = spec
        self.uri = uri
        self.call_id = call_id
        self.first_message = first
        self.started = started
        self._call = call
        """The pjsua2 Call; dropped once followed (it must not outlive the library)."""


class PjsuaAgent:
    """A SIP user agent on pjsua2, driven from the calling thread."""

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.capture = Capture(secrets=config.secrets, incoming=self._refuse_incoming)
        self._accounts: list[Any] = []
        """Every pjsua2 account created (they count against MAX_ACCOUNTS)."""
        self._registered: dict[str, tuple[AccountSpec, Any]] = {}
        """Registered accounts by address of record, in registration order."""
        self._calls: list[Any] = []
        self._direct_accounts: dict[str, Any] = {}
        """Accounts that dial without registering (--no-register), by address of record."""
        self._tone: ToneSource
        self._interrupted_at: float | None = None
        """When a signal asked every wait to end (time.monotonic()), if one did."""
        self._closed = False
        self._accepted: set[str] = set()
        """Call-IDs of incoming INVITEs let through to pjsua."""
        self._failures_reported = 0
        """CallbackFailed events already raised as InternalError."""
        self._maybe_registered: dict[str, tuple[AccountSpec, Any]] = {}
        """Accounts whose REGISTER may have succeeded on the server without our knowing."""
        self._contacts: dict[str, str] = {}
        """The Contact each address of record's REGISTER carried (for an un-REGISTER)."""
        self._ep: Any = None
        self._audio_open = False
        self._start(config)

    # -- set-up -----------------------------------------------------------

    def _start(self, config: AgentConfig) -> None:
        forbid_core_dumps()
        try:
            import pjsua2 as pj
        except ImportError as exc:  # pragma: no cover - install problem
            raise CannotRunError(
                f"The SIP stack is not installed ({exc}). "
                "Run: pip install pjsua2-python==2.15.1.post1 (Python 3.10-3.12)."
            ) from exc
        self._pj = pj
        self._tone = ToneSource(pj)
        self._lib = ctypes.CDLL(pj._pjsua2.__file__)
        # libCreate() prints before LogConfig applies: silence pjlib first.
        self._lib.pj_log_set_level(0)
        log_sink_cls, self._account_cls, self._call_cls, endpoint_cls = subclasses(pj, self.capture)

        ep = endpoint_cls(self._on_tls_failure)
        ep.libCreate()
        self._ep = ep
        check_layout(ep.libVersion().full)
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.uaConfig.maxCalls = 4
        cfg.uaConfig.userAgent = USER_AGENT
        cfg.medConfig.hasIoqueue = False
        cfg.medConfig.threadCnt = 0
        cfg.medConfig.noVad = True
        self._log_sink = log_sink_cls(self.capture.on_log)
        cfg.logConfig.writer = self._log_sink
        # Messages come from the tap, not the log (msgLogging off); level 4 keeps
        # pjsip's words on failed connections and handshakes (Capture.on_log).
        cfg.logConfig.level = 4
        cfg.logConfig.consoleLevel = 4
        cfg.logConfig.msgLogging = 0
        cfg.logConfig.decor = 0
        try:
            ep.libInit(cfg)
        except pj.Error as exc:
            failure = stack_failure(exc)
            self._destroy()
            raise translate(failure, "start") from None
        timeout_ms = max(500, int(config.timeout * 1000))
        # RFC 3261 17.1.1.2: Timer B/F is 64*T1 (32 s); pjsip takes it from `td`.
        self._lib.pjsip_tsx_set_timers(500, 4000, 5000, timeout_ms)
        self._tap = StackTap(self._lib, self.capture)
        self._media_tap: MediaTap | None = None
        if config.capture_media:
            self._media_tap = MediaTap(self._lib, self.capture.now, self.capture.failed)
        stay_on_the_chosen_transport(self._lib)
        self._transport_id = self._create_transport(config)
        ep.libStart()
        self._prefer_g711()

    def _open_audio(self) -> None:
        """Open the null audio device, once, when a call needs it (no sound card here).

        Only then: its 20 ms clock thread is what libDestroy waits for, and a
        register check has no audio.
        """
        if not self._audio_open:
            self._ep.audDevManager().setNullDev()
            self._audio_open = True

    def _prefer_g711(self) -> None:
        """Offer PCMA/PCMU first, as ATAs and providers do (pjsua prefers speex)."""
        for codec in self._ep.codecEnum2():
            name = codec.codecId
            priority = {"PCMA/8000/1": 255, "PCMU/8000/1": 254}.get(name)
            if priority is None:
                priority = 1 if name.lower().startswith(("speex", "ilbc", "gsm")) else 100
            self._ep.codecSetPriority(name, priority)

    def _create_transport(self, config: AgentConfig) -> int:
        pj = self._pj
        kind, tp = transport_config(pj, config)
        try:
            return int(self._ep.transportCreate(kind, tp))
        except pj.Error as exc:
            port = config.local_port
            failure = stack_failure(exc)
        where = f"{config.transport.upper()} port {port or '(any)'}"
        raise translate(failure, "open a local port", where)

    # -- capture ----------------------------------------------------------

    @property
    def events(self) -> list[Event]:
        return self.capture.events

    @property
    def messages(self) -> list[WireMessage]:
        return self.capture.messages

    def _on_tls_failure(self, problems: list[str]) -> None:
        self.capture.events.append(
            TransportFailed(self.capture.now(), "", "tls", "; ".join(problems))
        )

    def _refuse_incoming(self, request: SipMessage) -> int | None:
        """Answer an INVITE the test did not ask for (486) before pjsua takes it.

        pjsua opens media sockets for every incoming call before the application
        decides; a burst of INVITEs exhausts the stack's socket slots and aborts
        the process. Only accounts that answer calls take any, and only while
        the stack has a call slot left.
        """
        if request.method != "INVITE" or "tag=" in (request.header("to") or ""):
            return None
        call_id = request.header("call-id") or ""
        if call_id in self._accepted:
            return None  # a retransmission of one we let through
        if not any(spec.answers_calls for spec, _ in self._registered.values()):
            return 486  # the common case, and a burst's: decided without a look back
        ended = {
            e.call_id
            for e in self.capture.events
            if isinstance(e, CallStateChanged) and e.state == "DISCONNECTED"
        } | {
            # refused by pjsua itself (no call was ever made for it: no state change)
            e.message.header("call-id") or ""
            for e in self.capture.events
            if isinstance(e, ResponseSent)
            and e.message.method == "INVITE"
            and (e.message.code or 0) >= 300
        }
        live = {c for c in self._accepted if c not in ended}
        outgoing = sum(1 for c in self._calls if c.state != self._pj.PJSIP_INV_STATE_DISCONNECTED)
        if len(live) + outgoing >= MAX_CALLS:
            return 486
        self._accepted.add(call_id)
        return None

    def _carry_on(self, what: str, failure: StackFailure) -> None:
        """A stack error siptest goes on after: kept in the record, in the stack's words."""
        self.capture.events.append(
            StackSaid(self.capture.now(), f"{what}: {failure.reason} (status {failure.status})")
        )

    def _check_callbacks(self) -> None:
        failures = self.capture.failures()
        if len(failures) > self._failures_reported and not self._closed:
            self._failures_reported = len(failures)
            raise InternalError(failures[0])

    # -- waiting ----------------------------------------------------------

    @at_stack_boundary("idle")
    def idle(self, seconds: float) -> None:
        self._wait(lambda: False, seconds)
        self._reap_incoming()

    @at_stack_boundary("interrupt")
    def interrupt(self) -> None:
        """Ask every wait in progress to end now (signal handlers call this)."""
        if self._interrupted_at is None:
            self._interrupted_at = time.monotonic()

    @property
    def _interrupted(self) -> bool:
        return self._interrupted_at is not None

    @property
    def interrupted(self) -> bool:
        return self._interrupted

    @at_stack_boundary("watch")
    def watch(self, watcher: Watcher | None) -> None:
        """Tell `watcher` what happens while this agent waits (live progress)."""
        self.capture.watcher = watcher

    def _wait(self, done: Callable[[], bool], seconds: float, interruptible: bool = True) -> bool:
        """Poll the stack until `done` or `seconds` pass. After a signal an interruptible
        wait ends at once and a clean-up wait within INTERRUPTED_WAIT_S (also one that
        began before the signal): the flag is read every _POLL_MS."""
        start = time.monotonic()
        deadline = start + seconds
        while not done():
            if self._interrupted_at is not None:
                if interruptible:
                    return done()
                deadline = min(deadline, max(start, self._interrupted_at) + INTERRUPTED_WAIT_S)
            if time.monotonic() >= deadline:
                return done()
            self._ep.libHandleEvents(_POLL_MS)
            self._check_callbacks()
            self.capture.tick()
        return True

    # -- registration -----------------------------------------------------

    def _registrar_uri(self, spec: AccountSpec) -> str:
        uri = f"sip:{spec.hostport}"
        return uri if spec.transport == "udp" else f"{uri};transport={spec.transport}"

    def _account_config(self, account: AccountSpec, registering: bool) -> Any:
        pj = self._pj
        cfg = pj.AccountConfig()
        cfg.idUri = account.aor
        if registering:
            cfg.regConfig.registrarUri = self._registrar_uri(account)
        cfg.regConfig.timeoutSec = account.expires
        # pjsua2 would otherwise retry failed registrations on its own.
        cfg.regConfig.retryIntervalSec = 0
        cfg.regConfig.firstRetryIntervalSec = 0
        cfg.regConfig.dropCallsOnFail = False
        cfg.regConfig.unregWaitMsec = int(self.config.timeout * 1000)
        cfg.sipConfig.transportId = self._transport_id
        cfg.sipConfig.authCreds.append(
            pj.AuthCredInfo("digest", "*", account.auth_user, 0, account.password)
        )
        # The domain may not lead to the server by itself (found in DNS by siptest, or
        # --domain): then calls go to the registrar's address too, as a phone sends
        # everything to its server, while REGISTER keeps going straight to it.
        elsewhere = registering and account.domain != account.hostport
        proxy = account.outbound_proxy or (
            account.hostport if not registering or elsewhere else None
        )
        if proxy:
            # Outbound proxy = registrar unless told otherwise (RFC 3261 8.1.2).
            cfg.sipConfig.proxies.append(f"sip:{proxy};transport={account.transport};lr")
            if elsewhere and not account.outbound_proxy:
                cfg.regConfig.proxyUse = 0
        # Report the network as it is: no Contact rewriting, no keep-alives,
        # no RFC 5626 extras that would add requests we did not ask for.
        cfg.natConfig.contactRewriteUse = 0
        cfg.natConfig.viaRewriteUse = 0
        cfg.natConfig.sipOutboundUse = 0
        cfg.natConfig.udpKaIntervalSec = 0
        cfg.natConfig.sipStunUse = pj.PJSUA_STUN_USE_DISABLED
        cfg.natConfig.mediaStunUse = pj.PJSUA_STUN_USE_DISABLED
        # A locked codec makes pjsua re-INVITE after a multi-codec answer,
        # which simple peers (SIPp, ATAs) do not expect.
        cfg.mediaConfig.lockCodecEnabled = False
        if self.config.public_address:
            # RTP from the same address as SIP, not the machine's first interface.
            cfg.mediaConfig.transportConfig.boundAddress = self.config.public_address
        return cfg

    def _create_account(self, cfg: Any, answers: bool = False) -> Any:
        if len(self._accounts) >= MAX_ACCOUNTS:
            raise CannotRunError(
                f"siptest's SIP stack holds at most {MAX_ACCOUNTS} accounts per process. "
                "Split the scenario into several files."
            )
        if answers:
            self._open_audio()
        acc = self._account_cls(answers, self._tone.start)
        try:
            acc.create(cfg)
        except self._pj.Error as exc:
            raise translate(stack_failure(exc), "create the account") from None
        self._accounts.append(acc)
        return acc

    @at_stack_boundary("register")
    def register(self, account: AccountSpec) -> RegistrationCompleted:
        if account.aor in self._registered:
            self.unregister(account)
        cfg = self._account_config(account, registering=True)
        first = len(self.events)
        refused = self._tls_refused(account)
        if refused is not None:
            return registration_outcome(self.capture.events[first:], account)
        acc = self._create_account(cfg, answers=account.answers_calls)
        probe = UnreachableProbe.open(account, self.config.transport)
        unreachable = False

        def finished() -> bool:
            nonlocal unreachable
            if acc.events:
                return True
            if probe is not None and not self.capture.received_since(first):
                unreachable = probe.refused()
            return unreachable

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
        if unreachable:
            self.capture.events.append(
                TransportFailed(
                    self.capture.now(), account.hostport, "unreachable", "ICMP port unreachable"
                )
            )
        outcome = registration_outcome(self.capture.events[first:], account)
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
            _shutdown(acc)
        return outcome

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
            _shutdown(acc)
            # pjsua drops its registration session after a failure: send ours.
            return self._unregister_raw(spec, first) or unsent_unregister(
                spec, failure, self.capture.now()
            )
        self._wait(lambda: bool(acc.events), self.config.timeout + 1, interruptible=False)
        outcome = registration_outcome(self.capture.events[first:], spec, removing=True)
        _shutdown(acc)
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
        return registration_outcome(self.capture.events[first:], spec, removing=True)

    # -- calls ------------------------------------------------------------

    @at_stack_boundary("call")
    def call(self, account: AccountSpec, spec: CallSpec) -> CallCompleted:
        return self.follow(self.dial(account, spec))

    @at_stack_boundary("dial")
    def dial(self, account: AccountSpec, spec: CallSpec) -> DialledCall:
        """Send the INVITE and return at once; `follow` sees the call through.

        For callers that hold several calls at once (at most MAX_CALLS).
        """
        pj = self._pj
        live = [c for c in self._calls if c.state != pj.PJSIP_INV_STATE_DISCONNECTED]
        if len(live) >= MAX_CALLS:
            raise CannotRunError(
                f"siptest's SIP stack handles at most {MAX_CALLS} calls at once; "
                "wait for one to end before dialling again."
            )
        entry = self._registered.get(account.aor)
        if entry is not None:
            acc = entry[1]
        else:
            # One unregistered account per address of record, reused for every
            # call: each account counts against pjsua2's limit of MAX_ACCOUNTS.
            acc = self._direct_accounts.get(account.aor)
            if acc is None:
                acc = self._create_account(self._account_config(account, registering=False))
                self._direct_accounts[account.aor] = acc
        uri = dial_uri(spec.number, account)
        first = len(self.events)
        self._open_audio()
        tap = self._media_tap
        call = self._call_cls(acc, self._tone.start, watch_media=tap.watch if tap else None)
        prm = pj.CallOpParam(True)
        prm.opt.audioCount = 1
        prm.opt.videoCount = 0
        failure: StackFailure | None = None
        try:
            call.makeCall(uri, prm)
        except pj.Error as exc:
            # Keep only the facts: the exception's traceback holds the Call,
            # and a Call that outlives libDestroy aborts the process. Never
            # hang up a Call whose makeCall raised either: that aborts too.
            failure = stack_failure(exc)
        if failure is not None:
            del call
            gc.collect()
            raise translate(failure, "dial", spec.number)
        self._calls.append(call)
        return DialledCall(spec, uri, call, call.getInfo().callIdString, first, time.monotonic())

    @at_stack_boundary("follow")
    def follow(self, dialled: DialledCall) -> CallCompleted:
        """Wait for the answer (or ring timeout → CANCEL), talk, hang up, report."""
        pj = self._pj
        spec, uri, call, call_id, first = (
            dialled.spec,
            dialled.uri,
            dialled._call,
            dialled.call_id,
            dialled.first_message,
        )
        confirmed, disconnected = pj.PJSIP_INV_STATE_CONFIRMED, pj.PJSIP_INV_STATE_DISCONNECTED

        # pjsip's Timer B (= --timeout) ends an INVITE nobody answers at all;
        # the ring timeout (counted from the dial) ends one that rings too long.
        ringing = spec.ring_timeout - (time.monotonic() - dialled.started)
        self._wait(lambda: call.state in (confirmed, disconnected), max(0.0, ringing))
        if call.state not in (confirmed, disconnected) and not invite_responses(
            exchanged(self.events[first:]), call_id
        ):
            # Nothing came back yet: there is nothing to CANCEL (RFC 3261 9.1), and a
            # dead server must not pass as "we hung up". Timer B decides.
            self._wait(lambda: call.state in (confirmed, disconnected), self.config.timeout + 1)
        cancelled = interrupted = False
        bye_answered: bool | None = None
        if call.state not in (confirmed, disconnected):
            cancelled, interrupted = True, self._interrupted
            self._end_call(call)
            # RFC 3261 9.1: a CANCELled INVITE still gets its final response (487),
            # which pjsip ACKs; wait for it so nothing is left half-open. Without a
            # provisional response no CANCEL was sent (9.1), and nothing will come.
            if invite_responses(exchanged(self.events[first:]), call_id):
                self._wait(
                    lambda: final_invite(exchanged(self.events[first:]), call_id) is not None,
                    self.config.timeout + 1,
                    interruptible=False,
                )
        answered = call.was_confirmed
        media: MediaSample | None = None
        hangup: Literal["us", "remote"] | None = None
        talked = 0.0
        digits_sent = ""
        if answered and call.state == confirmed:
            started = time.monotonic()
            digits_sent = send_dtmf(
                self._pj, call, spec, lambda: self._info_answered(call, call_id, first)
            )
            ticks = self._talk(call, spec.talk, started)
            talked = time.monotonic() - started
            media = media_sample(self._pj, call, talked, ticks)
            if media is not None:
                self.capture.events.append(MediaSampled(self.capture.now(), call_id, media))
            hangup = "remote" if call.state == disconnected else "us"
            self._end_call(call)
            if hangup == "us":
                bye_answered = self._bye_answered(call_id, first)
        elif answered:
            hangup = "remote"
        end = CallEnd(call.last_code, call.last_reason, "".join(call.digits))
        outcome = call_outcome(
            self.capture.events[first:],
            spec,
            uri,
            end,
            call_id,
            answered,
            cancelled,
            hangup,
            talked,
            media,
            digits_sent,
            interrupted,
            bye_answered,
        )
        if self._media_tap is not None:
            self.capture.events.append(
                MediaCaptured(
                    self.capture.now(), call_id, self._media_tap.take(call.media_transports)
                )
            )
        dialled._call = None
        self._release(call)
        self._reap_incoming()
        return outcome

    def _talk(self, call: Any, seconds: float, started: float) -> list[MediaTick]:
        """Hold the call for `seconds` (or until the far end hangs up), noting where
        its audio stands every 0.2 s: audio that stops mid-call is not a pass."""
        ended = self._pj.PJSIP_INV_STATE_DISCONNECTED
        ticks: list[MediaTick] = []
        deadline = started + seconds
        while call.state != ended and time.monotonic() < deadline:
            step = min(0.2, deadline - time.monotonic())
            if not self._wait(lambda: call.state == ended, max(0.0, step)) and self._interrupted:
                break
            tick = media_tick(self._pj, call, time.monotonic() - started)
            if tick is not None and call.state != ended:
                ticks.append(tick)
        return ticks

    def _bye_answered(self, call_id: str, first: int) -> bool | None:
        """Wait (bounded) for the final answer to our BYE: False when none came."""
        sent = [
            e
            for e in self.events[first:]
            if isinstance(e, WireMessage)
            and e.direction == "sent"
            and e.message.method == "BYE"
            and e.message.code is None
        ]
        if not sent:
            return None
        self._wait(
            lambda: not awaiting_answer(exchanged(self.events[first:]), call_id, "BYE"),
            self.config.timeout + 1,
            interruptible=False,
        )
        return not awaiting_answer(exchanged(self.events[first:]), call_id, "BYE")

    def _info_answered(self, call: Any, call_id: str, first: int) -> bool:
        """Wait (bounded) until the call's INFO requests have their final answers;
        False when one stays unanswered or the call ended meanwhile."""
        ended = self._pj.PJSIP_INV_STATE_DISCONNECTED
        self._wait(
            lambda: (
                call.state == ended
                or not awaiting_answer(exchanged(self.events[first:]), call_id, "INFO")
            ),
            self.config.timeout + 1,
        )
        return call.state != ended and not awaiting_answer(
            exchanged(self.events[first:]), call_id, "INFO"
        )

    def _release(self, call: Any) -> None:
        """Drop a finished call while the library runs (a Call outliving libDestroy aborts)."""
        if call.state != self._pj.PJSIP_INV_STATE_DISCONNECTED:
            return
        self._calls.remove(call)
        del call
        gc.collect()

    @at_stack_boundary("received_digits")
    def received_digits(self, account: AccountSpec) -> str:
        """DTMF digits that calls answered by this (registered) account received."""
        entry = self._registered.get(account.aor)
        if entry is None:
            return ""
        acc = entry[1]
        return "".join(acc.digits) + "".join(d for call in acc.incoming for d in call.digits)

    def _reap_incoming(self) -> None:
        """Drop incoming calls that ended, keeping their digits (see _release)."""
        disconnected = self._pj.PJSIP_INV_STATE_DISCONNECTED
        reaped = False
        for acc in self._accounts:
            ended = [call for call in acc.incoming if call.state == disconnected]
            for call in ended:
                acc.digits.extend(call.digits)
                acc.incoming.remove(call)
                reaped = True
            del ended
        if reaped:
            gc.collect()

    def _end_live_calls(self) -> None:
        # A helper of its own: a loop variable left holding a Call until
        # libDestroy makes pjsua2 abort.
        for call in self._calls + [c for acc in self._accounts for c in acc.incoming]:
            self._end_call(call)

    def _end_call(self, call: Any) -> None:
        """Hang up (CANCEL before answer, BYE after) and wait, bounded, for the end."""
        pj = self._pj
        disconnected = pj.PJSIP_INV_STATE_DISCONNECTED
        if call.state in (disconnected, pj.PJSIP_INV_STATE_NULL):
            return
        try:
            call.hangup(pj.CallOpParam())
        except pj.Error as exc:
            # Already ending (pjsua refuses a second hang-up): nothing to wait for.
            self._carry_on("hang-up", stack_failure(exc))
            return
        self._wait(lambda: call.state == disconnected, self.config.timeout + 1, interruptible=False)

    # -- teardown ---------------------------------------------------------

    @at_stack_boundary("close")
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._ep is None:
            return
        self._end_live_calls()
        self._reap_incoming()
        while self._registered:
            self.unregister()
        for spec, _ in list(self._maybe_registered.values()):
            self.unregister(spec)
        self._destroy()

    def _destroy(self) -> None:
        ep = self._ep
        self._ep = None
        if ep is None:
            return
        # The order that never aborted with this wheel: calls, then accounts, then the library.
        calls_left = bool(self._calls) or any(acc.incoming for acc in self._accounts)
        self._calls.clear()
        for acc in self._accounts:
            acc.incoming.clear()
        self._tone.close()
        if calls_left:
            # A Call in a reference cycle would otherwise outlive libDestroy (abort).
            gc.collect()
        for acc in self._accounts:
            _shutdown(acc)
        self._accounts.clear()
        try:
            ep.libDestroy(self._pj.PJSUA_DESTROY_NO_RX_MSG)
        except Exception:  # pragma: no cover - defensive
            pass


def _shutdown(acc: Any) -> None:
    try:
        acc.shutdown()
    except Exception:  # pragma: no cover - defensive
        pass


__all__ = ["AgentConfig", "DialledCall", "PjsuaAgent", "system_ca_bundle"]
