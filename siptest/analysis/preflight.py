"""Checks made before any packet: things a person typed that will not work.

Findings are advice: they are reported as `preflight` checks and never stop a
test the user asked for (the server has the last word).
"""

from __future__ import annotations

import re

from siptest.analysis.model import Check, Verdict
from siptest.knowledge import Profile


def _finding(id_: str, category: str, title: str, explanation: str, fix: str) -> Check:
    return Check(
        kind="preflight",
        ok=True,
        diagnosis=Verdict(
            id=id_,
            category=category,
            severity="warning",
            title=title,
            explanation=explanation,
            fix=fix,
        ),
    )


def check_account(user: str, auth_user: str, password: str, profile: Profile) -> list[Check]:
    """User ID format for the provider profile, and password whitespace."""
    findings: list[Check] = []
    rule = profile.user_id
    if rule is not None and not re.fullmatch(rule.pattern, user):
        findings.append(
            _finding(
                "preflight.user_id_format",
                "account",
                "The user ID does not look like this provider's user IDs",
                f"'{user}' does not match the {profile.name} format: {rule.description}",
                f"Enter the user ID exactly as your provider shows it, e.g. {rule.example}, "
                "in the user ID (or 'SIP user', 'account') field of your device's SIP settings.",
            )
        )
    if rule is not None and auth_user != user and not re.fullmatch(rule.pattern, auth_user):
        findings.append(
            _finding(
                "preflight.auth_user_format",
                "account",
                "The authentication user does not look like this provider's user IDs",
                f"'{auth_user}' does not match the {profile.name} format: {rule.description}",
                f"Use the same user ID for authentication, e.g. {rule.example}.",
            )
        )
    if password != password.strip():
        findings.append(
            _finding(
                "preflight.password_whitespace",
                "credentials",
                "The password starts or ends with a space",
                "The password siptest was given has leading or trailing whitespace. That is "
                "almost always a copy-paste accident, and the server will reject it.",
                "Copy the SIP password again without surrounding spaces or line breaks "
                "(siptest sends it exactly as given).",
            )
        )
    return findings


_SEPARATORS = re.compile(r"[\s\-./()]")


def _blocking(id_: str, category: str, title: str, explanation: str, fix: str) -> Check:
    check = _finding(id_, category, title, explanation, fix)
    assert check.diagnosis is not None
    return Check(
        kind="preflight",
        ok=False,
        diagnosis=Verdict(
            id=check.diagnosis.id,
            category=category,
            severity="error",
            title=title,
            explanation=explanation,
            fix=fix,
        ),
    )


def check_number(number: str, profile: Profile) -> tuple[str, list[Check]]:
    """The number to dial (separators removed) and what looks wrong with it.

    A finding with `ok=False` means the provider will refuse the number as
    typed; the caller dials anyway only when the user insists (--force).
    """
    findings: list[Check] = []
    if number.lower().startswith(("sip:", "sips:")) or "@" in number:
        return number, findings
    dialled = _SEPARATORS.sub("", number)
    if dialled != number and re.fullmatch(r"\+?[0-9*#]+", dialled):
        findings.append(
            _finding(
                "preflight.number_separators",
                "number",
                "Spaces and separators were removed from the number",
                f"'{number}' is dialled as {dialled}: SIP sends the digits only.",
                "Nothing to change; phones strip these characters too.",
            )
        )
    if not re.fullmatch(r"\+?[0-9*#]+", dialled):
        findings.append(
            _blocking(
                "preflight.number_characters",
                "number",
                "The number contains characters a phone cannot dial",
                f"'{number}' contains letters or symbols other than digits, * and #.",
                "Dial digits only, e.g. 0321234567, or give a full SIP URI (sip:user@host).",
            )
        )
        return dialled, findings
    rules = profile.numbers
    rewritten = rules.rewrite_plus(dialled)
    if rewritten is not None:
        findings.append(
            _blocking(
                "preflight.number_plus_form",
                "number",
                "The + form of the number is not supported",
                f"{profile.name} does not accept numbers in the +… form, such as {dialled}; "
                'calls dialled that way are refused ("This call is not covered by your '
                'tariff plan").',
                f"Dial {rewritten} instead: {rules.international_prefix} replaces the +.",
            )
        )
    elif dialled.startswith("+"):
        findings.append(
            _finding(
                "preflight.number_plus_form",
                "number",
                "Some providers do not accept the + form of a number",
                f"{dialled} is in the international + form. Many providers and adapters "
                "expect the international prefix instead (00 in most of Europe).",
                f"If the call is refused, dial 00{dialled[1:]} (or your country's "
                "international prefix) instead.",
            )
        )
    premium = next((p for p in rules.premium_prefixes if dialled.startswith(p)), None)
    if premium is not None:
        findings.append(
            _finding(
                "preflight.number_premium",
                "tariff",
                "This is a premium-rate or service number",
                f"{dialled} starts with {premium}, a premium-rate/service prefix that "
                f'{profile.name} does not connect; expect 403 "This call is not covered by '
                'your tariff plan".',
                "Dial a regular number, or ask the provider to enable premium numbers.",
            )
        )
    national = rules.national_prefix
    international = rules.international_prefix
    if (
        national
        and rules.min_national_digits
        and dialled.startswith(national)
        and not (international and dialled.startswith(international))
        and len(dialled) < rules.min_national_digits
    ):
        findings.append(
            _finding(
                "preflight.number_too_short",
                "number",
                "The number looks too short",
                f"{dialled} has {len(dialled)} digits; national numbers have "
                f"{rules.min_national_digits} including the leading {national}. "
                "The server will probably answer 484 Address Incomplete.",
                "Dial the full national number with its area code, e.g. 0321234567.",
            )
        )
    return dialled, findings
