"""The raw side of a scenario file: YAML nodes with line numbers, and `${VAR}` substitution.

PyYAML's composer keeps a mark (line, column) on every node, so the loader reads
the node tree instead of plain Python values and can name FILE:LINE for every
mistake. Values are read as the text written in the file: `number: 0123` stays
"0123" (YAML 1.1 would make it the octal 83), `user: 1001` stays "1001".

Substitution: `${NAME}` is replaced by the value of NAME - a `--var` override,
else the scenario's `variables`, else the environment - and `${NAME:-text}`
falls back to `text` when NAME is not set; `$$` is a literal `$`. A value that
took anything from the environment is *hidden*: error messages name the
variable instead of quoting the value, which may be a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import yaml

from siptest import yamlsource
from siptest.scenario.model import ScenarioError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REFERENCE_BODY = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?")

Node = yaml.Node


@dataclass(frozen=True)
class Text:
    """A scalar after substitution, and whether it may be quoted in a message."""

    value: str
    hidden_by: tuple[str, ...] = ()
    """Variables whose environment values went into it; empty when safe to show."""

    def shown(self) -> str:
        """The value for an error message, or the variables it came from."""
        if self.hidden_by:
            names = ", ".join(f"${{{name}}}" for name in self.hidden_by)
            return f"the value of {names}"
        return f"'{self.value}'"


class Variables:
    """Where `${NAME}` is looked up: overrides, then the file's variables, then the environment."""

    def __init__(self, overrides: Mapping[str, str], environ: Mapping[str, str]) -> None:
        self._overrides = dict(overrides)
        self._environ = environ
        self._defined: dict[str, Text] = {}

    def define(self, name: str, value: Text) -> None:
        self._defined[name] = value

    def lookup(self, name: str) -> Text | None:
        if name in self._overrides:
            return Text(self._overrides[name])
        if name in self._defined:
            return self._defined[name]
        if name in self._environ:
            return Text(self._environ[name], (name,))
        return None


def is_text(value: str) -> bool:
    """False for a value that came from bytes that are not UTF-8 (Python keeps them as
    lone surrogates in argv and the environment)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_name(text: str) -> bool:
    return _NAME.fullmatch(text) is not None


def substitute(raw: str, variables: Variables, where: str) -> Text:
    """Replace every `${...}` in `raw`; `where` prefixes errors ("FILE:LINE: key 'x'")."""
    out: list[str] = []
    hidden: list[str] = []
    index = 0
    while True:
        dollar = raw.find("$", index)
        if dollar < 0:
            out.append(raw[index:])
            break
        out.append(raw[index:dollar])
        following = raw[dollar + 1 : dollar + 2]
        if following == "$":
            out.append("$")
            index = dollar + 2
            continue
        if following != "{":
            out.append("$")
            index = dollar + 1
            continue
        close = raw.find("}", dollar)
        if close < 0:
            raise ScenarioError(
                f"{where}: '${{' is not closed. Write ${{NAME}} or ${{NAME:-default}} "
                "(and $$ for a literal $)."
            )
        body = raw[dollar + 2 : close]
        match = _REFERENCE_BODY.fullmatch(body)
        if match is None:
            raise ScenarioError(
                f"{where}: '${{{body}}}' is not a variable reference. Write ${{NAME}} or "
                "${NAME:-default}; a NAME is letters, digits and _, not starting with a digit."
            )
        name = match.group("name")
        found = variables.lookup(name)
        if found is not None and not is_text(found.value):
            # Never quoted: an environment value may be a secret.
            raise ScenarioError(
                f"{where}: the value of ${{{name}}} holds bytes that are not UTF-8 text. "
                f"Set {name} to UTF-8 text."
            )
        if found is not None:
            out.append(found.value)
            hidden.extend(found.hidden_by)
        elif match.group("default") is not None:
            out.append(match.group("default"))
        else:
            raise ScenarioError(
                f"{where}: ${{{name}}} is not set. Export {name}, define it under "
                f"variables:, pass --var {name}=VALUE, or give a default: ${{{name}:-VALUE}}."
            )
        index = close + 1
    return Text("".join(out), tuple(dict.fromkeys(hidden)))


def compose(text: str, path: str) -> Node | None:
    """The node tree of one YAML document; None for an empty file."""
    return yamlsource.compose(text, path, ScenarioError)[0]
