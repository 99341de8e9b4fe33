"""One error map: every way the SIP stack fails reaches siptest through ua/pjsua/errors.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from siptest.errors import CannotRunError, UsageError
from siptest.ua.pjsua.errors import PJ_ETOOMANY, StackFailure, translate

PACKAGE = Path(__file__).parents[2] / "siptest" / "ua" / "pjsua"


def _tree(name: str) -> ast.Module:
    return ast.parse((PACKAGE / name).read_text())


def test_every_public_method_of_the_agent_is_at_the_stack_boundary():
    # The agent is a core with registration and calls on top, each in its own module:
    # every public method of any of them is one the callers reach.
    from siptest.ua.pjsua import PjsuaAgent

    parts = {cls.__name__ for cls in PjsuaAgent.__mro__ if cls is not object}
    assert parts == {"PjsuaAgent", "Registering", "Calling", "AgentCore"}
    public = [
        node
        for path in PACKAGE.glob("*.py")
        for part in ast.walk(_tree(path.name))
        if isinstance(part, ast.ClassDef) and part.name in parts
        for node in part.body
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
    ]
    assert {"register", "unregister", "call", "dial", "follow", "idle", "close"} <= {
        method.name for method in public
    }
    for method in public:
        names = [ast.unparse(d) for d in method.decorator_list]
        if "property" in names:
            continue
        assert any(n.startswith("at_stack_boundary(") for n in names), method.name


def test_every_handler_of_the_stacks_error_goes_through_the_map():
    """Or says, on its `except` line, why carrying on is right (`# tolerated: why`)."""
    for path in PACKAGE.glob("*.py"):
        if path.name == "errors.py":
            continue
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ExceptHandler) or node.type is None:
                continue
            caught = ast.unparse(node.type)
            if not caught.endswith(".Error"):
                continue
            body = ast.unparse(node)
            tolerated = "# tolerated: " in lines[node.lineno - 1]
            mapped = "stack_failure(" in body or "translate(" in body
            assert mapped or tolerated, (path.name, node.lineno)


@pytest.mark.parametrize(
    ("failure", "action", "error", "words"),
    [
        (StackFailure(PJ_ETOOMANY, "Too many objects"), "dial", CannotRunError, "limit of siptest"),
        (StackFailure(171039, "Invalid URI"), "dial", UsageError, "is not a number or SIP URI"),
        (StackFailure(120098, "Address already in use"), "open a local port",
         CannotRunError, "--local-port"),
        (StackFailure(1, "Something new"), "create the account", CannotRunError,
         "could not create the account x: Something new"),
    ],
)  # fmt: skip
def test_the_map_names_what_to_do(failure, action, error, words):
    mapped = translate(failure, action, "UDP port 5060" if "port" in action else "x")
    assert type(mapped) is error
    assert words in str(mapped)
