"""Pacing: at most `rate` registrations begun per second toward one registrar.

A provider sees hundreds of accounts logging in from one address within a second
as a credential-stuffing attack and bans the address. A token bucket per
registrar spaces the checks out. `TokenBucket` does no I/O and reads no clock:
the time comes in as a value (tests drive it with numbers); `Pacer` adds the
clock, the waiting and the lock for the worker threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """`rate` tokens a second, holding at most `burst`; it starts full."""

    def __init__(self, rate: float, burst: float = 1.0, now: float = 0.0) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, not {burst}")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._at = now

    def reserve(self, now: float) -> float:
        """Take one token; how many seconds from `now` it may be used (0: at once).

        A token may be taken before it exists (the balance goes negative): each
        reservation queues behind the previous ones, so waiting callers are spaced
        exactly 1/rate apart.
        """
        if now > self._at:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


class Pacer:
    """A token bucket per registrar, shared by worker threads."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        stop: threading.Event | None = None,
    ) -> None:
        self.rate = rate
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()
        self.stop = stop or threading.Event()
        """Set it to release every waiting caller (Ctrl-C): `wait` then returns False."""

    def delay(self, registrar: str) -> float:
        """Reserve a start toward `registrar`; seconds to wait before it."""
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(registrar)
            if bucket is None:
                bucket = self._buckets[registrar] = TokenBucket(self.rate, now=now)
            return bucket.reserve(now)

    def wait(self, registrar: str) -> bool:
        """Block until a start toward `registrar` is due; False when stopped meanwhile."""
        seconds = self.delay(registrar)
        if seconds > 0:
            self.stop.wait(seconds)
        return not self.stop.is_set()
