"""Typed values of a scenario file: text with `${VAR}` substitution, numbers, flags.

`ScenarioNodes` is the shared ground of the document reader (`schema`) and the
step reader (`steps`): every value is read as the text written in the file, with
variables substituted, and every refusal names FILE:LINE and the key. A value is
quoted in a message only when none of it came from the environment (`Text.shown`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from yaml.nodes import ScalarNode

from siptest.scenario.model import Location, ScenarioError
from siptest.scenario.source import Node, Text, Variables, substitute
from siptest.yamlsource import NodeReader, is_null, line_of

_TRUE = ("true", "yes", "on")
_FALSE = ("false", "no", "off")
INLINE_PASSWORD = (
    "a password is never written in a scenario file (it would end up in version "
    "control and CI logs). Name where it comes from instead: password_env: NAME "
    "(an environment variable) or password_file: PATH (a file only you can read, "
    "chmod 600)."
)


class ScenarioNodes(NodeReader):
    """Reads one scenario file's nodes; every error names the file, the line and the key."""

    def __init__(
        self, path: Path, variables: Variables, problems: list[ScenarioError] | None = None
    ) -> None:
        super().__init__(path, ScenarioError)
        self.path: Path = path
        self.variables = variables
        self.problems: list[ScenarioError] = [] if problems is None else problems
        """Mistakes found so far, read on past (`recovering`): the file's every error at once."""

    @contextmanager
    def recovering(self) -> Iterator[None]:
        """Read on after a mistake in this part: keep it, and leave the part out."""
        try:
            yield
        except ScenarioError as error:
            self.problems.append(error)

    def at(self, node: Node) -> Location:
        return Location(self.path, line_of(node))

    def error(self, node: Node, key: str, problem: str) -> ScenarioError:
        return ScenarioError(f"{self.at(node)}: key '{key}': {problem}")

    def mapping(self, node: Node, key: str, allowed: Sequence[str]) -> dict[str, Node]:
        """A mapping's values by key; duplicate and unknown keys are errors. An unknown
        key is kept as a problem and left out, so the rest is still read."""
        found = self.fields(node, key)
        for name, (key_node, _) in found.items():
            if name not in allowed:
                self.problems.append(self.unknown(key_node, name, allowed))
        return {name: value for name, (_, value) in found.items() if name in allowed}

    def unknown(
        self, node: Node, name: str, allowed: Sequence[str], what: str = "key"
    ) -> ScenarioError:
        if name == "password":
            return self.error(node, name, INLINE_PASSWORD)
        refusal = super().unknown(node, name, allowed, what)
        return ScenarioError(str(refusal))

    def text(self, node: Node, key: str) -> Text:
        if not isinstance(node, ScalarNode):
            raise self.error(node, key, f"expected a single value, got {self.describe(node)}.")
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
