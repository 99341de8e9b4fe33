"""The order in which SRV records are tried: RFC 2782's "Usage rules", as a pure function.

Lower priority first; inside one priority a weighted random draw, repeated on what is
left, so a record with weight 60 comes first about six times in ten against one with 40.
The random source is passed in, so a test chooses the draw.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from typing import Protocol


class RandomSource(Protocol):
    """What the draw needs from a random generator; `random.Random` is one."""

    def randint(self, a: int, b: int) -> int:
        """A uniform integer from ``a`` to ``b``, both included."""
        ...


@dataclass(frozen=True)
class SrvRecord:
    """One SRV record's data (RFC 2782)."""

    priority: int
    weight: int
    port: int
    target: str
    """The host (``sip1.example.test``); ``.`` means "the service is not available here"."""


def order_srv(records: Iterable[SrvRecord], random: RandomSource) -> list[SrvRecord]:
    """``records`` in the order to try them (RFC 2782)."""
    ordered: list[SrvRecord] = []
    by_priority = sorted(records, key=lambda record: record.priority)
    for _, group in groupby(by_priority, key=lambda record: record.priority):
        ordered.extend(_weighted_order(list(group), random))
    return ordered


def _weighted_order(records: list[SrvRecord], random: RandomSource) -> list[SrvRecord]:
    # RFC 2782: "arrange all SRV RRs in any order, except that all those with weight 0
    # are placed at the beginning". Sorted by target and port, so that the same draws
    # give the same order whatever order the DNS server sent the records in.
    unordered = sorted(records, key=lambda record: (record.weight != 0, record.target, record.port))
    ordered: list[SrvRecord] = []
    while unordered:
        total = sum(record.weight for record in unordered)
        # "a uniform random number between 0 and the sum computed (inclusive)"
        draw = random.randint(0, total)
        running = 0
        for index, record in enumerate(unordered):
            running += record.weight
            # "the first whose running sum is greater than or equal to the random number"
            if running >= draw:
                ordered.append(unordered.pop(index))
                break
    return ordered
