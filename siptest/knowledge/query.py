"""Turning what a person types into `siptest explain` into a `Situation`.

486                                → code 486 with its standard phrase "Busy Here"
"Busy Here"                        → the same, found by the standard phrase
"403 This account is not valid"    → code 403 with that reason phrase
"This account is not valid"        → no code, that text (matched against messages)
"SIP/2.0 486 Busy Here"            → a pasted status line: as "486 Busy Here"
"Busy"                             → part of a standard phrase, when no message
                                     text matches: the lowest code whose phrase has
                                     those words (486 Busy Here before 600 Busy Everywhere)
"""

from __future__ import annotations

import re

from siptest.errors import UsageError
from siptest.knowledge.matching import Knowledge
from siptest.knowledge.model import Entry, Situation
from siptest.knowledge.registry import code_for_phrase, code_for_words, reason_phrase

_CODE = re.compile(r"^\d+$")
_STATUS_LINE = re.compile(r"^sip/2\.0\s+", re.IGNORECASE)
_CODE_AND_TEXT = re.compile(r"^(\d{3})\s+(.*\S)$")

HOW_TO_ASK = (
    "Pass a SIP response code (100-699), e.g. `siptest explain 486`, or the text a "
    'server sent, e.g. `siptest explain "This account is not valid"`, or a diagnosis id '
    "from a report, e.g. `siptest explain media.no_audio`; `siptest explain --list` shows "
    "every diagnosis."
)


def situation_for(query: str, method: str | None = None) -> Situation:
    """The situation a query describes; UsageError when it describes none."""
    method = normalised_method(method)
    text = _STATUS_LINE.sub("", " ".join(query.split()))
    if not text:
        raise UsageError(f"Nothing to explain. {HOW_TO_ASK}")
    if _CODE.match(text):
        code = _code(text)
        return Situation(method=method, code=code, reason=reason_phrase(code))
    both = _CODE_AND_TEXT.match(text)
    if both:
        return Situation(method=method, code=_code(both.group(1)), reason=both.group(2))
    standard = code_for_phrase(text)
    if standard is not None:
        return Situation(method=method, code=standard, reason=reason_phrase(standard))
    return Situation(method=method, code=None, reason=text)


def understand(knowledge: Knowledge, query: str, method: str | None) -> tuple[Situation, Entry]:
    """The situation a query describes and its entry (see the module's table)."""
    situation = situation_for(query, method)
    try:
        return situation, entry_for(knowledge, situation)
    except UsageError:
        code = code_for_words(situation.reason) if situation.code is None else None
        if code is None:
            raise
    situation = Situation(method=situation.method, code=code, reason=reason_phrase(code))
    return situation, entry_for(knowledge, situation)


def entry_for(knowledge: Knowledge, situation: Situation) -> Entry:
    """The entry for a query's situation; UsageError when a text matches no message."""
    entry = knowledge.select(situation)
    if situation.code is None:
        conditions = entry.best_match(situation)
        if conditions is None or not conditions.texts:
            raise UsageError(f'No diagnosis mentions "{situation.reason}". {HOW_TO_ASK}')
    return entry


def normalised_method(method: str | None) -> str:
    """ "register" → "REGISTER"; None → "" (any request)."""
    if method is None:
        return ""
    upper = method.strip().upper()
    if upper not in SIP_METHODS:
        raise UsageError(
            f"--method {method!r} is not a SIP method; use REGISTER or INVITE "
            f"(or another of {', '.join(sorted(SIP_METHODS - {'REGISTER', 'INVITE'}))})."
        )
    return upper


SIP_METHODS = frozenset(
    {
        "REGISTER", "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "INFO", "UPDATE", "PRACK",
        "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH",
    }
)  # fmt: skip
"""RFC 3261 and the extensions' methods (RFC 3262, 3265, 3311, 3428, 3515, 3903, 6086)."""


def _code(digits: str) -> int:
    code = int(digits)
    if not 100 <= code <= 699:
        raise UsageError(f"{digits} is not a SIP response code: they run from 100 to 699.")
    return code
