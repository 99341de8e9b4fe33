"""The scenario schema: a YAML node tree in, a checked `Scenario` out.

`SchemaReader` walks the nodes `source.compose` made, so every refusal can name
FILE:LINE and the key; `loader` does the file handling around it. Keys not in
the lists below are errors, and a value is quoted in a message only when none of
it came from the environment (`Text.shown`).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Literal

import yaml

from siptest.errors import UsageError
from siptest.password import DEFAULT_ENV
from siptest.scenario.model import (
    DEFAULT_EXPECTATION,
    MAX_REGISTRATIONS,
    MAX_REPEAT,
    MAX_STEPS,
    MAX_WAIT_SECONDS,
    MEDIA_KEYS,
    MOS_RANGE,
    Account,
    Call,
    DtmfMethod,
    Expectation,
    Location,
    PasswordSource,
    Register,
    Scenario,
    ScenarioError,
    Step,
    Unregister,
    Wait,
    scenario_stem,
)
from siptest.scenario.source import (
    Node,
    Text,
    Variables,
    is_name,
    kind_of,
    substitute,
)
from siptest.ua.base import Transport
from siptest.yamlsource import is_null, line_of

MAX_ACCOUNTS = 8
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
_STEP_KINDS = ("register", "unregister", "call", "wait", "expect", "repeat")
_ACCOUNT_STEP_KEYS = ("account", "expect")
_CALL_KEYS = ("number", "account", "ring_timeout", "talk", "dtmf", "dtmf_method", "expect")
_EXPECT_KEYS = ("ok", "code", "category", "answered", *MEDIA_KEYS)
_DTMF_METHODS: tuple[DtmfMethod, ...] = ("rfc4733", "info")
_TRANSPORTS: tuple[Transport, ...] = ("udp", "tcp", "tls")
_TRUE = ("true", "yes", "on")
_FALSE = ("false", "no", "off")
_DTMF = frozenset("0123456789*#ABCDabcd")
_INLINE_PASSWORD = (
    "a password is never written in a scenario file (it would end up in version "
    "control and CI logs). Name where it comes from instead: password_env: NAME "
    "(an environment variable) or password_file: PATH (a file only you can read, "
    "chmod 600)."
)


class SchemaReader:
    """Reads one file's node tree; every error names the file, the line and the key."""

    def __init__(self, path: Path, variables: Variables) -> None:
        self.path = path
        self.variables = variables

    # -- errors and plain values ---------------------------------------------------------

    def at(self, node: Node) -> Location:
        return Location(self.path, line_of(node))

    def error(self, node: Node, key: str, problem: str) -> ScenarioError:
        return ScenarioError(f"{self.at(node)}: key '{key}': {problem}")

    def mapping(self, node: Node, key: str, allowed: Sequence[str]) -> dict[str, Node]:
        """A mapping's values by key; duplicate and unknown keys are errors."""
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, key, f"expected a mapping (name: value), got {kind_of(node)}.")
        values: dict[str, Node] = {}
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or is_null(key_node):
                raise self.error(key_node, key, "keys must be plain names.")
            name = str(key_node.value)
            if name in values:
                raise self.error(
                    key_node, name, f"appears twice (first on line {lines[name]}); keep one."
                )
            if name not in allowed:
                raise self.unknown(key_node, name, allowed)
            values[name] = value_node
            lines[name] = line_of(key_node)
        return values

    def unknown(self, node: Node, name: str, allowed: Sequence[str]) -> ScenarioError:
        if name == "password":
            return self.error(node, name, _INLINE_PASSWORD)
        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return self.error(node, name, f"unknown key.{hint} Allowed here: {', '.join(allowed)}.")

    def text(self, node: Node, key: str) -> Text:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, key, f"expected a single value, got {kind_of(node)}.")
        if is_null(node):
            raise self.error(node, key, "is empty; give a value or leave the key out.")
        value = substitute(str(node.value), self.variables, f"{self.at(node)}: key '{key}'")
        if not value.value.strip():
            raise self.error(node, key, "is empty; give a value or leave the key out.")
        return value

    def string(self, node: Node, key: str) -> str:
        return self.text(node, key).value.strip()

    def integer(self, node: Node, key: str, low: int, high: int) -> int:
        value = self.text(node, key)
        stripped = value.value.strip()
        if not stripped.lstrip("+-").isdigit() or not stripped.isascii():
            raise self.error(node, key, f"expected a whole number, got {value.shown()}.")
        number = int(stripped)
        if not low <= number <= high:
            raise self.error(node, key, f"must be from {low} to {high}, got {number}.")
        return number

    def seconds(self, node: Node, key: str, low: float, high: float) -> float:
        value = self.text(node, key)
        try:
            number = float(value.value.strip())
        except ValueError:
            raise self.error(
                node, key, f"expected a number of seconds, got {value.shown()}."
            ) from None
        if not low <= number <= high:  # also refuses nan
            raise self.error(
                node, key, f"must be from {low:g} to {high:g} seconds, got {number:g}."
            )
        return number

    def boolean(self, node: Node, key: str) -> bool:
        value = self.text(node, key)
        word = value.value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise self.error(node, key, f"expected true or false, got {value.shown()}.")

    def path_value(self, node: Node, key: str) -> Path:
        path = Path(self.string(node, key)).expanduser()
        return path if path.is_absolute() else self.path.parent / path

    # -- the document ----------------------------------------------------------------------

    def scenario(self, root: Node | None) -> Scenario:
        if root is None:
            raise ScenarioError(
                f"{self.path}:1: the file is empty. A scenario needs an account and steps "
                "(see README.md, 'Scenario files')."
            )
        top = self.mapping(root, "scenario", _TOP_KEYS)
        if "variables" in top:
            self.read_variables(top["variables"])
        if "account" in top and "accounts" in top:
            raise self.error(
                top["accounts"], "accounts", "give either account: (one) or accounts: (several)."
            )
        if "account" in top:
            accounts = {SINGLE_ACCOUNT: self.account(top["account"], SINGLE_ACCOUNT, "account")}
        elif "accounts" in top:
            accounts = self.accounts(top["accounts"])
        else:
            raise ScenarioError(
                f"{self.path}:{line_of(root)}: key 'account': missing. Describe the account "
                "to test: account: {user: ..., host: ..., password_env: ...}."
            )
        transport = self.shared_transport(accounts, top)
        if "steps" not in top:
            raise ScenarioError(
                f"{self.path}:{line_of(root)}: key 'steps': missing. List what to do, "
                "e.g. steps: [register]."
            )
        steps = self.steps(top["steps"], accounts, "steps")
        if not steps:
            raise self.error(top["steps"], "steps", "is empty; list at least one step.")
        self.check_registrations(steps)
        self.check_dtmf(steps)
        tls_ca = self.path_value(top["tls_ca"], "tls_ca") if "tls_ca" in top else None
        tls_insecure = (
            self.boolean(top["tls_insecure"], "tls_insecure") if "tls_insecure" in top else False
        )
        for key in ("tls_ca", "tls_insecure"):
            if key in top and transport != "tls":
                raise self.error(top[key], key, "only applies when the accounts use transport tls.")
        if tls_ca is not None and not tls_ca.is_file():
            raise self.error(top["tls_ca"], "tls_ca", f"{tls_ca}: no such file.")
        profile = None
        if "profile" in top:
            profile = self.string(top["profile"], "profile")
            if profile.endswith((".yaml", ".yml")) or "/" in profile:
                profile = str(self.path_value(top["profile"], "profile"))
        return Scenario(
            name=self.string(top["name"], "name") if "name" in top else scenario_stem(self.path),
            path=self.path,
            accounts=accounts,
            steps=tuple(steps),
            transport=transport,
            timeout=self.seconds(top["timeout"], "timeout", 0.5, 64) if "timeout" in top else 5.0,
            profile=profile,
            continue_on_failure=(
                self.boolean(top["continue_on_failure"], "continue_on_failure")
                if "continue_on_failure" in top
                else False
            ),
            tls_ca=tls_ca,
            tls_insecure=tls_insecure,
            description=(
                self.string(top["description"], "description") if "description" in top else ""
            ),
            profile_location=self.at(top["profile"]) if "profile" in top else None,
        )

    def read_variables(self, node: Node) -> None:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(
                node, "variables", f"expected a mapping (NAME: value), got {kind_of(node)}."
            )
        seen: set[str] = set()
        for key_node, value_node in node.value:
            name = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else ""
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
                raise self.error(key_node, name, _INLINE_PASSWORD)
            self.variables.define(name, self.text(value_node, name))

    def accounts(self, node: Node) -> dict[str, Account]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(
                node, "accounts", f"expected a mapping of names to accounts, got {kind_of(node)}."
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
            name = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else ""
            if not name or not all(c.isalnum() or c in "_.-" for c in name):
                raise self.error(
                    key_node, "accounts", f"'{name}' is not an account name (letters, digits, _.-)."
                )
            if name in accounts:
                raise self.error(key_node, name, "is defined twice under accounts.")
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

    # -- steps --------------------------------------------------------------------------------

    def steps(self, node: Node, accounts: Mapping[str, Account], key: str) -> list[Step]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(
                node,
                key,
                f"expected a list of steps (- register, - call: 7000...), got {kind_of(node)}.",
            )
        steps: list[Step] = []
        for item in node.value:
            if isinstance(item, yaml.ScalarNode) and not is_null(item):
                steps.append(self.bare_step(item, accounts))
                continue
            if not isinstance(item, yaml.MappingNode) or not item.value:
                raise self.error(
                    item,
                    key,
                    f"each step is a name or a mapping (- call: 7000), got {kind_of(item)}.",
                )
            kind, fields = self.step_fields(item)
            if kind == "expect":
                self.attach(steps, fields["expect"])
            elif kind == "repeat":
                steps.extend(self.repeat(fields["repeat"], accounts, len(steps)))
            elif kind == "wait":
                steps.append(self.wait(fields["wait"]))
            else:
                step = self.account_step(kind, fields[kind], accounts)
                if "expect" in fields:
                    step = self.merged(step, self.expectation(fields["expect"], kind))
                steps.append(step)
            if len(steps) > MAX_STEPS:
                raise self.error(item, kind, f"the scenario has more than {MAX_STEPS} steps.")
        return steps

    def step_fields(self, item: Node) -> tuple[str, dict[str, Node]]:
        """The kind of one step mapping and its keys: the kind, plus `expect` for checks."""
        assert isinstance(item, yaml.MappingNode)
        fields: dict[str, Node] = {}
        kinds: list[str] = []
        for key_node, value_node in item.value:
            name = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else ""
            if name in fields:
                raise self.error(key_node, name, "appears twice in one step.")
            if name not in _STEP_KINDS:
                if name in _CALL_KEYS or name in ("seconds", "times", "steps"):
                    raise self.error(
                        key_node,
                        name,
                        f"belongs inside the step, indented under it (e.g. - call: {{number: "
                        f"7000, {name}: ...}}).",
                    )
                close = difflib.get_close_matches(name, _STEP_KINDS, n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                raise self.error(
                    key_node, name, f"unknown step.{hint} Steps are: {', '.join(_STEP_KINDS)}."
                )
            fields[name] = value_node
            if name != "expect":
                kinds.append(name)
        if len(kinds) > 1:
            raise self.error(
                item,
                kinds[1],
                f"one step per list item: '{kinds[0]}' and '{kinds[1]}' are "
                "in the same item. Start each with its own '-'.",
            )
        if kinds and kinds[0] in ("wait", "repeat") and "expect" in fields:
            raise self.error(
                fields["expect"], "expect", f"a {kinds[0]} step has nothing to expect."
            )
        return (kinds[0] if kinds else "expect"), fields

    def bare_step(self, item: Node, accounts: Mapping[str, Account]) -> Step:
        word = str(item.value).strip()
        if word in ("register", "unregister"):
            return self.account_step(word, None, accounts, at=item)
        if word in ("call", "wait", "repeat", "expect"):
            needs = {
                "call": "the number to dial: - call: 7000",
                "wait": "the seconds: - wait: 2",
                "repeat": "times and steps: - repeat: {times: 3, steps: [...]}",
                "expect": "what to expect: - expect: answered",
            }[word]
            raise self.error(item, word, f"needs {needs}.")
        close = difflib.get_close_matches(word, _STEP_KINDS, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise self.error(item, word, f"unknown step.{hint} Steps are: {', '.join(_STEP_KINDS)}.")

    def account_name(
        self, node: Node | None, accounts: Mapping[str, Account], kind: str, at: Node
    ) -> str:
        if node is None or is_null(node):
            if len(accounts) == 1:
                return next(iter(accounts))
            raise self.error(
                at,
                kind,
                f"this scenario has {len(accounts)} accounts ({', '.join(accounts)}); "
                f"name the one to use: {kind}: {{account: {next(iter(accounts))}}}.",
            )
        text = self.text(node, "account")
        name = text.value.strip()
        if name not in accounts:
            raise self.error(
                node,
                "account",
                f"no account named {text.shown()}; this scenario has: {', '.join(accounts)}.",
            )
        return name

    def account_step(
        self,
        kind: str,
        node: Node | None,
        accounts: Mapping[str, Account],
        at: Node | None = None,
    ) -> Register | Unregister | Call:
        at = at if at is not None else node
        assert at is not None
        location = self.at(at)
        if kind == "call":
            return self.call(node, accounts, at)
        account_node: Node | None = node
        expect = DEFAULT_EXPECTATION
        if isinstance(node, yaml.MappingNode):
            fields = self.mapping(node, kind, _ACCOUNT_STEP_KEYS)
            account_node = fields.get("account")
            if "expect" in fields:
                expect = self.expectation(fields["expect"], kind)
        elif node is not None and not isinstance(node, yaml.ScalarNode):
            raise self.error(
                node, kind, f"expected an account name or a mapping, got {kind_of(node)}."
            )
        name = self.account_name(account_node, accounts, kind, at)
        if kind == "register":
            return Register(account=name, location=location, expect=expect)
        return Unregister(account=name, location=location, expect=expect)

    def call(self, node: Node | None, accounts: Mapping[str, Account], at: Node) -> Call:
        assert node is not None
        if is_null(node):
            raise self.error(node, "call", "needs the number to dial: - call: 7000.")
        if isinstance(node, yaml.ScalarNode):
            number = self.number(node)
            return Call(
                account=self.account_name(None, accounts, "call", at),
                number=number,
                location=self.at(at),
            )
        fields = self.mapping(node, "call", _CALL_KEYS)
        if "number" not in fields:
            raise self.error(node, "number", "missing: which number should the call dial?")
        if "dtmf_method" in fields and "dtmf" not in fields:
            raise self.error(
                fields["dtmf_method"],
                "dtmf_method",
                "there are no digits to send; add dtmf: '123#' to the call or leave "
                "dtmf_method out.",
            )
        return Call(
            account=self.account_name(fields.get("account"), accounts, "call", at),
            number=self.number(fields["number"]),
            location=self.at(at),
            ring_timeout=(
                self.seconds(fields["ring_timeout"], "ring_timeout", 1, MAX_WAIT_SECONDS)
                if "ring_timeout" in fields
                else 30.0
            ),
            talk=self.seconds(fields["talk"], "talk", 0, MAX_WAIT_SECONDS)
            if "talk" in fields
            else 2.0,
            dtmf=self.dtmf(fields["dtmf"]) if "dtmf" in fields else "",
            dtmf_method=(
                self.dtmf_method(fields["dtmf_method"]) if "dtmf_method" in fields else "rfc4733"
            ),
            expect=self.expectation(fields["expect"], "call")
            if "expect" in fields
            else DEFAULT_EXPECTATION,
        )

    def number(self, node: Node) -> str:
        value = self.text(node, "number")
        number = value.value.strip()
        if len(number) > 256 or any(ord(c) < 32 for c in number):
            raise self.error(
                node, "number", f"{value.shown()} is not a number or SIP URI one could dial."
            )
        return number

    def dtmf(self, node: Node) -> str:
        value = self.text(node, "dtmf")
        digits = value.value.strip()
        if not set(digits) <= _DTMF or len(digits) > 32:
            raise self.error(
                node, "dtmf", f"{value.shown()}: DTMF is up to 32 of 0-9, *, # and A-D."
            )
        return digits.upper()

    def dtmf_method(self, node: Node) -> DtmfMethod:
        value = self.text(node, "dtmf_method")
        word = value.value.strip().lower()
        for method in _DTMF_METHODS:
            if word == method:
                return method
        raise self.error(
            node,
            "dtmf_method",
            f"{value.shown()} is not a DTMF method; rfc4733 (events in the audio stream, "
            "the usual one) or info (SIP INFO requests).",
        )

    def min_mos(self, node: Node) -> float:
        value = self.text(node, "min_mos")
        low, high = MOS_RANGE
        try:
            number = float(value.value.strip())
        except ValueError:
            raise self.error(
                node, "min_mos", f"expected a MOS score such as 3.5, got {value.shown()}."
            ) from None
        if not low <= number <= high:  # also refuses nan
            raise self.error(
                node,
                "min_mos",
                f"must be from {low:.1f} to {high:.1f} (the MOS scale; 4.5 is the best a "
                f"call can score), got {number:g}.",
            )
        return number

    def audio(self, node: Node) -> Literal["both"]:
        value = self.text(node, "audio")
        if value.value.strip().lower() != "both":
            raise self.error(
                node,
                "audio",
                f"{value.shown()} cannot be expected; only 'both' (audio flows in both "
                "directions). One-way audio and silence are failures the media check reports.",
            )
        return "both"

    def wait(self, node: Node) -> Wait:
        if isinstance(node, yaml.MappingNode):
            fields = self.mapping(node, "wait", ("seconds",))
            if "seconds" not in fields:
                raise self.error(node, "seconds", "missing: how long to wait?")
            node = fields["seconds"]
            key = "seconds"
        else:
            key = "wait"
        seconds = self.seconds(node, key, 0, MAX_WAIT_SECONDS)
        return Wait(seconds=seconds, location=self.at(node))

    def repeat(self, node: Node, accounts: Mapping[str, Account], before: int) -> list[Step]:
        fields = self.mapping(node, "repeat", ("times", "steps"))
        for required in ("times", "steps"):
            if required not in fields:
                raise self.error(node, required, "missing in repeat: {times: N, steps: [...]}.")
        times = self.integer(fields["times"], "times", 1, MAX_REPEAT)
        block = self.steps(fields["steps"], accounts, "steps")
        if not block:
            raise self.error(fields["steps"], "steps", "is empty; list the steps to repeat.")
        if before + times * len(block) > MAX_STEPS:
            raise self.error(
                fields["times"],
                "times",
                f"{times} x {len(block)} steps makes more than {MAX_STEPS} steps.",
            )
        unrolled: list[Step] = []
        for round_ in range(1, times + 1):
            label = f"{round_}/{times}"
            for step in block:
                unrolled.append(replace(step, round=f"{label} {step.round}".strip()))
        return unrolled

    # -- expectations --------------------------------------------------------------------------

    def expectation(self, node: Node, kind: str) -> Expectation:
        from siptest.knowledge import CATEGORIES

        location = self.at(node)
        if isinstance(node, yaml.ScalarNode) and not is_null(node):
            value = self.text(node, "expect")
            word = value.value.strip().lower()
            if word.isdigit():
                return Expectation(codes=(self.code(node, value),), location=location)
            if word == "ok":
                return Expectation(ok=True, location=location)
            if word == "answered":
                self.calls_only(node, kind, "answered")
                return Expectation(answered=True, location=location)
            if word in CATEGORIES:
                return Expectation(category=word, location=location)
            raise self.error(
                node,
                "expect",
                f"{value.shown()} is not something to expect. Give ok, answered, a response "
                f"code (e.g. 404) or a category ({', '.join(CATEGORIES)}); or a mapping of "
                "ok/code/category/answered/audio/min_mos/dtmf.",
            )
        fields = self.mapping(node, "expect", _EXPECT_KEYS)
        if not fields:
            raise self.error(
                node,
                "expect",
                "say what to expect: ok, code, category, answered, audio, min_mos or dtmf.",
            )
        codes: tuple[int, ...] = ()
        if "code" in fields:
            code_node = fields["code"]
            items = code_node.value if isinstance(code_node, yaml.SequenceNode) else [code_node]
            if not items:
                raise self.error(code_node, "code", "is an empty list; give one code or several.")
            codes = tuple(self.code(item, self.text(item, "code")) for item in items)
        category = None
        if "category" in fields:
            category_text = self.text(fields["category"], "category")
            category = category_text.value.strip().lower()
            if category not in CATEGORIES:
                raise self.error(
                    fields["category"],
                    "category",
                    f"{category_text.shown()} is not a category; one of {', '.join(CATEGORIES)}.",
                )
        answered = None
        if "answered" in fields:
            self.calls_only(fields["answered"], kind, "answered")
            answered = self.boolean(fields["answered"], "answered")
        for key in MEDIA_KEYS:
            if key in fields:
                self.media_only_on_calls(fields[key], kind, key)
        return Expectation(
            ok=self.boolean(fields["ok"], "ok") if "ok" in fields else None,
            codes=codes,
            category=category,
            answered=answered,
            audio=self.audio(fields["audio"]) if "audio" in fields else None,
            min_mos=self.min_mos(fields["min_mos"]) if "min_mos" in fields else None,
            dtmf=self.dtmf(fields["dtmf"]) if "dtmf" in fields else None,
            location=location,
            dtmf_location=self.at(fields["dtmf"]) if "dtmf" in fields else None,
        )

    def code(self, node: Node, text: Text) -> int:
        digits = text.value.strip()
        if not digits.isdigit() or not 100 <= int(digits) <= 699:
            raise self.error(
                node, "code", f"{text.shown()} is not a SIP response code (100 to 699)."
            )
        return int(digits)

    def calls_only(self, node: Node, kind: str, key: str) -> None:
        if kind != "call":
            raise self.error(node, key, f"only a call can be {key}; this is a {kind} step.")

    def media_only_on_calls(self, node: Node, kind: str, key: str) -> None:
        if kind != "call":
            raise self.error(
                node,
                key,
                f"only a call step can expect {key} (it is about the call's audio); "
                f"this is a {kind} step.",
            )

    def attach(self, steps: list[Step], node: Node) -> None:
        """A standalone `- expect:` adds to the step before it."""
        previous = steps[-1] if steps else None
        if not isinstance(previous, Register | Unregister | Call):
            raise self.error(
                node,
                "expect",
                "checks the step before it (register, unregister or call), and there is none. "
                "Put it right after the step it checks.",
            )
        kind = type(previous).__name__.lower()
        steps[-1] = self.merged(previous, self.expectation(node, kind))

    def merged(
        self, step: Register | Unregister | Call, extra: Expectation
    ) -> Register | Unregister | Call:
        current = step.expect
        if current.is_default:
            return replace(step, expect=extra)
        for name in ("ok", "category", "answered", *MEDIA_KEYS):
            if getattr(current, name) is not None and getattr(extra, name) is not None:
                raise ScenarioError(
                    f"{extra.location}: key '{name}': already expected on line "
                    f"{current.location.line if current.location else '?'}; say it once."
                )
        if current.codes and extra.codes:
            raise ScenarioError(
                f"{extra.location}: key 'code': already expected on line "
                f"{current.location.line if current.location else '?'}; give several codes "
                "as a list: code: [403, 404]."
            )
        combined = Expectation(
            ok=current.ok if current.ok is not None else extra.ok,
            codes=current.codes or extra.codes,
            category=current.category or extra.category,
            answered=current.answered if current.answered is not None else extra.answered,
            audio=current.audio or extra.audio,
            min_mos=current.min_mos if current.min_mos is not None else extra.min_mos,
            dtmf=current.dtmf if current.dtmf is not None else extra.dtmf,
            location=current.location,
            dtmf_location=current.dtmf_location or extra.dtmf_location,
        )
        return replace(step, expect=combined)

    def check_dtmf(self, steps: Sequence[Step]) -> None:
        """Digits expected at the far end must be the digits the call sends."""
        for step in steps:
            if not isinstance(step, Call) or step.expect.dtmf is None:
                continue
            if step.dtmf != step.expect.dtmf:
                where = step.expect.dtmf_location or step.expect.location or step.location
                problem = (
                    "the digits expected to arrive differ from the digits the call sends"
                    if step.dtmf
                    else "the call sends no digits"
                )
                raise ScenarioError(
                    f"{where}: key 'dtmf': {problem} (the call on line "
                    f"{step.location.line}). The far end "
                    "can only receive what the call sends: give the call the same digits "
                    "(call: {number: ..., dtmf: ...})."
                )

    def check_registrations(self, steps: Sequence[Step]) -> None:
        registers = [step for step in steps if isinstance(step, Register)]
        if len(registers) > MAX_REGISTRATIONS:
            extra = registers[MAX_REGISTRATIONS]
            raise ScenarioError(
                f"{extra.location}: key 'register': the scenario registers {len(registers)} "
                f"times (repeat blocks included); siptest's SIP stack allows at most "
                f"{MAX_REGISTRATIONS} registrations per scenario. Lower the repeat count or "
                "split the file."
            )
