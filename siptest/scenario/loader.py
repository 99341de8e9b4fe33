"""Reading scenario files into `Scenario`s, and readying them to run.

    scenario = load_scenario(Path("scenarios/ata-self-check.sip.yaml"))
    prepared = prepare(scenario)          # reads passwords, loads the profile

Every mistake is a `ScenarioError` (exit status 2) whose message starts with
"FILE:LINE: key 'x':" and says what to write instead; nothing is sent before the
whole file has been read. Unknown keys are errors, so a typo never silently
turns a check off. A password is never written in a scenario: an account names
an environment variable (`password_env`) or a file (`password_file`), read with
the same rules as `--password-file` (siptest/password.py). Values that came from
the environment are never quoted in a message.

The format is documented in README.md, "Scenario files".
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from siptest.errors import UsageError
from siptest.password import DEFAULT_ENV, quotable_env_name, read_password
from siptest.scenario.model import (
    SCENARIO_SUFFIXES,
    Account,
    Scenario,
    ScenarioError,
    ScenarioErrors,
)
from siptest.scenario.schema import SchemaReader
from siptest.scenario.source import Variables, compose, is_name
from siptest.ua.base import AccountSpec

if TYPE_CHECKING:
    from siptest.knowledge import Knowledge


def load_scenario(
    path: Path,
    *,
    overrides: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Scenario:
    """Read and check one scenario file. `overrides` are `--var NAME=VALUE` values."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not UTF-8 text; is it a scenario file?") from None
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read the scenario ({error.strerror}).") from None
    variables = Variables(overrides or {}, os.environ if environ is None else environ)
    return SchemaReader(path, variables).scenario(compose(text, str(path)))


def find_scenarios(paths: Iterable[Path]) -> list[Path]:
    """Scenario files named, or found under named directories (*.sip.yaml), in order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(
                p for p in path.rglob("*") if p.is_file() and p.name.endswith(SCENARIO_SUFFIXES)
            )
            if not inside:
                raise UsageError(f"{path}: no scenario files (*.sip.yaml) in this directory.")
            found.extend(inside)
        elif path.exists():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such file or directory.")
    return list(dict.fromkeys(found))


def parse_overrides(items: Sequence[str]) -> dict[str, str]:
    """`--var NAME=VALUE` options as a mapping."""
    overrides: dict[str, str] = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals or not is_name(name):
            raise UsageError(
                f"--var {item.split('=', 1)[0]}...: write --var NAME=VALUE, where NAME is "
                "letters, digits and _."
            )
        overrides[name] = value
    return overrides


@dataclass(frozen=True)
class PreparedScenario:
    """A scenario with its passwords read and its knowledge loaded: ready to run."""

    scenario: Scenario
    accounts: Mapping[str, AccountSpec]
    knowledge: Knowledge


def prepare(scenario: Scenario, environ: Mapping[str, str] | None = None) -> PreparedScenario:
    """Read every account's password and load the profile. Every problem at once, in
    the order of the file (`ScenarioErrors`): a missing password for each of three
    accounts is one message, not three runs."""
    from siptest.knowledge import load_knowledge

    environ = os.environ if environ is None else environ
    problems: list[tuple[int, ScenarioError]] = []
    accounts: dict[str, AccountSpec] = {}
    for name, account in scenario.accounts.items():
        try:
            accounts[name] = account.spec(_password(account, environ))
        except ScenarioError as error:
            where = account.password.location or account.location
            problems.append((where.line, error))
    knowledge: Knowledge | None = None
    try:
        knowledge = load_knowledge(scenario.profile)
    except UsageError as error:
        where = scenario.profile_location or scenario.location
        problems.append((where.line, ScenarioError(f"{where}: key 'profile': {error}")))
    if problems or knowledge is None:
        in_order = [error for _, error in sorted(problems, key=lambda item: item[0])]
        raise in_order[0] if len(in_order) == 1 else ScenarioErrors(in_order)
    return PreparedScenario(scenario, accounts, knowledge)


def _password(account: Account, environ: Mapping[str, str]) -> str:
    source = account.password
    where = f"{source.location or account.location}: key '{source.key}'"
    if source.file is not None:
        try:
            return read_password(source.file, environ=environ, interactive=False).value
        except UsageError as error:
            raise ScenarioError(f"{where}: {error}") from None
    name = source.env or DEFAULT_ENV
    if name not in environ:
        name = quotable_env_name(name, "it names")
        raise ScenarioError(
            f"{where}: the environment variable {name} is not set (password of account "
            f"'{account.name}'). Set it to the SIP password, or name a file with "
            "password_file: PATH."
        )
    try:
        return read_password(None, name, environ, interactive=False).value
    except UsageError as error:
        raise ScenarioError(f"{where}: {error}") from None
