"""The real pjsua2 agent under hostile conditions, run as its own process by
tests/integration/test_hostile_peers.py (pjsua2 aborts a process on misuse, never
pytest's). Each mode prints JSON lines the test reads.

    python tests/integration/hostile_agent.py idle LOCAL_PORT LAB_PORT PASSWORD
    python tests/integration/hostile_agent.py broken-callback LAB_PORT PASSWORD
    python tests/integration/hostile_agent.py core-dumps
"""

from __future__ import annotations

import ctypes
import json
import resource
import sys

from siptest.errors import CannotRunError
from siptest.ua.base import AccountSpec
from siptest.ua.capture import Capture, Tapped
from siptest.ua.events import MessageDropped, RequestReceived, ResponseReceived
from siptest.ua.pjsua import AgentConfig, PjsuaAgent

_PR_GET_DUMPABLE = 3


def account(port: int, password: str) -> AccountSpec:
    return AccountSpec(user="1001", domain=f"127.0.0.1:{port}", registrar="127.0.0.1",
                       port=port, transport="udp", auth_user="1001", password=password)  # fmt: skip


def idle(local: int, port: int, password: str) -> None:
    """Register, stay idle 2.5 s while the test sends at our contact, un-register."""
    agent = PjsuaAgent(AgentConfig(timeout=2, public_address="127.0.0.1", local_port=local))
    try:
        spec = account(port, password)
        registered = agent.register(spec).ok
        print(json.dumps({"ready": True}), flush=True)
        agent.idle(2.5)
        events = list(agent.events)
        removed = agent.unregister(spec)
        print(json.dumps({
            "registered": registered,
            "refused": sum(1 for e in events if isinstance(e, RequestReceived) and e.refused),
            "requests": sum(1 for e in events if isinstance(e, RequestReceived)),
            "stray": sum(1 for e in events if isinstance(e, ResponseReceived) and e.stray),
            "dropped": sum(1 for e in events if isinstance(e, MessageDropped)),
            "removed": removed is not None and removed.ok,
        }), flush=True)  # fmt: skip
    finally:
        agent.close()
    print(json.dumps({"survived": True}), flush=True)


def broken_callback(port: int, password: str) -> None:
    """siptest's own callback raises on every response: the run must stop (exit 3)."""

    def broken(self: Capture, tapped: Tapped, is_request: bool) -> int | None:
        raise RuntimeError("boom")

    Capture.received = broken  # type: ignore[method-assign]
    agent = PjsuaAgent(AgentConfig(timeout=2, public_address="127.0.0.1"))
    try:
        outcome = agent.register(account(port, password))
        print(json.dumps({"outcome": outcome.response.code}), flush=True)
    except CannotRunError as error:
        print(json.dumps({"stopped": str(error)}), flush=True)
    finally:
        agent.close()


def core_dumps() -> None:
    agent = PjsuaAgent(AgentConfig(timeout=1, public_address="127.0.0.1"))
    try:
        dumpable = ctypes.CDLL(None).prctl(_PR_GET_DUMPABLE, 0, 0, 0, 0)
        limit = list(resource.getrlimit(resource.RLIMIT_CORE))
        print(json.dumps({"rlimit_core": limit, "dumpable": dumpable}), flush=True)
    finally:
        agent.close()


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "idle":
        idle(int(args[0]), int(args[1]), args[2])
    elif mode == "broken-callback":
        broken_callback(int(args[0]), args[1])
    else:
        core_dumps()
