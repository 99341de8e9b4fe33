"""Exit statuses and the exceptions that mean "the test could not run".

A SIP failure (401, 408, ...) is a *result*, reported and diagnosed, never an
exception. Exceptions are for the cases where siptest could not do its job:

    SiptestError                 exit status carried on the class
    ├── UsageError               2  bad option, bad target, unsafe password file
    └── CannotRunError           3  cannot bind, lab not installed, stack failure
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Process exit statuses (the contract in DESIGN.md)."""

    OK = 0
    CHECK_FAILED = 1
    USAGE = 2
    CANNOT_RUN = 3
    INTERRUPTED = 130
    TERMINATED = 143


class SiptestError(Exception):
    """Base of siptest's own errors; the message says what to do."""

    exit_status = ExitStatus.CANNOT_RUN


class UsageError(SiptestError):
    """The user asked for something that cannot work as given."""

    exit_status = ExitStatus.USAGE


class CannotRunError(SiptestError):
    """The environment prevents the test from running."""

    exit_status = ExitStatus.CANNOT_RUN
