"""Malformed knowledge files fail at load with FILE:LINE: key 'x': what is wrong."""

from __future__ import annotations

import textwrap

import pytest

from siptest.errors import ExitStatus, UsageError
from siptest.knowledge import KnowledgeError, Situation, load_knowledge

VALID = """\
profile:
  name: myprovider
  description: My provider
  facts:
    portal: the MyProvider web portal
  user_id:
    pattern: '^\\d{6}$'
    example: "123456"
  numbers:
    national_prefix: "0"
    international_prefix: "00"
    plus_supported: false
entries:
  - id: tariff.my_credit
    match:
      text: [guthaben]
      code: 403
    category: tariff
    severity: error
    title: No credit left
    explanation: My provider says the credit is used up.
    fix: Top up in {portal}.
    rfc: null
"""

# (what is broken, text replaced, replacement, key named, marker on the expected line)
BREAKAGES = [
    ("unknown top-level key", "profile:\n", "profiles:\n", "profiles", "profiles:"),
    ("unknown entry key", "    fix: Top", "    fixx: Top", "fixx", "fixx:"),
    ("misspelt match condition", "      code: 403", "      status: 403", "status", "status:"),
    ("text where a number belongs", "      code: 403", "      code: forbidden", "code", "code:"),
    ("code out of range", "      code: 403", "      code: 99", "code", "code:"),
    ("class that does not exist", "      code: 403", "      code: 7xx", "code", "code:"),
    (
        "category not in DESIGN's list",
        "category: tariff",
        "category: billing",
        "category",
        "category:",
    ),
    ("severity not allowed", "severity: error", "severity: fatal", "severity", "severity:"),
    ("missing field of a new entry", "    fix: Top up in {portal}.\n", "", "fix", "- id:"),
    (
        "missing profile section",
        "profile:\n  name: myprovider\n",
        "other:\n  name: x\n",
        "other",
        "other:",
    ),
    (
        "wrong type for a flag",
        "    plus_supported: false",
        "    plus_supported: perhaps",
        "plus_supported",
        "plus_supported:",
    ),
    ("list where text belongs", "title: No credit left", "title: [No, credit]", "title", "title:"),
    ("unknown placeholder", "Top up in {portal}.", "Top up in {portl}.", "fix", "fix: Top"),
    ("unbalanced optional part", "Top up in {portal}.", "Top up[[ in {portal}.", "fix", "fix: Top"),
    (
        "key given twice",
        "    rfc: null\n",
        "    rfc: null\n    title: Again\n",
        "title",
        "title: Again",
    ),
    (
        "bad regular expression",
        "pattern: '^\\d{6}$'",
        "pattern: '^(\\d{6}$'",
        "pattern",
        "pattern:",
    ),
    (
        "example that breaks its own pattern",
        'example: "123456"',
        'example: "12345"',
        "example",
        "example:",
    ),
    (
        "local cause on a remote response",
        "      code: 403",
        "      code: 403\n      origin: remote\n      local_cause: timeout",
        "local_cause",
        "local_cause:",
    ),
    ("empty text condition", "text: [guthaben]", "text: ['  ']", "text", "text:"),
    (
        "extends an unknown profile",
        "  description: My provider",
        "  description: My provider\n  extends: nosuch",
        "extends",
        "extends:",
    ),
    (
        "per-method wording with an unknown key",
        "    rfc: null",
        "    rfc: null\n    register:\n      because: x",
        "because",
        "because:",
    ),
    ("entry id of the wrong shape", "- id: tariff.my_credit", "- id: MyCredit", "id", "- id:"),
    # values YAML itself cannot build: a usage error, never a traceback
    ("impossible date", "  name: myprovider", "  name: 2024-02-30", "name", "name:"),
    ("unknown tag", "  name: myprovider", "  name: !foo x", "name", "name:"),
    ("unknown tag on a code", "      code: 403", "      code: !odd 403", "code", "code:"),
]


def write(tmp_path, text, name="myprovider.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text, marker):
    return next(n for n, line in enumerate(text.splitlines(), start=1) if marker in line)


def test_the_valid_example_loads(tmp_path):
    knowledge = load_knowledge(write(tmp_path, VALID))
    assert knowledge.profile.name == "myprovider"
    situation = Situation("INVITE", 403, "Kein Guthaben")
    assert knowledge.diagnose(situation).fix == "Top up in the MyProvider web portal."


@pytest.mark.parametrize(
    ("broken", "replacement", "key", "marker"),
    [pytest.param(*case[1:], id=case[0]) for case in BREAKAGES],
)
def test_a_malformed_profile_names_file_line_and_key(tmp_path, broken, replacement, key, marker):
    assert broken in VALID
    text = VALID.replace(broken, replacement, 1)
    path = write(tmp_path, text)
    with pytest.raises(KnowledgeError) as raised:
        load_knowledge(path)
    message = str(raised.value)
    assert message.startswith(f"{path}:{line_of(text, marker)}: key '{key}': "), message


def test_a_duplicate_id_names_the_first_one(tmp_path):
    second = VALID[VALID.index("  - id: tariff.my_credit") :]
    text = VALID + second
    path = write(tmp_path, text)
    with pytest.raises(KnowledgeError, match=r"already used on line 14") as raised:
        load_knowledge(path)
    assert str(raised.value).startswith(f"{path}:{len(VALID.splitlines()) + 1}: key 'id'")


def test_a_yaml_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "profile:\n  name: x\n  facts: {portal: [unclosed\n")
    with pytest.raises(KnowledgeError, match=r"myprovider\.yaml:\d+: not valid YAML"):
        load_knowledge(path)


def test_an_empty_file_is_an_error(tmp_path):
    with pytest.raises(KnowledgeError, match=r":1: the file is empty"):
        load_knowledge(write(tmp_path, ""))


def test_a_missing_file_says_what_to_pass(tmp_path):
    with pytest.raises(KnowledgeError, match="bundled profile name"):
        load_knowledge(tmp_path / "absent.yaml")


def test_an_unknown_profile_name_lists_the_bundled_ones():
    with pytest.raises(KnowledgeError, match="generic, sipcall"):
        load_knowledge("nosuchprovider")


def test_knowledge_errors_are_usage_errors_with_exit_status_2():
    assert issubclass(KnowledgeError, UsageError)
    assert KnowledgeError.exit_status == ExitStatus.USAGE


def test_a_changed_profile_file_is_read_again(tmp_path):
    path = write(tmp_path, VALID)
    assert load_knowledge(path).profile.description == "My provider"
    path.write_text(VALID.replace("My provider", "My changed provider, longer"), "utf-8")
    assert load_knowledge(path).profile.description == "My changed provider, longer"


# -- what a user profile can do --------------------------------------------------------


def test_a_profile_can_extend_a_bundled_one(tmp_path):
    text = textwrap.dedent(
        """\
        profile:
          name: sipcall-reseller
          extends: sipcall
          facts:
            provider: the reseller
        """
    )
    knowledge = load_knowledge(write(tmp_path, text))
    assert knowledge.profile.user_id is not None
    assert knowledge.profile.user_id.pattern == r"^41\d{9}$"
    diagnosis = knowledge.diagnose(Situation("REGISTER", 403, "This account is not valid"))
    assert "41411234567" in diagnosis.fix  # sipcall's patch is kept
    assert "the reseller" in knowledge.diagnose(Situation("INVITE", 504)).fix


def test_patching_an_entry_changes_only_the_keys_given(tmp_path):
    text = textwrap.dedent(
        """\
        profile:
          name: patcher
        entries:
          - id: callee.busy
            fix: Call the switchboard instead.
        """
    )
    knowledge = load_knowledge(write(tmp_path, text))
    base = load_knowledge()
    busy = Situation("INVITE", 486)
    assert knowledge.diagnose(busy).fix == "Call the switchboard instead."
    assert knowledge.diagnose(busy).explanation == base.diagnose(busy).explanation
    assert knowledge.diagnose(busy).id == "callee.busy"


def test_patching_a_text_replaces_its_method_specific_versions_too(tmp_path):
    # base.yaml gives credentials.rejected its own INVITE explanation
    text = textwrap.dedent(
        """\
        profile:
          name: patcher
        entries:
          - id: credentials.rejected
            explanation: Wrong login, says my provider.
        """
    )
    knowledge = load_knowledge(write(tmp_path, text))
    for method in ("REGISTER", "INVITE"):
        situation = Situation(method, 407, credentials_sent=True)
        assert knowledge.diagnose(situation).explanation == "Wrong login, says my provider."


def test_a_profile_without_name_is_named_after_its_file(tmp_path):
    path = write(tmp_path, "profile:\n  description: nameless\n", name="acme.yaml")
    assert load_knowledge(path).profile.name == "acme"


def test_profile_paths_are_recognised_by_suffix_or_slash(tmp_path, monkeypatch):
    write(tmp_path, VALID, name="local.yml")
    monkeypatch.chdir(tmp_path)
    assert load_knowledge("local.yml").profile.name == "myprovider"
    assert load_knowledge("./local.yml").profile.name == "myprovider"


def test_a_profile_with_its_own_user_id_rule_words_it_itself(tmp_path):
    text = textwrap.dedent(
        """\
        profile:
          name: austrian-reseller
          extends: sipcall
          user_id:
            pattern: '^43\\d{8}$'
            example: "4312345678"
            description: 43 followed by 8 digits
        """
    )
    knowledge = load_knowledge(write(tmp_path, text))
    assert knowledge.profile.facts["user_id_example"] == "4312345678"
    assert knowledge.profile.facts["user_id_rule"] == "43 followed by 8 digits"
    diagnosis = knowledge.diagnose(Situation("REGISTER", 401))
    assert "43 followed by 8 digits" in diagnosis.fix


def test_a_profile_that_drops_the_user_id_rule_drops_its_wording(tmp_path):
    path = write(tmp_path, "profile:\n  extends: sipcall\n  user_id: null\n")
    knowledge = load_knowledge(path)
    assert knowledge.profile.user_id is None
    assert "user_id_rule" not in knowledge.profile.facts
    diagnosis = knowledge.diagnose(Situation("REGISTER", 401))
    assert "usually your full phone number" in diagnosis.fix


def test_a_misspelt_key_gets_a_suggestion(tmp_path):
    path = write(tmp_path, VALID.replace("    fix: Top", "    fxi: Top", 1))
    with pytest.raises(KnowledgeError, match=r"key 'fxi': unknown key\. Did you mean 'fix'\?"):
        load_knowledge(path)
