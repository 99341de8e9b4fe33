"""Options and plumbing shared by the commands that talk SIP."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer

from siptest.errors import ExitStatus, SiptestError, UsageError


class TransportChoice(str, Enum):
    udp = "udp"
    tcp = "tcp"
    tls = "tls"


TransportOpt = Annotated[
    TransportChoice, typer.Option("--transport", "-t", help="SIP transport to use.")
]
AuthUserOpt = Annotated[
    str | None,
    typer.Option(help="Digest user name, when it differs from the user ID."),
]
DomainOpt = Annotated[
    str | None,
    typer.Option(help="SIP domain of the account, when it differs from the server host."),
]
ProxyOpt = Annotated[
    str | None,
    typer.Option("--outbound-proxy", help="HOST[:PORT] to send requests through."),
]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        min=0.5,
        max=64.0,
        help="Seconds to wait for each SIP answer before calling it a timeout.",
    ),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(help="Provider profile: 'generic', 'sipcall', or a profile YAML file."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
TraceOpt = Annotated[
    Path | None,
    typer.Option(help="Write the SIP exchange to PATH (credentials redacted).", dir_okay=False),
]
PasswordFileOpt = Annotated[
    Path | None,
    typer.Option(help="Read the password from PATH (must be readable only by you)."),
]
PasswordEnvOpt = Annotated[
    str,
    typer.Option(help="Environment variable holding the password."),
]
TlsInsecureOpt = Annotated[
    bool,
    typer.Option(
        "--tls-insecure",
        help="Do not verify the TLS server certificate (the report says INSECURE).",
    ),
]
TlsCaOpt = Annotated[
    Path | None,
    typer.Option(
        "--tls-ca",
        help="CA certificate file to verify the TLS server with (default: system CAs).",
        exists=False,
    ),
]
LocalPortOpt = Annotated[
    int,
    typer.Option(min=0, max=65535, help="Local SIP port to bind (0: any free port)."),
]

T = TypeVar("T")


def fail(error: SiptestError) -> NoReturn:
    typer.echo(f"siptest: {error}", err=True)
    raise typer.Exit(int(error.exit_status))


def guarded(action: Callable[[], T]) -> T:
    """Run a command body; siptest's own errors become a message and an exit status."""
    try:
        return action()
    except SiptestError as error:
        fail(error)


def resolve_profile(profile: str | None) -> str | Path | None:
    if profile is None:
        return None
    path = Path(profile)
    if profile.endswith((".yaml", ".yml")) or "/" in profile:
        if not path.is_file():
            raise UsageError(f"Profile file {profile} does not exist.")
        return path
    return profile


def finish(ok: bool, interrupted_status: int | None = None) -> NoReturn:
    if interrupted_status:
        raise typer.Exit(interrupted_status)
    raise typer.Exit(int(ExitStatus.OK if ok else ExitStatus.CHECK_FAILED))
