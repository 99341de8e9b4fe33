"""The real pjsua2 agent with the media tap on every call, run as its own process by
tests/integration/test_call_payload_types.py (pjsua2 aborts a process on misuse, never
pytest's). Each mode prints what happened, one line per fact, then "survived".

    python tests/integration/tap_agent.py up_at_close LAB_PORT PASSWORD
    python tests/integration/tap_agent.py four LAB_PORT PASSWORD
"""

from __future__ import annotations

import gc
import itertools
import sys

from siptest.ua.base import AccountSpec
from siptest.ua.calls import CallSpec
from siptest.ua.pjsua import AgentConfig, PjsuaAgent


def account(port: int, password: str) -> AccountSpec:
    return AccountSpec(user="1001", domain=f"127.0.0.1:{port}", registrar="127.0.0.1",
                       port=port, transport="udp", auth_user="1001", password=password)  # fmt: skip


def up_at_close(port: int, password: str) -> None:
    """Two echo calls answered and carrying RTP through the tap, still up when the
    agent closes: the stack goes before the tap's tables and callbacks."""
    agent = PjsuaAgent(AgentConfig(timeout=2, public_address="127.0.0.1"))
    spec = account(port, password)
    dialled = [agent.dial(spec, CallSpec(number="7000", talk=5)) for _ in range(2)]
    agent.idle(2.0)  # the echo answers after 1 s; RTP flows through the tap
    print("calls up:", len(dialled))
    del dialled
    gc.collect()
    agent.close()
    print("survived")


def four(port: int, password: str) -> None:
    """Four echo calls at once (the stack's limit), each followed for 3 s of talk in
    turn: the verdict of each, and the largest gap between its 0.2 s readings."""
    agent = PjsuaAgent(AgentConfig(timeout=2, public_address="127.0.0.1"))
    spec = account(port, password)
    dialled = [agent.dial(spec, CallSpec(number="7000", talk=3, dtmf="19")) for _ in range(4)]
    for call in dialled:
        outcome = agent.follow(call)
        media = outcome.media
        assert media is not None
        ats = [tick.at for tick in media.timeline]
        gap = max(b - a for a, b in itertools.pairwise(ats))
        print(
            "call:", outcome.response.code, media.received.packets, media.sent.packets,
            media.received_stopped_at, f"ticks={len(ats)} max_gap={gap:.3f}",
            f"unnegotiated={media.received_unnegotiated}",
        )  # fmt: skip
    del dialled
    agent.close()
    print("survived")


if __name__ == "__main__":
    {"up_at_close": up_at_close, "four": four}[sys.argv[1]](int(sys.argv[2]), sys.argv[3])
