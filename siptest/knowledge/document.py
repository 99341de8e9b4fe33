"""One knowledge file, composed, with typed readers that fail with FILE:LINE: key.

Imported only when a YAML file has to be parsed (it brings PyYAML in); the
bundled knowledge normally comes from the generated snapshot instead. Values
take YAML's own types here (`true`, `3`, text), unlike scenarios, which read
every value as written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NoReturn

from yaml import YAMLError
from yaml.nodes import Node, ScalarNode, SequenceNode

from siptest.errors import UsageError
from siptest.yamlsource import NodeReader, is_null


class Document(NodeReader):
    """A composed YAML file and typed accessors that fail with file:line: key."""

    def __init__(self, path: str, root: Node, loader: Any, error: type[UsageError]) -> None:
        super().__init__(path, error)
        self.path: str = path
        self.root = root
        self._loader = loader

    def fail(self, node: Node, key: str, problem: str) -> NoReturn:
        raise self.refuse(node, key, problem)

    def describe(self, node: Node) -> str:
        """The node's kind, or the value itself: knowledge files hold no secrets."""
        if not isinstance(node, ScalarNode):
            return super().describe(node)
        try:
            value = self._loader.construct_object(node)
        except (YAMLError, ValueError, TypeError, OverflowError):
            return repr(str(node.value))
        return "nothing (null)" if value is None else repr(value)

    # node kinds

    def is_null(self, node: Node) -> bool:
        return is_null(node)

    def is_sequence(self, node: Node) -> bool:
        return isinstance(node, SequenceNode)

    def scalar(self, node: Node, key: str = "value") -> object:
        if not isinstance(node, ScalarNode):
            return [] if isinstance(node, SequenceNode) else {}
        try:
            return self._loader.construct_object(node)
        except (YAMLError, ValueError, TypeError, OverflowError):
            # e.g. `2024-02-30` (a date YAML cannot build) or an unknown `!tag`
            self.fail(
                node,
                key,
                f"{str(node.value)!r} is not a value YAML can read (an impossible date, "
                "or an unknown !tag); put it in quotes to make it text",
            )

    def mapping(
        self,
        node: Node,
        allowed: Sequence[str] | None = None,
        what: str = "key",
        key: str = "(top level)",
    ) -> dict[str, tuple[Node, Node]]:
        """Keys to (key node, value node); unknown and duplicate keys are errors."""
        return self.fields(node, key, allowed, what)

    def require(self, fields: Mapping[str, tuple[Node, Node]], key: str, owner: Node) -> Node:
        if key not in fields:
            self.fail(owner, key, "missing")
        return fields[key][1]

    def sequence(self, node: Node, key: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            self.fail(node, key, f"expected a list, got {self.describe(node)}")
        return list(node.value)

    def items(self, node: Node, key: str) -> Iterator[Node]:
        """A scalar or a non-empty list of scalars, as nodes."""
        if isinstance(node, SequenceNode):
            if not node.value:
                self.fail(node, key, "an empty list matches nothing; leave the key out instead")
            yield from node.value
        elif isinstance(node, ScalarNode) and not is_null(node):
            yield node
        else:
            self.fail(node, key, f"expected a value or a list, got {self.describe(node)}")

    # scalar types

    def text(self, node: Node, key: str) -> str:
        value = self.scalar(node, key)
        if not isinstance(value, str):
            self.fail(node, key, f"expected text, got {self.describe(node)}")
        if not value.strip():
            self.fail(node, key, "must not be empty")
        return value.strip()

    def optional_text(self, fields: Mapping[str, tuple[Node, Node]], key: str) -> str | None:
        if key not in fields or is_null(fields[key][1]):
            return None
        return self.text(fields[key][1], key)

    def strings(self, node: Node, key: str) -> list[str]:
        return [self.text(item, key) for item in self.items(node, key)]

    def boolean(self, node: Node, key: str) -> bool:
        value = self.scalar(node, key)
        if not isinstance(value, bool):
            self.fail(node, key, f"expected true or false, got {self.describe(node)}")
        return bool(value)

    def integer(self, node: Node, key: str, low: int, high: int) -> int:
        value = self.scalar(node, key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(node, key, f"expected a whole number {low}-{high}, got {self.describe(node)}")
        return value

    def choice(self, node: Node, key: str, choices: Sequence[str]) -> str:
        value = self.scalar(node, key)
        if not isinstance(value, str) or value not in choices:
            self.fail(node, key, f"{self.describe(node)} is not one of: {', '.join(choices)}")
        return value
