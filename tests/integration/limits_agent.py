"""The real pjsua2 agent at its limits, run as its own process by
tests/integration/test_call.py (pjsua2 aborts a process on misuse, never pytest's).
Each mode prints what happened, one line per fact, then "survived".

    python tests/integration/limits_agent.py accounts LAB_PORT
    python tests/integration/limits_agent.py calls LAB_PORT PASSWORD
    python tests/integration/limits_agent.py incoming LAB_PORT
"""

from __future__ import annotations

import socket
import sys

from siptest.errors import CannotRunError
from siptest.ua.base import AccountSpec
from siptest.ua.calls import CallSpec
from siptest.ua.pjsua import AgentConfig, PjsuaAgent


def account(user: str, port: int, password: str, domain: str | None = None) -> AccountSpec:
    return AccountSpec(user=user, domain=domain or f"127.0.0.1:{port}", registrar="127.0.0.1",
                       port=port, transport="udp", auth_user=user, password=password)  # fmt: skip


def accounts(port: int) -> None:
    """Accounts whose REGISTER failed are shut down and free their slot; nine live ones:
    the ninth is refused, not an abort."""
    agent = PjsuaAgent(AgentConfig(timeout=2, public_address="127.0.0.1"))
    try:
        for n in range(9):
            outcome = agent.register(account("1001", port, f"bad{n}", domain="127.0.0.1"))
            print("registered:", outcome.response.code)
        # A call without registering keeps its account (one per server, for the next
        # call there): nine servers, nine live accounts. Nothing listens at these ports.
        for _ in range(9):
            # a port found closed just before its call: one found long before may be
            # taken meanwhile by another process (another test, its SIP stack)
            (server,) = closed_udp_ports(1)
            outcome = agent.call(account("1001", server, "x"), CallSpec(number="7000"))
            print("called:", outcome.response.local_cause)
    except CannotRunError as error:
        print("refused:", error)
    agent.close()
    print("survived")


def closed_udp_ports(count: int) -> list[int]:
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def calls(port: int, password: str) -> None:
    """A fifth concurrent call is refused; the four ringing ones end in 487."""
    agent = PjsuaAgent(AgentConfig(timeout=2, public_address="127.0.0.1"))
    spec = account("1001", port, password)
    assert agent.register(spec).ok
    ringing = [agent.dial(spec, CallSpec(number="7001", ring_timeout=1)) for _ in range(4)]
    try:
        agent.dial(spec, CallSpec(number="7001", ring_timeout=1))
    except CannotRunError as error:
        print("refused:", error)
    print("outcomes:", [agent.follow(call).response.code for call in ringing])
    agent.close()
    print("survived")


def incoming(port: int) -> None:
    """1001 calls 1002, registered in the same agent but not answering calls."""
    agent = PjsuaAgent(AgentConfig(timeout=2, public_address="127.0.0.1"))
    caller = account("1001", port, "lab-1001-pass")
    callee = account("1002", port, "lab-1002-pass")
    assert agent.register(caller).ok and agent.register(callee).ok
    outcome = agent.call(caller, CallSpec(number="1002", ring_timeout=5))
    print("outcome:", outcome.response.code, outcome.response.origin)
    agent.close()
    print("survived")


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "accounts":
        accounts(int(args[0]))
    elif mode == "calls":
        calls(int(args[0]), args[1])
    else:
        incoming(int(args[0]))
