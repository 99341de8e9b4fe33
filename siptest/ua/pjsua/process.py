"""What the process holding the SIP stack does for its own safety."""

from __future__ import annotations

import ctypes
import resource


def forbid_core_dumps() -> None:
    """This process holds a SIP password: a crash of the C stack must not write it to disk.

    RLIMIT_CORE 0 stops plain core files; PR_SET_DUMPABLE 0 also stops the
    ones a core_pattern pipe (systemd-coredump, apport) would collect.
    """
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):  # pragma: no cover - not allowed to lower it
        pass
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


_PR_SET_DUMPABLE = 4
