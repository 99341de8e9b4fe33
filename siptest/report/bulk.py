"""The results of `siptest bulk`: summary table, progress line, JSON, JUnit XML, CSV.

Each account's own report is the JSON report of `siptest register --json`
(`report/json.py`), kept whole in the bulk JSON; the table, JUnit and CSV show the
check that decides it (`report.summary.verdict`, as `--nagios` does): the register
check, or the failed un-REGISTER or DNS resolution when that is what went wrong.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from siptest import __version__
from siptest.bulk.runner import AccountResult, BulkRun
from siptest.report.junit import xml_safe
from siptest.report.summary import verdict as report_verdict
from siptest.report.trace import write_private

_WORDS = {
    "passed": "OK",
    "failed": "FAIL",
    "error": "ERROR",
    "interrupted": "STOP",
    "not_run": "NOT RUN",
}
CSV_COLUMNS = (
    "line",
    "user",
    "server",
    "transport",
    "status",
    "code",
    "reason",
    "diagnosis",
    "category",
    "duration_ms",
    "error",
)


def deciding_check(result: AccountResult) -> dict[str, Any]:
    """The check that decides the account's report, the one `--nagios` reports
    (`report.summary.verdict`): a failed un-REGISTER after a 200, a DNS failure before
    any REGISTER; {} without a report."""
    checks = [c for c in (result.report or {}).get("checks") or [] if isinstance(c, dict)]
    check = report_verdict(checks).check
    return dict(check) if check is not None else {}


def answer(result: AccountResult) -> tuple[int | None, str]:
    """The deciding check's final answer: code and reason (None, "" without one)."""
    response = deciding_check(result).get("response") or {}
    code = response.get("code")
    return (code if isinstance(code, int) else None), str(response.get("reason") or "")


def diagnosis(result: AccountResult) -> dict[str, Any]:
    """The deciding check's diagnosis ({} without one)."""
    found = deciding_check(result).get("diagnosis")
    return found if isinstance(found, dict) else {}


def summary(run: BulkRun) -> dict[str, int]:
    return {
        "accounts": len(run.results),
        "passed": run.count("passed"),
        "failed": run.count("failed"),
        "errors": run.count("error"),
        "interrupted": run.count("interrupted"),
        "not_run": run.count("not_run"),
    }


def progress_line(done: int, total: int, failed: int, width: int = 30) -> str:
    """`[#######.......]  120/500  3 failed` for a terminal (no line end)."""
    filled = width * done // total if total else width
    bar = "#" * filled + "." * (width - filled)
    return f"[{bar}] {done:>{len(str(total))}}/{total}  {failed} failed"


def render_text(run: BulkRun) -> str:
    """A row for every account that did not pass (the JSON and CSV have them all), then
    the totals and the verdict."""
    rows = [r for r in run.results if r.status != "passed"]
    lines = []
    width = max((len(r.account.target) for r in rows), default=0)
    for result in rows:
        code, reason = answer(result)
        found = diagnosis(result)
        shown = (
            f"{code} {reason}".strip()
            if code is not None
            else (result.error or str(found.get("title") or ""))
        )
        tail = f"  {found['id']}" if found.get("id") and result.status != "passed" else ""
        lines.append(
            f"[{_WORDS[result.status]:<7}] {result.account.target:<{width}}  "
            f"{result.account.transport.upper():<3}  {shown}{tail}"
        )
    counts = summary(run)
    lines.append(
        f"{counts['accounts']} accounts: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['errors']} could not run, {counts['interrupted']} interrupted, "
        f"{counts['not_run']} not run; {run.duration_s:.1f} s at most {run.rate:g} "
        "registrations/s per registrar."
    )
    verdict = (
        "INTERRUPTED"
        if run.interrupted_status is not None
        else "PASS: every account registered."
        if run.ok
        else "FAIL: not every account registered."
    )
    lines.append(verdict)
    return "\n".join(lines) + "\n"


def account_json(result: AccountResult) -> dict[str, Any]:
    account = result.account
    return {
        "line": account.line,
        "user": account.user,
        "server": account.server,
        "transport": account.transport,
        "status": result.status,
        "ok": result.status == "passed",
        "exit_status": result.exit_status,
        "started_at": (
            None
            if result.started_at is None
            else datetime.fromtimestamp(result.started_at, timezone.utc).isoformat(
                timespec="milliseconds"
            )
        ),
        "duration_ms": round(result.duration_s * 1000, 1),
        "error": result.error,
        "report": result.report,
    }


def render_json(run: BulkRun) -> str:
    body = {
        "ok": run.ok,
        "siptest": __version__,
        "interrupted": run.interrupted_status is not None,
        "rate": run.rate,
        "workers": run.workers,
        "duration_ms": round(run.duration_s * 1000, 1),
        "summary": summary(run),
        "accounts": [account_json(result) for result in run.results],
    }
    return json.dumps(body, indent=2, ensure_ascii=False)


def junit_xml(run: BulkRun, source: Path, timestamp: datetime | None = None) -> str:
    """One testcase per account: a failure carries the diagnosis, an error why it could
    not run, a skipped account was not run."""
    counts = summary(run)
    attributes = {
        "tests": str(counts["accounts"]),
        "failures": str(counts["failed"]),
        "errors": str(counts["errors"] + counts["interrupted"]),
        "skipped": str(counts["not_run"]),
        "time": f"{run.duration_s:.3f}",
    }
    root = ET.Element("testsuites", {"name": "siptest", **attributes})
    when = (timestamp or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    suite = ET.SubElement(
        root, "testsuite", {"name": "siptest bulk", **attributes, "timestamp": when}
    )
    for result in run.results:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": xml_safe(f"bulk.{result.account.server}"),
                "name": xml_safe(result.account.target),
                "file": xml_safe(f"{source}:{result.account.line}"),
                "time": f"{result.duration_s:.3f}",
            },
        )
        code, reason = answer(result)
        found = diagnosis(result)
        if result.status == "failed":
            title = str(found.get("title") or "")
            message = f"{code} {reason}".strip() if code is not None else ""
            message = f"{message}: {title}" if message and title else message or title
            kind = str(deciding_check(result).get("kind") or "register")
            element = ET.SubElement(case, "failure", {"type": kind, "message": xml_safe(message)})
            element.text = xml_safe(
                "\n".join(
                    f"{label}: {found[key]}"
                    for label, key in (("What", "title"), ("Why", "explanation"), ("Fix", "fix"))
                    if found.get(key)
                )
            )
        elif result.status in ("error", "interrupted"):
            kind = "could-not-run" if result.status == "error" else "interrupted"
            ET.SubElement(case, "error", {"type": kind, "message": xml_safe(result.error or "")})
        elif result.status == "not_run":
            ET.SubElement(case, "skipped", {"message": "not run: the run was interrupted"})
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render_csv(run: BulkRun) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for result in run.results:
        code, reason = answer(result)
        found = diagnosis(result)
        account = result.account
        writer.writerow(
            [
                account.line,
                _cell(account.user),
                _cell(account.server),
                account.transport,
                result.status,
                "" if code is None else code,
                _cell(reason),
                _cell(str(found.get("id") or "")),
                _cell(str(found.get("category") or "")),
                f"{result.duration_s * 1000:.1f}",
                _cell(result.error or ""),
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula (a server's reason phrase is
    anyone's text): a leading = + - @ or control character gets a quote before it."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_junit(path: Path, run: BulkRun, source: Path) -> None:
    write_private(path, junit_xml(run, source))


def write_csv(path: Path, run: BulkRun) -> None:
    write_private(path, render_csv(run))
