"""Every diagnosis is data: the analyser names ids, cases and notes; the words are YAML.

The set of diagnoses siptest can give is derived from the code (string literals the
analyser passes) and compared with the knowledge base and `explain --list`, both ways.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from siptest.analysis import media
from siptest.cli import explain
from siptest.knowledge import KnowledgeError, load_knowledge
from siptest.ua.mediaevents import MediaSample, StreamStats

SIPTEST = Path(__file__).resolve().parents[2] / "siptest"
ANALYSER = [
    path
    for path in SIPTEST.rglob("*.py")
    if "knowledge" not in path.parts and path.name != "_snapshot.py"
]
LEFTOVER = re.compile(r"\{[a-z_|]*\}|\[\[|\]\]")


def _literals() -> set[str]:
    found: set[str] = set()
    for path in ANALYSER:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


LITERALS = _literals()
KNOWLEDGE = load_knowledge()
NAMED = {entry.id: entry for entry in KNOWLEDGE.entries() if entry.named}
ID_LIKE = re.compile(r"^[a-z]+\.[a-z_]+$")


def test_every_named_diagnosis_is_given_by_the_code_and_every_id_the_code_gives_exists():
    prefixes = {entry_id.split(".")[0] for entry_id in NAMED}
    in_code = {text for text in LITERALS if ID_LIKE.match(text) and text.split(".")[0] in prefixes}
    all_ids = {entry.id for entry in KNOWLEDGE.entries()}
    assert sorted(in_code - all_ids) == []  # the code names a diagnosis the YAML lacks
    assert sorted(set(NAMED) - in_code) == []  # a named diagnosis nothing can give


ROLES = {"cases", "notes", "fix_notes"}


def _asked_for() -> set[str]:
    """Strings the code passes as cases or notes: in a `cases=`/`notes=`/`fix_notes=`
    argument, assigned to a variable of that name, or in a tuple literal (the form the
    analyser's helpers return them in) - not merely anywhere, as a dict key would be."""
    found: set[str] = set()
    for path in ANALYSER:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            parts: list[ast.AST] = []
            if isinstance(node, ast.Call):
                parts = [kw.value for kw in node.keywords if kw.arg in ROLES]
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                names = node.targets if isinstance(node, ast.Assign) else [node.target]
                if node.value is not None and any(
                    isinstance(t, ast.Name) and t.id in ROLES for t in names
                ):
                    parts = [node.value]
            elif isinstance(node, ast.Tuple):
                parts = list(node.elts)
            for part in parts:
                for leaf in ast.walk(part):
                    if isinstance(leaf, ast.Constant) and isinstance(leaf.value, str):
                        found.add(leaf.value)
    return found


def test_every_case_and_note_is_one_the_code_asks_for():
    asked = _asked_for()
    for entry in NAMED.values():
        for name in (*entry.cases, *entry.notes):
            assert name in asked, f"{entry.id}: case or note '{name}' is never asked for"


def test_no_diagnosis_is_written_outside_the_knowledge():
    for path in ANALYSER:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "Diagnosis", f"{path}:{node.lineno} builds a Diagnosis"


def test_explain_list_shows_every_diagnosis_siptest_can_give():
    listed = {item["id"] for item in json.loads(explain._list_json(KNOWLEDGE))["entries"]}
    assert set(NAMED) <= listed
    assert {entry.id for entry in KNOWLEDGE.entries()} == listed


@pytest.mark.parametrize("entry_id", sorted(NAMED))
def test_every_case_and_note_renders_without_facts(entry_id):
    entry = NAMED[entry_id]
    for cases in [(), *((case,) for case in entry.cases)]:
        diagnosis = KNOWLEDGE.named(entry_id, cases=cases, notes=tuple(entry.notes))
        for text in (diagnosis.title, diagnosis.explanation, diagnosis.fix):
            assert text and not LEFTOVER.search(text), (entry_id, cases, text)


def test_an_unknown_id_case_or_note_is_a_programming_error():
    with pytest.raises(KeyError):
        KNOWLEDGE.named("media.nonexistent")
    with pytest.raises(KeyError):
        KNOWLEDGE.named("media.no_audio", cases=("nonexistent",))
    with pytest.raises(KeyError):
        KNOWLEDGE.named("media.no_audio", notes=("nonexistent",))


def test_a_case_changes_severity_and_a_later_case_wins():
    advice = KNOWLEDGE.named("preflight.number_plus_form", {"number": "+41321234567"})
    refused = KNOWLEDGE.named("preflight.number_plus_form", cases=("refused",))
    assert (advice.severity, refused.severity) == ("warning", "error")
    unmet = KNOWLEDGE.named("media.not_measured", cases=("too_short", "expected"))
    assert (unmet.category, unmet.severity) == ("media", "error")
    assert unmet.title == "Audio not checked: the call ended before audio could flow"


# -- profiles reword what the analyser says ------------------------------------------------

SILENT = MediaSample(
    codec="PCMA",
    remote_rtp="192.0.2.1:4000",
    sent=StreamStats(100, 0, 1.0),
    received=StreamStats(0, 0, 0.0),
    rtt_ms=None,
    duration=5.0,
)


def _profile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text("profile:\n  name: mine\n  facts:\n    provider: Mine\n" + text)
    return path


def test_a_profile_rewords_a_media_diagnosis_and_a_shared_phrase(tmp_path):
    path = _profile(
        tmp_path,
        "    sip_alg: turn off 'SIP ALG' under Advanced > NAT on the Mine box\n"
        "entries:\n"
        "  - id: media.no_audio_from_far_end\n"
        "    title: Mine says you hear nothing\n"
        "    notes:\n"
        "      firewall: Mine's firewall note.\n",
    )
    mine = load_knowledge(path)
    check = media.analyse_media(SILENT, answered=True, knowledge=mine)
    assert check.diagnosis is not None
    assert check.diagnosis.id == "media.no_audio_from_far_end"
    assert check.diagnosis.title == "Mine says you hear nothing"
    assert check.diagnosis.explanation.endswith("in 5.0 s. Mine's firewall note.")
    assert "under Advanced > NAT on the Mine box" in check.diagnosis.fix
    # the generic wording is untouched
    generic = media.analyse_media(SILENT, answered=True, knowledge=KNOWLEDGE)
    assert generic.diagnosis is not None
    assert generic.diagnosis.title == "One-way audio: you can hear nothing from the far end"


def test_a_profile_patches_one_key_of_a_case(tmp_path):
    path = _profile(
        tmp_path,
        "entries:\n"
        "  - id: preflight.number_plus_form\n"
        "    cases:\n"
        "      refused:\n"
        "        fix: Mine wants {dial_instead}.\n",
    )
    refused = load_knowledge(path).named(
        "preflight.number_plus_form", {"dial_instead": "0041321234567"}, cases=("refused",)
    )
    assert refused.fix == "Mine wants 0041321234567."
    assert refused.title == "The + form of the number is not supported"  # kept from the base
    assert refused.severity == "error"


@pytest.mark.parametrize(
    ("entries", "complaint"),
    [
        # a diagnosis without match in a profile would never be given
        (
            "  - id: media.mine\n    category: media\n    severity: error\n    title: t\n"
            "    explanation: e\n    fix: f\n    rfc: null\n",
            "not a diagnosis siptest gives",
        ),
        # cases belong to named diagnoses, not to ones chosen by match
        (
            "  - id: credentials.rejected\n    cases:\n      nat:\n        fix: x\n",
            "cases belong to diagnoses the analyser names",
        ),
        ("  - id: media.no_audio\n    cases:\n      nat:\n        colour: red\n", "colour"),
        ("  - id: media.no_audio\n    notes:\n      Bad-Name: x\n", "lower_case"),
        ("  - id: media.no_audio\n    notes:\n      nat: '{no_such_fact}'\n", "no_such_fact"),
        # a named diagnosis given a match would answer SIP codes and vanish from named()
        ("  - id: media.no_audio\n    match: {code: 486}\n", "cannot be given a match"),
    ],
)
def test_a_profile_that_misuses_named_diagnoses_is_refused_with_its_line(
    tmp_path, entries, complaint
):
    path = _profile(tmp_path, "entries:\n" + entries)
    with pytest.raises(KnowledgeError) as error:
        load_knowledge(path)
    assert complaint in str(error.value)
    assert str(error.value).startswith(f"{path}:")
