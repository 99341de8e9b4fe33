"""Run inside a network namespace of its own (`unshare --net`): the lab, firewall rules
that drop TCP to the lab's SIP and TLS ports (nftables, in this namespace only), and
siptest.

    unshare --net python tests/integration/dropped_tcp.py TRACE_PATH

Prints one JSON object: each command's exit status and JSON output. Nothing leaves the
namespace, which has only its own loopback.
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


def main() -> int:
    trace = sys.argv[1]
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10, env={"PATH": PATH})
    user = find_user("1001")
    with tempfile.TemporaryDirectory() as tmp, Lab(Path(tmp), with_uas=False) as lab:
        target = f"{user.username}@127.0.0.1:{lab.sip_port}"
        tls_target, ca = f"{user.username}@127.0.0.1:{lab.tls_port}", str(lab.ca_file)
        nft("add", "table", "inet", "siptest")
        nft("add", "chain", "inet", "siptest", "out", "{ type filter hook output priority 0; }")
        for port in (lab.sip_port, lab.tls_port):
            nft("add", "rule", "inet", "siptest", "out", "tcp", "dport", str(port), "drop")
        env = {"SIPTEST_PASSWORD": user.password, "PATH": PATH}
        commands = {
            "tcp": ["register", target, "-t", "tcp", "--timeout", "2", "--trace", trace],
            "udp": ["register", target, "-t", "udp", "--timeout", "2"],
            "tls": ["register", tls_target, "-t", "tls", "--tls-ca", ca, "--timeout", "2"],
            "doctor": ["doctor", target, "--timeout", "1"],
        }
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
