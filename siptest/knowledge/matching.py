"""Choosing the diagnosis for a situation: the most specific matching entry wins.

Precedence, compared in this order (see `Conditions.specificity`):

1. an entry that matched the message text (reason phrase or Warning) beats one that did not;
2. conditions on origin / local cause beat the remote defaults;
3. more context conditions win: method, provisional responses seen, credentials sent,
   own CANCEL, Server header, transport (so a method-specific entry beats a generic one);
4. an exact code beats a class ("4xx"), which beats no code at all;
5. a profile entry beats a base entry;
6. the entry that comes first wins.

Every step is a plain comparison, so the choice is deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from siptest.knowledge.model import Diagnosis, Entry, Profile, Situation, Wording
from siptest.knowledge.placeholders import DURATIONS, fact_text, render

_NO_FACTS: Mapping[str, object] = MappingProxyType({})
_NAMED = Situation(method="", code=None)
"""Named diagnoses answer no SIP request: their texts use the analyser's facts only."""


class Knowledge:
    """The base overlaid by one profile, ready to diagnose situations."""

    def __init__(
        self, entries: Sequence[Entry], profile: Profile, neutral: Mapping[str, str]
    ) -> None:
        self.profile = profile
        self._entries = tuple(entries)
        self._neutral = neutral
        self._named: dict[str, Entry] | None = None

    def entries(self) -> Sequence[Entry]:
        """Every entry, base and profile, in file order (for `explain --list`)."""
        return self._entries

    @property
    def placeholders(self) -> Mapping[str, str]:
        """Every placeholder a text may use, with its neutral phrase."""
        return self._neutral

    def select(self, situation: Situation) -> Entry:
        """The entry that explains `situation` best (the base always has a catch-all)."""
        best: Entry | None = None
        best_key: tuple[int, ...] = ()
        for entry in self._entries:
            conditions = entry.best_match(situation)
            if conditions is None:
                continue
            key = (*conditions.specificity, entry.layer, -entry.order)
            if best is None or key > best_key:
                best, best_key = entry, key
        if best is None:  # only a hand-built Knowledge can lack the catch-all
            raise LookupError(f"no knowledge entry matches {situation!r}")
        return best

    def diagnose(self, situation: Situation, facts: Mapping[str, object] = _NO_FACTS) -> Diagnosis:
        """The diagnosis for `situation`, its texts filled from `facts`.

        `facts` may hold any of the placeholders (host, port, user, timeout,
        retry_after, min_expires, number, ...); missing ones read neutrally.
        Never pass a secret: texts are shown and written to reports.
        """
        entry = self.select(situation)
        return self.render(entry, situation, facts)

    def render(
        self, entry: Entry, situation: Situation, facts: Mapping[str, object] = _NO_FACTS
    ) -> Diagnosis:
        """`entry`'s texts for `situation`, filled from the facts."""
        values = self.values(situation, facts)
        wording = entry.wording(situation.method)
        assert wording.title and wording.explanation and wording.fix
        return Diagnosis(
            id=entry.id,
            category=entry.category,
            severity=entry.severity,
            title=render(wording.title, values, self._neutral),
            explanation=render(wording.explanation, values, self._neutral),
            fix=render(wording.fix, values, self._neutral),
            rfc=entry.rfc,
            code=situation.code,
        )

    def named(
        self,
        id_: str,
        facts: Mapping[str, object] = _NO_FACTS,
        *,
        cases: Sequence[str] = (),
        notes: Sequence[str] = (),
        fix_notes: Sequence[str] = (),
    ) -> Diagnosis:
        """A diagnosis the analyser chose itself (media, NAT, pre-flight, clean-up...).

        `cases` names the entry's cases that apply (texts, category or severity that
        differ; a later case wins a key both set); `notes` and `fix_notes` name
        sentences of the entry's `notes`, added in that order to the explanation and
        to the fix. Asking for an id, case or note the knowledge does not have is a
        programming error (KeyError).
        """
        entry = self._named_entry(id_)
        wording = Wording()
        for case in cases:
            given = entry.cases[case]
            wording = Wording(
                **{
                    key: getattr(given, key) or getattr(wording, key)
                    for key in ("title", "explanation", "fix", "category", "severity")
                }
            )
        values = self.values(_NAMED, facts)

        def text(template: str, extra: Sequence[str]) -> str:
            parts = [template, *(entry.notes[name] for name in extra)]
            return " ".join(render(part, values, self._neutral) for part in parts)

        return Diagnosis(
            id=entry.id,
            category=wording.category or entry.category,
            severity=wording.severity or entry.severity,
            title=text(wording.title or entry.title, ()),
            explanation=text(wording.explanation or entry.explanation, notes),
            fix=text(wording.fix or entry.fix, fix_notes),
            rfc=entry.rfc,
        )

    def entry(self, id_: str) -> Entry | None:
        """The entry with this id, or None."""
        return next((entry for entry in self._entries if entry.id == id_), None)

    def _named_entry(self, id_: str) -> Entry:
        named = self._named
        if named is None:
            named = self._named = {entry.id: entry for entry in self._entries if entry.named}
        return named[id_]

    def values(self, situation: Situation, facts: Mapping[str, object]) -> dict[str, str]:
        """Placeholder values: profile facts, then the situation, then the caller's facts."""
        values = dict(self.profile.facts)
        values.update(
            code="" if situation.code is None else str(situation.code),
            reason=situation.reason.strip(),
            method=situation.method.upper(),
            transport=situation.transport.upper(),
            warning=(situation.warning or "").strip(),
            server=(situation.server or "").strip(),
            provisional=", ".join(str(code) for code in situation.provisional),
        )
        for name, value in facts.items():
            text = fact_text(value)
            if text and name in DURATIONS and isinstance(value, (int, float)):
                # "within 1 second", "at least 30 seconds": the unit is worded here.
                text += " second" if value == 1 else " seconds"
            if text:
                values[name] = text
        return values
