"""Reading one entry of a knowledge file: its match conditions, texts, method
wordings, and (for diagnoses the analyser names) its cases and notes.

Every mistake is a `KnowledgeError` naming the file, the line and the key
(`siptest.knowledge.document.Document.fail`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from siptest.knowledge.model import (
    CATEGORIES,
    LOCAL_CAUSES,
    ORIGINS,
    SEVERITIES,
    TRANSPORTS,
    WORDING_METHODS,
    Conditions,
    Entry,
    Wording,
)
from siptest.knowledge.placeholders import names_in, syntax_problem

if TYPE_CHECKING:
    from yaml.nodes import Node

    from siptest.knowledge.document import Document

ENTRY_KEYS = (
    "id",
    "match",
    "category",
    "severity",
    "title",
    "explanation",
    "fix",
    "rfc",
    "register",
    "invite",
    "cases",
    "notes",
)
REQUIRED_ENTRY_KEYS = ("id", "category", "severity", "title", "explanation", "fix", "rfc")
TEXT_KEYS = ("title", "explanation", "fix")
CASE_KEYS = (*TEXT_KEYS, "category", "severity")
MATCH_KEYS = (
    "code",
    "method",
    "origin",
    "text",
    "server",
    "provisional",
    "credentials_sent",
    "cancelled_by_us",
    "local_cause",
    "transport",
)
_ID = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_METHOD = re.compile(r"^[A-Z]+$")
_CLASS = re.compile(r"^([1-6])xx$", re.IGNORECASE)


def read_entry(
    document: Document,
    node: Node,
    placeholders: Mapping[str, str],
    layer: int,
    order: int,
    base: Entry | None,
) -> Entry:
    """An entry, or with `base` a patch of that entry (every key but id optional)."""
    fields = document.mapping(node, allowed=ENTRY_KEYS, key="entries")
    if base is None:
        for key in REQUIRED_ENTRY_KEYS:
            document.require(fields, key, node)
    entry_id = document.text(fields["id"][1], "id")
    if not _ID.match(entry_id):
        document.fail(
            fields["id"][1], "id", f"'{entry_id}' is not like 'category.name' (lower case, dots)"
        )
    changes: dict[str, Any] = {}
    if "match" in fields:
        changes["alternatives"] = _alternatives(document, fields["match"][1])
    for key, choices in (("category", CATEGORIES), ("severity", SEVERITIES)):
        if key in fields:
            changes[key] = document.choice(fields[key][1], key, choices)
    for key in TEXT_KEYS:
        if key in fields:
            changes[key] = _template(document, fields[key][1], key, placeholders)
    if "rfc" in fields:
        changes["rfc"] = (
            None if document.is_null(fields["rfc"][1]) else document.text(fields["rfc"][1], "rfc")
        )
    by_method: dict[str, Wording] = {}
    if base is not None:
        # A patched text replaces the base's method-specific versions of that text too.
        for method, wording in base.by_method.items():
            kept = {key: getattr(wording, key) for key in TEXT_KEYS if key not in changes}
            if any(kept.values()):
                by_method[method] = Wording(**kept)
    for method in WORDING_METHODS:
        key = method.lower()
        if key in fields:
            wording = _wording(document, fields[key][1], key, placeholders)
            earlier = by_method.get(method, Wording())
            by_method[method] = Wording(
                title=wording.title or earlier.title,
                explanation=wording.explanation or earlier.explanation,
                fix=wording.fix or earlier.fix,
            )
    named = "match" not in fields if base is None else base.named
    if base is not None and base.named and "match" in fields:
        document.fail(
            fields["match"][1],
            "match",
            f"'{entry_id}' is a diagnosis the analyser names itself: reword it, but it "
            "cannot be given a match",
        )
    if base is None and named and layer > 0:
        document.fail(
            node,
            "match",
            f"'{entry_id}' is not a diagnosis siptest gives: a profile can reword one "
            "(use its id) or add one with a match",
        )
    for key in ("cases", "notes"):
        if key in fields and not named:
            document.fail(
                fields[key][1], key, f"{key} belong to diagnoses the analyser names (no match)"
            )
    cases = dict(base.cases) if base is not None else {}
    if "cases" in fields:
        for name, case_node in _named_items(document, fields["cases"][1], "cases"):
            cases[name] = _case(document, case_node, name, placeholders, cases.get(name))
    notes = dict(base.notes) if base is not None else {}
    if "notes" in fields:
        for name, note_node in _named_items(document, fields["notes"][1], "notes"):
            notes[name] = _template(document, note_node, name, placeholders)
    source = f"{document.path}:{node.start_mark.line + 1}"
    if base is not None:
        return replace(
            base,
            **changes,
            by_method=MappingProxyType(by_method),
            cases=MappingProxyType(cases),
            notes=MappingProxyType(notes),
            source=source,
            layer=layer,
        )
    return Entry(
        id=entry_id,
        alternatives=changes.pop("alternatives", ()),
        by_method=MappingProxyType(by_method),
        cases=MappingProxyType(cases),
        notes=MappingProxyType(notes),
        source=source,
        layer=layer,
        order=order,
        **changes,
    )


def _named_items(document: Document, node: Node, key: str) -> list[tuple[str, Node]]:
    items = []
    for name, (name_node, value_node) in document.mapping(node, key=key).items():
        if not NAME.match(name):
            document.fail(name_node, name, f"{key} names are lower_case_with_underscores")
        items.append((name, value_node))
    return items


def _case(
    document: Document,
    node: Node,
    name: str,
    placeholders: Mapping[str, str],
    earlier: Wording | None,
) -> Wording:
    """One case of a named entry; a profile's case patches the base's key by key."""
    fields = document.mapping(node, allowed=CASE_KEYS, key=name)
    if not fields:
        document.fail(node, name, f"give at least one of {', '.join(CASE_KEYS)}")
    values: dict[str, str | None] = {
        key: getattr(earlier, key) if earlier else None for key in CASE_KEYS
    }
    for key, (_, value_node) in fields.items():
        if key == "category":
            values[key] = document.choice(value_node, key, CATEGORIES)
        elif key == "severity":
            values[key] = document.choice(value_node, key, SEVERITIES)
        else:
            values[key] = _template(document, value_node, key, placeholders)
    return Wording(**values)


def _wording(document: Document, node: Node, key: str, placeholders: Mapping[str, str]) -> Wording:
    fields = document.mapping(node, allowed=TEXT_KEYS, key=key)
    if not fields:
        document.fail(node, key, "give at least one of title, explanation, fix")
    texts = {
        name: _template(document, value_node, name, placeholders)
        for name, (_, value_node) in fields.items()
    }
    return Wording(**texts)


def _template(document: Document, node: Node, key: str, placeholders: Mapping[str, str]) -> str:
    text = document.text(node, key)
    problem = syntax_problem(text)
    if problem:
        document.fail(node, key, problem)
    unknown = sorted(names_in(text) - placeholders.keys())
    if unknown:
        document.fail(
            node,
            key,
            f"unknown placeholder {{{unknown[0]}}}; known: {', '.join(sorted(placeholders))}",
        )
    return text


def _alternatives(document: Document, node: Node) -> tuple[Conditions, ...]:
    if document.is_sequence(node):
        items = document.sequence(node, "match")
        if not items:
            document.fail(node, "match", "an empty list matches nothing; use {} to match all")
        return tuple(_conditions(document, item) for item in items)
    return (_conditions(document, node),)


def _conditions(document: Document, node: Node) -> Conditions:
    fields = document.mapping(node, allowed=MATCH_KEYS, what="match condition", key="match")
    values: dict[str, Any] = {}
    if "code" in fields:
        codes: set[int] = set()
        classes: set[int] = set()
        for item in document.items(fields["code"][1], "code"):
            value = document.scalar(item, "code")
            if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 699:
                codes.add(value)
            elif isinstance(value, str) and _CLASS.match(value):
                classes.add(int(value[0]))
            else:
                document.fail(item, "code", f"{value!r} is not a code 100-699 or a class like 4xx")
        values["codes"] = frozenset(codes)
        values["classes"] = frozenset(classes)
    if "method" in fields:
        methods = [m.upper() for m in document.strings(fields["method"][1], "method")]
        for method in methods:
            if not _METHOD.match(method):
                document.fail(fields["method"][1], "method", f"'{method}' is not a SIP method")
        values["methods"] = frozenset(methods)
    for key, attribute, choices in (
        ("origin", "origins", ORIGINS),
        ("local_cause", "local_causes", LOCAL_CAUSES),
        ("transport", "transports", TRANSPORTS),
    ):
        if key in fields:
            values[attribute] = frozenset(
                document.choice(item, key, choices) for item in document.items(fields[key][1], key)
            )
    for key, attribute in (("text", "texts"), ("server", "servers")):
        if key in fields:
            texts = document.strings(fields[key][1], key)
            if any(not text.strip() for text in texts):
                document.fail(fields[key][1], key, "an empty text would match everything")
            values[attribute] = tuple(text.lower() for text in texts)
    if "provisional" in fields:
        values["provisional"] = frozenset(
            document.integer(item, "provisional", 100, 199)
            for item in document.items(fields["provisional"][1], "provisional")
        )
    for key in ("credentials_sent", "cancelled_by_us"):
        if key in fields:
            values[key] = document.boolean(fields[key][1], key)
    conditions = Conditions(**values)
    if conditions.local_causes and "remote" in conditions.origins:
        document.fail(
            fields["local_cause"][1], "local_cause", "only local or absent responses have one"
        )
    return conditions
