"""Record the event stream of one real REGISTER chain (run as its own process).

    python tests/integration/record_register.py PORT TRANSPORT USER TIMEOUT

The password comes from SIPTEST_PASSWORD. Prints the chain's events as JSON
lines (`siptest.ua.events.events_to_json`: exact bytes, credentials redacted),
then un-registers and closes. tests/integration/test_recorded_streams.py
stores these as fixtures for the analyser's unit tests.
"""

from __future__ import annotations

import os
import sys

from siptest.ua.base import AccountSpec
from siptest.ua.events import events_to_json
from siptest.ua.pjsua import AgentConfig, PjsuaAgent


def main(port: int, transport: str, user: str, timeout: float) -> None:
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
        sys.stdout.write(events_to_json(agent.events[first:]))
        sys.stdout.flush()
    finally:
        agent.close()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4]))
