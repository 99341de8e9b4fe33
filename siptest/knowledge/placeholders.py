"""Filling {placeholders} in diagnosis texts.

Syntax (documented in docs/profiles.md):

- ``{name}`` — the fact's value; when the fact is missing, the neutral phrase the
  base declares for it (``host`` → "the server").
- ``{name|words}`` — the fact's value, or ``words`` when it is missing.
- ``[[ ... ]]`` — an optional part: dropped as a whole when any plain ``{name}``
  inside it is missing, so "nothing accepted the connection[[ at {host}:{port}]]"
  reads well with or without the address.

Rendering never raises: an unknown name renders as its neutral phrase or, failing
that, as the name in words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)(?:\|([^{}\[\]]*))?\}")
OPTIONAL = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)
_SPACES = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_STOP = re.compile(r"[ \t]+([.,;])")


def names_in(template: str) -> set[str]:
    """The placeholder names a template uses."""
    return {match.group(1) for match in PLACEHOLDER.finditer(template)}


def syntax_problem(template: str) -> str | None:
    """What is wrong with a template's markup, or None."""
    without_optional = OPTIONAL.sub("", template)
    if "[[" in without_optional or "]]" in without_optional:
        return "unbalanced [[ ]] (optional parts cannot nest)"
    for inner in OPTIONAL.findall(template):
        if not names_in(inner):
            return "an optional part [[ ]] without a {placeholder} would always show"
    leftover = PLACEHOLDER.sub("", template)
    if re.search(r"\{[^{}]*\}", leftover):
        bad = re.search(r"\{[^{}]*\}", leftover)
        assert bad is not None
        return f"{bad.group(0)} is not a placeholder (use lower-case names like {{host}})"
    return None


def render(template: str, values: Mapping[str, str], neutral: Mapping[str, str]) -> str:
    """Fill a template from `values`, falling back to `neutral` phrases."""

    def fill(match: re.Match[str]) -> str:
        name, fallback = match.group(1), match.group(2)
        value = values.get(name)
        if value:
            return value
        if fallback is not None:
            return fallback
        return neutral.get(name) or name.replace("_", " ")

    def optional(match: re.Match[str]) -> str:
        inner = match.group(1)
        for placeholder in PLACEHOLDER.finditer(inner):
            if placeholder.group(2) is None and not values.get(placeholder.group(1)):
                return ""
        return PLACEHOLDER.sub(fill, inner)

    text = OPTIONAL.sub(optional, template)
    text = PLACEHOLDER.sub(fill, text)
    text = _SPACES.sub(" ", text)
    return _SPACE_BEFORE_STOP.sub(r"\1", text).strip()


DURATIONS = frozenset({"timeout", "ring_timeout", "retry_after", "min_expires", "expires"})
"""Facts given in seconds: their texts say the unit ("1 second", "30 seconds")."""


def fact_text(value: object) -> str:
    """A fact as text: 5.0 → "5", ["a", "b"] → "a, b", None → ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(fact_text(item) for item in value)
    return str(value).strip()
