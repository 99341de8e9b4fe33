"""The accounts file of `siptest bulk`: rows, refusals, password sources."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from siptest.bulk.accounts import BulkAccount, check_passwords, load_accounts
from siptest.errors import UsageError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accounts.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_rows_become_accounts_with_their_line_and_defaults(tmp_path):
    path = write(
        tmp_path,
        "user,server,transport,password_env,password_file\n"
        "1001,sip.example.com,,PW_A,\n"
        "\n"
        "1002,sip.example.com:5080,TCP,,/etc/pw\n",
    )
    first, second = load_accounts(path)
    assert first == BulkAccount(2, "1001", "sip.example.com", "udp", password_env="PW_A")
    assert second.line == 4 and second.transport == "tcp"
    assert second.password_file == Path("/etc/pw")
    assert second.registrar == "sip.example.com"


def test_an_account_passes_no_password_to_its_check_only_where_it_is():
    account = BulkAccount(2, "1001", "h.example", password_env="PW_A", auth_user="x")
    args = account.arguments(5.0)
    assert args[:2] == ["register", "--json"]
    assert args[args.index("--password-env") + 1] == "PW_A"
    assert "--password-file" not in args and "--auth-user" in args


@pytest.mark.parametrize("column", ["password", "Password", "sip_password", "pass"])
def test_a_password_column_is_refused_and_its_values_never_quoted(tmp_path, column):
    path = write(tmp_path, f"user,server,{column}\n1001,h.example,hunter2-secret\n")
    with pytest.raises(UsageError) as refused:
        load_accounts(path)
    assert "never written in the accounts file" in str(refused.value)
    assert "hunter2-secret" not in str(refused.value)


def test_a_password_typed_into_password_env_is_refused_and_never_quoted(tmp_path):
    path = write(tmp_path, "user,server,password_env\n1001,h.example,my secret!\n")
    with pytest.raises(UsageError) as refused:
        load_accounts(path)
    assert ":2:" in str(refused.value) and "my secret!" not in str(refused.value)


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("1001,h.example,,", "exactly one of password_env"),
        ("1001,h.example,PW,/p", "exactly one of password_env"),
        (",h.example,PW,", "column 'user' is empty"),
        ("1001,h.example:99999,PW,", "99999"),
        ("--help,h.example,PW,", "must not start with '-'"),
        ("1001,h.example,PW,,extra", "more values"),
    ],
)
def test_a_bad_row_is_named_by_line(tmp_path, row, words):
    path = write(tmp_path, f"user,server,password_env,password_file\n{row}\n")
    with pytest.raises(UsageError) as refused:
        load_accounts(path)
    assert f"{path}:2:" in str(refused.value) and words in str(refused.value)


def test_an_unknown_transport_is_refused(tmp_path):
    path = write(tmp_path, "user,server,transport,password_env\n1001,h.example,sctp,PW\n")
    with pytest.raises(UsageError, match="transport"):
        load_accounts(path)


def test_unknown_and_missing_columns_are_named(tmp_path):
    path = write(tmp_path, "user,host,password_env\n1001,h.example,PW\n")
    with pytest.raises(UsageError, match=r"unknown column.*host.*missing column.*server"):
        load_accounts(path)


@pytest.mark.parametrize(
    "header",
    [
        "user,server,user,password_env",
        "user,server,password_env,password_env",
        "user,server,password_env, user",
    ],
)
def test_a_column_named_twice_is_refused_not_read_from_its_last_value(tmp_path, header):
    # the values of the first 'user' would be silently replaced by the second
    path = write(tmp_path, f"{header}\n1001,h.example,PW,PX\n")
    with pytest.raises(UsageError, match=r":1: column '(user|password_env)' is named twice"):
        load_accounts(path)


def test_a_column_without_a_name_is_named_by_its_position(tmp_path):
    path = write(tmp_path, "user,server,password_env,\n1001,h.example,PW,\n")
    with pytest.raises(UsageError, match=r":1: unknown column\(s\) '' \(column 4\)"):
        load_accounts(path)


def test_columns_in_any_order_are_read_by_name(tmp_path):
    path = write(tmp_path, "password_env,server,user\nPW,h.example,1001\n")
    (account,) = load_accounts(path)
    assert (account.user, account.server, account.password_env) == ("1001", "h.example", "PW")


@pytest.mark.parametrize(
    ("row", "column", "line"),
    [
        ("1001,h.example,a\x00b,,PW", "auth_user", 2),
        ('1001,h.example,,"pbx\nexample",PW', "domain", 3),  # csv names a row's last line
        ("1001,h.example,,pbx\x1b[2J,PW", "domain", 2),
        ("1001,h.example,,pbx\u009b2J,PW", "domain", 2),
        ("1001,h.example,,,P\x7fW", "password_env", 2),
    ],
)
def test_a_control_character_in_a_value_is_refused_by_line_and_column(tmp_path, row, column, line):
    # a NUL cannot even be passed to the check's process; none is part of a SIP name
    path = write(tmp_path, f"user,server,auth_user,domain,password_env\n{row}\n")
    with pytest.raises(UsageError) as refused:
        load_accounts(path)
    assert str(refused.value) == f"{path}:{line}: column '{column}' holds a control character"


def test_a_file_with_only_a_header_has_no_accounts(tmp_path):
    with pytest.raises(UsageError, match="no accounts"):
        load_accounts(write(tmp_path, "user,server,password_env\n"))


def test_a_password_file_others_can_read_is_refused_before_anything_is_sent(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("lab-1001-pass\n")
    os.chmod(secret, 0o644)
    path = write(tmp_path, f"user,server,password_file\n1001,h.example,{secret}\n")
    with pytest.raises(UsageError, match="chmod 600") as refused:
        check_passwords(load_accounts(path), path, {})
    assert "lab-1001-pass" not in str(refused.value)


def test_a_password_file_only_its_owner_reads_is_accepted(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("lab-1001-pass\n")
    os.chmod(secret, 0o600)
    path = write(tmp_path, f"user,server,password_file\n1001,h.example,{secret}\n")
    check_passwords(load_accounts(path), path, {})


def test_an_unset_password_variable_is_named_with_its_line(tmp_path):
    path = write(
        tmp_path, "user,server,password_env\n1001,h.example,PW_SET\n1002,h.example,PW_UNSET\n"
    )
    with pytest.raises(UsageError) as refused:
        check_passwords(load_accounts(path), path, {"PW_SET": "secret-value"})
    assert f"{path}:3:" in str(refused.value) and "PW_UNSET" in str(refused.value)
    assert ":2:" not in str(refused.value) and "secret-value" not in str(refused.value)


def test_a_password_typed_into_password_file_is_never_quoted(tmp_path):
    # a path that does not exist may be the password itself, in the wrong column
    path = write(tmp_path, "user,server,password_file\n1001,h.example,Tr0ub4dor&3\n")
    with pytest.raises(UsageError) as refused:
        check_passwords(load_accounts(path), path, {})
    assert f"{path}:2: the file named in password_file does not exist" in str(refused.value)
    assert "Tr0ub4dor" not in str(refused.value)


def test_a_password_file_that_exists_but_cannot_be_used_is_named(tmp_path):
    secret = tmp_path / "empty.pw"
    secret.write_text("")
    secret.chmod(0o600)
    path = write(tmp_path, f"user,server,password_file\n1001,h.example,{secret}\n")
    with pytest.raises(UsageError, match=rf":2: The password from the file {secret} is empty"):
        check_passwords(load_accounts(path), path, {})


def test_an_account_listed_twice_is_refused_so_it_never_logs_in_twice(tmp_path):
    path = write(tmp_path, "user,server,password_env\n1001,h.example,A\n1001,H.example,B\n")
    with pytest.raises(UsageError, match=r":3: repeats the account of line 2"):
        load_accounts(path)


HEADER = "user,server,transport,auth_user,password_env\n"


@pytest.mark.parametrize(
    ("first", "again"),
    [
        ("1001,pbx.example,udp,,A", "1001,pbx.example,tcp,,A"),
        ("1001,pbx.example,udp,,A", "1001,pbx.example,tls,,A"),
        ("1001,pbx.example,udp,,A", "1001,pbx.example:5060,udp,,B"),
        ("1001,pbx.example:5061,tls,,A", "1001,PBX.Example,udp,,A"),
        ("1001,pbx.example:5080,udp,,A", "1001,pbx.example:5080,tcp,,A"),
        ("1001,pbx.example,udp,,A", "1001,pbx.example,udp,1001,A"),
        ("1001,pbx.example,udp,auth7,A", "1001,pbx.example:5060,tcp,auth7,A"),
        ("1001,[::1],udp,,A", "1001,[0:0::1]:5060,tcp,,A"),
        ("1001,127.0.0.1:5060,udp,,A", "1001,127.0.0.1,tls,,A"),
        ("1001,pbx.example,udp,,A", "1001,PBX.example.,udp,,A"),
        ("1001,127.0.0.1,udp,,A", "1001,[::ffff:127.0.0.1],udp,,A"),
    ],
)
def test_the_same_credentials_at_the_same_registrar_are_refused_whatever_the_transport(
    tmp_path, first, again
):
    path = write(tmp_path, f"{HEADER}{first}\n{again}\n")
    with pytest.raises(UsageError, match=r":3: repeats the account of line 2"):
        load_accounts(path)


@pytest.mark.parametrize(
    ("first", "other"),
    [
        ("1001,a.example,udp,,A", "1001,b.example,udp,,A"),
        ("1001,pbx.example,udp,,A", "1002,pbx.example,udp,,A"),
        ("1001,pbx.example,udp,,A", "1001,pbx.example,udp,auth7,A"),
        ("1001,pbx.example,udp,,A", "1001,pbx.example:5080,udp,,A"),
        ("1001,pbx.example:5080,udp,,A", "1001,pbx.example:5090,udp,,A"),
        ("alice,pbx.example,udp,,A", "Alice,pbx.example,udp,,A"),
        ("1001,[::1],udp,,A", "1001,[::2],udp,,A"),
    ],
)
def test_another_user_auth_user_host_or_port_is_another_account(tmp_path, first, other):
    path = write(tmp_path, f"{HEADER}{first}\n{other}\n")
    assert [account.line for account in load_accounts(path)] == [2, 3]


@pytest.mark.parametrize(
    ("server", "same"),
    [
        ("pbx.example", "PBX.Example:5080"),
        ("pbx.example", "pbx.example."),
        ("[::1]", "[0:0::1]:5070"),
        ("[::1]", "[0000:0000:0000:0000:0000:0000:0000:0001]"),
        ("127.0.0.1", "[::ffff:127.0.0.1]:5060"),
    ],
)
def test_pacing_counts_one_registrar_however_its_host_is_spelled(server, same):
    first = BulkAccount(2, "1001", server, password_env="A")
    second = BulkAccount(3, "1002", same, password_env="A")
    assert first.registrar == second.registrar


@pytest.mark.parametrize(
    ("server", "other"),
    [
        ("pbx.example", "pbx2.example"),
        ("[::1]", "[::2]"),
        ("127.0.0.1", "127.0.0.2"),
        ("127.0.0.1", "[::1]"),
    ],
)
def test_pacing_counts_another_host_as_another_registrar(server, other):
    first = BulkAccount(2, "1001", server, password_env="A")
    second = BulkAccount(3, "1002", other, password_env="A")
    assert first.registrar != second.registrar


@pytest.mark.parametrize("name", ["accounts.csv", "accounts.yaml"])
def test_a_file_bigger_than_any_accounts_file_is_refused_before_it_is_parsed(tmp_path, name):
    from siptest.bulk.accounts import MAX_BYTES

    path = tmp_path / name
    row = "1001,h.example,PW\n" if name.endswith(".csv") else "- {user: a, server: b}\n"
    with path.open("w") as handle:
        handle.write("user,server,password_env\n" if name.endswith(".csv") else "")
        handle.write(row * (MAX_BYTES // len(row) + 1))
    with pytest.raises(UsageError, match=r"more than 16 MB, more than any accounts file holds"):
        load_accounts(path)


def test_a_file_just_under_the_size_limit_is_read(tmp_path):
    from siptest.bulk.accounts import MAX_BYTES

    path = tmp_path / "accounts.csv"
    head = "user,server,password_env\n1001,h.example,PW\n"
    path.write_text(head + "\n" * (MAX_BYTES - len(head)))
    (account,) = load_accounts(path)
    assert account.user == "1001"


def test_a_bom_and_crlf_line_ends_are_read(tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_bytes(b"\xef\xbb\xbfuser,server,password_env\r\n1001,h.example,PW\r\n")
    (account,) = load_accounts(path)
    assert (account.line, account.user, account.password_env) == (2, "1001", "PW")


DOMAIN_HEADER = "user,server,domain,password_env\n"


@pytest.mark.parametrize(
    ("first", "other"),
    [
        ("1001,pbx.example,tenant-a.example,A", "1001,pbx.example,tenant-b.example,A"),
        ("1001,pbx.example,,A", "1001,pbx.example,tenant-b.example,A"),
    ],
)
def test_the_same_user_in_another_domain_of_one_registrar_is_another_account(
    tmp_path, first, other
):
    # a multi-tenant PBX: extension 1001 of two tenants, at one server
    path = tmp_path / "accounts.csv"
    path.write_text(f"{DOMAIN_HEADER}{first}\n{other}\n")
    assert [account.line for account in load_accounts(path)] == [2, 3]


@pytest.mark.parametrize(
    ("first", "again"),
    [
        ("1001,pbx.example,tenant-a.example,A", "1001,pbx.example,Tenant-A.example,B"),
        ("1001,pbx.example,,A", "1001,pbx.example,pbx.example,B"),
        ("1001,pbx.example:5080,,A", "1001,pbx.example:5080,PBX.example:5080,B"),
        ("1001,[::1],,A", "1001,[::1],[0:0::1],B"),
    ],
)
def test_the_same_user_in_the_same_domain_is_refused_however_the_domain_is_written(
    tmp_path, first, again
):
    path = tmp_path / "accounts.csv"
    path.write_text(f"{DOMAIN_HEADER}{first}\n{again}\n")
    with pytest.raises(UsageError, match=r":3: repeats the account of line 2"):
        load_accounts(path)


def test_a_unicode_line_separator_inside_a_row_does_not_split_it_into_two_accounts(tmp_path):
    # str.splitlines() breaks at U+2028 too: "1002,h.example,PW" would become an account
    # of its own, on a line the file does not have
    path = tmp_path / "accounts.csv"
    path.write_text("user,server,password_env\n1001,h.example,PW\u20281002,h.example,PW\n")
    with pytest.raises(UsageError) as refused:
        load_accounts(path)
    assert str(refused.value).startswith(f"{path}:2: ")
    assert ":3:" not in str(refused.value)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('user,server,password_env\n1001,h.example,PW\n1002,"h.ex"ample,PW\n', 3),
        ('user,server,password_env\n1001,h.example,PW\n"1002,h.example,PW\n', 3),
    ],
)
def test_invalid_csv_is_named_by_the_line_where_it_goes_wrong(tmp_path, text, line):
    path = tmp_path / "accounts.csv"
    path.write_text(text)
    with pytest.raises(UsageError) as refused:
        load_accounts(path)
    assert str(refused.value).startswith(f"{path}:{line}: not valid CSV")
