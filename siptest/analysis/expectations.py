"""What a test expects, and whether it happened: the one place that judges it.

`--expect CODE|CATEGORY|answered` on the command line and `expect:` in a scenario file
(ok, code, category, answered) are judged by `unmet_outcome`; the media expectations
(audio, min_mos, dtmf) by `media_results`, from the media measurement. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from siptest.analysis.audio import rounded
from siptest.analysis.details import ExpectationResult
from siptest.analysis.model import Check
from siptest.knowledge import Knowledge

if TYPE_CHECKING:
    from siptest.analysis.audio import Assessment


@dataclass(frozen=True)
class MediaExpectation:
    """What a scenario expects of an answered call's media (`expect:` in YAML)."""

    audio: Literal["both"] | None = None
    """`both`: audio must flow both ways (also the default verdict without expectations)."""
    min_mos: float | None = None
    """Lowest acceptable MOS estimate; replaces the default failure threshold (3.1)."""
    dtmf: str | None = None
    """Digits that must come back from the far end (echo service, second account)."""


def unmet_outcome(
    check: Check,
    *,
    ok: bool | None = None,
    codes: tuple[int, ...] = (),
    category: str | None = None,
    answered: bool | None = None,
) -> list[str]:
    """What did not hold of a check's outcome, in words ("expected code 404, got 200
    OK"); empty when everything given holds. A condition left None (or empty) holds."""
    response = check.response
    got = f"{response.code} {response.reason}".strip() if response else "no response"
    seen_category = check.diagnosis.category if check.diagnosis else "none"
    seen_answered = bool(check.details.get("answered"))
    problems = []
    if ok is not None and check.ok != ok:
        problems.append(
            f"expected {'success' if ok else 'a failure'}, got {got}"
            + (f" ({check.diagnosis.title})" if check.diagnosis else "")
        )
    if codes and (response is None or response.code not in codes):
        wanted = " or ".join(str(code) for code in codes)
        problems.append(f"expected code {wanted}, got {got}")
    if category is not None and seen_category != category:
        problems.append(f"expected category {category}, got {seen_category} ({got})")
    if answered is not None and seen_answered != answered:
        state = "answered" if seen_answered else f"not answered ({got})"
        problems.append(
            f"expected the call {'answered' if answered else 'not answered'}, it was {state}"
        )
    return problems


def same_digits(a: str, b: str) -> bool:
    """DTMF digits compared as a person reads them: spaces and case do not count."""
    return digits(a) == digits(b)


def digits(text: str) -> str:
    """DTMF digits as compared: spaces dropped, upper case."""
    return "".join(text.split()).upper()


def media_results(
    expectations: MediaExpectation | None,
    assessment: Assessment | None,
    *,
    dtmf_sent: str,
    dtmf_received: str,
) -> tuple[ExpectationResult, ...]:
    """Each media expectation, what the measurement shows and whether it is met
    (the media section's `expectations`; `assessment` None: nothing was measured)."""
    if expectations is None:
        return ()
    results: list[ExpectationResult] = []
    if expectations.audio is not None:
        verdict = assessment.verdict if assessment else None
        met = bool(assessment and assessment.both)
        results.append(ExpectationResult("audio", expectations.audio, verdict, met))
    if expectations.min_mos is not None:
        worst = assessment.worst if assessment else None
        got = rounded(worst.mos if worst else None, 2)
        met = worst is not None and worst.mos >= expectations.min_mos
        results.append(ExpectationResult("min_mos", expectations.min_mos, got, met))
    if expectations.dtmf is not None:
        met = assessment is not None and same_digits(dtmf_received, expectations.dtmf)
        results.append(ExpectationResult("dtmf", expectations.dtmf, dtmf_received, met))
    return tuple(results)


def parse_expectation(text: str) -> int | str:
    """`--expect CODE|CATEGORY`: a response code (100-699) or a diagnosis category."""
    from siptest.errors import UsageError
    from siptest.knowledge.model import CATEGORIES

    value = text.strip().lower()
    if value.isdigit():
        code = int(value)
        if not 100 <= code <= 699:
            raise UsageError(f"--expect {text}: a SIP response code is 100 to 699.")
        return code
    if value in ("ok", "answered"):
        return "answered"
    if value not in CATEGORIES:
        choices = ", ".join(sorted(CATEGORIES))
        raise UsageError(
            f"--expect {text}: give a response code (e.g. 403), 'answered', "
            f"or a category ({choices})."
        )
    return value


def apply_expectation(check: Check, expected: int | str, knowledge: Knowledge) -> Check:
    """An expected failure passes (a technician checking that 0900 is blocked)."""
    response = check.response
    answered = bool(check.details.get("answered"))
    happened = check.diagnosis
    if expected == "answered":
        met = not unmet_outcome(check, answered=True)
    elif isinstance(expected, int):
        met = not unmet_outcome(check, codes=(expected,))
    else:
        met = not unmet_outcome(check, category=expected)
    details = dict(check.details, expected=expected, expectation_met=met)
    if met:
        return replace(check, ok=True, details=details)
    facts: dict[str, object] = {"expected": expected}
    if happened is not None:
        facts.update(
            diagnosis_title=happened.title,
            diagnosis_explanation=happened.explanation,
            diagnosis_fix=happened.fix,
        )
    cases: tuple[str, ...] = ()
    if answered:
        cases = ("answered",)
    elif response is None or response.origin == "none":
        cases = ("no_response",)
    else:
        facts["got"] = f"{response.code} {response.reason}".strip()
    unmet = knowledge.named("expectation.unmet", facts, cases=cases)
    # What happened instead keeps its category and its standard.
    unmet = replace(
        unmet,
        category=happened.category if happened else "none",
        rfc=happened.rfc if happened else None,
    )
    return replace(check, ok=False, diagnosis=unmet, details=details)
