"""The accounts file of `siptest bulk` written as YAML: a list of mappings.

    - user: "41411234567"
      server: sip.provider.example
      password_env: PW_ZURICH
    - user: "1002"
      server: pbx.example.com:5080
      transport: tcp
      password_file: /etc/siptest/1002.pw

The keys are the CSV file's columns, with the same rules (`siptest.bulk.accounts`
checks each account). Values are read as written, never as YAML types: `user: 0041...`
keeps its zeros (YAML 1.1 would read it as an octal number), `transport: yes` is
the text "yes". PyYAML is imported only for a YAML file.

Refused, naming FILE:LINE and never quoting a value: a key with `pass` in its name
other than password_env/password_file, anywhere in the file (a password typed by
mistake must not reach a message); anchors and aliases (`&name`, `*name`, `<<:`),
which would also let a small file expand into a huge one; a value that is a list or
a mapping; unknown and repeated keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from siptest.errors import UsageError

if TYPE_CHECKING:
    from yaml.nodes import Node

Row = tuple[int, dict[str, str]]
"""An account as written: its line and its values by key ("" for an empty value)."""


def yaml_rows(
    path: Path, text: str, columns: tuple[str, ...], secret_refusal: str, limit: int
) -> list[Row]:
    """The accounts of a YAML accounts file, as rows for `siptest.bulk.accounts`."""
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    from siptest.yamlsource import NodeReader, compose, is_null, line_of

    try:
        root, _ = compose(text, str(path), UsageError)
    except RecursionError:
        raise UsageError(f"{path}: nested too deeply to be an accounts file.") from None
    if root is None:
        raise UsageError(f"{path}: empty. Write one '- user: ...' mapping per account.")
    _refuse_secrets_and_aliases(path, root, columns, secret_refusal)
    if not isinstance(root, SequenceNode):
        raise UsageError(
            f"{path}:{line_of(root)}: expected a list of accounts, one '- user: ...' mapping each."
        )
    reader = NodeReader(path, UsageError)
    rows: list[Row] = []
    for item in root.value:
        if len(rows) >= limit:
            raise UsageError(f"{path}: more than {limit} accounts; split the file.")
        if not isinstance(item, MappingNode):
            raise UsageError(
                f"{path}:{line_of(item)}: an account is a mapping (user: ..., server: ...), "
                f"not {reader.describe(item)}."
            )
        values: dict[str, str] = {}
        for name, (_, value) in reader.fields(item, "account", columns).items():
            if not isinstance(value, ScalarNode):
                raise reader.refuse(
                    value, name, f"expected a single value, got {reader.describe(value)}."
                )
            values[name] = "" if is_null(value) else str(value.value)
        rows.append((line_of(item), values))
    return rows


def _refuse_secrets_and_aliases(
    path: Path, root: Node, columns: tuple[str, ...], secret_refusal: str
) -> None:
    """Walk every node once: a `pass` key anywhere, or a node reached twice (an alias),
    is refused before anything else is read."""
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    from siptest.yamlsource import line_of

    seen: set[int] = set()
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise UsageError(
                f"{path}:{line_of(node)}: anchors and aliases (&name, *name, <<:) are not "
                "read in an accounts file; write each account out in full."
            )
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for key, value in node.value:
                name = str(key.value) if isinstance(key, ScalarNode) else ""
                if name == "<<":
                    raise UsageError(
                        f"{path}:{line_of(key)}: anchors and aliases (&name, *name, <<:) are "
                        "not read in an accounts file; write each account out in full."
                    )
                if "pass" in name.lower() and name not in columns:
                    shown = repr(name) if name.isidentifier() and len(name) <= 40 else "with pass"
                    raise UsageError(f"{path}:{line_of(key)}: key {shown} {secret_refusal}")
                stack += [value, key]
        elif isinstance(node, SequenceNode):
            stack += reversed(node.value)
