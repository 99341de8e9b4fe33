"""Meta-tests of the bundled knowledge: complete, well-formed, and the snapshot current."""

from __future__ import annotations

import re

import pytest

from siptest.knowledge import (
    CATEGORIES,
    SEVERITIES,
    Situation,
    bundled_profiles,
    load_knowledge,
)
from siptest.knowledge.loader import bundled_from_yaml, fresh_snapshot
from siptest.knowledge.registry import REASON_PHRASES

# The IANA SIP "Response Codes" registry, written out independently of registry.py.
REGISTRY_CODES = [
    *(100, 180, 181, 182, 183, 199),
    *(200, 202, 204),
    *(300, 301, 302, 305, 380),
    *(400, 401, 402, 403, 404, 405, 406, 407, 408, 410, 412, 413, 414, 415, 416, 417),
    *(420, 421, 422, 423, 424, 425, 428, 429, 430, 433, 436, 437, 438, 439, 440),
    *(469, 470, 480, 481, 482, 483, 484, 485, 486, 487, 488, 489, 491, 493, 494),
    *(500, 501, 502, 503, 504, 505, 513, 555, 580),
    *(600, 603, 604, 606, 607, 608),
]
# Codes that deliberately have no entry of their own and use their class fallback.
CLASS_FALLBACK_CODES: list[int] = []

PLACEHOLDER_LEFTOVER = re.compile(r"\{[a-z_|]*\}|\[\[|\]\]")


def base_entries():
    return bundled_from_yaml()[0][0]


def test_the_registry_module_lists_exactly_the_registry_codes():
    assert sorted(REASON_PHRASES) == sorted(REGISTRY_CODES)


@pytest.mark.parametrize("code", REGISTRY_CODES)
def test_every_registry_code_has_an_entry_or_a_deliberate_class_fallback(code):
    own = [
        entry
        for entry in base_entries()
        if any(code in conditions.codes for conditions in entry.alternatives)
    ]
    if code in CLASS_FALLBACK_CODES:
        assert not own
        assert load_knowledge().diagnose(Situation("INVITE", code)).id.startswith("fallback.")
    else:
        assert own, f"{code} has no entry in base.yaml"


@pytest.mark.parametrize("code", REGISTRY_CODES)
@pytest.mark.parametrize("method", ["", "REGISTER", "INVITE"])
def test_every_registry_code_gets_a_diagnosis_of_its_own(code, method):
    diagnosis = load_knowledge().diagnose(Situation(method, code, REASON_PHRASES[code]))
    assert not diagnosis.id.startswith("fallback.")
    assert diagnosis.code == code


@pytest.mark.parametrize(
    ("code", "fallback"),
    [(150, "1"), (299, "2"), (399, "3"), (477, None), (499, "4"), (599, "5"), (699, "6")],
)
def test_unknown_codes_fall_back_by_class_quoting_code_and_reason(code, fallback):
    diagnosis = load_knowledge().diagnose(Situation("INVITE", code, "Odd Phrase"))
    if fallback is None:  # 477 is non-standard but common enough to have its own entry
        assert diagnosis.id == "non_standard.next_hop_failed"
        return
    assert diagnosis.id == f"fallback.{fallback}xx"
    assert str(code) in diagnosis.explanation
    assert '"Odd Phrase"' in diagnosis.explanation


def test_a_code_outside_every_class_still_gets_a_diagnosis():
    diagnosis = load_knowledge().diagnose(Situation("INVITE", 999, "Nonsense"))
    assert diagnosis.id == "fallback.unknown"
    assert "malformed" in diagnosis.explanation


@pytest.mark.parametrize("profile", bundled_profiles())
def test_every_entry_has_all_fields_and_valid_values(profile):
    for entry in load_knowledge(profile).entries():
        assert re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+", entry.id), entry.id
        assert entry.category in CATEGORIES, entry.id
        assert entry.severity in SEVERITIES, entry.id
        assert entry.title.strip() and entry.explanation.strip() and entry.fix.strip(), entry.id
        # a standard a person can look up: an RFC, or an ITU-T recommendation (G.107)
        assert entry.rfc is None or re.match(r"(RFC \d+|ITU-T [A-Z]\.\d+)", entry.rfc), entry.id
        assert entry.alternatives or entry.named, entry.id
        assert entry.source, entry.id


def test_categories_are_exactly_designs_list():
    # DESIGN.md, "JSON report": `category` is one of these
    design = "none credentials account number tariff callee routing device server network"
    # ... plus `siptest`: DESIGN.md, "The guide, as behaviour": a limit of siptest's own
    # SIP stack is named as siptest's, never as the server's or the user's fault.
    assert list(CATEGORIES) == [*design.split(" "), "tls", "media", "config", "siptest"]


# Families of ids across categories, and the categories each may have.
FAMILIES = {
    "ok": {"none"},
    "progress": {"none"},
    "fallback": set(CATEGORIES),
    "non_standard": set(CATEGORIES),
    "preflight": {"account", "credentials", "number", "tariff"},  # advice before sending
    "cleanup": {"server"},  # removing what the test left
    "nat": {"network"},  # NAT findings
    "dns": {"none", "config", "server", "network"},  # finding the server (RFC 3263)
    "expectation": {"none"},  # the analyser gives it the category of what happened
    # siptest doctor's verdicts: the cause the triage found, in its own category
    "doctor": {"none", "config", "server", "network", "tls"},
}


def test_every_id_is_unique_and_named_after_its_category():
    entries = base_entries()
    assert len({entry.id for entry in entries}) == len(entries)
    for entry in entries:
        prefix = entry.id.split(".")[0]
        if prefix in FAMILIES:
            assert entry.category in FAMILIES[prefix], entry.id
        else:
            # media.ok and an unmeasured call's media are no problem: category none
            passing = entry.category == "none" and entry.severity in ("ok", "info")
            assert prefix == entry.category or (prefix == "media" and passing), entry.id


def test_both_bundled_profiles_exist_and_validate():
    assert bundled_profiles() == ["generic", "sipcall"]
    for name in bundled_profiles():
        assert load_knowledge(name).profile.name == name


@pytest.mark.parametrize("profile", bundled_profiles())
@pytest.mark.parametrize("method", ["", "REGISTER", "INVITE"])
def test_every_text_reads_cleanly_without_any_facts(profile, method):
    knowledge = load_knowledge(profile)
    for entry in knowledge.entries():
        diagnosis = knowledge.render(entry, Situation(method, None, origin="none"))
        for text in (diagnosis.title, diagnosis.explanation, diagnosis.fix):
            assert not PLACEHOLDER_LEFTOVER.search(text), (entry.id, text)
            assert "  " not in text and " ." not in text and " ," not in text, (entry.id, text)


def test_every_text_reads_cleanly_with_every_fact():
    knowledge = load_knowledge("sipcall")
    facts = {name: f"<{name}>" for name in knowledge.placeholders}
    for entry in knowledge.entries():
        diagnosis = knowledge.render(entry, Situation("INVITE", 480, "Reason"), facts)
        for text in (diagnosis.title, diagnosis.explanation, diagnosis.fix):
            assert not PLACEHOLDER_LEFTOVER.search(text), (entry.id, text)


def test_the_snapshot_is_current():
    assert fresh_snapshot() is not None, (
        "siptest/knowledge/_snapshot.py is out of date with the YAML files; "
        "run: python -m siptest.knowledge.snapshot"
    )


def test_the_snapshot_holds_exactly_what_the_yaml_says():
    snapshot = fresh_snapshot()
    assert snapshot is not None
    (entries, placeholders), profiles = bundled_from_yaml()
    assert entries == snapshot.BASE_ENTRIES
    assert dict(snapshot.BASE_PLACEHOLDERS) == dict(placeholders)
    assert sorted(snapshot.PROFILES) == sorted(profiles)
    for name, knowledge in profiles.items():
        profile, profile_entries, neutral = snapshot.PROFILES[name]
        assert profile == knowledge.profile
        assert profile_entries == tuple(knowledge.entries())
        assert dict(neutral) == dict(knowledge.placeholders)


def test_a_stale_snapshot_is_ignored_and_the_yaml_parsed(monkeypatch):
    from siptest.knowledge import loader

    caches = (loader.fresh_snapshot, loader._base, loader._bundled_knowledge)
    monkeypatch.setattr(loader, "source_checksums", lambda: {"base.yaml": "0:00000000"})
    for cache in caches:
        cache.cache_clear()
    try:
        assert loader.fresh_snapshot() is None
        knowledge = load_knowledge("sipcall")
        situation = Situation("REGISTER", 403, "This account is not valid")
        assert knowledge.diagnose(situation).id == "account.invalid"
        assert "41411234567" in knowledge.diagnose(situation).fix
    finally:
        for cache in caches:
            cache.cache_clear()
