"""Wall time of 1,000 account checks: `siptest bulk` against SIPp, on the same lab.

Both register every account with digest auth and remove the registration again.
SIPp runs one scenario (benchmarks/sipp/register.xml) for all of them in one process;
siptest checks each account in a child `siptest register --json` and diagnoses it.
Pacing is lifted for the measurement (`--rate 1000`); by default siptest starts at
most 5 registrations a second per registrar, and 1,000 accounts then take 200 s
whatever the tool. A measurement, not a test:

    .venv/bin/python benchmarks/bulk_vs_sipp.py [--accounts 1000] [--workers 4]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from siptest.lab import Lab
from siptest.lab.ports import free_port

SCENARIO = Path(__file__).parent / "sipp" / "register.xml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    sipp = shutil.which("sipp")
    if sipp is None:
        print("SIPp is not installed: apt-get install sip-tester", file=sys.stderr)
        return 3
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "siptest"), quiet=1)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        lab = Lab(tmp / "lab", with_uas=False, extra_users=args.accounts)
        with lab:
            users = lab.generated_users
            server = f"{lab.host}:{lab.sip_port}"
            env = dict(os.environ)
            accounts = tmp / "accounts.csv"
            with accounts.open("w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["user", "server", "password_env"])
                for user in users:
                    env[f"PW_{user.username}"] = user.password
                    writer.writerow([user.username, server, f"PW_{user.username}"])
            injection = tmp / "users.csv"
            injection.write_text(
                "SEQUENTIAL\n"
                + "".join(
                    f"{u.username};[authentication username={u.username} password={u.password}]\n"
                    for u in users
                )
            )
            started = time.perf_counter()
            ours = subprocess.run(
                [sys.executable, "-m", "siptest", "bulk", str(accounts), "--json",
                 "--rate", "1000", "--workers", str(args.workers)],
                env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            ours_s = time.perf_counter() - started
            summary = json.loads(ours.stdout)["summary"]
            if ours.returncode != 0:
                print(f"siptest bulk failed ({ours.returncode}): {summary}", file=sys.stderr)
                return 1
            started = time.perf_counter()
            theirs = subprocess.run(
                [sipp, server, "-sf", str(SCENARIO), "-inf", str(injection),
                 # -r 1000: faster, the lab's nonce counting answers "stale" (401)
                 "-m", str(len(users)), "-r", "1000", "-l", "200",
                 "-i", lab.host, "-p", str(free_port(lab.host, udp=True, tcp=False)),
                 "-nostdin", "-timeout", "120s"],
                capture_output=True, text=True, check=False, cwd=tmp,
            )  # fmt: skip
            theirs_s = time.perf_counter() - started
            if theirs.returncode != 0:
                print(f"SIPp failed ({theirs.returncode}): {theirs.stderr[-500:]}", file=sys.stderr)
                return 1
    count = len(users)
    print(f"accounts: {count}, each registered and un-registered with digest auth")
    print(f"siptest bulk --rate 1000 --workers {args.workers}  {ours_s:7.2f} s  "
          f"{count / ours_s:7.1f} accounts/s")  # fmt: skip
    print(f"sipp -m {count} -r 1000                 {theirs_s:7.2f} s  "
          f"{count / theirs_s:7.1f} accounts/s")  # fmt: skip
    print(f"ratio siptest/sipp                      {ours_s / theirs_s:7.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
