"""YAML read as a node tree, so every error can name the file and line.

Shared by the knowledge loader and the scenario loader: `compose` parses,
`NodeReader` is the common ground of their readers (mappings with unknown and
duplicate keys refused, errors as ``FILE:LINE: key 'k': problem``). Parse errors
give the line and PyYAML's problem, never its snippet: that would quote the
file's text, which may be exactly a secret that was mistyped.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from siptest.errors import UsageError


def compose(text: str, path: str, error: type[UsageError]) -> tuple[Node | None, Any]:
    """The node tree of one YAML document (None when empty) and the loader that
    can construct its scalars; a parse error raises `error` with path:line."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        return loader.get_single_node(), loader
    except yaml.MarkedYAMLError as problem:
        mark = problem.problem_mark or problem.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = problem.problem or problem.context or "cannot be parsed"
        raise error(
            f"{path}:{line}: not valid YAML: {what}. Check the indentation, quotes and "
            "colons on this line and the one before."
        ) from None
    except yaml.YAMLError as problem:
        raise error(f"{path}: not valid YAML ({type(problem).__name__}).") from None


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1


def shape_of(node: Node) -> str:
    """ "mapping", "sequence" or "scalar" (PyYAML's node.id, which its stubs omit)."""
    if isinstance(node, MappingNode):
        return "mapping"
    if isinstance(node, SequenceNode):
        return "sequence"
    return "scalar"


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"


class NodeReader:
    """Reads one composed file; every refusal names the file, the line and the key.

    Subclasses add the typed scalar readers their format needs (the knowledge
    files take YAML's own types; scenarios read text with `${VAR}` substitution).
    """

    def __init__(self, path: str | Path, error: type[UsageError]) -> None:
        self.path = path
        self._error = error

    def where(self, node: Node) -> str:
        return f"{self.path}:{line_of(node)}"

    def refuse(self, node: Node, key: str, problem: str) -> UsageError:
        """The error to raise: ``FILE:LINE: key 'key': problem``."""
        return self._error(f"{self.where(node)}: key '{key}': {problem}")

    def describe(self, node: Node) -> str:
        """What a node is, for "expected X, got Y" messages (never its value here)."""
        if isinstance(node, MappingNode):
            return "a mapping"
        if isinstance(node, SequenceNode):
            return "a list"
        return "nothing" if is_null(node) else "a single value"

    def fields(
        self,
        node: Node,
        key: str,
        allowed: Sequence[str] | None = None,
        what: str = "key",
    ) -> dict[str, tuple[Node, Node]]:
        """A mapping's (key node, value node) by name; duplicate keys, and keys not
        in `allowed` (when given), are refused."""
        if not isinstance(node, MappingNode):
            raise self.refuse(
                node, key, f"expected a mapping (name: value), got {self.describe(node)}."
            )
        found: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or is_null(key_node):
                raise self.refuse(key_node, key, "keys must be plain names.")
            name = str(key_node.value)
            if name in found:
                first = line_of(found[name][0])
                raise self.refuse(
                    key_node, name, f"appears twice (first on line {first}); keep one."
                )
            if allowed is not None and name not in allowed:
                raise self.unknown(key_node, name, allowed, what)
            found[name] = (key_node, value_node)
        return found

    def unknown(
        self, node: Node, name: str, allowed: Sequence[str], what: str = "key"
    ) -> UsageError:
        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return self.refuse(node, name, f"unknown {what}.{hint} Allowed here: {', '.join(allowed)}.")
