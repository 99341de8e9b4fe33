"""Record the event stream of one real REGISTER chain or call (run as its own process).

    python tests/integration/record_stream.py PORT TRANSPORT USER TIMEOUT [NUMBER RING TALK]

The password comes from SIPTEST_PASSWORD. With NUMBER it registers, then prints
the events of the call to NUMBER (dial to end); without, the events of the
REGISTER chain. Events are JSON lines (`siptest.ua.recording.events_to_json`: exact
bytes, credentials redacted). It un-registers and closes after printing.
tests/integration/test_recorded_streams.py stores these as fixtures.
"""

from __future__ import annotations

import os
import sys

from siptest.ua.base import AccountSpec
from siptest.ua.calls import CallSpec
from siptest.ua.pjsua import AgentConfig, PjsuaAgent
from siptest.ua.recording import events_to_json


def main(port: int, transport: str, user: str, timeout: float, call: list[str]) -> None:
    agent = PjsuaAgent(
        AgentConfig(transport=transport, timeout=timeout, public_address="127.0.0.1")  # type: ignore[arg-type]
    )
    try:
        account = AccountSpec(
            user=user, domain=f"127.0.0.1:{port}", registrar="127.0.0.1", port=port,
            transport=transport, auth_user=user,  # type: ignore[arg-type]
            password=os.environ["SIPTEST_PASSWORD"],
        )  # fmt: skip
        first = len(agent.events)
        agent.register(account)
        if call:
            number, ring, talk = call[0], float(call[1]), float(call[2])
            first = len(agent.events)
            agent.call(account, CallSpec(number=number, ring_timeout=ring, talk=talk))
        sys.stdout.write(events_to_json(agent.events[first:]))
        sys.stdout.flush()
    finally:
        agent.close()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5:])
