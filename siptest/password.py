"""Where the SIP password comes from — never the command line.

Order (DESIGN.md): `--password-file PATH` (refused when group- or
world-readable, like .pgpass), the environment variable named by
`--password-env` (default SIPTEST_PASSWORD), a hidden prompt on a terminal,
else a usage error saying how to pass it.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from siptest.errors import UsageError

DEFAULT_ENV = "SIPTEST_PASSWORD"
MAX_LENGTH = 1024
"""Longer than any real SIP password; a bigger input is a wrong file."""


@dataclass(frozen=True)
class Password:
    """A password and where it came from (the source is safe to print)."""

    value: str = field(repr=False)
    source: str


def read_password(
    password_file: Path | None,
    env_name: str = DEFAULT_ENV,
    environ: Mapping[str, str] | None = None,
    interactive: bool | None = None,
) -> Password:
    environ = os.environ if environ is None else environ
    if not _ENV_NAME.fullmatch(env_name):
        # Probably the password itself given by mistake: never repeat it.
        raise UsageError(
            "--password-env takes the NAME of an environment variable (letters, digits "
            "and _, e.g. SIPTEST_PASSWORD), not the password. The value given is not "
            "such a name; siptest does not repeat it. Put the password in the variable: "
            "export SIPTEST_PASSWORD='...'."
        )
    if password_file is not None:
        return Password(_read_file(password_file), f"file {password_file}")
    value = environ.get(env_name)
    if value is not None:
        return Password(_checked(value, f"${env_name}"), f"${env_name}")
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stderr.isatty()
    if interactive:
        import getpass

        try:
            value = getpass.getpass("SIP password: ")
        except (EOFError, KeyboardInterrupt):
            raise UsageError("No password entered.") from None
        return Password(_checked(value, "the prompt"), "prompt")
    named = quotable_env_name(env_name, "the variable --password-env names")
    raise UsageError(
        "No SIP password given. Set it in the environment "
        f"({named}=...), or pass --password-file PATH (a file only you can read), "
        "or run siptest in a terminal to be asked for it."
    )


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
"""What siptest accepts as --password-env: a variable name. Anything else is never quoted
back (a password such as "lab-1001-pass" given by mistake)."""
_CONVENTIONAL = re.compile(r"[A-Z_][A-Z0-9_]*")
"""Names siptest quotes back in messages; a mixed-case one could be a password."""


def quotable_env_name(name: str, otherwise: str) -> str:
    """The variable's name for a message, or `otherwise` when it could be a password."""
    return name if _CONVENTIONAL.fullmatch(name) else otherwise


def _read_file(path: Path) -> str:
    try:
        info = path.stat()
    except OSError as exc:
        raise UsageError(f"Cannot read the password file {path}: {exc.strerror}.") from None
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"The password file {path} is not a regular file.")
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UsageError(
            f"The password file {path} can be read by other users "
            f"(mode {stat.S_IMODE(info.st_mode):03o}). Run: chmod 600 {path}"
        )
    if info.st_size > MAX_LENGTH + 2:
        raise UsageError(
            f"The password file {path} is {info.st_size} bytes; a SIP password is at most "
            f"{MAX_LENGTH} characters. Is it the right file?"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"The password file {path} is not UTF-8 text.") from None
    except OSError as exc:
        raise UsageError(f"Cannot read the password file {path}: {exc.strerror}.") from None
    # Some editors start UTF-8 files with a byte order mark: it is not the password's.
    text = text.removeprefix("\ufeff")
    # Editors end files with a newline; it is not part of the password.
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    return _checked(text, f"the file {path}")


def _checked(value: str, where: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            f"The password from {where} holds bytes that are not UTF-8 text. Set it as "
            "UTF-8 (check the terminal's or the file's character encoding)."
        ) from None
    if not value:
        raise UsageError(f"The password from {where} is empty.")
    if len(value) > MAX_LENGTH:
        raise UsageError(
            f"The password from {where} is {len(value)} characters long; a SIP password is "
            f"at most {MAX_LENGTH}. Check that the right value is set."
        )
    if "\n" in value or "\r" in value or "\x00" in value:
        raise UsageError(
            f"The password from {where} contains a line break or NUL; put only the password in it."
        )
    return value
