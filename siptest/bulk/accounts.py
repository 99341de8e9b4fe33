"""The accounts file of `siptest bulk`: one account per CSV row (or YAML list item),
never a password.

    user,server,transport,auth_user,domain,password_env,password_file
    1001,sip.example.com,udp,,,SIP_PW_1001,
    1002,sip.example.com:5080,tcp,,,,/etc/siptest/1002.pw

`user` and `server` (HOST[:PORT]) are required; `transport` is udp (default), tcp or
tls; `auth_user` and `domain` only where they differ. Each row names where its
password is: `password_env` (an environment variable) or `password_file` (a file
only its owner can read, like `--password-file`). A `password` column is refused: the
file is meant to be kept, shared and committed, so it never holds a secret.
Every password source is checked before anything is sent.

A file named `*.yaml` or `*.yml` is a list of mappings with the same keys
(`siptest.bulk.yamlaccounts`); every account then passes the same checks.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from siptest.errors import UsageError

TRANSPORTS = ("udp", "tcp", "tls")
COLUMNS = ("user", "server", "transport", "auth_user", "domain", "password_env", "password_file")
REQUIRED = ("user", "server")
MAX_ACCOUNTS = 100_000
"""More rows than any fleet check needs: a bigger file is the wrong file."""
MAX_BYTES = 16 * 2**20
"""The largest accounts file read: 100,000 accounts of 160 characters."""
MAX_PROBLEMS = 10
"""Problems listed at once; the rest are counted."""
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class BulkAccount:
    """One row of the accounts file: what `siptest register` needs, but the secret."""

    line: int
    """The row's line in the file, for messages and reports."""
    user: str
    server: str
    """HOST[:PORT] of the registrar."""
    transport: str = "udp"
    auth_user: str | None = None
    domain: str | None = None
    password_env: str | None = None
    password_file: Path | None = None

    @property
    def target(self) -> str:
        return f"{self.user}@{self.server}"

    @property
    def registrar(self) -> str:
        """The host the requests go to, in one spelling (`registrar_host`): what pacing
        counts per (all its ports alike)."""
        from siptest.target import parse_target

        return registrar_host(parse_target(self.target).host)

    def arguments(self, timeout: float) -> list[str]:
        """`siptest register` options for this account (no password, no target)."""
        args = ["register", "--json", "--transport", self.transport, "--timeout", f"{timeout:g}"]
        if self.password_file is not None:
            args += ["--password-file", str(self.password_file)]
        elif self.password_env is not None:
            args += ["--password-env", self.password_env]
        if self.auth_user is not None:
            args += ["--auth-user", self.auth_user]
        if self.domain is not None:
            args += ["--domain", self.domain]
        return args


YAML_SUFFIXES = (".yaml", ".yml")
_SECRET_REFUSAL = (
    "is refused: a password is never written in the accounts file. Name where it is "
    "instead: password_env (an environment variable) or password_file (a file only you "
    "can read, chmod 600)."
)


def load_accounts(path: Path) -> tuple[BulkAccount, ...]:
    """Every account of the file, validated; UsageError lists the problems by line.

    A `.yaml`/`.yml` file is read as YAML, any other as CSV."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as error:
        raise UsageError(f"{path}: cannot read the accounts file ({error.strerror}).") from None
    if len(data) > MAX_BYTES:
        # read whole and parsed in memory (a YAML file at some 3 MB a second): a bigger
        # file would take minutes and gigabytes before being refused for its rows
        raise UsageError(
            f"{path}: more than {MAX_BYTES // 2**20} MB, more than any accounts file holds; "
            "is it the right file? Split a real fleet into several files."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: the accounts file is not UTF-8 text.") from None
    if path.suffix.lower() in YAML_SUFFIXES:
        from siptest.bulk.yamlaccounts import yaml_rows

        rows = yaml_rows(path, text, COLUMNS, _SECRET_REFUSAL, MAX_ACCOUNTS)
        return _checked(path, rows, "key", "Write one '- user: ...' mapping per account.")
    return _accounts(path, text)


def _accounts(path: Path, text: str) -> tuple[BulkAccount, ...]:
    # csv reads lines ending in CR/LF only (a file opened with newline=""); str.splitlines()
    # would also end a line at U+2028, U+0085 or a form feed, inside a value
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    header = [name.strip() for name in reader.fieldnames or ()]
    if not header:
        raise UsageError(f"{path}: empty. The first line names the columns: {','.join(COLUMNS)}.")
    secret = [name for name in header if "pass" in name.lower() and name not in COLUMNS]
    if secret:
        raise UsageError(f"{path}:1: column {secret[0]!r} {_SECRET_REFUSAL}")
    twice = [name for index, name in enumerate(header) if name in header[:index]]
    if twice:
        # csv.DictReader would keep the last column's value and drop the first's
        raise UsageError(f"{path}:1: column {twice[0]!r} is named twice; keep one.")
    unknown = [
        name or f"{name!r} (column {index})"
        for index, name in enumerate(header, 1)
        if name not in COLUMNS
    ]
    missing = [name for name in REQUIRED if name not in header]
    if unknown or missing:
        what = [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
        what += [f"missing column(s) {', '.join(missing)}"] if missing else []
        raise UsageError(f"{path}:1: {'; '.join(what)}. Columns: {','.join(COLUMNS)}.")
    reader.fieldnames = header
    rows: list[tuple[int, Mapping[str, str | None]]] = []
    try:
        for row in reader:
            if not any((value or "").strip() for value in row.values()):
                continue  # a blank line
            rows.append((reader.line_num, row))
            if len(rows) > MAX_ACCOUNTS:
                raise UsageError(f"{path}: more than {MAX_ACCOUNTS} accounts; split the file.")
    except csv.Error as error:
        # never quote the row: a password typed by mistake could be in it
        # DictReader.line_num is the last good row's; its reader's is where it went wrong
        line = reader.reader.line_num
        raise UsageError(f"{path}:{line}: not valid CSV ({error}).") from None
    return _checked(path, rows, "column", "Add one row per account below the header.")


def _checked(
    path: Path,
    rows: Sequence[tuple[int, Mapping[str, str | None]]],
    word: str,
    how_to_add: str,
) -> tuple[BulkAccount, ...]:
    """Every row as an account; the problems of all rows at once, by FILE:LINE."""
    accounts: list[BulkAccount] = []
    problems: list[str] = []
    for line, row in rows:
        try:
            accounts.append(_account(line, row, word))
        except ValueError as error:
            problems.append(f"{path}:{line}: {error}")
    problems += _repeated(path, accounts)
    if problems:
        more = len(problems) - MAX_PROBLEMS
        shown = problems[:MAX_PROBLEMS] + ([f"... and {more} more"] if more > 0 else [])
        raise UsageError("\n".join(shown))
    if not accounts:
        raise UsageError(f"{path}: no accounts. {how_to_add}")
    return tuple(accounts)


def registrar_host(host: str) -> str:
    """A registrar's host in one spelling, so that pacing and the repeated-account check
    see one registrar however it is written: a name lower-case without its final dot
    (`PBX.example.` is `pbx.example`), an IP address compressed (`0:0::1` is `::1`), an
    IPv4-mapped IPv6 address as the IPv4 address it is. No DNS look-up: a name and its
    address stay two hosts."""
    import ipaddress

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host.lower().rstrip(".")
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return address.compressed


SIP_PORTS = (5060, 5061)
"""The standard SIP ports (RFC 3261 19.1.2: 5060, and 5061 for TLS): a server given
with one of them, or with none, is one registrar whatever the transport."""


Place = tuple[str, int | None]
"""A host in one spelling and its port, None for a standard SIP port."""
CredentialsKey = tuple[str, str, Place, Place]


def _place(hostport: str) -> Place:
    from siptest.target import parse_target

    try:
        target = parse_target(f"x@{hostport}")
    except UsageError:  # a domain the check itself will refuse
        return (hostport.lower(), None)
    return (registrar_host(target.host), None if target.port in SIP_PORTS else target.port)


def credentials_key(account: BulkAccount) -> CredentialsKey:
    """Who logs in where: the user, the auth user (the user when not given), the
    registrar and the domain (the registrar's when not given), each host in one spelling
    (`registrar_host`) with its port unless it is a standard SIP port. The transport is
    not part of it: the same credentials over UDP and TCP are the same login at the same
    server; the same user in another domain (a tenant of a shared PBX) is another."""
    registrar = _place(account.server)
    domain = _place(account.domain) if account.domain else registrar
    return (account.user, account.auth_user or account.user, registrar, domain)


def _repeated(path: Path, accounts: list[BulkAccount]) -> list[str]:
    """An account listed twice would log in twice: after a rejection, that is the
    repeated failed login that gets an address banned. Refused: the same credentials
    at the same registrar (`credentials_key`), on any transport."""
    first: dict[CredentialsKey, int] = {}
    problems = []
    for account in accounts:
        key = credentials_key(account)
        if key in first:
            problems.append(
                f"{path}:{account.line}: repeats the account of line {first[key]} (the same "
                "user and auth user in the same domain at the same registrar, whatever the "
                "transport, would log in twice); keep one row"
            )
        else:
            first[key] = account.line
    return problems


def _account(line: int, row: Mapping[str, str | None], word: str = "column") -> BulkAccount:
    """One account from its values; `word` is what the file calls a field (column, key)."""
    if None in row:
        raise ValueError(f"more values than the {len(row) - 1} columns of the header")
    values = {key: (value or "").strip() for key, value in row.items() if key is not None}
    for key in REQUIRED:
        if not values.get(key):
            raise ValueError(f"{word} '{key}' is empty" if key in values else f"no '{key}' {word}")
    for key, value in values.items():
        if _CONTROL.search(value):
            # a NUL cannot even be passed to the check's process; never quoted (a
            # terminal would run an escape sequence)
            raise ValueError(f"{word} '{key}' holds a control character")
        if value.startswith("-"):
            raise ValueError(f"{word} '{key}' must not start with '-'")
    transport = values.get("transport") or "udp"
    if transport.lower() not in TRANSPORTS:
        raise ValueError(f"{word} 'transport' must be one of {', '.join(TRANSPORTS)}")
    env, file = values.get("password_env"), values.get("password_file")
    if bool(env) == bool(file):
        raise ValueError("give exactly one of password_env (a variable) or password_file (a path)")
    if env and not _ENV.fullmatch(env):
        # probably the password itself, typed into the wrong column: never repeat it
        raise ValueError(
            "password_env must be the NAME of an environment variable (letters, digits, _), "
            "not the password"
        )
    from siptest.target import parse_target

    try:
        parse_target(f"{values['user']}@{values['server']}")
    except UsageError as error:
        raise ValueError(str(error)) from None
    return BulkAccount(
        line=line,
        user=values["user"],
        server=values["server"],
        transport=transport.lower(),
        auth_user=values.get("auth_user") or None,
        domain=values.get("domain") or None,
        password_env=env or None,
        password_file=Path(file) if file else None,
    )


def check_passwords(
    accounts: tuple[BulkAccount, ...], path: Path, environ: Mapping[str, str]
) -> None:
    """Every account's password source is usable, before anything is sent: a file only
    its owner can read (as --password-file), a variable that is set. Nothing is kept.
    Neither a variable's value nor a missing file's name is ever quoted."""
    import os

    from siptest.password import quotable_env_name, read_password

    problems: list[str] = []
    checked: set[tuple[str, str]] = set()
    for account in accounts:
        source = (
            ("file", str(account.password_file))
            if account.password_file is not None
            else ("env", account.password_env or "")
        )
        if source in checked:
            continue
        checked.add(source)
        try:
            read_password(
                account.password_file,
                account.password_env or "SIPTEST_PASSWORD",
                environ=environ,
                interactive=False,
            )
        except UsageError as error:
            message = str(error)
            if account.password_file is not None and not os.path.lexists(account.password_file):
                # a path that is not there may be the password, typed into the wrong column
                message = (
                    "the file named in password_file does not exist (its name is not repeated "
                    "here: password_file holds the path of a file, never the password)"
                )
            elif account.password_file is None:
                name = quotable_env_name(account.password_env or "", "named in password_env")
                message = f"the variable {name} is not set, or its value is not a usable password"
            problems.append(f"{path}:{account.line}: {message}")
    if problems:
        more = len(problems) - MAX_PROBLEMS
        shown = problems[:MAX_PROBLEMS] + ([f"... and {more} more"] if more > 0 else [])
        raise UsageError("\n".join(shown))
