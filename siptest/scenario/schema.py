"""The scenario schema: a YAML node tree in, a checked `Scenario` out.

`SchemaReader` walks the nodes `source.compose` made: the top level, variables and
accounts here, the steps in `steps.StepReader`, typed values in `nodes`. Every
refusal names FILE:LINE and the key; `loader` does the file handling around it.
Keys not in the lists below are errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from yaml.nodes import MappingNode, ScalarNode

from siptest.errors import UsageError
from siptest.password import DEFAULT_ENV
from siptest.scenario.model import (
    Account,
    PasswordSource,
    Scenario,
    ScenarioError,
    ScenarioErrors,
    scenario_stem,
)
from siptest.scenario.nodes import INLINE_PASSWORD, ScenarioNodes
from siptest.scenario.source import Node, Variables, is_name
from siptest.scenario.steps import StepReader
from siptest.target import check_ca_file
from siptest.ua.base import Transport
from siptest.ua.limits import MAX_ACCOUNTS
from siptest.yamlsource import line_of

"""pjsua2 holds at most 8 accounts per process."""
SINGLE_ACCOUNT = "default"
"""The name of the account given with `account:` (instead of `accounts:`)."""

_TOP_KEYS = (
    "name",
    "description",
    "variables",
    "account",
    "accounts",
    "steps",
    "timeout",
    "profile",
    "continue_on_failure",
    "tls_ca",
    "tls_insecure",
)
_ACCOUNT_KEYS = (
    "user",
    "host",
    "port",
    "transport",
    "auth_user",
    "domain",
    "outbound_proxy",
    "password_env",
    "password_file",
    "expires",
    "answers_calls",
)
_TRANSPORTS: tuple[Transport, ...] = ("udp", "tcp", "tls")


class SchemaReader(ScenarioNodes):
    """Reads one file's node tree into a `Scenario`."""

    def __init__(self, path: Path, variables: Variables) -> None:
        super().__init__(path, variables)
        self.step_reader = StepReader(path, variables, self.problems)

    def scenario(self, root: Node | None) -> Scenario:
        """The file's scenario; every mistake in it at once (`ScenarioErrors`), read on
        past each broken variable, account, step and top-level value."""
        try:
            scenario = self._scenario(root)
        except ScenarioError as error:
            self.problems.append(error)
            scenario = None
        if self.problems or scenario is None:
            problems = sorted(self.problems, key=_line)
            raise problems[0] if len(problems) == 1 else ScenarioErrors(problems)
        return scenario

    def _scenario(self, root: Node | None) -> Scenario | None:
        """The scenario, or None when the accounts are broken (their problems say why)."""
        if root is None:
            raise ScenarioError(
                f"{self.path}:1: the file is empty. A scenario needs an account and steps "
                "(see README.md, 'Scenario files')."
            )
        top = self.mapping(root, "scenario", _TOP_KEYS)
        if "variables" in top:
            with self.recovering():
                self.read_variables(top["variables"])
        if "account" in top and "accounts" in top:
            raise self.error(
                top["accounts"], "accounts", "give either account: (one) or accounts: (several)."
            )
        before_accounts = len(self.problems)
        accounts: dict[str, Account] = {}
        if "account" in top:
            with self.recovering():
                accounts = {SINGLE_ACCOUNT: self.account(top["account"], SINGLE_ACCOUNT, "account")}
        elif "accounts" in top:
            with self.recovering():
                accounts = self.accounts(top["accounts"])
        else:
            self.problems.append(
                ScenarioError(
                    f"{self.path}:{line_of(root)}: key 'account': missing. Describe the account "
                    "to test: account: {user: ..., host: ..., password_env: ...}."
                )
            )
        if len(self.problems) > before_accounts:
            # Steps name accounts: against a broken one each would only repeat its error.
            return None
        transport = self.shared_transport(accounts, top)
        if "steps" not in top:
            raise ScenarioError(
                f"{self.path}:{line_of(root)}: key 'steps': missing. List what to do, "
                "e.g. steps: [register]."
            )
        broken = len(self.problems)
        steps = self.step_reader.steps(top["steps"], accounts, "steps")
        if len(self.problems) == broken:  # checks across steps need them all
            if not steps:
                raise self.error(top["steps"], "steps", "is empty; list at least one step.")
            with self.recovering():
                self.step_reader.check_dtmf(steps)
        # Every value below is read on its own: a file with three mistakes says all three.
        tls_ca: Path | None = None
        tls_insecure = False
        for key in ("tls_ca", "tls_insecure"):
            if key in top and transport != "tls":
                with self.recovering():
                    raise self.error(
                        top[key], key, "only applies when the accounts use transport tls."
                    )
        if "tls_ca" in top and transport == "tls":
            with self.recovering():
                tls_ca = self.path_value(top["tls_ca"], "tls_ca")
                try:
                    check_ca_file(tls_ca, "tls_ca")
                except UsageError as problem:
                    tls_ca = None
                    raise self.error(
                        top["tls_ca"], "tls_ca", str(problem).split(": ", 1)[-1]
                    ) from None
        if "tls_insecure" in top and transport == "tls":
            with self.recovering():
                tls_insecure = self.boolean(top["tls_insecure"], "tls_insecure")
        profile = None
        if "profile" in top:
            from siptest.target import profile_reference

            with self.recovering():
                try:
                    profile = str(
                        profile_reference(self.string(top["profile"], "profile"), self.path.parent)
                    )
                except UsageError as error:
                    raise self.error(top["profile"], "profile", str(error)) from None
        name = scenario_stem(self.path)
        if "name" in top:
            with self.recovering():
                name = self.string(top["name"], "name")
        timeout = 5.0
        if "timeout" in top:
            with self.recovering():
                timeout = self.seconds(top["timeout"], "timeout", 0.5, 64)
        continue_on_failure = False
        if "continue_on_failure" in top:
            with self.recovering():
                continue_on_failure = self.boolean(
                    top["continue_on_failure"], "continue_on_failure"
                )
        description = ""
        if "description" in top:
            with self.recovering():
                description = self.string(top["description"], "description")
        return Scenario(
            name=name,
            path=self.path,
            accounts=accounts,
            steps=tuple(steps),
            transport=transport,
            timeout=timeout,
            profile=profile,
            continue_on_failure=continue_on_failure,
            tls_ca=tls_ca,
            tls_insecure=tls_insecure,
            description=description,
            profile_location=self.at(top["profile"]) if "profile" in top else None,
        )

    def read_variables(self, node: Node) -> None:
        if not isinstance(node, MappingNode):
            raise self.error(
                node, "variables", f"expected a mapping (NAME: value), got {self.describe(node)}."
            )
        seen: set[str] = set()
        for key_node, value_node in node.value:
            name = str(key_node.value) if isinstance(key_node, ScalarNode) else ""
            if not is_name(name):
                raise self.error(
                    key_node,
                    "variables",
                    f"'{name}' is not a variable name (letters, digits and _, not starting "
                    "with a digit).",
                )
            if name in seen:
                raise self.error(key_node, name, "is defined twice under variables.")
            seen.add(name)
            if name.lower() in ("password", "sip_password", "siptest_password"):
                raise self.error(key_node, name, INLINE_PASSWORD)
            self.variables.define(name, self.text(value_node, name))

    def accounts(self, node: Node) -> dict[str, Account]:
        if not isinstance(node, MappingNode):
            raise self.error(
                node,
                "accounts",
                f"expected a mapping of names to accounts, got {self.describe(node)}.",
            )
        if not node.value:
            raise self.error(node, "accounts", "is empty; describe at least one account.")
        if len(node.value) > MAX_ACCOUNTS:
            raise self.error(
                node,
                "accounts",
                f"{len(node.value)} accounts; siptest's SIP stack holds at most {MAX_ACCOUNTS} "
                "at once. Split the scenario into several files.",
            )
        accounts: dict[str, Account] = {}
        for key_node, value_node in node.value:
            name = str(key_node.value) if isinstance(key_node, ScalarNode) else ""
            if not name or not all(c.isalnum() or c in "_.-" for c in name):
                raise self.error(
                    key_node, "accounts", f"'{name}' is not an account name (letters, digits, _.-)."
                )
            if name in accounts:
                raise self.error(key_node, name, "is defined twice under accounts.")
            with self.recovering():
                accounts[name] = self.account(value_node, name, name)
        return accounts

    def account(self, node: Node, name: str, key: str) -> Account:
        from siptest.target import parse_hostport, parse_target

        fields = self.mapping(node, key, _ACCOUNT_KEYS)
        for required in ("user", "host"):
            if required not in fields:
                raise self.error(node, required, f"missing in account '{name}'.")
        user = self.text(fields["user"], "user")
        try:
            parse_target(f"{user.value.strip()}@example.invalid")
        except UsageError:
            raise self.error(
                fields["user"],
                "user",
                f"{user.shown()} is not a SIP user ID (no spaces, '@', ':' or '<>'). "
                "Write it exactly as the provider shows it.",
            ) from None
        host_text = self.text(fields["host"], "host")
        try:
            host, port = parse_hostport(host_text.value.strip(), "host")
        except UsageError as error:
            problem = str(error) if not host_text.hidden_by else "is not a valid HOST[:PORT]."
            raise self.error(fields["host"], "host", problem) from None
        if "port" in fields:
            if port is not None:
                raise self.error(
                    fields["port"], "port", "the host already has a port; give it only once."
                )
            port = self.integer(fields["port"], "port", 1, 65535)
        transport_text = (
            self.text(fields["transport"], "transport") if "transport" in fields else None
        )
        transport: Transport = "udp"
        if transport_text is not None:
            word = transport_text.value.strip().lower()
            if word not in _TRANSPORTS:
                raise self.error(
                    fields["transport"],
                    "transport",
                    f"{transport_text.shown()} is not a transport; use udp, tcp or tls.",
                )
            transport = _TRANSPORTS[_TRANSPORTS.index(word)]
        for key_name in ("domain", "outbound_proxy"):
            if key_name in fields:
                value = self.text(fields[key_name], key_name)
                try:
                    parse_hostport(value.value.strip(), key_name)
                except UsageError as error:
                    problem = str(error) if not value.hidden_by else "is not a valid HOST[:PORT]."
                    raise self.error(fields[key_name], key_name, problem) from None
        return Account(
            name=name,
            user=user.value.strip(),
            host=host,
            port=port,
            transport=transport,
            auth_user=self.string(fields["auth_user"], "auth_user")
            if "auth_user" in fields
            else None,
            domain=self.string(fields["domain"], "domain") if "domain" in fields else None,
            outbound_proxy=(
                self.string(fields["outbound_proxy"], "outbound_proxy")
                if "outbound_proxy" in fields
                else None
            ),
            expires=self.integer(fields["expires"], "expires", 10, 86400)
            if "expires" in fields
            else 300,
            password=self.password_source(fields, node),
            location=self.at(node),
            answers_calls=(
                self.boolean(fields["answers_calls"], "answers_calls")
                if "answers_calls" in fields
                else False
            ),
        )

    def password_source(self, fields: Mapping[str, Node], account: Node) -> PasswordSource:
        if "password_env" in fields and "password_file" in fields:
            raise self.error(
                fields["password_file"],
                "password_file",
                "give one password source: password_env or password_file, not both.",
            )
        if "password_file" in fields:
            node = fields["password_file"]
            return PasswordSource(
                file=self.path_value(node, "password_file"), location=self.at(node)
            )
        if "password_env" in fields:
            node = fields["password_env"]
            name = self.string(node, "password_env")
            if not is_name(name):
                raise self.error(
                    node,
                    "password_env",
                    "expected the NAME of an environment variable (letters, digits and _), "
                    "not the password itself.",
                )
            return PasswordSource(env=name, location=self.at(node))
        return PasswordSource(env=DEFAULT_ENV, location=self.at(account))

    def shared_transport(
        self, accounts: Mapping[str, Account], top: Mapping[str, Node]
    ) -> Transport:
        first = next(iter(accounts.values()))
        for account in accounts.values():
            if account.transport != first.transport:
                raise ScenarioError(
                    f"{account.location}: key 'transport': every account of a scenario uses "
                    f"the same transport (account '{first.name}' uses {first.transport}, "
                    f"'{account.name}' {account.transport}): siptest runs one SIP stack per "
                    "scenario. Split it into one file per transport."
                )
        return first.transport


def _line(error: ScenarioError) -> int:
    """The line a problem names (FILE:LINE: ...), for listing them in file order."""
    head = str(error).split(": ", 1)[0]
    number = head.rsplit(":", 1)[-1]
    return int(number) if number.isdigit() else 0
