"""Measuring a request rate from arrival times (what the registrar saw)."""

from __future__ import annotations

from collections.abc import Sequence


def busiest_window(times: Sequence[float], window: float) -> int:
    """The most arrivals within any half-open interval [t, t + window)."""
    ordered = sorted(times)
    most = 0
    first = 0
    for last, at in enumerate(ordered):
        while at - ordered[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


def mean_rate(times: Sequence[float]) -> float:
    """Arrivals per second between the first and the last (0 with fewer than two)."""
    if len(times) < 2:
        return 0.0
    span = max(times) - min(times)
    return (len(times) - 1) / span if span > 0 else float("inf")
