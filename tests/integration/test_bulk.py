"""`siptest bulk` against a lab with 500 generated accounts: pacing measured at the lab,
one wrong password failing only its account, no binding left behind (also on Ctrl-C)."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from waiting import eventually

from siptest.bulk.rate import busiest_window, mean_rate
from siptest.lab import Lab

ACCOUNTS = 500
RATE = 10.0
JITTER_STARTS = 2
"""Each check's REGISTER waits in its process for the pacer's go (siptest.bulk.turn), and
leaves a few milliseconds after it: two may reach the lab a little closer than 1/rate.
Allowed in a 2 s window. (When the pacer let processes start instead, their start-up
of 0.1-0.3 s, longer on a busy machine, bunched them: 24 in a 2 s window at 10/s.)"""
WRONG = 7
"""The index of the account whose variable holds a wrong password."""
_REGISTER = re.compile(
    r"\{1 \d+ REGISTER (?P<call_id>\S+)\} <script>: siptest-lab rx REGISTER \S+ "
    r"from=(?P<user>\S+) auth=(?P<auth>yes|no) at=(?P<at>[0-9.]+) "
)


@pytest.fixture(scope="module")
def bulk_lab(tmp_path_factory: pytest.TempPathFactory):
    lab = Lab(tmp_path_factory.mktemp("bulk-lab"), with_uas=False, extra_users=ACCOUNTS)
    lab.start()
    yield lab
    lab.stop()


def registers(lab: Lab, since: int) -> list[re.Match[str]]:
    with open(lab.log_file, "rb") as log:
        log.seek(since)
        text = log.read().decode("utf-8", "replace")
    return list(_REGISTER.finditer(text))


def accounts_file(tmp_path: Path, lab: Lab, users, wrong: int | None = None):
    """The CSV and the environment holding each account's password."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIPTEST_", "BULK_PW_"))}
    path = tmp_path / "accounts.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user", "server", "transport", "password_env"])
        for index, user in enumerate(users):
            name = f"BULK_PW_{user.username}"
            env[name] = "not-the-password" if index == wrong else user.password
            writer.writerow([user.username, f"{lab.host}:{lab.sip_port}", "udp", name])
    return path, env


def bindings_left(lab: Lab, users) -> dict[str, list[str]]:
    return {u.username: found for u in users if (found := lab.bindings(u.username))}


@pytest.mark.timeout(400)
def test_500_accounts_are_paced_and_a_wrong_password_fails_only_its_account(bulk_lab, tmp_path):
    users = bulk_lab.generated_users
    path, env = accounts_file(tmp_path, bulk_lab, users, wrong=WRONG)
    mark = bulk_lab.log_file.stat().st_size
    done = subprocess.run(
        [sys.executable, "-m", "siptest", "bulk", str(path), "--rate", f"{RATE:g}", "--json",
         "--csv", str(tmp_path / "out.csv"), "--junit", str(tmp_path / "out.xml")],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=380,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["summary"] == {
        "accounts": ACCOUNTS, "passed": ACCOUNTS - 1, "failed": 1, "errors": 0,
        "interrupted": 0, "not_run": 0,
    }  # fmt: skip
    failed = [a for a in result["accounts"] if a["status"] != "passed"]
    assert [a["user"] for a in failed] == [users[WRONG].username]
    check = failed[0]["report"]["checks"][0]
    assert check["diagnosis"]["id"] == "credentials.password_invalid"
    assert "not-the-password" not in done.stdout + done.stderr

    seen = registers(bulk_lab, mark)
    # the wrong password was sent once, in the whole run
    tries = [m for m in seen if m["user"] == users[WRONG].username and m["auth"] == "yes"]
    assert len(tries) == 1
    # pacing, measured at the lab: each check is one Call-ID; its first REGISTER is
    # the moment the registration began
    first: dict[str, float] = {}
    for match in seen:
        first.setdefault(match["call_id"], float(match["at"]))
    starts = sorted(first.values())
    assert len(starts) == ACCOUNTS
    assert mean_rate(starts) <= RATE * 1.05
    assert busiest_window(starts, 2.0) <= 2 * RATE + 1 + JITTER_STARTS
    assert bindings_left(bulk_lab, users) == {}

    rows = list(csv.DictReader((tmp_path / "out.csv").read_text().splitlines()))
    assert len(rows) == ACCOUNTS
    assert [r["user"] for r in rows if r["status"] == "failed"] == [users[WRONG].username]
    suite = ET.parse(tmp_path / "out.xml").getroot()
    assert suite.get("tests") == str(ACCOUNTS) and suite.get("failures") == "1"
    assert (tmp_path / "out.csv").stat().st_mode & 0o077 == 0


@pytest.mark.timeout(120)
def test_ctrl_c_stops_the_run_and_leaves_no_binding_behind(bulk_lab, sip_peer, tmp_path):
    # Four workers. Two accounts at the lab pass; the next four go to a peer that never
    # answers (--timeout 60: they stay in flight until stopped), so the third and fourth
    # of them can start only once both lab accounts have finished, and while they hang
    # no other account can start. Ctrl-C once the peer has all four: the outcome of
    # every account is known.
    peer = sip_peer("udp", [])  # bound, records everything, never answers
    users = bulk_lab.generated_users[:30]
    lab_first, hanging, never = users[:2], users[2:6], users[6:]
    path, env = accounts_file(tmp_path, bulk_lab, users)
    rows = path.read_text().splitlines()
    for index in range(2, 6):
        rows[1 + index] = rows[1 + index].replace(
            f"{bulk_lab.host}:{bulk_lab.sip_port}", f"127.0.0.1:{peer.port}"
        )
    path.write_text("\n".join(rows) + "\n")
    mark = bulk_lab.log_file.stat().st_size
    child = subprocess.Popen(
        [sys.executable, "-m", "siptest", "bulk", str(path), "--rate", "4", "--workers", "4",
         "--timeout", "60", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip

    def at_the_peer() -> set[str]:
        return {
            found[1]
            for request in peer.requests_of("REGISTER")
            if (found := re.search(r"sip:([^@;>]+)@", request.header("from") or ""))
        }

    try:
        eventually(
            lambda: at_the_peer() == {u.username for u in hanging},
            "every hanging account at the peer",
            60,
            alive=lambda: child.poll() is not None and "siptest bulk ended",
        )
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 130, err
    result = json.loads(out)
    assert result["interrupted"] is True
    assert result["summary"] == {
        "accounts": 30, "passed": 2, "failed": 0, "errors": 0, "interrupted": 4, "not_run": 24,
    }  # fmt: skip
    assert [a["status"] for a in result["accounts"]] == (
        ["passed"] * 2 + ["interrupted"] * 4 + ["not_run"] * 24
    )
    # only the two lab accounts reached the lab, and both removed their registration
    assert {m["user"] for m in registers(bulk_lab, mark)} == {u.username for u in lab_first}
    assert bindings_left(bulk_lab, users) == {}
    # an account stopped while its REGISTER was unanswered had nothing to remove
    assert all(r.header("expires") != "0" for r in peer.received)
    assert not {u.username for u in never} & at_the_peer()


def test_a_password_column_stops_the_run_before_anything_is_sent(siptest, tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text("user,server,password\n1001,127.0.0.1:9,lab-1001-pass\n")
    result = siptest("bulk", str(path), "--json")
    assert result.status == 2
    assert "never written in the accounts file" in result.stderr
    assert json.loads(result.stdout)["error"]["exit_status"] == 2
    assert "lab-1001-pass" not in result.stdout + result.stderr


def test_a_password_file_others_can_read_stops_the_run(siptest, tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("lab-1001-pass\n")
    secret.chmod(0o640)
    path = tmp_path / "accounts.csv"
    path.write_text(f"user,server,password_file\n1001,127.0.0.1:9,{secret}\n")
    result = siptest("bulk", str(path))
    assert result.status == 2
    assert f"{path}:2:" in result.stderr and "chmod 600" in result.stderr
    assert "lab-1001-pass" not in result.stdout + result.stderr


@pytest.mark.parametrize("option", ["--csv", "--junit"])
@pytest.mark.parametrize("spelling", ["same", "dotted", "link"])
def test_an_output_file_that_is_the_accounts_file_stops_the_run_and_keeps_it(
    siptest, tmp_path, option, spelling
):
    path = tmp_path / "fleet.csv"
    text = "user,server,password_env\n1001,127.0.0.1:9,PW\n"
    path.write_text(text)
    (tmp_path / "hard").mkdir()
    os.link(path, tmp_path / "hard" / "fleet.csv")  # another name for the same file
    output = {
        "same": path,
        "dotted": tmp_path / "hard" / ".." / "fleet.csv",
        "link": tmp_path / "hard" / "fleet.csv",
    }[spelling]
    result = siptest("bulk", str(path), option, str(output), env={"PW": "x"})
    assert result.status == 2, result.stdout + result.stderr
    assert f"{option} {output} is the accounts file" in result.stderr
    assert path.read_text() == text


def test_the_same_file_for_csv_and_junit_stops_the_run(siptest, tmp_path):
    path = tmp_path / "fleet.csv"
    path.write_text("user,server,password_env\n1001,127.0.0.1:9,PW\n")
    out = tmp_path / "out"
    result = siptest("bulk", str(path), "--csv", str(out), "--junit", str(out), env={"PW": "x"})
    assert result.status == 2, result.stdout + result.stderr
    assert f"--csv {out} is also the --junit file" in result.stderr
    assert not out.exists()


def test_a_password_file_only_its_owner_reads_is_used(siptest, bulk_lab, tmp_path):
    user = bulk_lab.generated_users[0]
    secret = tmp_path / "pw"
    secret.write_text(user.password + "\n")
    secret.chmod(0o600)
    path = tmp_path / "accounts.csv"
    server = f"{bulk_lab.host}:{bulk_lab.sip_port}"
    path.write_text(f"user,server,password_file\n{user.username},{server},{secret}\n")
    result = siptest("bulk", str(path))
    assert result.status == 0, result.stdout + result.stderr
    assert "PASS: every account registered." in result.stdout


def three_accounts(tmp_path: Path, lab: Lab):
    return accounts_file(tmp_path, lab, lab.generated_users[:3])


def test_a_terminal_shows_a_progress_bar_on_stderr(bulk_lab, tmp_path):
    import pexpect

    path, env = three_accounts(tmp_path, bulk_lab)
    child = pexpect.spawn(
        sys.executable, ["-m", "siptest", "bulk", str(path)],
        env={**env, "TERM": "xterm"}, encoding="utf-8", timeout=60,
    )  # fmt: skip
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert f"[{'#' * 30}] 3/3  0 failed" in str(child.before)


def test_piped_stderr_has_no_progress_bar(siptest, bulk_lab, tmp_path):
    path, env = three_accounts(tmp_path, bulk_lab)
    result = siptest("bulk", str(path), env=env)
    assert result.status == 0, result.stderr
    assert "3/3" not in result.stderr and "#" not in result.stderr
