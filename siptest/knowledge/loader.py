"""Reading and validating knowledge files: base.yaml and provider profiles.

The YAML is composed into a node tree (not constructed into dicts) so that every
error can name the file, the line and the key: ``FILE:LINE: key 'x': what is wrong``.

Start-up matters (siptest is compared with sipsak), so the bundled files are not
parsed on every run: `_snapshot.py` holds the same objects, generated from the YAML
by ``python -m siptest.knowledge.snapshot`` together with a checksum of each source
file. When the checksums still match, loading is an import; when a bundled file was
edited, the YAML is parsed as usual (and a unit test says to regenerate). PyYAML is
imported only when a file has to be parsed, and results are cached per process.
One entry of a file is read by `entries.py`; this module reads the files, the base and
the profiles, and overlays them.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Any

from siptest.errors import UsageError
from siptest.knowledge.entries import ENTRY_KEYS, NAME, read_entry
from siptest.knowledge.matching import Knowledge
from siptest.knowledge.model import (
    Conditions,
    Entry,
    NumberRules,
    Profile,
    UserIdRule,
)

if TYPE_CHECKING:
    from yaml.nodes import Node

    from siptest.knowledge.document import Document

HERE = Path(__file__).resolve().parent
BASE_FILE = HERE / "base.yaml"
PROFILES_DIR = HERE / "profiles"
DEFAULT_PROFILE = "generic"

PROFILE_KEYS = ("name", "description", "extends", "facts", "user_id", "numbers")
USER_ID_KEYS = ("pattern", "example", "description")
NUMBER_KEYS = (
    "national_prefix",
    "international_prefix",
    "country_code",
    "plus_supported",
    "premium_prefixes",
    "min_national_digits",
)
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_DIGITS = re.compile(r"^[0-9]+$")


class KnowledgeError(UsageError):
    """A knowledge or profile file is malformed; the message names file, line and key."""


# -- the public entry point ------------------------------------------------------------


def load_knowledge(profile: str | Path | None = None) -> Knowledge:
    """The base overlaid by a profile.

    None means "generic"; a bare name ("sipcall") is a bundled profile; a path (or a
    name ending in .yaml/.yml, or containing a slash) is the user's own profile file.
    """
    if profile is None:
        profile = DEFAULT_PROFILE
    if isinstance(profile, str) and _PROFILE_NAME.match(profile) and not _looks_like_file(profile):
        return _bundled_knowledge(profile)
    path = Path(profile).expanduser()
    try:
        stat = path.stat()
    except OSError as error:
        raise KnowledgeError(
            f"{path}: cannot read the profile ({error.strerror or error}). Pass a bundled "
            f"profile name ({', '.join(bundled_profiles())}) or the path of a profile YAML file."
        ) from None
    return _file_knowledge(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def bundled_profiles() -> list[str]:
    """Names of the profiles shipped with siptest."""
    return sorted(path.stem for path in PROFILES_DIR.glob("*.yaml"))


def _looks_like_file(name: str) -> bool:
    return name.endswith((".yaml", ".yml"))


@cache
def _bundled_knowledge(name: str) -> Knowledge:
    path = PROFILES_DIR / f"{name}.yaml"
    if not path.is_file():
        import difflib

        known = bundled_profiles()
        if name.lower() in known:
            return _bundled_knowledge(name.lower())
        close = difflib.get_close_matches(name.lower(), known, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise KnowledgeError(
            f"unknown profile '{name}'.{hint} Bundled profiles: {', '.join(known)}; "
            "or pass the path of your own profile YAML file (see docs/profiles.md)."
        )
    snapshot = fresh_snapshot()
    if snapshot is not None and name in snapshot.PROFILES:
        profile, entries, neutral = snapshot.PROFILES[name]
        return Knowledge(entries, profile, neutral)
    return _knowledge_from(path)


def bundled_from_yaml() -> tuple[BaseKnowledge, dict[str, Knowledge]]:
    """Parse every bundled file, ignoring the snapshot (used to generate and test it)."""
    base = base_from_yaml()
    return base, {
        name: _knowledge_from(PROFILES_DIR / f"{name}.yaml", base) for name in bundled_profiles()
    }


@lru_cache(maxsize=8)
def _file_knowledge(path: str, mtime_ns: int, size: int) -> Knowledge:
    del mtime_ns, size  # cache key only: a changed file is read again
    return _knowledge_from(Path(path))


def _knowledge_from(path: Path, base: BaseKnowledge | None = None) -> Knowledge:
    """The base (by default the cached one) overlaid by the profile file at `path`."""
    base_entries, placeholders = base or _base()
    entries = list(base_entries)
    neutral = dict(placeholders)
    profile: Profile | None = None
    order = len(entries)
    for layer, document in enumerate(_profile_chain(path, seen=()), start=1):
        profile, entries, order = _overlay(document, profile, entries, neutral, layer, order)
    assert profile is not None
    return Knowledge(entries, profile, MappingProxyType(neutral))


def _profile_chain(path: Path, seen: tuple[Path, ...]) -> list[Document]:
    """The profile file and the bundled profiles it extends, most general first."""
    if path in seen:
        raise KnowledgeError(f"{path}: profile 'extends' forms a loop")
    document = _read(path)
    parent = _profile_extends(document)
    if parent is None:
        return [document]
    return [*_profile_chain(PROFILES_DIR / f"{parent}.yaml", (*seen, path)), document]


# -- the snapshot of the bundled files ------------------------------------------------


def source_checksums() -> dict[str, str]:
    """ "size:crc32" of every bundled knowledge file, keyed by its path in the package."""
    files = [BASE_FILE, *sorted(PROFILES_DIR.glob("*.yaml"))]
    sums: dict[str, str] = {}
    for file in files:
        data = file.read_bytes()
        sums[file.relative_to(HERE).as_posix()] = f"{len(data)}:{zlib.crc32(data):08x}"
    return sums


@lru_cache(maxsize=1)
def fresh_snapshot() -> ModuleType | None:
    """The generated `_snapshot` module if it matches the bundled files, else None."""
    try:
        from siptest.knowledge import _snapshot
    except ImportError:
        return None
    if getattr(_snapshot, "SOURCES", None) != source_checksums():
        return None
    return _snapshot


# -- the base --------------------------------------------------------------------------

BaseKnowledge = tuple[tuple[Entry, ...], Mapping[str, str]]


@lru_cache(maxsize=1)
def _base() -> BaseKnowledge:
    """Base entries and placeholders: from the snapshot when fresh, else from base.yaml."""
    snapshot = fresh_snapshot()
    if snapshot is not None:
        return snapshot.BASE_ENTRIES, snapshot.BASE_PLACEHOLDERS
    return base_from_yaml()


def base_from_yaml() -> BaseKnowledge:
    """Parse and validate base.yaml."""
    document = _read(BASE_FILE)
    top = document.mapping(document.root, allowed=("placeholders", "entries"))
    placeholders_node = document.require(top, "placeholders", document.root)
    placeholders: dict[str, str] = {}
    for key, (key_node, value_node) in document.mapping(
        placeholders_node, key="placeholders"
    ).items():
        if not NAME.match(key):
            document.fail(key_node, key, "placeholder names are lower_case_with_underscores")
        placeholders[key] = document.text(value_node, key)
    entries_node = document.require(top, "entries", document.root)
    entries: list[Entry] = []
    seen: dict[str, Node] = {}
    for index, entry_node in enumerate(document.sequence(entries_node, "entries")):
        entry = read_entry(document, entry_node, placeholders, layer=0, order=index, base=None)
        _check_unique(document, entry, entry_node, seen)
        entries.append(entry)
    if not any(_is_catch_all(entry) for entry in entries):
        document.fail(entries_node, "entries", "the base needs a catch-all entry (match: {})")
    return tuple(entries), MappingProxyType(placeholders)


def _is_catch_all(entry: Entry) -> bool:
    return Conditions() in entry.alternatives


def _check_unique(document: Document, entry: Entry, node: Node, seen: dict[str, Node]) -> None:
    if entry.id in seen:
        first = seen[entry.id].start_mark.line + 1
        id_node = document.mapping(node)["id"][1]
        document.fail(id_node, "id", f"'{entry.id}' is already used on line {first}")
    seen[entry.id] = node


# -- a profile -------------------------------------------------------------------------


def _overlay(
    document: Document,
    parent: Profile | None,
    entries: list[Entry],
    neutral: dict[str, str],
    layer: int,
    order: int,
) -> tuple[Profile, list[Entry], int]:
    """Apply one profile file on top of what is loaded so far."""
    top = document.mapping(document.root, allowed=("profile", "entries"))
    profile_node = document.require(top, "profile", document.root)
    profile = _profile(document, profile_node, parent)
    for name in profile.facts:
        neutral.setdefault(name, name.replace("_", " "))
    known = dict(neutral)
    by_id = {entry.id: index for index, entry in enumerate(entries)}
    seen: dict[str, Node] = {}
    if "entries" in top:
        for entry_node in document.sequence(top["entries"][1], "entries"):
            fields = document.mapping(entry_node, allowed=ENTRY_KEYS, key="entries")
            id_node = document.require(fields, "id", entry_node)
            entry_id = document.text(id_node, "id")
            if entry_id in by_id and entry_id not in seen:
                index = by_id[entry_id]
                patched = read_entry(
                    document, entry_node, known, layer, entries[index].order, entries[index]
                )
                entries[index] = patched
            else:
                patched = read_entry(document, entry_node, known, layer, order, None)
                by_id[entry_id] = len(entries)
                entries.append(patched)
                order += 1
            _check_unique(document, patched, entry_node, seen)
    return profile, entries, order


def _profile(document: Document, node: Node, parent: Profile | None) -> Profile:
    fields = document.mapping(node, allowed=PROFILE_KEYS, key="profile")
    name = (
        document.text(fields["name"][1], "name") if "name" in fields else Path(document.path).stem
    )
    description = (
        document.text(fields["description"][1], "description") if "description" in fields else ""
    )
    facts: dict[str, str] = dict(parent.facts) if parent else {}
    own_facts: set[str] = set()
    if "facts" in fields:
        facts_node = fields["facts"][1]
        for key, (key_node, value_node) in document.mapping(facts_node, key="facts").items():
            if not NAME.match(key):
                document.fail(key_node, key, "fact names are lower_case_with_underscores")
            facts[key] = document.text(value_node, key)
            own_facts.add(key)
    user_id = parent.user_id if parent else None
    if "user_id" in fields:
        user_id = _user_id(document, fields["user_id"][1])
        # The wording of the rule follows the rule, unless this file words it itself.
        derived = {
            "user_id_example": user_id.example if user_id else None,
            "user_id_rule": user_id.description if user_id else None,
        }
        for key, value in derived.items():
            if key in own_facts:
                continue
            if value:
                facts[key] = value
            else:
                facts.pop(key, None)
    numbers = parent.numbers if parent else NumberRules()
    if "numbers" in fields:
        numbers = _numbers(document, fields["numbers"][1])
    return Profile(
        name=name,
        description=description,
        facts=MappingProxyType(facts),
        user_id=user_id,
        numbers=numbers,
        source=document.path,
    )


def _user_id(document: Document, node: Node) -> UserIdRule | None:
    if document.is_null(node):
        return None
    fields = document.mapping(node, allowed=USER_ID_KEYS, key="user_id")
    pattern_node = document.require(fields, "pattern", node)
    pattern = document.text(pattern_node, "pattern")
    try:
        re.compile(pattern)
    except re.error as error:
        document.fail(pattern_node, "pattern", f"not a valid regular expression: {error}")
    example = document.optional_text(fields, "example")
    rule = UserIdRule(pattern, example, document.optional_text(fields, "description"))
    if example is not None and not rule.accepts(example):
        document.fail(fields["example"][1], "example", f"'{example}' does not match the pattern")
    return rule


def _numbers(document: Document, node: Node) -> NumberRules:
    fields = document.mapping(node, allowed=NUMBER_KEYS, key="numbers")
    values: dict[str, Any] = {}
    for key in ("national_prefix", "international_prefix", "country_code"):
        if key in fields and not document.is_null(fields[key][1]):
            value = document.text(fields[key][1], key)
            if not _DIGITS.match(value):
                document.fail(fields[key][1], key, "must be digits, written as a quoted string")
            values[key] = value
    if "plus_supported" in fields:
        values["plus_supported"] = document.boolean(fields["plus_supported"][1], "plus_supported")
    if "premium_prefixes" in fields:
        prefixes = document.strings(fields["premium_prefixes"][1], "premium_prefixes")
        for prefix in prefixes:
            if not _DIGITS.match(prefix):
                document.fail(
                    fields["premium_prefixes"][1], "premium_prefixes", f"'{prefix}' is not digits"
                )
        values["premium_prefixes"] = tuple(prefixes)
    if "min_national_digits" in fields and not document.is_null(fields["min_national_digits"][1]):
        values["min_national_digits"] = document.integer(
            fields["min_national_digits"][1], "min_national_digits", 1, 20
        )
    rules = NumberRules(**values)
    if not rules.plus_supported and rules.international_prefix is None:
        document.fail(
            node, "international_prefix", "needed when plus_supported is false (to rewrite +…)"
        )
    return rules


# -- YAML nodes with file:line errors --------------------------------------------------


def _display(file: Path) -> str:
    """How a file is named in errors and sources: bundled files relative to the package."""
    try:
        return "siptest/knowledge/" + file.resolve().relative_to(HERE).as_posix()
    except ValueError:
        return str(file)


def _read(file: Path) -> Document:
    path = _display(file)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise KnowledgeError(f"{path}: cannot read the file ({error})") from None
    from siptest.yamlsource import compose  # PyYAML only when a file is parsed

    root, loader = compose(text, path, KnowledgeError)
    if root is None:
        raise KnowledgeError(f"{path}:1: the file is empty")
    from siptest.knowledge.document import Document  # PyYAML is loaded by now

    return Document(path, root, loader, KnowledgeError)


def _profile_extends(document: Document) -> str | None:
    """The bundled profile a profile file builds on, if it names one."""
    top = document.mapping(document.root, allowed=("profile", "entries"))
    profile = document.require(top, "profile", document.root)
    fields = document.mapping(profile, allowed=PROFILE_KEYS)
    if "extends" not in fields:
        return None
    name = document.text(fields["extends"][1], "extends")
    if not _PROFILE_NAME.match(name) or not (PROFILES_DIR / f"{name}.yaml").is_file():
        document.fail(
            fields["extends"][1],
            "extends",
            f"'{name}' is not a bundled profile ({', '.join(bundled_profiles())})",
        )
    return name
