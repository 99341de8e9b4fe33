"""Paired wall time: `siptest register --json` vs `sipsak -U` against the same lab.

Runs are interleaved (siptest, sipsak, siptest, ...) so machine noise hits both
alike; the medians and their ratio are printed. A measurement, not a test:

    .venv/bin/python benchmarks/register_vs_sipsak.py [--runs 15]

Both tools do a full register + un-register cycle with digest auth: siptest
registers and removes its binding; `sipsak -U` registers, checks and removes.
"""

from __future__ import annotations

import argparse
import os
import shutil
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
        sipsak_cmd = [
            sipsak, "-U", "-C", "empty", "-s", f"sip:{target}", "-a", user.password, "-i",
        ]  # fmt: skip
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(args.runs):
            seconds, status = timed(siptest_cmd, env)
            if status != 0:
                print(f"siptest failed with exit status {status}", file=sys.stderr)
                return 1
            ours.append(seconds)
            seconds, status = timed(sipsak_cmd, env)
            if status != 0:
                print(f"sipsak failed with exit status {status}", file=sys.stderr)
                return 1
            theirs.append(seconds)
    ours_ms = statistics.median(ours) * 1000
    theirs_ms = statistics.median(theirs) * 1000
    print(f"runs: {args.runs} each, interleaved")
    print(f"siptest register --json  median {ours_ms:7.1f} ms")
    print(f"sipsak -U                median {theirs_ms:7.1f} ms")
    print(f"ratio siptest/sipsak     {ours_ms / theirs_ms:7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
