"""The JSON report: exactly one object, the schema documented in the README."""

from __future__ import annotations

import json
from typing import Any

from siptest import __version__
from siptest.analysis.model import Check, Report
from siptest.analysis.registration import honoured_retry_after
from siptest.ua.base import Response


def response_json(response: Response | None) -> dict[str, Any] | None:
    if response is None:
        return None
    return {
        "code": response.code,
        "reason": response.reason,
        "origin": response.origin,
        "local_cause": response.local_cause,
        "detail": response.detail or None,
        "warning": response.warning,
        "retry_after": honoured_retry_after(response),
        "min_expires": response.min_expires,
        "server": response.server,
    }


def check_json(check: Check) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": check.kind,
        "ok": check.ok,
        "target": check.target,
        "transport": check.transport,
        "response": response_json(check.response),
        "diagnosis": check.diagnosis.as_json() if check.diagnosis else None,
        "duration_ms": check.duration_ms,
    }
    data.update(check.details)
    if check.binding is not None:
        data.update(check.binding.as_json())
    if check.media is not None:
        data["media"] = check.media.as_json()
    if check.nat is not None:
        data.update(finding="nat", nat=check.nat.as_json())
    if check.step is not None:
        data.update(check.step.as_json())
    return data


def report_json(report: Report) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "siptest": __version__,
        "profile": report.profile,
        "insecure": report.insecure,
        "interrupted": report.interrupted,
        "checks": [check_json(check) for check in report.checks],
    }


def render_json(report: Report) -> str:
    return json.dumps(report_json(report), indent=2, ensure_ascii=False)


def render_error_json(exit_status: int, message: str) -> str:
    """What `--json` prints when the test could not run at all (exit 2 or 3)."""
    error = {"exit_status": exit_status, "message": message}
    body = {"ok": False, "siptest": __version__, "error": error, "checks": []}
    return json.dumps(body, indent=2, ensure_ascii=False)
