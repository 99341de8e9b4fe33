"""Paired wall time: `siptest register --json` vs `sipsak -U` against the same lab.

Runs are interleaved (siptest, sipsak, siptest, ...) so machine noise hits both
alike; the medians and their ratios are printed. A measurement, not a test:

    .venv/bin/python benchmarks/register_vs_sipsak.py [--runs 15]

What each side does, on the wire (UDP, digest auth, the lab's registrar):
- siptest registers and removes its own binding, as every register check does:
  REGISTER, 401, REGISTER with credentials, 200, then the same for the un-REGISTER.
  Four requests, and the registrar is left as it was found.
- `sipsak -U` registers and exits: two requests, and a binding stays on the
  registrar until it expires. This is the yardstick of issue 15 (its "sipsak's
  24 ms"): the ratio against it is the headline figure.
- sipsak cannot remove in the same run, so the same four requests take two runs:
  `sipsak -U` from a fixed local port, then `sipsak -U -x 0` from that port (its
  Contact, expires 0). Printed as well, for the same work and end state.

Until 2026-11-30 this script ran `sipsak -U -C empty`, which sends no Contact: a
query of the bindings (two requests), not a registration.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from siptest.lab import Lab, find_user


def timed(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, timeout=30, check=False)
    return time.perf_counter() - started, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    sipsak = shutil.which("sipsak")
    if sipsak is None:
        print("sipsak is not installed: apt-get install sipsak", file=sys.stderr)
        return 3
    # Byte-compile the package first, as an installed wheel would be: with
    # PYTHONDONTWRITEBYTECODE set, every run would otherwise compile from source.
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "siptest"), quiet=1)
    user = find_user("1001")
    with tempfile.TemporaryDirectory() as tmp, Lab(Path(tmp), with_uas=False) as lab:
        target = f"{user.username}@127.0.0.1:{lab.sip_port}"
        env = dict(os.environ, SIPTEST_PASSWORD=user.password)
        siptest_cmd = [sys.executable, "-m", "siptest", "register", target, "--json"]
        # sipsak's Contact is sip:USER@127.0.0.1:LOCAL_PORT, so a fixed local port lets
        # the second run remove exactly the binding the first one made.
        sipsak_port = str(free_udp_port())
        sipsak_base = [sipsak, "-U", "-s", f"sip:{target}", "-a", user.password, "-i"]
        sipsak_register = [*sipsak_base, "-l", sipsak_port, "-x", "60"]
        sipsak_remove = [*sipsak_base, "-l", sipsak_port, "-x", "0"]
        ours: list[float] = []
        register_only: list[float] = []
        register_and_remove: list[float] = []
        for _ in range(args.runs):
            seconds, status = timed(siptest_cmd, env)
            if status != 0:
                print(f"siptest failed with exit status {status}", file=sys.stderr)
                return 1
            ours.append(seconds)
            registered, status = timed(sipsak_register, env)
            if status != 0:
                print(f"sipsak -U failed with exit status {status}", file=sys.stderr)
                return 1
            removed, status = timed(sipsak_remove, env)
            if status != 0:
                print(f"sipsak -U -x 0 failed with exit status {status}", file=sys.stderr)
                return 1
            register_only.append(registered)
            register_and_remove.append(registered + removed)
    ours_ms = statistics.median(ours) * 1000
    register_ms = statistics.median(register_only) * 1000
    both_ms = statistics.median(register_and_remove) * 1000
    print(f"runs: {args.runs} each, interleaved")
    both = "(register + remove, 4 requests)"
    print(f"siptest register --json        median {ours_ms:7.1f} ms  {both}")
    print(f"sipsak -U                      median {register_ms:7.1f} ms  (register, 2 requests)")
    print(f"sipsak -U, then sipsak -x 0    median {both_ms:7.1f} ms  {both}")
    print(f"ratio siptest / sipsak -U      {ours_ms / register_ms:7.2f}x  (issue 15's target: 4x)")
    print(f"ratio for the same work        {ours_ms / both_ms:7.2f}x")
    return 0


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    sys.exit(main())
