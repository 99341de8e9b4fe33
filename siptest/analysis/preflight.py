"""Checks made before any packet: things a person typed that will not work.

Findings are advice: they are reported as `preflight` checks and never stop a
test the user asked for (the server has the last word). Their words are the
knowledge base's `preflight.*` diagnoses.
"""

from __future__ import annotations

import re

from siptest.analysis.model import Check
from siptest.knowledge import Knowledge


def _finding(
    knowledge: Knowledge,
    id_: str,
    facts: dict[str, object],
    *,
    ok: bool = True,
    cases: tuple[str, ...] = (),
) -> Check:
    """Advice, or with `ok=False` something the provider will refuse as typed."""
    return Check(kind="preflight", ok=ok, diagnosis=knowledge.named(id_, facts, cases=cases))


def check_account(user: str, auth_user: str, password: str, knowledge: Knowledge) -> list[Check]:
    """User ID format for the provider profile, and password whitespace."""
    findings: list[Check] = []
    profile = knowledge.profile
    rule = profile.user_id
    if rule is not None:
        facts: dict[str, object] = {
            "user": user,
            "auth_user": auth_user,
            "profile": profile.name,
            "user_id_rule": rule.description,
            "user_id_example": rule.example,
        }
        if not rule.accepts(user):
            findings.append(_finding(knowledge, "preflight.user_id_format", facts))
        if auth_user != user and not rule.accepts(auth_user):
            findings.append(_finding(knowledge, "preflight.auth_user_format", facts))
    if password != password.strip():
        findings.append(_finding(knowledge, "preflight.password_whitespace", {}))
    return findings


_SEPARATORS = re.compile(r"[\s\-./()]")
_DIALABLE = re.compile(r"\+?[0-9*#]+")


def check_number(number: str, knowledge: Knowledge) -> tuple[str, list[Check]]:
    """The number to dial (separators removed) and what looks wrong with it.

    A finding with `ok=False` means the provider will refuse the number as
    typed; the caller dials anyway only when the user insists (--force).
    """
    findings: list[Check] = []
    if number.lower().startswith(("sip:", "sips:")) or "@" in number:
        return number, findings
    dialled = _SEPARATORS.sub("", number)
    profile = knowledge.profile
    facts: dict[str, object] = {"typed": number, "number": dialled, "profile": profile.name}
    if dialled != number and _DIALABLE.fullmatch(dialled):
        findings.append(_finding(knowledge, "preflight.number_separators", facts))
    if not _DIALABLE.fullmatch(dialled):
        findings.append(_finding(knowledge, "preflight.number_characters", facts, ok=False))
        return dialled, findings
    rules = profile.numbers
    rewritten = rules.rewrite_plus(dialled)
    if rewritten is not None:
        facts.update(dial_instead=rewritten, international_prefix=rules.international_prefix)
        findings.append(
            _finding(knowledge, "preflight.number_plus_form", facts, ok=False, cases=("refused",))
        )
    elif dialled.startswith("+"):
        facts["without_plus"] = dialled[1:]
        findings.append(_finding(knowledge, "preflight.number_plus_form", facts))
    premium = next((p for p in rules.premium_prefixes if dialled.startswith(p)), None)
    if premium is not None:
        facts["prefix"] = premium
        findings.append(_finding(knowledge, "preflight.number_premium", facts))
    national = rules.national_prefix
    international = rules.international_prefix
    if (
        national
        and rules.min_national_digits
        and dialled.startswith(national)
        and not (international and dialled.startswith(international))
        and len(dialled) < rules.min_national_digits
    ):
        facts.update(
            digits=len(dialled), min_digits=rules.min_national_digits, national_prefix=national
        )
        findings.append(_finding(knowledge, "preflight.number_too_short", facts))
    return dialled, findings
