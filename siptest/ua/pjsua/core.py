"""The pjsua2 stack under siptest's user agent: set-up, the capture, bounded
waits, the accounts it creates, and the order of teardown that never aborts.

The agent (`agent.py`) is this core with registration (`registering.py`) and
calls (`calls.py`) on top.
"""

from __future__ import annotations

import ctypes
import gc
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from siptest.errors import CannotRunError
from siptest.sipmessage import SipMessage
from siptest.ua.base import (
    AccountSpec,
    AgentConfig,
)
from siptest.ua.capture import Capture
from siptest.ua.events import (
    CallStateChanged,
    ConnectionOpened,
    Event,
    ResponseSent,
    StackSaid,
    TransportFailed,
    Watcher,
    WireMessage,
)
from siptest.ua.evidence import connected_peers
from siptest.ua.pjsua.bindings import subclasses
from siptest.ua.pjsua.config import (
    MAX_ACCOUNTS,
    MAX_CALLS,
    USER_AGENT,
    transport_config,
)
from siptest.ua.pjsua.errors import (
    InternalError,
    StackFailure,
    at_stack_boundary,
    stack_failure,
    translate,
)
from siptest.ua.pjsua.process import forbid_core_dumps
from siptest.ua.pjsua.tap import StackTap, check_layout, stay_on_the_chosen_transport
from siptest.ua.pjsua.tone import ToneSource

if TYPE_CHECKING:
    from siptest.ua.pjsua.mediatap import MediaTap

_POLL_MS = 10
INTERRUPTED_WAIT_S = 1.5
"""After Ctrl-C no clean-up wait lasts longer than this: a CANCEL's 487 or an
un-REGISTER with its challenge, on any usable network (a second Ctrl-C quits at once)."""


class AgentCore:
    """The stack, its capture and its waits: what registration and calls share."""

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.capture = Capture(secrets=config.secrets, incoming=self._refuse_incoming)
        self._accounts: list[Any] = []
        """Every pjsua2 account created, kept until libDestroy. Those not shut down count
        against MAX_ACCOUNTS: pjsua frees the slot of one that is (a failed REGISTER, a
        DNS target siptest moved on from)."""
        self._registered: dict[str, tuple[AccountSpec, Any]] = {}
        """Registered accounts by address of record, in registration order."""
        self._calls: list[Any] = []
        self._direct_accounts: dict[tuple[str, str], Any] = {}
        """Accounts that dial without registering (--no-register), by address of record
        and the server they send to (a scenario may try several targets of one domain)."""
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

        ep = endpoint_cls(self._on_tls_failure, self._on_connected)
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
        """Made with the audio device (`_open_audio`): a register check needs neither."""
        stay_on_the_chosen_transport(self._lib)
        self._transport_id = self._create_transport(config)
        ep.libStart()
        self._prefer_g711()

    def _open_audio(self) -> None:
        """Open the null audio device and the media tap, once, when a call needs them
        (no sound card here).

        Only then: its 20 ms clock thread is what libDestroy waits for, and a
        register check has no audio.
        """
        if not self._audio_open:
            self._ep.audDevManager().setNullDev()
            self._audio_open = True
        if self._media_tap is None:
            from siptest.ua.pjsua.mediatap import MediaTap

            # Every call's received payload types say what was audio (docs/media.md);
            # its packets are kept only for --pcap.
            self._media_tap = MediaTap(
                self._lib, self.capture.now, self.capture.failed, self.config.capture_media
            )

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

    def _peers(self) -> frozenset[str]:
        """The peers a TCP or TLS connection reached so far (`connected_peers`)."""
        return connected_peers(self.capture.events)

    def _on_connected(self, transport: int) -> None:
        """A TCP or TLS connection is up: what its peer is sent goes on the wire now."""
        kind, remote = self._tap.connection(transport)
        self.capture.events.append(ConnectionOpened(self.capture.now(), kind, remote))

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

    # -- accounts ---------------------------------------------------------

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
        if sum(1 for acc in self._accounts if not acc.shut_down) >= MAX_ACCOUNTS:
            raise CannotRunError(
                f"siptest's SIP stack holds at most {MAX_ACCOUNTS} accounts per process. "
                "Split the scenario into several files."
            )
        if answers:
            self._open_audio()
        tap = self._media_tap
        acc = self._account_cls(answers, self._tone.start, tap.watch if tap else None)
        try:
            acc.create(cfg)
        except self._pj.Error as exc:
            raise translate(stack_failure(exc), "create the account") from None
        self._accounts.append(acc)
        return acc

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
            shutdown_account(acc)
        self._accounts.clear()
        try:
            ep.libDestroy(self._pj.PJSUA_DESTROY_NO_RX_MSG)
        except Exception:  # pragma: no cover - defensive
            pass


def shutdown_account(acc: Any) -> None:
    """End a pjsua2 account, once; what it says on the way out changes nothing."""
    if acc.shut_down:
        return
    acc.shut_down = True
    try:
        acc.shutdown()
    except Exception:  # pragma: no cover - defensive
        pass
