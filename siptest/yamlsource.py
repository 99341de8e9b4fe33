"""YAML read as a node tree, so every error can name the file and line.

Shared by the knowledge loader and the scenario loader. Parse errors give the
line and PyYAML's problem, never its snippet: that would quote the file's text,
which may be exactly a secret that was mistyped.
"""

from __future__ import annotations

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
