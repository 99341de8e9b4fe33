"""From a registration outcome to a check with a diagnosis. Pure."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from siptest.analysis.model import Binding, Check
from siptest.hostport import split_hostport
from siptest.knowledge import Diagnosis, Knowledge, Situation
from siptest.knowledge.registry import reason_phrase
from siptest.ua.base import AccountSpec, RegistrationCompleted, Response, via_address

RETRY_AFTER_CAP = 86_400
"""A day. RFC 3261 20.33 sets no upper limit on Retry-After, but a longer wait is a
server bug, not advice a person or a CI job should follow: siptest reports (and its
texts quote) at most this many seconds, and says when it capped the server's value."""


def honoured_retry_after(response: Response) -> int | None:
    """The server's Retry-After in seconds, capped at `RETRY_AFTER_CAP`."""
    value = response.retry_after
    return None if value is None else min(value, RETRY_AFTER_CAP)


def retry_after_facts(response: Response, facts: dict[str, Any], details: dict[str, Any]) -> None:
    """Put the honoured Retry-After into the texts' facts, and say in the report's
    details when the server's value was capped."""
    honoured = honoured_retry_after(response)
    if honoured is None:
        return
    facts["retry_after"] = honoured
    if response.retry_after != honoured:
        details["retry_after_capped"] = True
        details["retry_after_sent"] = response.retry_after


def diagnose_live(knowledge: Knowledge, situation: Situation, facts: dict[str, Any]) -> Diagnosis:
    """What an answer means when siptest itself got it.

    The knowledge blames some answers on the caller's device (a 400 from a broken
    device, a 500 to REGISTER, a 481). siptest is a freshly configured device: when it
    gets the same answer, its own configuration is not the cause, so the server or the
    route is the suspect. `siptest explain` keeps the device advice for someone whose
    own device shows the code.

    A message about the password ("This password is not valid", in the reason phrase
    or a Warning) when siptest sent no credentials cannot be about its password: the
    code says what happened (a 486 with such a Warning is the callee being busy); the
    message stays in the report's response. Except a REGISTER refused 403 with the
    password message before any challenge: the provider's own word on the login
    (its guide: the password configured is wrong), not a stray Warning.
    """
    entry = knowledge.select(situation)
    matched = entry.best_match(situation)
    login_refused = (
        situation.method == "REGISTER"
        and situation.code == 403
        and entry.id == "credentials.password_invalid"
    )
    if (
        entry.category == "credentials"
        and not situation.credentials_sent
        and not login_refused
        and matched is not None
        and matched.texts
        and situation.code is not None
    ):
        situation = replace(situation, reason=reason_phrase(situation.code), warning=None)
    diagnosis = knowledge.diagnose(situation, facts)
    if diagnosis.category != "device" or situation.origin != "remote":
        return diagnosis
    return knowledge.diagnose(replace(situation, origin="local", local_cause="reproduced"), facts)


def situation_of(
    response: Response,
    *,
    transport: str,
    credentials_sent: bool = False,
    provisional: tuple[int, ...] = (),
    cancelled_by_us: bool = False,
) -> Situation:
    return Situation(
        method=response.method,
        code=response.code,
        reason=response.reason,
        origin=response.origin,
        warning=response.warning,
        server=response.server,
        provisional=provisional,
        credentials_sent=credentials_sent,
        cancelled_by_us=cancelled_by_us,
        local_cause=response.local_cause,
        transport=transport,
    )


def account_facts(account: AccountSpec, timeout: float) -> dict[str, Any]:
    """Values the knowledge texts may quote ({host}, {port}, ...)."""
    default_port = 5061 if account.transport == "tls" else 5060
    differs = account.auth_user != account.user
    return {
        "login": (
            f'the authentication user "{account.auth_user}" (given with --auth-user; '
            f'the user ID is "{account.user}")'
            if differs
            else f'the user ID "{account.user}"'
        ),
        "auth_user_note": (
            f'siptest logged in as the authentication user "{account.auth_user}", which '
            f'differs from the user ID "{account.user}": check that value first.'
            if differs
            else None
        ),
        "user": account.user,
        "auth_user": account.auth_user,
        "domain": account.domain,
        "host": account.registrar,
        "port": account.port or default_port,
        "transport": account.transport.upper(),
        "timeout": timeout,
    }


def with_destination(facts: dict[str, Any], sent_to: str | None) -> None:
    """Name the address the request actually went to (not the one configured)."""
    if not sent_to:
        return
    host, port = split_hostport(sent_to)
    if host and port is not None:
        facts["host"], facts["port"] = host, port


def analyse_registration(
    outcome: RegistrationCompleted,
    account: AccountSpec,
    knowledge: Knowledge,
    *,
    timeout: float,
    duration_ms: float,
) -> Check:
    response = outcome.response
    facts = account_facts(account, timeout)
    with_destination(facts, outcome.sent_to)
    capped: dict[str, Any] = {}
    retry_after_facts(response, facts, capped)
    if response.min_expires is not None:
        facts["min_expires"] = response.min_expires
    facts["expires"] = account.expires
    # A 401/407 to a request that already carried credentials is a rejection,
    # not a challenge (RFC 3261 22.2/22.3); some servers answer it with 403.
    situation = situation_of(
        response,
        transport=account.transport,
        credentials_sent=outcome.credentials_sent,
        provisional=outcome.provisional,
    )
    diagnosis = diagnose_live(knowledge, situation, facts)
    received, rport = via_address(response) if response.headers else (None, None)
    details: dict[str, Any] = {
        "provisional": list(outcome.provisional),
        "requests_sent": outcome.requests_sent,
        "credentials_sent": outcome.credentials_sent,
        "stopped_after_rejection": outcome.credentials_rejected
        or outcome.response.local_cause == "limit",
    }
    binding = Binding(
        contact=outcome.contact,
        registered_contact=outcome.registered_contact,
        expires_requested=outcome.expires_requested,
        expires_granted=outcome.expires_granted,
        via_received=received,
        via_rport=rport,
    )
    if outcome.interval_retried is not None:
        details["min_expires_applied"] = outcome.interval_retried
    details.update(capped)
    return Check(
        kind="register",
        ok=outcome.ok,
        diagnosis=diagnosis,
        target=account.aor,
        transport=account.transport,
        response=response,
        duration_ms=round(duration_ms, 1),
        details=details,
        binding=binding,
    )


def analyse_unregistration(
    outcome: RegistrationCompleted, account: AccountSpec, duration_ms: float, knowledge: Knowledge
) -> Check:
    """The clean-up: did our binding go away? Only a failure gets a diagnosis."""
    response = outcome.response
    ok = outcome.ok
    diagnosis = None
    facts: dict[str, object] = {
        "code": response.code,
        "reason": response.reason,
        "binding_left": outcome.expires_granted,
        "expires_asked": outcome.expires_requested,
    }
    if ok and outcome.expires_granted:
        # RFC 3261 10.3: the 2xx lists the bindings that remain; ours is among them.
        ok = False
        diagnosis = knowledge.named("cleanup.binding_left", facts)
    elif not ok:
        # nothing came back (siptest's stack makes up a 408 for that): no answer
        cases = ("no_answer",) if response.origin == "none" else ()
        diagnosis = knowledge.named("cleanup.unregister_failed", facts, cases=cases)
    return Check(
        kind="unregister",
        ok=ok,
        diagnosis=diagnosis,
        target=account.aor,
        transport=account.transport,
        response=response,
        duration_ms=round(duration_ms, 1),
    )
