"""A scripted user agent: answers from a table, sends nothing. For tests of the runner.

    agent = ScriptedAgent(registrations={"1003": 401}, calls={"7000": 200, "0900123": 403})
    run_scenario(prepared, agent_factory=lambda _: agent)
    agent.actions   # [("register", "1001"), ("call", "1001", "7000"), ("unregister", "1001"), ...]

Registrations answer 200 unless the table says otherwise; calls answer 404 unless
it says otherwise (200 means answered). An answered call carries `CLEAN_AUDIO`
(audio both ways, no loss) unless `media` names another sample (None: no audio
stream), and brings back the DTMF digits `dtmf_back` names for its number (an
echo service). `during_call` runs while a call "rings", e.g. to send the process
a SIGINT; a call interrupted that way ends as our own CANCEL (487) like the real
agent's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus

from siptest.ua.base import AccountSpec, RegistrationCompleted, Response
from siptest.ua.calls import CallCompleted, CallSpec
from siptest.ua.events import Event, Watcher
from siptest.ua.mediaevents import MediaSample, StreamStats

CLEAN_AUDIO = MediaSample(
    codec="PCMA",
    remote_rtp="127.0.0.1:40000",
    sent=StreamStats(packets=100, lost=0, jitter_ms=0.5),
    received=StreamStats(packets=100, lost=0, jitter_ms=0.5),
    rtt_ms=1.0,
    duration=2.0,
)
"""Two seconds of G.711 both ways on loopback: what an echo service gives."""

_REASONS = {
    200: "OK",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    480: "Temporarily Unavailable",
    484: "Address Incomplete",
    486: "Busy Here",
    487: "Request Terminated",
    503: "Service Unavailable",
}


def response(method: str, code: int, reason: str | None = None) -> Response:
    """A response the server sent (origin remote)."""
    if reason is None:
        reason = _REASONS.get(code) or _http_phrase(code)
    return Response(method, code, reason, "remote", 0.0)


def _http_phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


class ScriptedAgent:
    """A `UserAgent` that answers from tables and records what it was asked."""

    def __init__(
        self,
        *,
        registrations: Mapping[str, int | Response] | None = None,
        unregistrations: Mapping[str, int] | None = None,
        calls: Mapping[str, int | Response] | None = None,
        during_call: Mapping[str, Callable[[], None]] | None = None,
        media: Mapping[str, MediaSample | None] | None = None,
        dtmf_back: Mapping[str, str] | None = None,
    ) -> None:
        self.registrations = dict(registrations or {})
        """User ID -> final answer to REGISTER (default 200)."""
        self.unregistrations = dict(unregistrations or {})
        """User ID -> final answer to the un-REGISTER (default 200)."""
        self.calls = dict(calls or {})
        """Number -> final answer to INVITE (default 404; 2xx means answered)."""
        self.during_call = dict(during_call or {})
        """Number -> something to do while it rings."""
        self.media = dict(media or {})
        """Number -> the media of the answered call (default CLEAN_AUDIO; None: no stream)."""
        self.dtmf_back = dict(dtmf_back or {})
        """Number -> DTMF digits that come back from the far end once answered."""
        self.events: list[Event] = []
        self.actions: list[tuple[str, ...]] = []
        """("register", user), ("unregister", user), ("call", user, number), ("close",)."""
        self.registered: list[str] = []
        self.interrupted = False
        self.closed = False
        self.watcher: Watcher | None = None

    def register(self, account: AccountSpec) -> RegistrationCompleted:
        self.actions.append(("register", account.user))
        answer = self.registrations.get(account.user, 200)
        final = answer if isinstance(answer, Response) else response("REGISTER", answer)
        ok = 200 <= final.code < 300
        if ok and account.user not in self.registered:
            self.registered.append(account.user)
        return RegistrationCompleted(
            response=final,
            requests_sent=2,
            credentials_sent=True,
            credentials_rejected=final.code in (401, 407),
            expires_requested=account.expires,
            expires_granted=account.expires if ok else None,
        )

    def unregister(self, account: AccountSpec | None = None) -> RegistrationCompleted | None:
        if account is None:
            if not self.registered:
                return None
            user = self.registered[-1]
        else:
            user = account.user
        if user not in self.registered:
            return None
        self.actions.append(("unregister", user))
        self.registered.remove(user)
        final = response("REGISTER", self.unregistrations.get(user, 200))
        return RegistrationCompleted(
            response=final,
            requests_sent=1,
            credentials_sent=True,
            credentials_rejected=False,
            expires_requested=0,
            expires_granted=None,
        )

    def call(self, account: AccountSpec, spec: CallSpec) -> CallCompleted:
        self.actions.append(("call", account.user, spec.number))
        action = self.during_call.get(spec.number)
        if action is not None:
            action()
        if self.interrupted:
            final = Response(
                "INVITE", 487, "Request Terminated", "local", 0.0, local_cause="cancelled"
            )
            return self._outcome(spec, final, (100, 180), cancelled=True)
        answer = self.calls.get(spec.number, 404)
        final = answer if isinstance(answer, Response) else response("INVITE", answer)
        return self._outcome(spec, final, (100, 180) if final.code < 300 else (100,))

    def _outcome(
        self,
        spec: CallSpec,
        final: Response,
        provisional: tuple[int, ...],
        cancelled: bool = False,
    ) -> CallCompleted:
        answered = 200 <= final.code < 300
        return CallCompleted(
            number=spec.number,
            uri=f"sip:{spec.number}@fake.invalid",
            provisional=provisional,
            answered=answered,
            response=final,
            requests_sent=2,
            credentials_sent=True,
            credentials_rejected=False,
            cancelled_by_us=cancelled,
            hangup="us" if answered else None,
            talk_seconds=spec.talk if answered else 0.0,
            media=self.media.get(spec.number, CLEAN_AUDIO) if answered else None,
            dtmf_sent=spec.dtmf if answered else "",
            dtmf_received=self.dtmf_back.get(spec.number, "") if answered else "",
            remote_sdp_address="127.0.0.1" if answered else None,
        )

    def idle(self, seconds: float) -> None:
        self.actions.append(("idle", f"{seconds:g}"))

    def interrupt(self) -> None:
        self.interrupted = True

    def watch(self, watcher: Watcher | None) -> None:
        self.watcher = watcher

    def close(self) -> None:
        if not self.closed:
            self.actions.append(("close",))
        self.closed = True
