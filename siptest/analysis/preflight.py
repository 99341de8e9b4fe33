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
