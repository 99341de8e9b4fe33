"""The user agent, backed by pjsua2 — the only module that imports it.

How pjsua2 is driven here, and why (see lab-notes.md for the measurements):

* Single-threaded: no SIP worker threads, no media threads, no sound card.
  Everything happens inside `libHandleEvents()` called from our own bounded
  poll loops, so callbacks run on this thread and nothing runs behind our back.
* pjsua2 is a debug build: misuse aborts the process instead of raising. The
  account and call limits are checked here before pjsua2 would abort.
* Every SIP message is captured through pjsua2's message log (a `LogWriter`),
  redacted at once, and kept as `WireMessage` facts. Nothing pjsua2 logs
  reaches the console.
* A tiny pjsip module, registered through ctypes, sees every outgoing request
  after it was logged and lets `CredentialGuard` veto credential retries.
* The transaction timeout (Timer B/F, 32 s in pjsip) is set from `--timeout`
  through the exported `pjsip_tsx_set_timers`.
"""

from __future__ import annotations

import ctypes
import errno
import gc
import re
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from siptest import __version__
from siptest.errors import CannotRunError
from siptest.sipmessage import SipMessage, parse_message, redact
from siptest.ua.base import (
    AccountSpec,
    LocalCause,
    Origin,
    RegistrationCompleted,
    Response,
    TlsSettings,
    Transport,
    WireMessage,
)
from siptest.ua.credentials import CredentialGuard

USER_AGENT = f"siptest/{__version__}"
"""Plain and honest: providers block scanner signatures, not named testers."""

MAX_ACCOUNTS = 8
"""pjsua2's PJSUA_MAX_ACC in this wheel; the 9th account aborts the process."""

_POLL_MS = 10
_PJ_ECANCELLED = 70014
_SYSTEM_CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/cert.pem",  # macOS, BSD
)
_LOG_MESSAGE = re.compile(
    r"^(?P<dir>TX|RX) \d+ bytes (?P<info>.*?) (?:to|from) (?P<tp>\S+) (?P<peer>\S+):\r?\n"
    r"(?P<text>.*?)\r?\n?--end msg--",
    re.DOTALL,
)


@dataclass(frozen=True)
class AgentConfig:
    """How the stack is set up; one agent serves one transport."""

    transport: Transport = "udp"
    timeout: float = 5.0
    """Seconds one SIP transaction may take before it counts as unanswered."""
    tls: TlsSettings = field(default_factory=TlsSettings)
    local_port: int = 0
    public_address: str | None = None
    """The address to put in Via/Contact: the one the kernel uses toward the server."""
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """Strings to sweep out of everything captured (the password)."""


def system_ca_bundle() -> Path | None:
    for candidate in _SYSTEM_CA_BUNDLES:
        path = Path(candidate)
        if path.is_file():
            return path
    return None


def source_address(host: str, port: int = 5060) -> str | None:
    """The local address the kernel would use to reach `host` (no packet is sent).

    pjsip otherwise advertises the machine's first interface, which is wrong
    for a loopback lab and for multi-homed technicians' laptops alike.
    """
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            return str(sock.getsockname()[0])
    except (OSError, IndexError):
        return None


def _classes(pj: Any) -> tuple[type, type]:
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
        def __init__(self, on_reg: Callable[[int, str, str, int], None]) -> None:
            super().__init__()
            self._on_reg = on_reg

        def onRegState(self, prm: Any) -> None:
            try:
                self._on_reg(prm.code, prm.reason, prm.rdata.wholeMsg, prm.expiration)
            except Exception:  # pragma: no cover - defensive
                pass

        def onIncomingCall(self, prm: Any) -> None:
            # The test account takes no calls; answer politely instead of the
            # binding's default 500. The Call object must outlive this method.
            try:
                call = pj.Call(self, prm.callId)
                op = pj.CallOpParam()
                op.statusCode = 486
                call.hangup(op)
            except Exception:  # pragma: no cover - defensive
                pass

    return LogSink, RegAccount


class _TxModule(ctypes.Structure):
    """pjsip_module (pjsip/sip_module.h), just enough to hook on_tx_request."""


_TX_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
_TxModule._fields_ = [
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
    ("on_tx_request", _TX_CALLBACK),
    ("on_tx_response", ctypes.c_void_p),
    ("on_tsx_state", ctypes.c_void_p),
]
# pjsua's message logger sits at PJSIP_MOD_PRIORITY_TRANSPORT_LAYER - 1 (7);
# outgoing messages visit modules from high to low numbers, so at 5 we run
# after the message was printed and logged, just before it is sent.
_TX_PRIORITY = 5


class PjsuaAgent:
    """A SIP user agent on pjsua2, driven from the calling thread."""

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.messages: list[WireMessage] = []
        self.log_tail: deque[str] = deque(maxlen=40)
        self._t0 = time.monotonic()
        self._guard = CredentialGuard()
        self._pending_sent: dict[str, SipMessage] = {}
        self._reg_events: list[tuple[int, str, str, int]] = []
        self._accounts: list[Any] = []
        self._account: Any = None
        self._account_spec: AccountSpec | None = None
        self._registered = False
        self._interrupted = False
        self._closed = False
        self._ep: Any = None
        self._start(config)

    # -- set-up -----------------------------------------------------------

    def _start(self, config: AgentConfig) -> None:
        try:
            import pjsua2 as pj
        except ImportError as exc:  # pragma: no cover - install problem
            raise CannotRunError(
                f"The SIP stack is not installed ({exc}). "
                "Run: pip install pjsua2-python==2.15.1.post1 (Python 3.10-3.12)."
            ) from exc
        self._pj = pj
        self._lib = ctypes.CDLL(pj._pjsua2.__file__)
        # libCreate() prints before LogConfig applies: silence pjlib first.
        self._lib.pj_log_set_level(0)
        self._lib.pjsip_tx_data_get_info.restype = ctypes.c_char_p
        self._lib.pjsip_tx_data_get_info.argtypes = [ctypes.c_void_p]
        self._lib.pjsua_get_pjsip_endpt.restype = ctypes.c_void_p
        self._lib.pjsip_endpt_register_module.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        log_sink_cls, self._account_cls = _classes(pj)

        ep = pj.Endpoint()
        ep.libCreate()
        self._ep = ep
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.uaConfig.maxCalls = 4
        cfg.uaConfig.userAgent = USER_AGENT
        cfg.medConfig.hasIoqueue = False
        cfg.medConfig.threadCnt = 0
        cfg.medConfig.noVad = True
        self._log_sink = log_sink_cls(self._on_log)
        cfg.logConfig.writer = self._log_sink
        # Level 4 is where pjsua logs whole SIP messages; they are redacted in
        # _on_log before anything keeps them.
        cfg.logConfig.level = 4
        cfg.logConfig.consoleLevel = 4
        cfg.logConfig.msgLogging = 1
        cfg.logConfig.decor = 0
        try:
            ep.libInit(cfg)
        except pj.Error as exc:
            self._destroy()
            raise CannotRunError(f"The SIP stack failed to start: {exc.info()}") from exc
        timeout_ms = max(500, int(config.timeout * 1000))
        # RFC 3261 17.1.1.2: Timer B/F is 64*T1 (32 s); pjsip takes it from `td`.
        self._lib.pjsip_tsx_set_timers(500, 4000, 5000, timeout_ms)
        self._install_tx_hook()
        self._transport_id = self._create_transport(config)
        ep.libStart()
        ep.audDevManager().setNullDev()

    def _install_tx_hook(self) -> None:
        self._tx_callback = _TX_CALLBACK(self._on_tx_request)
        self._module_name = b"mod-siptest-guard"
        self._module = _TxModule(
            name_ptr=self._module_name,
            name_len=len(self._module_name),
            id=-1,
            priority=_TX_PRIORITY,
            on_tx_request=self._tx_callback,
        )
        endpt = self._lib.pjsua_get_pjsip_endpt()
        status = self._lib.pjsip_endpt_register_module(endpt, ctypes.byref(self._module))
        if status != 0:
            raise CannotRunError(f"Could not install siptest's SIP hook (pjsip status {status}).")

    def _create_transport(self, config: AgentConfig) -> int:
        pj = self._pj
        tp = pj.TransportConfig()
        tp.port = config.local_port
        if config.public_address:
            tp.publicAddress = config.public_address
        kind = {
            "udp": pj.PJSIP_TRANSPORT_UDP,
            "tcp": pj.PJSIP_TRANSPORT_TCP,
            "tls": pj.PJSIP_TRANSPORT_TLS,
        }[config.transport]
        if config.transport in ("tcp", "tls"):
            # Without TCP_NODELAY each request waits 40-88 ms for Nagle.
            opt = pj.SockOpt()
            opt.level = socket.IPPROTO_TCP
            opt.optName = socket.TCP_NODELAY
            opt.setOptValInt(1)
            params = pj.SockOptParams()
            params.sockOpts.append(opt)
            tp.sockOptParams = params
        if config.transport == "tls":
            tls = tp.tlsConfig
            ca = config.tls.ca_file or system_ca_bundle()
            if ca is not None:
                tls.CaListFile = str(ca)
            tls.verifyServer = config.tls.verify
            tls.msecTimeout = int(config.timeout * 1000)
            if config.tls.verify and ca is None:
                raise CannotRunError(
                    "No trusted CA certificates found to verify the TLS server. "
                    "Pass --tls-ca FILE (or install ca-certificates)."
                )
        try:
            return int(self._ep.transportCreate(kind, tp))
        except pj.Error as exc:
            port = config.local_port
            raise CannotRunError(
                f"Could not open a local {config.transport.upper()} port "
                f"{port or '(any)'}: {exc.reason}. "
                + (
                    "Pass another --local-port or stop the other SIP client."
                    if port
                    else "Check that the machine allows outgoing sockets."
                )
            ) from exc

    # -- capture ----------------------------------------------------------

    def _now(self) -> float:
        return time.monotonic() - self._t0

    def _on_log(self, line: str) -> None:
        match = _LOG_MESSAGE.match(line)
        if not match:
            self.log_tail.append(redact(line.rstrip(), self.config.secrets))
            return
        text = match.group("text")
        parsed = parse_message(text)
        if parsed is None:
            parsed = SipMessage(start_line=text.split("\n", 1)[0][:200])
        direction: Literal["sent", "received"] = (
            "sent" if match.group("dir") == "TX" else "received"
        )
        if direction == "sent":
            self._guard.sent(parsed)
            self._pending_sent[match.group("info")] = parsed
        else:
            self._guard.received(parsed)
        self.messages.append(
            WireMessage(
                direction=direction,
                at=self._now(),
                transport=match.group("tp"),
                peer=match.group("peer"),
                text=redact(text, self.config.secrets),
                message=parsed,
            )
        )

    def _on_tx_request(self, tdata: int | None) -> int:
        try:
            info = self._lib.pjsip_tx_data_get_info(tdata)
            message = self._pending_sent.pop(info.decode("utf-8", "replace"), None)
            if message is None or self._guard.allows(message):
                return 0
            for index in range(len(self.messages) - 1, -1, -1):
                if self.messages[index].message is message:
                    old = self.messages[index]
                    self.messages[index] = WireMessage(
                        old.direction, old.at, old.transport, old.peer, old.text, message, True
                    )
                    break
            return _PJ_ECANCELLED
        except Exception:  # pragma: no cover - must never raise into C
            return 0

    # -- waiting ----------------------------------------------------------

    def interrupt(self) -> None:
        """Ask every wait in progress to end now (signal handlers call this)."""
        self._interrupted = True

    @property
    def interrupted(self) -> bool:
        return self._interrupted

    def _wait(self, done: Callable[[], bool], seconds: float, interruptible: bool = True) -> bool:
        deadline = time.monotonic() + seconds
        while not done():
            if (interruptible and self._interrupted) or time.monotonic() >= deadline:
                return done()
            self._ep.libHandleEvents(_POLL_MS)
        return True

    # -- registration -----------------------------------------------------

    def _registrar_uri(self, spec: AccountSpec) -> str:
        uri = f"sip:{spec.hostport}"
        return uri if spec.transport == "udp" else f"{uri};transport={spec.transport}"

    def _on_reg(self, code: int, reason: str, whole: str, expiration: int) -> None:
        self._reg_events.append((code, reason, whole, expiration))

    def register(self, account: AccountSpec) -> RegistrationCompleted:
        pj = self._pj
        if len(self._accounts) >= MAX_ACCOUNTS:
            raise CannotRunError(
                f"siptest's SIP stack holds at most {MAX_ACCOUNTS} accounts per process. "
                "Split the scenario into several files."
            )
        cfg = pj.AccountConfig()
        cfg.idUri = account.aor
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
        if account.outbound_proxy:
            cfg.sipConfig.proxies.append(
                f"sip:{account.outbound_proxy};transport={account.transport};lr"
            )
        # Report the network as it is: no Contact rewriting, no keep-alives,
        # no RFC 5626 extras that would add requests we did not ask for.
        cfg.natConfig.contactRewriteUse = 0
        cfg.natConfig.viaRewriteUse = 0
        cfg.natConfig.sipOutboundUse = 0
        cfg.natConfig.udpKaIntervalSec = 0
        cfg.natConfig.sipStunUse = pj.PJSUA_STUN_USE_DISABLED
        cfg.natConfig.mediaStunUse = pj.PJSUA_STUN_USE_DISABLED
        cfg.mediaConfig.lockCodecEnabled = False

        self._reg_events.clear()
        first_message = len(self.messages)
        started = self._now()
        probe = _UnreachableProbe.open(account, self.config.transport)
        acc = self._account_cls(self._on_reg)
        try:
            acc.create(cfg)
        except pj.Error as exc:
            raise CannotRunError(f"The SIP stack refused the account: {exc.reason}") from exc
        self._accounts.append(acc)
        self._account = acc
        self._account_spec = account
        unreachable = False

        def finished() -> bool:
            nonlocal unreachable
            if self._reg_events:
                return True
            if probe is not None and not self._received_since(first_message):
                unreachable = probe.refused()
            return unreachable

        # Two transactions (challenge + answer), each bounded by the timeout.
        if not self._wait(finished, 2 * self.config.timeout + 2) and self._interrupted:
            # A REGISTER in flight may still succeed on the server: learn the
            # outcome (bounded) so a binding never stays behind unremoved.
            self._wait(finished, self.config.timeout + 1, interruptible=False)
        if probe is not None:
            probe.close()
        outcome = self._registration_outcome(account, first_message, started, unreachable)
        self._registered = outcome.ok
        if not outcome.ok:
            self._retire_account()
        return outcome

    def _received_since(self, first: int) -> bool:
        return any(m.direction == "received" for m in self.messages[first:])

    def _registration_outcome(
        self, account: AccountSpec, first: int, started: float, unreachable: bool
    ) -> RegistrationCompleted:
        exchange = [m for m in self.messages[first:] if m.message.method == "REGISTER"]
        sent = _distinct_requests(m for m in exchange if m.direction == "sent" and not m.blocked)
        credentials_sent = any(
            m.message.header("authorization") for m in exchange if m.direction == "sent"
        )
        call_id = exchange[0].message.header("call-id") if exchange else None
        rejected = self._guard.was_rejected(call_id)
        finals = [m for m in exchange if m.direction == "received" and (m.message.code or 0) >= 200]
        event = self._reg_events[-1] if self._reg_events else None
        response: Response
        if rejected and finals:
            response = _response_from(finals[-1], "REGISTER")
        elif unreachable:
            response = Response(
                "REGISTER",
                503,
                "Port unreachable",
                "none",
                self._now(),
                local_cause="unreachable",
                detail="ICMP port unreachable: nothing is listening at that address and port",
            )
        elif event is None:
            response = Response(
                "REGISTER",
                408,
                "No final response",
                "none",
                self._now(),
                local_cause="timeout",
            )
        else:
            code, reason, whole, _ = event
            if whole:
                parsed = parse_message(whole)
                headers = parsed.headers if parsed else ()
                response = Response("REGISTER", code, reason, "remote", self._now(), headers)
            else:
                cause = _local_cause(code, reason, self.log_tail)
                origin: Origin = (
                    "none" if cause in ("timeout", "dns", "refused", "tls") else "local"
                )
                response = Response(
                    "REGISTER",
                    code,
                    reason,
                    origin,
                    self._now(),
                    local_cause=cause,
                    detail=_detail(reason, self.log_tail),
                )
        granted = None
        contact = None
        if 200 <= response.code < 300 and event is not None:
            granted = event[3] if event[3] > 0 else None
            sent_contacts = [m.message.header("contact") for m in exchange if m.direction == "sent"]
            contact = next((c for c in reversed(sent_contacts) if c), None)
        retried = next(
            (_response_from(m, "REGISTER").min_expires for m in finals if m.message.code == 423),
            None,
        )
        return RegistrationCompleted(
            response=response,
            requests_sent=sent,
            credentials_sent=credentials_sent,
            credentials_rejected=rejected,
            expires_requested=account.expires,
            expires_granted=granted,
            contact=contact,
            interval_retried=retried,
        )

    def unregister(self) -> RegistrationCompleted | None:
        if self._account is None or not self._registered or self._account_spec is None:
            return None
        self._reg_events.clear()
        first = len(self.messages)
        started = self._now()
        try:
            # pjsip_regc_unregister: our own Contact with expires=0, never "*".
            self._account.setRegistration(False)
        except self._pj.Error:
            self._registered = False
            return None
        self._wait(lambda: bool(self._reg_events), self.config.timeout + 1, interruptible=False)
        self._registered = False
        spec = self._account_spec
        outcome = self._registration_outcome(spec, first, started, unreachable=False)
        self._retire_account()
        return outcome

    def _retire_account(self) -> None:
        acc = self._account
        self._account = None
        if acc is not None:
            try:
                acc.shutdown()
            except Exception:  # pragma: no cover - defensive
                pass

    # -- teardown ---------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._registered:
            self.unregister()
        self._retire_account()
        self._destroy()

    def _destroy(self) -> None:
        ep = self._ep
        self._ep = None
        if ep is None:
            return
        for acc in self._accounts:
            try:
                acc.shutdown()
            except Exception:  # pragma: no cover - defensive
                pass
        self._accounts.clear()
        gc.collect()
        try:
            ep.libDestroy(self._pj.PJSUA_DESTROY_NO_RX_MSG)
        except Exception:  # pragma: no cover - defensive
            pass


def _distinct_requests(messages: Any) -> int:
    """Count requests by CSeq: UDP retransmissions are the same request."""
    return len({(m.message.header("call-id"), m.message.cseq) for m in messages})


def _response_from(wire: WireMessage, method: str) -> Response:
    msg = wire.message
    return Response(method, msg.code or 0, msg.reason, "remote", wire.at, msg.headers)


def _local_cause(code: int, reason: str, log_tail: deque[str]) -> LocalCause:
    text = (reason + " " + " ".join(list(log_tail)[-6:])).lower()
    if code == 408:
        return "timeout"
    if code == 502 or "eresolve" in text or "gethostbyname" in text or "resolve" in text:
        return "dns"
    if "ssl" in text or "tls" in text or "certificate" in text or "handshake" in text:
        return "tls"
    if "refused" in text:
        return "refused"
    if "unreachable" in text:
        return "unreachable"
    return "transport"


def _detail(reason: str, log_tail: deque[str]) -> str:
    """The stack's own last words on a local failure, for the report."""
    for line in reversed(log_tail):
        lowered = line.lower()
        if any(word in lowered for word in ("error", "fail", "verif", "refused")):
            return line.strip()[:300]
    return reason


class _UnreachableProbe:
    """Notices ICMP "port unreachable" for UDP targets, which pjsip ignores.

    A connected UDP socket sends one RFC 5626 keep-alive (CRLF CRLF) to the
    server; if the kernel then reports ECONNREFUSED, nothing listens there and
    waiting for Timer F would only waste the user's time.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    @classmethod
    def open(cls, account: AccountSpec, transport: str) -> _UnreachableProbe | None:
        if transport != "udp":
            return None
        target = account.outbound_proxy or account.hostport
        host, port = _split_hostport(target, 5060)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
            family, _, _, _, address = infos[0]
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.connect(address)
            sock.send(b"\r\n\r\n")
        except OSError:
            return None
        return cls(sock)

    def refused(self) -> bool:
        try:
            self._sock.recv(2048)
        except BlockingIOError:
            return False
        except OSError as exc:
            return exc.errno == errno.ECONNREFUSED
        return False

    def close(self) -> None:
        self._sock.close()


def _split_hostport(value: str, default_port: int) -> tuple[str, int]:
    value = value.split(";", 1)[0]
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    else:
        host, port = value, ""
    return host, int(port) if port.isdigit() else default_port


__all__ = ["AgentConfig", "PjsuaAgent", "source_address", "system_ca_bundle"]
