"""What a report comes to: its measured numbers and the one verdict that decides it.

Read from the JSON report's checks (`report.json.check_json`, the documented schema),
so the Nagios output of a run and the exporter's metrics of a probe (which reads a
child's `--json`) come from the same data by the same rules. Only what a check
really measured is here; a phase the report does not hold is None, never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

CheckJson = Mapping[str, Any]
Severity = Literal["ok", "warning", "unknown", "critical"]


@dataclass(frozen=True)
class Measures:
    """Numbers in base units; with several checks of a kind (a scenario run), the worst."""

    register_s: float | None = None
    """Seconds the REGISTER took, challenge round trip included (the longest)."""
    invite_to_answer_s: float | None = None
    """Seconds from the first INVITE sent to the 2xx that answered it (the longest)."""
    mos: float | None = None
    """The estimated MOS of the worse direction (the lowest)."""
    mos_sent: float | None = None
    mos_received: float | None = None
    loss_sent: float | None = None
    """Percent of our packets lost on the way to the far end (the highest)."""
    loss_received: float | None = None
    """Percent of the far end's packets lost on the way to us (the highest)."""
    register_code: int | None = None
    """The final status of the last REGISTER check."""
    call_code: int | None = None
    """The final status of the last call check."""


@dataclass(frozen=True)
class Verdict:
    """The check that decides a report, and how."""

    severity: Severity
    check: CheckJson | None
    """None only when the report holds no check at all."""

    @property
    def diagnosis(self) -> CheckJson | None:
        if self.check is None:
            return None
        diagnosis: CheckJson | None = self.check.get("diagnosis")
        return diagnosis

    @property
    def title(self) -> str:
        if self.diagnosis and self.diagnosis.get("title"):
            return str(self.diagnosis["title"])
        if self.check is None:
            return "Nothing was checked"
        state = "passed" if self.check.get("ok") else "failed"
        return f"The {self.check.get('kind', 'check')} check {state}"


def _worst(values: Iterable[float | None], pick: Any) -> float | None:
    present = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return pick(present) if present else None


def _code(check: CheckJson | None) -> int | None:
    response = check.get("response") if check else None
    code = response.get("code") if isinstance(response, Mapping) else None
    return code if isinstance(code, int) else None


def measures(checks: Sequence[CheckJson]) -> Measures:
    """The numbers a report measured (the media section of answered calls only:
    the separate `media` check repeats it)."""
    registers = [c for c in checks if c.get("kind") == "register"]
    calls = [c for c in checks if c.get("kind") == "call"]
    media = [c["media"] for c in calls if isinstance(c.get("media"), Mapping)]

    def side(name: str, key: str) -> list[Any]:
        return [m.get(name, {}).get(key) for m in media if isinstance(m.get(name), Mapping)]

    return Measures(
        register_s=_seconds(_worst((c.get("duration_ms") for c in registers), max)),
        invite_to_answer_s=_seconds(_worst((c.get("answer_ms") for c in calls), max)),
        mos=_worst((m.get("mos") for m in media), min),
        mos_sent=_worst(side("sent", "mos"), min),
        mos_received=_worst(side("received", "mos"), min),
        loss_sent=_worst(side("sent", "loss_percent"), max),
        loss_received=_worst(side("received", "loss_percent"), max),
        register_code=_code(registers[-1] if registers else None),
        call_code=_code(calls[-1] if calls else None),
    )


def _seconds(milliseconds: float | None) -> float | None:
    return None if milliseconds is None else milliseconds / 1000


CLEAN_UP_KINDS = frozenset({"unregister", "hangup"})
"""Checks of siptest's own clean-up: their failure leaves something to look at (a
binding, a call the far end may still hold), not a failed service."""

_RANK: dict[Severity, int] = {"ok": 0, "warning": 1, "unknown": 2, "critical": 3}


def is_warning(check: CheckJson) -> bool:
    """A diagnosis of severity `warning` (a NAT finding, marginal quality, a DNS record
    without an address...); whether it makes the check a warning is `severity`'s call."""
    diagnosis = check.get("diagnosis")
    return isinstance(diagnosis, Mapping) and diagnosis.get("severity") == "warning"


def is_siptest_limit(check: CheckJson) -> bool:
    """The diagnosis names a limit of siptest itself (category `siptest`)."""
    diagnosis = check.get("diagnosis")
    return isinstance(diagnosis, Mapping) and diagnosis.get("category") == "siptest"


def severity(check: CheckJson) -> Severity:
    """What one check says about the service.

    - an outcome the user expected (`expectation_met`, e.g. `--expect 486`): ok;
    - a failure at a limit of siptest (category `siptest`): unknown, siptest could not judge;
    - a failed clean-up (`unregister`, `hangup`): warning;
    - any other failure (`register`, `call`, `resolution`, `preflight`, `media`...):
      critical, whatever the severity of its diagnosis (a 486 is a `warning` for the
      person who called, but the check did not get the call through);
    - a pass with a diagnosis of severity `warning`: warning; any other pass: ok.
    """
    if check.get("expectation_met") is True:
        return "ok"
    if not check.get("ok"):
        if is_siptest_limit(check):
            return "unknown"
        return "warning" if check.get("kind") in CLEAN_UP_KINDS else "critical"
    return "warning" if is_warning(check) else "ok"


def verdict(checks: Sequence[CheckJson]) -> Verdict:
    """The first check of the worst `severity` (critical, then unknown, then warning);
    when every check is ok, the main check (the last call, else the last registration,
    else the last check)."""
    rated = [(severity(check), check) for check in checks]
    worst: Severity = max((rank for rank, _ in rated), key=_RANK.__getitem__, default="ok")
    if worst != "ok":
        return Verdict(worst, next(check for rank, check in rated if rank == worst))
    for kind in ("call", "register"):
        main = [c for c in checks if c.get("kind") == kind]
        if main:
            return Verdict("ok", main[-1])
    return Verdict("ok", checks[-1] if checks else None)
