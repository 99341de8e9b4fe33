"""The SIP stack's errors, mapped to siptest's in one place.

pjsua2 raises one exception type (`pjsua2.Error`, a pj_status_t and a text);
pjsip reports failures of the network as SIP responses it makes up itself
(read by `siptest.ua.evidence.local_cause`). Everything that reaches siptest
as an exception is decided here:

    pjsua2.Error ──► StackFailure (facts only: status, reason; no traceback
                     that could keep a pjsua2 Call alive past libDestroy)
                 ──► translate() ──► UsageError        2  a URI that cannot be dialled
                                 ├─► CannotRunError    3  a limit of siptest's stack,
                                 │                        a local port in use, ...
                                 └─► (ignored)            where the caller says so
    CallbackFailed event ──► InternalError (3): siptest's own callback raised

`at_stack_boundary` wraps every public method of the agent, so a call into
the stack added later cannot leak a raw pjsua2.Error (tests/unit/test_stack_errors.py
fails when a public method lacks it or an `except ...Error` skips this module).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from siptest.errors import CannotRunError, SiptestError, UsageError
from siptest.ua.events import CallbackFailed

# pjlib/include/pj/errno.h: PJ_ERRNO_START_STATUS = 70000; system errors + 120000.
PJ_ETOOMANY = 70010
PJ_ECANCELLED = 70014
# pjsip/sip_errno.h
_PJSIP_EINVALIDURI = 171039
_PJSIP_EINVALIDREQURI = 171040
_PJSIP_EINVALIDSCHEME = 171023


@dataclass(frozen=True)
class StackFailure:
    """What a pjsua2.Error said, kept without the exception."""

    status: int
    reason: str


class InternalError(CannotRunError):
    """siptest's own code failed inside a callback from the SIP stack."""

    def __init__(self, failure: CallbackFailed) -> None:
        super().__init__(
            f"siptest hit an internal error in {failure.where} ({failure.error}) and stopped "
            "instead of reporting a result it cannot trust. Please report it with the trace."
        )
        self.failure = failure


def is_stack_error(exc: BaseException) -> bool:
    return type(exc).__module__ == "pjsua2" and type(exc).__name__ == "Error"


def stack_failure(exc: BaseException) -> StackFailure:
    return StackFailure(int(getattr(exc, "status", 0)), str(getattr(exc, "reason", exc)))


def translate(failure: StackFailure, action: str, subject: str = "") -> SiptestError:
    """The siptest error for a stack failure while doing `action` (e.g. "dial").

    `subject` is what the user gave (a number, a port) when the message names it.
    """
    status, reason = failure.status, failure.reason
    lowered = reason.lower()
    if status == PJ_ETOOMANY or "too many" in lowered:
        return CannotRunError(
            f"siptest's SIP stack handles at most 4 calls and 8 accounts at once ({reason}); "
            "this is a limit of siptest, not of the server. Split the test into smaller parts."
        )
    if action == "dial" and (
        status in (_PJSIP_EINVALIDURI, _PJSIP_EINVALIDREQURI, _PJSIP_EINVALIDSCHEME)
        or ("uri" in lowered and "invalid" in lowered)
    ):
        return UsageError(
            f"'{subject}' is not a number or SIP URI that can be dialled "
            f"({reason}). Give digits, or a URI such as sip:7000@example.com."
        )
    if action == "open a local port":
        hint = (
            "Check that the machine allows outgoing sockets."
            if subject.endswith("(any)")
            else "Pass another --local-port or stop the other SIP client."
        )
        return CannotRunError(f"Could not open a local {subject}: {reason}. {hint}")
    what = f"{action} {subject}".strip()
    return CannotRunError(f"The SIP stack could not {what}: {reason}")


F = TypeVar("F", bound=Callable[..., Any])


def at_stack_boundary(action: str) -> Callable[[F], F]:
    """Any pjsua2.Error escaping the method becomes a siptest error (never a traceback)."""

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except Exception as exc:
                if not is_stack_error(exc):
                    raise
                failure = stack_failure(exc)
            raise translate(failure, action)

        wrapper.__stack_boundary__ = action  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
