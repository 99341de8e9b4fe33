"""The knowledge base as data: what happened (`Situation`), what it means (`Diagnosis`),
and the rules that connect them (`Entry`, `Conditions`), plus a provider's `Profile`.

Nothing here reads files or imports YAML; `loader.py` builds these objects and
`matching.py` chooses among them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, get_args

from siptest.ua.base import LocalCause, Origin, Transport

#: Diagnosis categories, exactly as DESIGN.md lists them for the JSON report.
CATEGORIES = (
    "none",
    "credentials",
    "account",
    "number",
    "tariff",
    "callee",
    "routing",
    "device",
    "server",
    "network",
    "tls",
    "media",
    "config",
    "siptest",
)
SEVERITIES = ("ok", "info", "warning", "error")
# The user agent's vocabulary: the values its outcomes carry, in one place.
ORIGINS: tuple[str, ...] = get_args(Origin)
LOCAL_CAUSES: tuple[str, ...] = (*get_args(LocalCause), "reproduced")
"""The user agent's local causes, and `reproduced`: the situation siptest's live analysis
asks about when siptest itself got an answer the knowledge blames on the caller's device
(`siptest.analysis.registration.diagnose_live`). No response ever carries it."""
TRANSPORTS: tuple[str, ...] = get_args(Transport)
#: Methods that may carry their own wording in an entry (`register:` / `invite:`).
WORDING_METHODS = ("REGISTER", "INVITE")

_ORIGIN_WORDS = {"remote": "sent by the server", "local": "made locally", "none": "no response"}


def _no_wordings() -> Mapping[str, Wording]:
    return MappingProxyType({})


def _no_facts() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Situation:
    """What happened to one SIP request, as the matcher sees it."""

    method: str
    """The request method: "REGISTER", "INVITE" or any other; "" when unknown."""
    code: int | None
    """The final response code; None when nothing came back at all."""
    reason: str = ""
    """The reason phrase of the final response."""
    origin: str = "remote"
    """"remote" (the server sent it), "local" (the SIP stack made it up) or "none"."""
    warning: str | None = None
    """Warning header value(s), e.g. '399 host "This account is not valid"'."""
    server: str | None = None
    """Server (or User-Agent) header of the response."""
    provisional: tuple[int, ...] = ()
    """1xx codes seen before the final response."""
    credentials_sent: bool = False
    """The rejected request already carried Authorization / Proxy-Authorization."""
    cancelled_by_us: bool = False
    """We sent CANCEL before this final response arrived."""
    local_cause: str | None = None
    """Why the local stack gave up (origin local/none): one of `LOCAL_CAUSES`."""
    transport: str = "udp"
    """"udp", "tcp" or "tls"."""


@dataclass(frozen=True)
class Diagnosis:
    """What a situation means and what to do about it, ready to show.

    The one type of every diagnosis siptest gives: chosen by the matcher for a SIP
    answer, or named by the analyser (`Knowledge.named`) for what it measured.
    """

    id: str
    """Stable identifier, e.g. "credentials.rejected"; the same under every profile."""
    category: str
    """One of `CATEGORIES`."""
    severity: str
    """One of `SEVERITIES`."""
    title: str
    explanation: str
    """What happened and why, in plain words."""
    fix: str
    """What to check or change, naming the setting."""
    rfc: str | None = None
    """Where the behaviour is specified, e.g. "RFC 3261 §21.4.2"."""
    code: int | None = None
    """The response code the diagnosis was chosen for (None when named by the analyser)."""

    def as_json(self) -> dict[str, Any]:
        """The report's `diagnosis` object (the code is the check's `response.code`)."""
        return {
            "id": self.id,
            "category": self.category,
            "severity": self.severity,
            "title": self.title,
            "explanation": self.explanation,
            "fix": self.fix,
            "rfc": self.rfc,
        }


@dataclass(frozen=True)
class Conditions:
    """One set of match conditions; all given conditions must hold.

    An unset condition (None or empty) matches anything.
    """

    codes: frozenset[int] = frozenset()
    classes: frozenset[int] = frozenset()
    """Response classes by their hundreds digit: 4 means "4xx"."""
    methods: frozenset[str] = frozenset()
    origins: frozenset[str] = frozenset()
    texts: tuple[str, ...] = ()
    """Lower-case substrings looked for in the reason phrase and the Warning header."""
    servers: tuple[str, ...] = ()
    """Lower-case substrings looked for in the Server header."""
    provisional: frozenset[int] = frozenset()
    credentials_sent: bool | None = None
    cancelled_by_us: bool | None = None
    local_causes: frozenset[str] = frozenset()
    transports: frozenset[str] = frozenset()

    def matches(self, situation: Situation) -> bool:
        code = situation.code
        if self.codes or self.classes:
            if code is None:
                return False
            if code not in self.codes and code // 100 not in self.classes:
                return False
        if self.methods and situation.method.upper() not in self.methods:
            return False
        if self.origins and situation.origin not in self.origins:
            return False
        if self.texts:
            # A Warning never changes what a success means (RFC 3261 20.43): text
            # rules without a code of their own are for failures only.
            if not (self.codes or self.classes) and code is not None and code < 300:
                return False
            haystack = f"{situation.reason}\n{situation.warning or ''}".lower()
            if not any(text in haystack for text in self.texts):
                return False
        if self.servers:
            server = (situation.server or "").lower()
            if not any(vendor in server for vendor in self.servers):
                return False
        if self.provisional and not self.provisional.intersection(situation.provisional):
            return False
        if (
            self.credentials_sent is not None
            and self.credentials_sent != situation.credentials_sent
        ):
            return False
        if self.cancelled_by_us is not None and self.cancelled_by_us != situation.cancelled_by_us:
            return False
        if self.local_causes and situation.local_cause not in self.local_causes:
            return False
        return not (self.transports and situation.transport.lower() not in self.transports)

    @cached_property
    def specificity(self) -> tuple[int, int, int, int]:
        """How specific these conditions are; larger wins.

        Compared field by field, in this order (the documented precedence):
        1. a message text condition (reason phrase / Warning);
        2. origin and local cause conditions (over the remote defaults);
        3. how many other context conditions: method, provisional, credentials
           sent, own CANCEL, Server, transport (so a method-specific entry beats
           a generic one with otherwise equal conditions);
        4. the code: exact beats class beats none.
        """
        origin = int(bool(self.origins)) + int(bool(self.local_causes))
        context = sum(
            (
                bool(self.methods),
                bool(self.provisional),
                self.credentials_sent is not None,
                self.cancelled_by_us is not None,
                bool(self.servers),
                bool(self.transports),
            )
        )
        if self.codes and not self.classes:
            code = 2
        elif self.classes:
            code = 1
        else:
            code = 0
        return (int(bool(self.texts)), origin, context, code)

    def describe(self) -> str:
        """A short human summary, e.g. "REGISTER, credentials sent"."""
        parts: list[str] = []
        if self.methods:
            parts.append("/".join(sorted(self.methods)))
        if self.origins:
            parts.append(" or ".join(_ORIGIN_WORDS[origin] for origin in sorted(self.origins)))
        if self.local_causes:
            parts.append("local cause " + "/".join(sorted(self.local_causes)))
        if self.texts:
            parts.append("text " + " | ".join(f'"{text}"' for text in self.texts))
        if self.servers:
            parts.append("server " + " | ".join(self.servers))
        if self.provisional:
            parts.append("after " + "/".join(str(c) for c in sorted(self.provisional)))
        if self.credentials_sent is not None:
            parts.append("credentials sent" if self.credentials_sent else "no credentials sent")
        if self.cancelled_by_us is not None:
            parts.append("after our CANCEL" if self.cancelled_by_us else "not cancelled by us")
        if self.transports:
            parts.append("over " + "/".join(sorted(self.transports)))
        return ", ".join(parts)

    def code_label(self) -> str:
        """The codes as written: "401,407", "4xx" or "" for any code."""
        labels = [str(code) for code in sorted(self.codes)]
        labels += [f"{hundreds}xx" for hundreds in sorted(self.classes)]
        return ",".join(labels)


@dataclass(frozen=True)
class Wording:
    """Texts that replace an entry's own (for one method, or one case); None keeps them."""

    title: str | None = None
    explanation: str | None = None
    fix: str | None = None
    category: str | None = None
    """Only in a case: the category when it differs from the entry's."""
    severity: str | None = None
    """Only in a case: the severity when it differs from the entry's."""


@dataclass(frozen=True)
class Entry:
    """One diagnosis rule of the knowledge base."""

    id: str
    alternatives: tuple[Conditions, ...]
    """The entry matches when any of these condition sets holds."""
    category: str
    severity: str
    title: str
    explanation: str
    fix: str
    rfc: str | None
    by_method: Mapping[str, Wording] = field(default_factory=lambda: _no_wordings())
    """Method-specific texts, keyed by upper-case method ("REGISTER", "INVITE")."""
    cases: Mapping[str, Wording] = field(default_factory=lambda: _no_wordings())
    """Texts for the situations the analyser tells apart ("nat", "refused"), by name."""
    notes: Mapping[str, str] = field(default_factory=lambda: _no_facts())
    """Sentences the analyser adds to the explanation or fix when they apply, by name."""
    source: str = ""
    """File and line the entry was read from, "FILE:LINE"."""
    layer: int = 0
    """0 for the base; profiles overlay with higher layers and win ties."""
    order: int = 0
    """Position across all loaded files; earlier wins a remaining tie."""

    @property
    def named(self) -> bool:
        """Chosen by the analyser by its id (it has no `match`), never by the matcher."""
        return not self.alternatives

    def best_match(self, situation: Situation) -> Conditions | None:
        """The most specific alternative that matches, or None."""
        best: Conditions | None = None
        for conditions in self.alternatives:
            if conditions.matches(situation) and (
                best is None or conditions.specificity > best.specificity
            ):
                best = conditions
        return best

    def wording(self, method: str) -> Wording:
        """Title, explanation and fix for this method, falling back to the entry's own."""
        override = self.by_method.get(method.upper(), Wording())
        return Wording(
            title=override.title or self.title,
            explanation=override.explanation or self.explanation,
            fix=override.fix or self.fix,
        )

    def code_label(self) -> str:
        """All codes the entry is written for: "401,407", "4xx", or "" for any."""
        seen: list[str] = []
        for conditions in self.alternatives:
            for label in conditions.code_label().split(","):
                if label and label not in seen:
                    seen.append(label)
        return ",".join(seen)

    def describe(self) -> str:
        """When the entry applies, as a short phrase ("" for code alone)."""
        return " or ".join(filter(None, (c.describe() for c in self.alternatives)))


@dataclass(frozen=True)
class UserIdRule:
    """What a valid user ID looks like for this provider (for pre-flight checks)."""

    pattern: str
    """A regular expression the whole user ID must match, e.g. r"^41\\d{9}$"."""
    example: str | None = None
    description: str | None = None
    """The rule in words, e.g. "41 followed by 9 digits, exactly as in the portal"."""

    @cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern)

    def accepts(self, user_id: str) -> bool:
        return self.regex.fullmatch(user_id) is not None


@dataclass(frozen=True)
class NumberRules:
    """How numbers must be dialled (for pre-flight checks).

    The defaults make no claim: a profile that says nothing about numbers gets a
    `NumberRules()` that accepts everything.
    """

    national_prefix: str | None = None
    """Trunk prefix of national numbers, e.g. "0" (032 123 45 67)."""
    international_prefix: str | None = None
    """Prefix of international numbers, e.g. "00" (0041 32 123 45 67)."""
    country_code: str | None = None
    """The provider's own country code, e.g. "41"."""
    plus_supported: bool = True
    """False when "+41…" must be dialled as international_prefix + "41…"."""
    premium_prefixes: tuple[str, ...] = ()
    """Premium-rate/service prefixes the provider does not connect, e.g. "0900"."""
    min_national_digits: int | None = None
    """Fewest digits of a national number, national prefix included (10 for 032 123 45 67)."""

    def rewrite_plus(self, number: str) -> str | None:
        """The number in a dialable form if the + form is not supported, else None."""
        if self.plus_supported or not number.startswith("+") or not self.international_prefix:
            return None
        return self.international_prefix + number[1:]


@dataclass(frozen=True)
class Profile:
    """A provider profile: rules for pre-flight checks and the wording facts."""

    name: str
    description: str = ""
    facts: Mapping[str, str] = field(default_factory=lambda: _no_facts())
    """Values for {placeholders} such as {portal}, e.g. "the sipcall customer portal"."""
    user_id: UserIdRule | None = None
    """None when the profile makes no claim about the user ID format."""
    numbers: NumberRules = field(default_factory=NumberRules)
    source: str = ""
    """The profile file."""
