"""The lab's subscribers, read from the same db_text table Kamailio loads.

The table (`files/subscriber`) is the single source of truth: Kamailio reads it into
htables at start-up, tests and `siptest lab status` read it here. The passwords are
lab-only test credentials; printing them is intended.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SUBSCRIBER_FILE = Path(__file__).parent / "files" / "subscriber"


@dataclass(frozen=True)
class LabUser:
    """One subscriber of the lab."""

    username: str
    """The SIP user ID (also the digest auth user), e.g. ``1001`` or ``41411234567``."""
    password: str
    """The SIP password (lab-only test credential)."""
    active: bool
    """False for a suspended account: the lab answers 403 "This account is not valid"."""


def load_users(path: Path = SUBSCRIBER_FILE) -> tuple[LabUser, ...]:
    """Read a db_text subscriber table (header ``username(str) password(str) status(str)``)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"{path}: empty subscriber table")
    # db_text header: "name(type[,flags])" per column, separated by spaces
    columns = [column.split("(", 1)[0] for column in lines[0].split()]
    users = []
    for number, line in enumerate(lines[1:], start=2):
        values = line.split(":")
        if len(values) != len(columns):
            raise ValueError(f"{path}:{number}: expected {len(columns)} fields, got {len(values)}")
        row = dict(zip(columns, values, strict=True))
        users.append(
            LabUser(
                username=row["username"],
                password=row["password"],
                active=row["status"] == "active",
            )
        )
    return tuple(users)


LAB_USERS: tuple[LabUser, ...] = load_users()
"""Every subscriber of the lab, active and suspended, in table order."""


MAX_GENERATED_USERS = 5000
"""Bound on generated subscribers (Kamailio's htables and in-memory registrar hold them
easily; more would only be a mistake in a test)."""
GENERATED_FIRST = 20000
"""Generated user IDs are 20000, 20001, ...: clear of the dial plan (7000-7005, 999NNN,
0..., the fixed users)."""


def generated_users(count: int) -> tuple[LabUser, ...]:
    """`count` extra active lab users for bulk tests: 20000 ... with lab-20000-pass ..."""
    if not 0 <= count <= MAX_GENERATED_USERS:
        raise ValueError(f"generated users: 0 to {MAX_GENERATED_USERS}, not {count}")
    names = (str(GENERATED_FIRST + index) for index in range(count))
    return tuple(LabUser(name, f"lab-{name}-pass", active=True) for name in names)


def subscriber_table(users: tuple[LabUser, ...]) -> str:
    """The db_text table Kamailio loads, for these users."""
    rows = [f"{u.username}:{u.password}:{'active' if u.active else 'suspended'}" for u in users]
    return "\n".join(["username(str) password(str) status(str)", *rows]) + "\n"


def find_user(username: str) -> LabUser:
    """The lab user with this user ID; KeyError if the lab has none."""
    for user in LAB_USERS:
        if user.username == username:
            return user
    raise KeyError(username)
