"""Call lab account 1002 from 1001 in one user agent that keeps media (`--pcap`),
and print what each end's media transport kept.

Run as its own process by tests/integration/test_pcap.py (pjsua2 aborts the whole
process on misuse, so it stays out of pytest's):

    python tests/integration/pcap_pair.py SIP_PORT

Prints one JSON line, before the agent closes: the placed call's media figures, and
per `MediaCaptured` event its Call-ID and packets (direction, RTCP or not, local and
remote address, the kept head in hex).
"""

from __future__ import annotations

import dataclasses
import json
import sys

from dtmf_pair import account  # beside this script: on sys.path when run as one

from siptest.ua.calls import CallSpec
from siptest.ua.mediaevents import MediaCaptured
from siptest.ua.pjsua import AgentConfig, PjsuaAgent


def main(port: int) -> None:
    agent = PjsuaAgent(AgentConfig(timeout=3, public_address="127.0.0.1", capture_media=True))
    try:
        caller, callee = account("1001", port), account("1002", port, answers=True)
        assert agent.register(caller).ok and agent.register(callee).ok
        call = agent.call(caller, CallSpec(number="1002", talk=2))
        captured = [
            {
                "call_id": event.call_id,
                "packets": [
                    [p.direction, p.rtcp, p.local, p.remote, p.head.hex()] for p in event.packets
                ],
            }
            for event in agent.events
            if isinstance(event, MediaCaptured)
        ]
        print(
            json.dumps(
                {
                    "answered": call.answered,
                    "media": dataclasses.asdict(call.media) if call.media else None,
                    "captured": captured,
                }
            ),
            flush=True,
        )
    finally:
        agent.close()


if __name__ == "__main__":
    main(int(sys.argv[1]))
