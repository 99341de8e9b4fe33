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
from siptest.ua.base import AccountSpec, CallCompleted, CallSpec


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
    details: dict[str, Any] = {
        "number": spec.number,
        "uri": outcome.uri,
        "provisional": list(outcome.provisional),
        "answered": outcome.answered,
        "cancelled_by_us": outcome.cancelled_by_us,
        "hangup": outcome.hangup,
        "talk_seconds": outcome.talk_seconds,
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
    ok = outcome.answered or diagnosis.category == "none"
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
    """Our BYE without any answer: a warning check, never ignored (None when it was answered)."""
    if outcome.bye_answered is not False:
        return None
    return Check(
        kind="hangup",
        ok=False,
        diagnosis=knowledge.named("cleanup.bye_unanswered"),
        target=outcome.uri,
    )


def parse_expectation(text: str) -> int | str:
    """`--expect CODE|CATEGORY`: a response code (100-699) or a diagnosis category."""
    from siptest.errors import UsageError
    from siptest.knowledge.model import CATEGORIES

    value = text.strip().lower()
    if value.isdigit():
        code = int(value)
        if not 100 <= code <= 699:
            raise UsageError(f"--expect {text}: a SIP response code is 100 to 699.")
        return code
    if value in ("ok", "answered"):
        return "answered"
    if value not in CATEGORIES:
        choices = ", ".join(sorted(CATEGORIES))
        raise UsageError(
            f"--expect {text}: give a response code (e.g. 403), 'answered', "
            f"or a category ({choices})."
        )
    return value


def apply_expectation(check: Check, expected: int | str, knowledge: Knowledge) -> Check:
    """An expected failure passes (a technician checking that 0900 is blocked)."""
    response = check.response
    answered = bool(check.details.get("answered"))
    happened = check.diagnosis
    if expected == "answered":
        met = answered
    elif isinstance(expected, int):
        met = response is not None and response.code == expected
    else:
        met = happened is not None and happened.category == expected
    details = dict(check.details, expected=expected, expectation_met=met)
    if met:
        return replace(check, ok=True, details=details)
    facts: dict[str, object] = {"expected": expected}
    if happened is not None:
        facts.update(
            diagnosis_title=happened.title,
            diagnosis_explanation=happened.explanation,
            diagnosis_fix=happened.fix,
        )
    cases: tuple[str, ...] = ()
    if answered:
        cases = ("answered",)
    elif response is None or response.code is None:
        cases = ("no_response",)
    else:
        facts["got"] = f"{response.code} {response.reason}".strip()
    unmet = knowledge.named("expectation.unmet", facts, cases=cases)
    # What happened instead keeps its category and its standard.
    unmet = replace(
        unmet,
        category=happened.category if happened else "none",
        rfc=happened.rfc if happened else None,
    )
    return replace(check, ok=False, diagnosis=unmet, details=details)
