"""Trying the resolved targets one after another, as a phone does (RFC 3263 4.3).

RFC 3263 4.3: a request fails over to the next target when the transaction times out
without any response, when the transport fails (ICMP unreachable, TCP refused or reset,
TLS handshake failure), or when the server answers 503. Any other answer - a 200, a 401,
a 404 - is the server's word, and the next target is not asked.

Pure: the caller passes how to try one target and how to read the result; nothing here
sends a packet, sleeps or reads a clock, so it is tested without a network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

from siptest.resolution.model import ResolvedTarget

R = TypeVar("R")


class FailoverCause(str, Enum):
    """Why a target was left for the next one."""

    TIMEOUT = "timeout"
    """No response at all within the per-target time."""
    TRANSPORT_ERROR = "transport_error"
    """Nothing could be sent or the connection failed (refused, reset, TLS, ICMP)."""
    SERVICE_UNAVAILABLE = "service_unavailable"
    """The server answered 503."""


@dataclass(frozen=True)
class TargetAttempt(Generic[R]):
    """One target tried, and what came of it."""

    target: ResolvedTarget
    result: R
    failover: FailoverCause | None
    """Why the next target was tried after this one; None: this answer ended the run."""

    @property
    def answered(self) -> bool:
        """The server sent a SIP response (a 503 counts: it answered, then was left)."""
        return self.failover in (None, FailoverCause.SERVICE_UNAVAILABLE)


@dataclass(frozen=True)
class FailoverRun(Generic[R]):
    """Every target tried, in order; the last attempt's result is the run's result."""

    attempts: tuple[TargetAttempt[R], ...]

    @property
    def tried(self) -> tuple[ResolvedTarget, ...]:
        return tuple(attempt.target for attempt in self.attempts)

    @property
    def answered(self) -> tuple[ResolvedTarget, ...]:
        """The targets whose server sent a SIP response (503s included)."""
        return tuple(attempt.target for attempt in self.attempts if attempt.answered)

    @property
    def final(self) -> TargetAttempt[R] | None:
        """The attempt whose answer ended the run; None if every target failed over."""
        last = self.attempts[-1] if self.attempts else None
        return last if last is not None and last.failover is None else None

    @property
    def result(self) -> R | None:
        """The last result: the answer that ended the run, else the last failure."""
        return self.attempts[-1].result if self.attempts else None

    def to_json(self) -> dict[str, Any]:
        return {
            "tried": [
                {
                    **attempt.target.as_json(),
                    "answered": attempt.answered,
                    "failover": attempt.failover.value if attempt.failover else None,
                }
                for attempt in self.attempts
            ],
            "answered": [target.hostport for target in self.answered],
            "final": self.final.target.hostport if self.final else None,
        }


def fail_over(
    targets: Sequence[ResolvedTarget],
    attempt: Callable[[ResolvedTarget], R],
    failover_cause: Callable[[R], FailoverCause | None],
) -> FailoverRun[R]:
    """Try ``targets`` in order until one gives an answer that is not a reason to move on.

    ``attempt(target)`` tries one target (bounded by the caller's per-target timeout);
    ``failover_cause(result)`` says why to move on, or None when the result is the
    server's answer. Every target is tried at most once.
    """
    attempts: list[TargetAttempt[R]] = []
    for target in targets:
        result = attempt(target)
        cause = failover_cause(result)
        attempts.append(TargetAttempt(target, result, cause))
        if cause is None:
            break
    return FailoverRun(tuple(attempts))
