"""Run inside a network namespace of its own (`unshare --net`): the lab, a firewall made of
nftables rules (in this namespace only), and siptest against the lab through it.

    unshare --net python tests/integration/netns_firewall.py MODE TRACE_PATH

MODE is one firewall:
- `drop`: TCP to the lab's SIP and TLS ports is dropped (no RST, no ICMP);
- `reject`: UDP and TCP to the SIP port are rejected as a firewall on the way does, with
  ICMP "administratively prohibited" (ICMPv6 for UDP over IPv6);
- `local`: this machine's own policy refuses to send UDP to the SIP port (the output hook).

Prints one JSON object: each command's exit status and JSON report, and the lab's
bindings after. Nothing leaves the namespace, which has only its own loopback.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from siptest.lab import Lab, find_user

PATH = "/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin"


def nft(*words: str) -> None:
    subprocess.run(["nft", *words], check=True, timeout=10, env={"PATH": PATH})


def firewall(mode: str, lab: Lab) -> None:
    hook = "output" if mode in ("drop", "local") else "input"
    nft("add", "table", "inet", "siptest")
    nft("add", "chain", "inet", "siptest", "f", f"{{ type filter hook {hook} priority 0; }}")
    sip = str(lab.sip_port)
    if mode == "drop":
        for port in (sip, str(lab.tls_port)):
            nft("add", "rule", "inet", "siptest", "f", "tcp", "dport", port, "drop")
    elif mode == "reject":
        for proto in ("udp", "tcp"):
            nft("add", "rule", "inet", "siptest", "f", proto, "dport", sip,
                "reject", "with", "icmp", "type", "admin-prohibited")  # fmt: skip
        # the same over IPv6: ICMPv6 "administratively prohibited"
        nft("add", "rule", "inet", "siptest", "f", "udp", "dport", sip,
            "reject", "with", "icmpv6", "type", "admin-prohibited")  # fmt: skip
    else:
        nft("add", "rule", "inet", "siptest", "f", "udp", "dport", sip, "drop")


def main() -> int:
    mode, trace = sys.argv[1], sys.argv[2]
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10, env={"PATH": PATH})
    user = find_user("1001")
    with tempfile.TemporaryDirectory() as tmp, Lab(Path(tmp), with_uas=False) as lab:
        firewall(mode, lab)
        target = f"{user.username}@127.0.0.1:{lab.sip_port}"
        v6_target = f"{user.username}@[::1]:{lab.sip_port}"
        tls_target, ca = f"{user.username}@127.0.0.1:{lab.tls_port}", str(lab.ca_file)
        commands = {
            "drop": {
                "tcp": ["register", target, "-t", "tcp", "--timeout", "2", "--trace", trace],
                "udp": ["register", target, "-t", "udp", "--timeout", "2"],
                "tls": ["register", tls_target, "-t", "tls", "--tls-ca", ca, "--timeout", "2"],
                "doctor": ["doctor", target, "--timeout", "1"],
            },
            "reject": {
                "udp": ["register", target, "-t", "udp", "--timeout", "2"],
                "tcp": ["register", target, "-t", "tcp", "--timeout", "2"],
                "call": ["call", target, "7000", "--no-register", "--timeout", "5"],
                "udp6": ["register", v6_target, "-t", "udp", "--timeout", "5"],
            },
            "local": {"udp": ["register", target, "-t", "udp", "--timeout", "2", "--trace", trace]},
        }[mode]
        env = {"SIPTEST_PASSWORD": user.password, "PATH": PATH}
        results = {}
        for name, args in commands.items():
            done = subprocess.run(
                [sys.executable, "-m", "siptest", *args, "--json"],
                capture_output=True, text=True, env=env, timeout=60, check=False,
            )  # fmt: skip
            results[name] = {"status": done.returncode, "report": json.loads(done.stdout)}
        results["bindings"] = lab.bindings(user.username)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
