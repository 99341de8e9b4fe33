"""The `siptest` command: `python -m siptest` and the installed console script."""

from __future__ import annotations

import gc

YOUNG_GC_THRESHOLD = 50_000
"""Objects allocated between two young-generation collections (Python's default: 700).

Starting siptest creates some 100,000 objects that all live to the end (typer and
click, the SIP stack's bindings, siptest's own classes) and next to no garbage, so
the collections the default threshold runs during start-up only walk live objects:
about 4 ms of a register check that takes 100 (benchmarks/register_vs_sipsak.py).
The older generations keep their defaults, so a long-running `siptest exporter`
still collects reference cycles."""


def main() -> None:
    gc.set_threshold(YOUNG_GC_THRESHOLD)
    from siptest.cli import main as run

    run()


if __name__ == "__main__":
    main()
