"""The results of `siptest bulk`: JSON, CSV, JUnit, table and exit status."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from siptest.analysis.model import Check, Report
from siptest.bulk.accounts import BulkAccount
from siptest.bulk.runner import AccountResult, BulkRun
from siptest.knowledge import Situation, load_knowledge
from siptest.report.bulk import junit_xml, progress_line, render_csv, render_json, render_text
from siptest.report.json import report_json
from siptest.ua.base import Response


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


# -- the cause shown is the deciding check's, as in --nagios ------------------------

KNOWLEDGE = load_knowledge()


def registered_then_not_removed() -> dict:
    """A real report: registered (200), but the un-REGISTER got 500."""
    facts = {"code": 500, "reason": "Server Internal Error", "expires_asked": 60}
    checks = (
        Check(
            kind="register",
            ok=True,
            diagnosis=_registered_diagnosis(),
            target="sip:1001@h.example",
            transport="udp",
            response=Response("REGISTER", 200, "OK", origin="remote", at=0.0),
            duration_ms=3.0,
        ),
        Check(
            kind="unregister",
            ok=False,
            diagnosis=KNOWLEDGE.named("cleanup.unregister_failed", facts),
            target="sip:1001@h.example",
            transport="udp",
            response=Response("REGISTER", 500, "Server Internal Error", origin="remote", at=0.1),
            duration_ms=2.0,
        ),
    )
    return report_json(Report(checks))


def _registered_diagnosis():
    return KNOWLEDGE.diagnose(Situation(method="REGISTER", code=200, reason="OK"))


def name_not_found() -> dict:
    """A real report of a DNS failure: a resolution check, no register check at all."""
    facts = {"domain": "nowhere.example", "dns_problem": "nowhere.example does not exist."}
    check = Check(
        kind="resolution",
        ok=False,
        diagnosis=KNOWLEDGE.named("dns.no_such_name", facts),
        target="nowhere.example",
    )
    return report_json(Report((check,)))


NOT_REMOVED = AccountResult(account(2, "1001"), "failed", registered_then_not_removed(), 1)
NO_NAME = AccountResult(
    BulkAccount(3, "1002", "nowhere.example", password_env="PW"), "failed", name_not_found(), 1
)


def test_the_table_shows_the_failed_un_register_not_the_registration():
    text = render_text(bulk_run(NOT_REMOVED))
    row = text.splitlines()[0]
    assert row.startswith("[FAIL   ] 1001@h.example")
    assert row.endswith("500 Server Internal Error  cleanup.unregister_failed")
    assert "200 OK" not in text and "ok.registered" not in text


def test_the_table_names_a_dns_failure_that_has_no_register_check():
    row = render_text(bulk_run(NO_NAME)).splitlines()[0]
    title = KNOWLEDGE.named("dns.no_such_name").title
    assert row.endswith(f"UDP  {title}  dns.no_such_name")


def csv_row(result: AccountResult) -> dict[str, str]:
    return next(csv.DictReader(io.StringIO(render_csv(bulk_run(result)))))


def test_the_csv_has_the_code_and_diagnosis_of_the_failed_un_register():
    row = csv_row(NOT_REMOVED)
    assert (row["status"], row["code"], row["reason"]) == (
        "failed",
        "500",
        "Server Internal Error",
    )
    assert (row["diagnosis"], row["category"]) == ("cleanup.unregister_failed", "server")


def test_the_csv_has_the_diagnosis_of_a_dns_failure_and_no_code():
    row = csv_row(NO_NAME)
    assert (row["code"], row["reason"]) == ("", "")
    assert (row["diagnosis"], row["category"]) == ("dns.no_such_name", "config")


def test_a_passing_account_keeps_its_registration_in_the_csv():
    row = csv_row(AccountResult(account(2, "1001"), "passed", _passing_report(), 0))
    assert (row["code"], row["diagnosis"]) == ("200", "ok.registered")


def _passing_report() -> dict:
    check = Check(
        kind="register",
        ok=True,
        diagnosis=_registered_diagnosis(),
        response=Response("REGISTER", 200, "OK", origin="remote", at=0.0),
    )
    return report_json(Report((check,)))


def junit_failure(result: AccountResult) -> ET.Element:
    root = ET.fromstring(junit_xml(bulk_run(result), Path("a.csv")).split("\n", 1)[1])
    failure = root.find(".//testcase/failure")
    assert failure is not None
    return failure


def test_junit_reports_the_failed_un_register():
    failure = junit_failure(NOT_REMOVED)
    title = KNOWLEDGE.named("cleanup.unregister_failed").title
    assert failure.get("type") == "unregister"
    assert failure.get("message") == f"500 Server Internal Error: {title}"
    assert failure.text.startswith(f"What: {title}\nWhy: siptest asked the server")


def test_junit_reports_a_dns_failure_by_its_title_not_none():
    failure = junit_failure(NO_NAME)
    title = KNOWLEDGE.named("dns.no_such_name").title
    assert failure.get("type") == "resolution"
    assert failure.get("message") == title
    assert "None" not in failure.get("message")
