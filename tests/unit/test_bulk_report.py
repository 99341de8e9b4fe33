"""The results of `siptest bulk`: JSON, CSV, JUnit, table and exit status."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from siptest.bulk.accounts import BulkAccount
from siptest.bulk.runner import AccountResult, BulkRun
from siptest.report.bulk import junit_xml, progress_line, render_csv, render_json, render_text


def report(code: int, reason: str, ok: bool, diagnosis: str) -> dict:
    check = {
        "kind": "register",
        "ok": ok,
        "response": {"code": code, "reason": reason},
        "diagnosis": {"id": diagnosis, "category": diagnosis.split(".")[0], "title": "T"},
    }
    return {"ok": ok, "checks": [check]}


def account(line: int, user: str) -> BulkAccount:
    return BulkAccount(line, user, "h.example", password_env="PW")


def bulk_run(*results: AccountResult, interrupted: int | None = None) -> BulkRun:
    return BulkRun(results, rate=5, workers=4, duration_s=1.0, interrupted_status=interrupted)


PASSED = AccountResult(account(2, "1001"), "passed", report(200, "OK", True, "ok.registered"), 0)
FAILED = AccountResult(
    account(3, "1002"), "failed", report(401, "Bad", False, "credentials.password_invalid"), 1
)


def test_every_account_passing_exits_0_and_one_failure_exits_1():
    assert bulk_run(PASSED).exit_status == 0
    assert bulk_run(PASSED, FAILED).exit_status == 1


def test_an_account_that_could_not_run_exits_3_and_an_interruption_130():
    error = AccountResult(account(4, "1003"), "error", None, 3, error="no stack")
    assert bulk_run(PASSED, FAILED, error).exit_status == 3
    not_run = AccountResult(account(5, "1004"), "not_run")
    assert bulk_run(PASSED, not_run, interrupted=130).exit_status == 130


def test_the_json_keeps_each_accounts_own_report_and_the_totals():
    data = json.loads(render_json(bulk_run(PASSED, FAILED)))
    assert data["ok"] is False
    assert data["summary"] == {
        "accounts": 2, "passed": 1, "failed": 1, "errors": 0, "interrupted": 0, "not_run": 0
    }  # fmt: skip
    assert [a["status"] for a in data["accounts"]] == ["passed", "failed"]
    assert data["accounts"][1]["report"]["checks"][0]["response"]["code"] == 401


def test_the_table_lists_only_accounts_that_did_not_pass():
    text = render_text(bulk_run(PASSED, FAILED))
    assert "1002@h.example" in text and "credentials.password_invalid" in text
    assert "1001@h.example" not in text
    assert text.rstrip().endswith("FAIL: not every account registered.")


def test_a_hostile_reason_phrase_is_not_a_formula_in_the_csv():
    hostile = AccountResult(
        account(2, "1001"), "failed", report(403, "=HYPERLINK(1)", False, "a.b"), 1
    )
    rows = list(csv.reader(io.StringIO(render_csv(bulk_run(hostile)))))
    assert rows[1][rows[0].index("reason")] == "'=HYPERLINK(1)"


def test_a_plain_reason_phrase_is_kept_as_it_is_in_the_csv():
    rows = list(csv.reader(io.StringIO(render_csv(bulk_run(FAILED)))))
    assert rows[1][rows[0].index("reason")] == "Bad"
    assert rows[1][rows[0].index("diagnosis")] == "credentials.password_invalid"


def test_junit_has_a_testcase_per_account_with_a_failure_only_where_it_failed():
    not_run = AccountResult(account(4, "1003"), "not_run")
    root = ET.fromstring(
        junit_xml(bulk_run(PASSED, FAILED, not_run), Path("a.csv")).split("\n", 1)[1]
    )
    cases = root.findall(".//testcase")
    assert [c.get("file") for c in cases] == ["a.csv:2", "a.csv:3", "a.csv:4"]
    assert cases[0].find("failure") is None
    assert "401 Bad" in cases[1].find("failure").get("message")
    assert cases[2].find("skipped") is not None


def test_the_progress_line_fills_with_the_accounts_done():
    assert progress_line(0, 4, 0, width=4) == "[....] 0/4  0 failed"
    assert progress_line(2, 4, 1, width=4) == "[##..] 2/4  1 failed"
    assert progress_line(4, 4, 1, width=4) == "[####] 4/4  1 failed"
