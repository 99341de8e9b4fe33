"""The accounts file of `siptest bulk` written as YAML: the CSV file's rules, as keys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from siptest.bulk.accounts import BulkAccount, check_passwords, load_accounts
from siptest.errors import UsageError

SECRET = "hunter2-Secret"


def write(tmp_path: Path, text: str, name: str = "accounts.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    with pytest.raises(UsageError) as refused:
        load_accounts(path)
    return str(refused.value)


def test_list_items_become_accounts_with_their_line_and_defaults(tmp_path):
    path = write(
        tmp_path,
        "# the fleet\n"
        "- user: 1001\n"
        "  server: sip.example.com\n"
        "  password_env: PW_A\n"
        "\n"
        "- user: '1002'\n"
        "  server: sip.example.com:5080\n"
        "  transport: TCP\n"
        "  auth_user: auth-1002\n"
        "  domain: example.com\n"
        "  password_file: /etc/pw\n",
    )
    first, second = load_accounts(path)
    assert first == BulkAccount(2, "1001", "sip.example.com", "udp", password_env="PW_A")
    assert second == BulkAccount(
        6,
        "1002",
        "sip.example.com:5080",
        "tcp",
        auth_user="auth-1002",
        domain="example.com",
        password_file=Path("/etc/pw"),
    )


def test_the_yml_suffix_is_yaml_too_and_any_other_is_csv(tmp_path):
    text = "- {user: 1001, server: h.example, password_env: PW}\n"
    assert load_accounts(write(tmp_path, text, "fleet.YML"))[0].user == "1001"
    # the same text in a .csv file is read as CSV: its first line is taken as a header
    assert f"{tmp_path / 'fleet.csv'}:1: column " in refusal(write(tmp_path, text, "fleet.csv"))


def test_values_are_read_as_written_not_as_yaml_types(tmp_path):
    # YAML 1.1 would read 0041... as an octal number and `yes` as true
    path = write(tmp_path, "- {user: 0041791234567, server: h.example, password_env: PW}\n")
    assert load_accounts(path)[0].user == "0041791234567"
    path = write(
        tmp_path, "- {user: '1001', server: h.example, transport: yes, password_env: PW}\n"
    )
    assert "key 'transport' must be one of udp, tcp, tls" in refusal(path)


def test_empty_and_null_values_are_empty(tmp_path):
    path = write(tmp_path, "- user: 1001\n  server: h.example\n  transport:\n  password_env: PW\n")
    assert load_accounts(path)[0].transport == "udp"
    path = write(tmp_path, "- user: ~\n  server: h.example\n  password_env: PW\n")
    assert f"{path}:1: key 'user' is empty" in refusal(path)


def test_a_missing_required_key_is_named_by_line(tmp_path):
    path = write(tmp_path, "- user: 1001\n  password_env: PW\n")
    assert f"{path}:1: no 'server' key" in refusal(path)


@pytest.mark.parametrize("key", ["password", "Password", "sip_password", "pass"])
def test_a_password_key_is_refused_and_its_value_never_quoted(tmp_path, key):
    path = write(tmp_path, f"- user: 1001\n  server: h.example\n  {key}: {SECRET}\n")
    message = refusal(path)
    assert f"{path}:3: key '{key}'" in message
    assert "never written in the accounts file" in message
    assert SECRET not in message


@pytest.mark.parametrize(
    "text",
    [
        # nested in an account's value, in a later account, at the top, in a list
        f"- user: 1001\n  server: {{host: h.example, password: {SECRET}}}\n",
        f"- {{user: 1001, server: h.example, password_env: PW}}\n- password: {SECRET}\n",
        f"password: {SECRET}\naccounts: []\n",
        f"- [{{password: {SECRET}}}]\n",
    ],
)
def test_a_password_key_anywhere_is_refused_first_and_never_quoted(tmp_path, text):
    message = refusal(write(tmp_path, text))
    assert "never written in the accounts file" in message and SECRET not in message


def test_a_password_typed_into_password_env_is_refused_and_never_quoted(tmp_path):
    path = write(tmp_path, f"- user: 1001\n  server: h.example\n  password_env: '{SECRET}!'\n")
    message = refusal(path)
    assert f"{path}:1:" in message and "NAME of an environment variable" in message
    assert SECRET not in message


def test_the_two_password_sources_are_accepted_keys(tmp_path):
    # the twin of the refusals above: password_env and password_file are not secrets
    path = write(
        tmp_path,
        "- {user: 1001, server: h.example, password_env: PW}\n"
        "- {user: 1002, server: h.example, password_file: /etc/pw}\n",
    )
    assert [a.password_env or str(a.password_file) for a in load_accounts(path)] == [
        "PW",
        "/etc/pw",
    ]


def test_an_account_listed_twice_is_refused_so_it_never_logs_in_twice(tmp_path):
    path = write(
        tmp_path,
        "- {user: 1001, server: h.example, password_env: A}\n"
        "- {user: 1001, server: H.example, password_env: B}\n",
    )
    assert f"{path}:2: repeats the account of line 1" in refusal(path)


def test_the_same_user_on_another_server_is_another_account(tmp_path):
    path = write(
        tmp_path,
        "- {user: 1001, server: a.example, password_env: A}\n"
        "- {user: 1001, server: b.example, password_env: A}\n",
    )
    assert len(load_accounts(path)) == 2


def test_the_same_account_over_another_transport_is_refused_as_in_csv(tmp_path):
    # one login at one registrar, whatever the transport: a wrong password sent twice
    path = write(
        tmp_path,
        "- {user: 1001, server: a.example, password_env: A}\n"
        "- {user: 1001, server: a.example, transport: tcp, password_env: A}\n",
    )
    assert f"{path}:2: repeats the account of line 1" in refusal(path)


def test_a_key_written_twice_in_one_account_is_refused(tmp_path):
    path = write(tmp_path, "- user: 1001\n  server: a.example\n  server: b.example\n")
    assert f"{path}:3: key 'server': appears twice" in refusal(path)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("- user: [1001, 1002]\n  server: h.example\n  password_env: PW\n", "got a list"),
        ("- user: 1001\n  server: {host: h.example}\n  password_env: PW\n", "got a mapping"),
        ("- 1001\n", "an account is a mapping"),
        ("user: 1001\nserver: h.example\n", "expected a list of accounts"),
        ("- user: 1001\n  sever: h.example\n", "unknown key. Did you mean 'server'?"),
    ],
)
def test_values_and_accounts_of_the_wrong_type_are_refused_by_line(tmp_path, text, words):
    message = refusal(write(tmp_path, text))
    assert words in message and ".yaml:" in message


def test_every_bad_account_is_listed_at_once(tmp_path):
    path = write(
        tmp_path,
        "- {user: 1001, server: h.example}\n"
        "- {user: 1002, server: h.example, password_env: PW}\n"
        "- {user: 1003, server: 'h.example:99999', password_env: PW}\n",
    )
    message = refusal(path)
    assert f"{path}:1: give exactly one of password_env" in message
    assert f"{path}:3:" in message and "99999" in message and f"{path}:2:" not in message


def test_anchors_and_aliases_are_refused(tmp_path):
    text = "- &one {user: 1001, server: h.example, password_env: PW}\n- *one\n"
    assert "anchors and aliases" in refusal(write(tmp_path, text))
    merged = "- &one {user: 1001, server: h.example, password_env: PW}\n- <<: *one\n  user: 1002\n"
    assert "anchors and aliases" in refusal(write(tmp_path, merged))


def test_an_alias_bomb_is_refused_without_expanding_it(tmp_path):
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 30)]
    message = refusal(write(tmp_path, "\n".join(levels) + "\n"))
    assert "anchors and aliases" in message


def test_not_yaml_is_named_by_line_without_quoting_the_text(tmp_path):
    path = write(tmp_path, f"- user: 1001\n  server: [h.example\n  note: {SECRET}\n")
    message = refusal(path)
    assert "not valid YAML" in message and SECRET not in message


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "[]\n"])
def test_a_file_without_accounts_is_refused(tmp_path, text):
    message = refusal(write(tmp_path, text))
    assert "empty" in message or "no accounts" in message


def test_several_documents_are_refused(tmp_path):
    path = write(
        tmp_path,
        "- {user: 1001, server: h.example, password_env: PW}\n---\n"
        "- {user: 1002, server: h.example, password_env: PW}\n",
    )
    assert "not valid YAML" in refusal(path)


def test_a_password_file_others_can_read_is_refused_before_anything_is_sent(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("lab-1001-pass\n")
    os.chmod(secret, 0o644)
    path = write(tmp_path, f"- {{user: 1001, server: h.example, password_file: '{secret}'}}\n")
    with pytest.raises(UsageError, match="chmod 600") as refused:
        check_passwords(load_accounts(path), path, {})
    assert "lab-1001-pass" not in str(refused.value)
    os.chmod(secret, 0o600)
    check_passwords(load_accounts(path), path, {})


def test_the_yaml_example_in_the_readme_loads(tmp_path):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n### siptest bulk", 1)[1].split("\n### ", 1)[0]
    (example,) = [block.split("```", 1)[0] for block in section.split("```yaml\n")[1:]]
    accounts = load_accounts(write(tmp_path, example))
    assert [(a.user, a.transport) for a in accounts] == [("41411234567", "udp"), ("1002", "tcp")]


def test_a_control_character_in_a_value_is_refused_as_in_csv(tmp_path):
    path = write(
        tmp_path, '- {user: "1001", server: h.example, auth_user: "a\\0b", password_env: PW}\n'
    )
    with pytest.raises(UsageError) as refused:
        load_accounts(path)
    assert str(refused.value) == f"{path}:1: key 'auth_user' holds a control character"
