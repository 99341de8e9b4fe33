"""Call lab account 1002 from 1001 in one user agent, send DTMF, print what 1002 got.

Run as its own process by tests/integration/test_media.py (pjsua2 aborts the whole
process on misuse, so it stays out of pytest's):

    python tests/integration/dtmf_pair.py SIP_PORT DIGITS rfc4733|info

Prints one JSON line: the call's outcome, the media sample and the digits that calls
answered by 1002 received. It is printed (and flushed) before the agent closes, so a
crash while closing still leaves it on stdout; the exit status tells that crash apart.
"""

from __future__ import annotations

import dataclasses
import json
import sys

from siptest.ua.base import AccountSpec
from siptest.ua.calls import CallSpec
from siptest.ua.pjsua import AgentConfig, PjsuaAgent


def account(user: str, port: int, answers: bool = False) -> AccountSpec:
    return AccountSpec(
        user=user,
        domain=f"127.0.0.1:{port}",  # as the CLI makes it from USER@HOST:PORT
        registrar="127.0.0.1",
        port=port,
        transport="udp",
        auth_user=user,
        password=f"lab-{user}-pass",
        answers_calls=answers,
    )


def run(agent: PjsuaAgent, port: int, digits: str, method: str) -> dict[str, object]:
    caller, callee = account("1001", port), account("1002", port, answers=True)
    registered = [agent.register(caller).ok, agent.register(callee).ok]
    if not all(registered):
        return {"registered": registered}
    spec = CallSpec(number="1002", dtmf=digits, dtmf_method=method, talk=2)
    call = agent.call(caller, spec)
    return {
        "registered": registered,
        "answered": call.answered,
        "code": call.response.code,
        "dtmf_sent": call.dtmf_sent,
        "received_digits": agent.received_digits(callee),
        "media": dataclasses.asdict(call.media) if call.media else None,
    }


def main(port: int, digits: str, method: str) -> None:
    agent = PjsuaAgent(AgentConfig(timeout=3, public_address="127.0.0.1"))
    try:
        print(json.dumps(run(agent, port, digits, method)), flush=True)
    finally:
        agent.close()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
