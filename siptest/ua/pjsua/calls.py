"""Placing calls: dial, follow to the end, talk with audio sampled, DTMF, hang up;
and refusing or reaping the calls nobody asked for."""

from __future__ import annotations

import gc
import time
from typing import TYPE_CHECKING, Any, Literal

from siptest.errors import CannotRunError
from siptest.sipmessage import header_params
from siptest.ua.base import AccountSpec
from siptest.ua.chains import exchanged
from siptest.ua.events import RequestSent, TransportCause, WireMessage
from siptest.ua.evidence import (
    agreed_audio,
    awaiting_answer,
    dial_uri,
    final_invite,
    invite_responses,
)
from siptest.ua.outcomes import CallEnd, call_outcome
from siptest.ua.pjsua.config import (
    MAX_CALLS,
)
from siptest.ua.pjsua.core import AgentCore
from siptest.ua.pjsua.errors import (
    StackFailure,
    at_stack_boundary,
    stack_failure,
    translate,
)
from siptest.ua.pjsua.transactions import end_client_invite
from siptest.ua.probe import UnreachableProbe

_Reading = tuple[Any, Any, "dict[int, int] | None", frozenset[int]]
"""A stream's reading: statistics, info, payload types received, audio codecs agreed."""

if TYPE_CHECKING:
    from siptest.ua.calls import CallCompleted, CallSpec
    from siptest.ua.mediaevents import MediaSample, MediaTick


class DialledCall:
    """A call in progress, between `PjsuaAgent.dial` and `PjsuaAgent.follow`."""

    def __init__(
        self,
        spec: CallSpec,
        uri: str,
        call: Any,
        call_id: str,
        first: int,
        started: float,
        probe: UnreachableProbe | None = None,
    ) -> None:
        self.spec = spec
        self.uri = uri
        self.call_id = call_id
        self.first_message = first
        self.started = started
        self._call = call
        """The pjsua2 Call; dropped once followed (it must not outlive the library)."""
        self.probe = probe
        """Over UDP: what the network says about the server (closed once followed)."""


class Calling(AgentCore):
    """INVITE to BYE, and the calls that arrive while siptest waits."""

    @at_stack_boundary("idle")
    def idle(self, seconds: float) -> None:
        self._wait(lambda: False, seconds)
        self._reap_incoming()

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
            # One unregistered account per address of record and server, reused for
            # every call there: each account counts against pjsua2's MAX_ACCOUNTS. Its
            # proxy is the server, so a call to another target (DNS failover) needs its own.
            key = (account.aor, account.outbound_proxy or account.hostport)
            acc = self._direct_accounts.get(key)
            if acc is None:
                acc = self._create_account(self._account_config(account, registering=False))
                self._direct_accounts[key] = acc
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
        # pjsip ignores an ICMP error for UDP: without the probe, an INVITE to a port
        # where nothing listens would wait for Timer B and read as the server's silence.
        probe = UnreachableProbe.open(account, self.config.transport)
        return DialledCall(
            spec,
            uri,
            call,
            call.getInfo().callIdString,
            first,
            time.monotonic(),
            probe,
        )

    @at_stack_boundary("follow")
    def follow(self, dialled: DialledCall) -> CallCompleted:
        """Wait for the answer (or ring timeout → CANCEL), talk, hang up, report."""
        # Imported when a call is placed, not with the agent: a register check never
        # creates their classes (start-up time, benchmarks/register_vs_sipsak.py).
        from siptest.ua.mediaevents import MediaCaptured, MediaSampled
        from siptest.ua.pjsua.media import media_sample, sample_of, send_dtmf

        pj = self._pj
        spec, uri, call, call_id, first = (
            dialled.spec,
            dialled.uri,
            dialled._call,
            dialled.call_id,
            dialled.first_message,
        )
        confirmed, disconnected = pj.PJSIP_INV_STATE_CONFIRMED, pj.PJSIP_INV_STATE_DISCONNECTED
        probe, dialled.probe = dialled.probe, None
        rejected: TransportCause | None = None

        def settled() -> bool:
            nonlocal rejected
            if call.state in (confirmed, disconnected):
                return True
            if rejected is None and probe is not None:
                answered = self.capture.received_since(first, call_id)
                rejected = probe.verdict(answered, time.monotonic())
            return rejected is not None

        # pjsip's Timer B (= --timeout) ends an INVITE nobody answers at all;
        # the ring timeout (counted from the dial) ends one that rings too long.
        ringing = spec.ring_timeout - (time.monotonic() - dialled.started)
        try:
            self._wait(settled, max(0.0, ringing))
            if not settled() and not invite_responses(exchanged(self.events[first:]), call_id):
                # Nothing came back yet: there is nothing to CANCEL (RFC 3261 9.1), and a
                # dead server must not pass as "we hung up". Timer B decides.
                self._wait(settled, self.config.timeout + 1)
        finally:
            if probe is not None:
                probe.close()
        cancelled = interrupted = False
        bye_answered: bool | None = None
        if (
            rejected is not None
            and probe is not None
            and call.state not in (confirmed, disconnected)
        ):
            # The network answered for the server: nothing listens there, or a firewall
            # rejected the INVITE. No answer will come, and with no provisional one there
            # is nothing to CANCEL (RFC 3261 9.1): end the call without waiting for Timer B.
            self.capture.events.append(probe.failure(self.capture.now(), rejected))
            self._abandon_invite(call, call_id, first)
        elif call.state not in (confirmed, disconnected):
            cancelled, interrupted = True, self._interrupted
            self._end_call(call)
            # RFC 3261 9.1: a CANCELled INVITE still gets its final response (487),
            # which pjsip ACKs; wait for it so nothing is left half-open. Without a
            # provisional response yet (only after a signal: the ring timeout waited
            # for Timer B above), pjsua calls the call ended at once, but pjsip holds
            # the CANCEL until a 1xx comes (9.1) and sends it then: wait for the
            # INVITE's end all the same, as long as a clean-up wait may last after a
            # signal (INTERRUPTED_WAIT_S), so nothing else is sent before the CANCEL.
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
            ticks, last = self._talk(call, spec.talk, started, call_id, first)
            talked = time.monotonic() - started
            agreed = self._agreed(call_id, first)
            media = media_sample(self._pj, call, talked, ticks, self._payload_types(call), agreed)
            if media is None and last is not None:
                # The far end hung up mid-call and its stream went with it: the audio
                # is judged on the stream's reading as it ended (else the last one
                # before), over the time until then, not "hung up before any audio".
                if call.final_stream is not None:
                    stat, info = call.final_stream
                    types = self._payload_types(call)  # the ended stream's counts
                    media = sample_of(stat, info, talked, ticks, types, agreed)
                else:
                    media = sample_of(last[0], last[1], ticks[-1].at, ticks, last[2], last[3])
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
            peers=self._peers(),
        )
        if self._media_tap is not None:
            packets = self._media_tap.take(call.media_transports)
            if self.config.capture_media:
                self.capture.events.append(MediaCaptured(self.capture.now(), call_id, packets))
        dialled._call = None
        self._release(call)
        self._reap_incoming()
        return outcome

    def _abandon_invite(self, call: Any, call_id: str, first: int) -> None:
        """End a call whose INVITE the network refused: its transaction ends now, not at
        Timer B, so pjsua frees the call (one of its MAX_CALLS) for the next one."""
        disconnected = self._pj.PJSIP_INV_STATE_DISCONNECTED
        invites = [
            m
            for m in exchanged(self.events[first:])
            if isinstance(m, RequestSent)
            and m.message.method == "INVITE"
            and m.message.header("call-id") == call_id
        ]
        via = invites[-1].message.header("via") if invites else None
        branch = header_params(via or "").get("branch", "")
        # 503, the code siptest reports for it (outcomes: _icmp_answer)
        if branch and end_client_invite(self._lib, branch, 503):
            self._wait(lambda: call.state == disconnected, 1.0, interruptible=False)
        self._end_call(call)  # nothing left to do once it is disconnected

    def _payload_types(self, call: Any) -> dict[int, int] | None:
        """The RTP the call received so far, by payload type; None when the media tap
        watches none of its transports (then pjmedia's count is all there is)."""
        if self._media_tap is None or not call.media_transports:
            return None
        return self._media_tap.payload_types(call.media_transports)

    def _agreed(self, call_id: str, first: int) -> frozenset[int]:
        """The audio codecs both SDPs of the call list now (`evidence.agreed_audio`)."""
        return agreed_audio(exchanged(self.events[first:]), call_id)

    def _talk(
        self, call: Any, seconds: float, started: float, call_id: str, first: int
    ) -> tuple[list[MediaTick], _Reading | None]:
        """Hold the call for `seconds` (or until the far end hangs up), noting where
        its audio stands every 0.2 s: audio that stops mid-call is not a pass. Also the
        stream's last reading (statistics, info, payload types received, audio codecs
        agreed) of the last tick, which outlives a stream the far end's BYE ended."""
        from siptest.ua.pjsua.media import read_stream, tick_of

        ended = self._pj.PJSIP_INV_STATE_DISCONNECTED
        ticks: list[MediaTick] = []
        last: _Reading | None = None
        deadline = started + seconds
        while call.state != ended and time.monotonic() < deadline:
            step = min(0.2, deadline - time.monotonic())
            if not self._wait(lambda: call.state == ended, max(0.0, step)) and self._interrupted:
                break
            stream = read_stream(self._pj, call)
            if stream is not None and call.state != ended:
                types, agreed = self._payload_types(call), self._agreed(call_id, first)
                at = time.monotonic() - started
                ticks.append(tick_of(stream[0], stream[1], at, types, agreed))
                last = (stream[0], stream[1], types, agreed)
        return ticks, last

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
        """Drop incoming calls that ended, keeping their digits (see _release) and,
        for the calls an account answered, their media packets (`--pcap`)."""
        disconnected = self._pj.PJSIP_INV_STATE_DISCONNECTED
        reaped = False
        for acc in self._accounts:
            ended = [call for call in acc.incoming if call.state == disconnected]
            for call in ended:
                acc.digits.extend(call.digits)
                if self._media_tap is not None and call.media_transports:
                    from siptest.ua.mediaevents import MediaCaptured

                    packets = self._media_tap.take(call.media_transports)
                    if self.config.capture_media:
                        self.capture.events.append(
                            MediaCaptured(self.capture.now(), call.call_id, packets)
                        )
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
