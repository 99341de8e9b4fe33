"""From a call outcome to a check with a diagnosis; expectations (--expect). Pure."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from siptest.analysis.model import Check
from siptest.analysis.registration import (
    account_facts,
    diagnose_live,
    retry_after_facts,
    situation_of,
    with_destination,
)
from siptest.knowledge import Knowledge
from siptest.ua.base import AccountSpec
from siptest.ua.calls import CallCompleted, CallSpec

ACK_LOST_REPEATS = 2
"""The far end's 2xx arriving this many times after our ACK: no ACK reached it (one
repeat may cross our ACK in flight, or follow one lost ACK that siptest's next ACK
makes good). RFC 3261 13.3.1.4 repeats it at T1, 3*T1, 7*T1... (1.5 s for two)."""


def analyse_call(
    outcome: CallCompleted,
    account: AccountSpec,
    spec: CallSpec,
    knowledge: Knowledge,
    *,
    timeout: float,
    duration_ms: float,
) -> Check:
    response = outcome.response
    facts = account_facts(account, timeout)
    with_destination(facts, outcome.sent_to)
    facts["number"] = spec.number
    facts["ring_timeout"] = spec.ring_timeout
    capped: dict[str, Any] = {}
    retry_after_facts(response, facts, capped)
    situation = situation_of(
        response,
        transport=account.transport,
        credentials_sent=outcome.credentials_sent,
        provisional=outcome.provisional,
        cancelled_by_us=outcome.cancelled_by_us,
    )
    if outcome.interrupted:
        # Hung up because siptest was stopped, not because the ring time ran out.
        situation = replace(situation, origin="local", local_cause="interrupted")
    diagnosis = diagnose_live(knowledge, situation, facts)
    ack_lost = outcome.answered and outcome.answer_repeats >= ACK_LOST_REPEATS
    if ack_lost:
        diagnosis = knowledge.named("routing.ack_not_received", facts)
    details: dict[str, Any] = {
        "number": spec.number,
        "uri": outcome.uri,
        "provisional": list(outcome.provisional),
        "answered": outcome.answered,
        "cancelled_by_us": outcome.cancelled_by_us,
        "hangup": outcome.hangup,
        "talk_seconds": outcome.talk_seconds,
        "answer_repeats": outcome.answer_repeats,
        "requests_sent": outcome.requests_sent,
        "credentials_sent": outcome.credentials_sent,
        "stopped_after_rejection": outcome.credentials_rejected
        or outcome.response.local_cause == "limit",
        "registered": spec.registered,
        **capped,
    }
    if spec.dtmf:
        details["dtmf"] = {
            "method": spec.dtmf_method,
            "sent": outcome.dtmf_sent,
            "received": outcome.dtmf_received,
            "refused": outcome.dtmf_refused or None,
        }
    # Answered, or an outcome that is expected by design (interrupted by the user).
    ok = (outcome.answered and not ack_lost) or diagnosis.category == "none"
    return Check(
        kind="call",
        ok=ok,
        diagnosis=diagnosis,
        target=outcome.uri,
        transport=account.transport,
        response=response,
        duration_ms=round(duration_ms, 1),
        details=details,
    )


def analyse_hangup(outcome: CallCompleted, knowledge: Knowledge) -> Check | None:
    """Our BYE without any answer, or answered 481 (the far end had lost the call): a
    warning check, never ignored (None when it was accepted)."""
    if outcome.bye_answered is False:
        diagnosis = knowledge.named("cleanup.bye_unanswered")
    elif outcome.bye_refused.startswith("481"):
        diagnosis = knowledge.named("cleanup.bye_call_unknown")
    else:
        return None
    return Check(kind="hangup", ok=False, diagnosis=diagnosis, target=outcome.uri)
