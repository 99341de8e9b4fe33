"""`siptest lab up|down|status`: the bundled provider emulator, on loopback.

The lab started by `up` keeps running after the command exits; `status` and `down`
find it again through the state directory (``--state-dir``, ``$SIPTEST_LAB_DIR``,
default ``~/.cache/siptest/lab``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from siptest.errors import ExitStatus, SiptestError

if TYPE_CHECKING:
    from siptest.lab import LabStatus

# Imported lazily: `siptest register` must not pay for the lab's modules.
STATE_DIR_ENV = "SIPTEST_LAB_DIR"

app = typer.Typer(
    help="Run the bundled lab: Kamailio as a VoIP provider plus a SIPp UAS, on 127.0.0.1.",
    no_args_is_help=True,
)

StateDirOption = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        envvar=STATE_DIR_ENV,
        help="Where the lab keeps its files and its state (default: ~/.cache/siptest/lab).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]

T = TypeVar("T")


@app.command()
def up(
    state_dir: StateDirOption = None,
    sip_port: Annotated[
        int | None,
        typer.Option(
            help="SIP port, UDP and TCP (default: 5070 if free, else any free port).",
            min=1,
            max=65535,
        ),
    ] = None,
    tls_port: Annotated[
        int | None,
        typer.Option(
            help="SIP over TLS port (default: 5071 if free, else any free port).", min=1, max=65535
        ),
    ] = None,
    uas_port: Annotated[
        int | None,
        typer.Option(
            help="Port of the answering UAS (default: 5090 if free, else any).", min=1, max=65535
        ),
    ] = None,
    ring_ms: Annotated[
        int, typer.Option(help="How long 7001 rings before the lab answers 408.", min=1)
    ] = 4000,
    uas: Annotated[
        bool, typer.Option("--uas/--no-uas", help="Start the SIPp UAS that answers 7000.")
    ] = True,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the lab to answer.", min=0.1)
    ] = 10.0,
    as_json: JsonOption = False,
) -> None:
    """Start the lab in the background and print where it listens."""
    from siptest.lab import Lab, default_state_dir

    directory = state_dir or default_state_dir()
    status = _run(
        lambda: Lab.up(
            directory,
            sip_port=sip_port,
            tls_port=tls_port,
            uas_port=uas_port,
            ring_ms=ring_ms,
            with_uas=uas,
            timeout=timeout,
        )
    )
    if as_json:
        typer.echo(json.dumps(_status_json(status), indent=2))
    else:
        heading = "The lab is already running." if status.already_running else "The lab is up."
        typer.echo(heading)
        typer.echo(_status_text(status))
    if not status.ready:
        raise typer.Exit(ExitStatus.CHECK_FAILED)


@app.command()
def status(state_dir: StateDirOption = None, as_json: JsonOption = False) -> None:
    """Show whether the lab runs and answers; exit status 1 when it does not."""
    from siptest.lab import Lab, default_state_dir

    directory = state_dir or default_state_dir()
    current = _run(lambda: Lab.status(directory))
    if as_json:
        typer.echo(json.dumps(_status_json(current), indent=2))
    elif current.record is None:
        typer.echo(f"The lab is not running (nothing recorded in {directory}).")
    else:
        typer.echo(_status_text(current))
    if not (current.running and current.ready):
        raise typer.Exit(ExitStatus.CHECK_FAILED)


@app.command()
def down(state_dir: StateDirOption = None) -> None:
    """Stop the lab started by `siptest lab up`."""
    from siptest.lab import Lab, default_state_dir

    directory = state_dir or default_state_dir()
    stopped = _run(lambda: Lab.down(directory))
    if stopped:
        names = ", ".join(f"{item.name} pid {item.pid}" for item in stopped)
        typer.echo(f"Stopped the lab ({names}).")
    else:
        typer.echo(f"The lab was not running (nothing to stop in {directory}).")


def _run(action: Callable[[], T]) -> T:
    """Run a library call; a SiptestError becomes its message on stderr and its exit status."""
    try:
        return action()
    except SiptestError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(error.exit_status) from None


def _state_word(current: LabStatus) -> str:
    if current.running and current.ready:
        return "running, answers OPTIONS"
    if current.running:
        return "running, but does NOT answer OPTIONS (see the log)"
    if current.alive:
        return f"partly running ({', '.join(current.alive)} only); run `siptest lab down`"
    return "not running (its processes are gone); run `siptest lab up`"


def _status_text(current: LabStatus) -> str:
    record = current.record
    if record is None:
        return f"The lab is not running (nothing recorded in {current.state_dir})."
    processes = ", ".join(
        f"{item.name} pid {item.pid} ({'alive' if item.name in current.alive else 'gone'})"
        for item in record.processes
    )
    uas = (
        f"{record.host}:{record.uas_port} (UDP; dial 7000 to reach it)"
        if record.with_uas
        else "not started"
    )
    lines = [
        f"  state      {_state_word(current)}",
        f"  host       {record.host}",
        f"  SIP        {record.host}:{record.sip_port} (UDP and TCP)",
        f"  TLS        {record.host}:{record.tls_port}",
        *(
            [
                f"  IPv6       [{record.host6}]:{record.sip_port} (UDP, TCP), "
                f"[{record.host6}]:{record.tls_port} (TLS)"
            ]
            if record.host6
            else []
        ),
        f"  UAS        {uas}",
        f"  CA file    {record.ca_file}",
        f"  log file   {record.log_file}",
        f"  processes  {processes}",
        "  users (lab-only test credentials; realm siptest.local)",
    ]
    from siptest.lab import LAB_USERS

    width = max(len(user.username) for user in LAB_USERS)
    for user in LAB_USERS:
        flag = "active" if user.active else "suspended"
        lines.append(f"    {user.username:<{width}}  {user.password:<16}  {flag}")
    lines.append(
        f"  try        SIPTEST_PASSWORD={LAB_USERS[0].password} "
        f"siptest register {LAB_USERS[0].username}@{record.host}:{record.sip_port}"
    )
    return "\n".join(lines)


def _status_json(current: LabStatus) -> dict[str, Any]:
    from siptest.lab import LAB_USERS

    record = current.record
    data: dict[str, Any] = {
        "running": current.running,
        "ready": current.ready,
        "already_running": current.already_running,
        "state_dir": str(current.state_dir),
    }
    if record is not None:
        data.update(
            {
                "host": record.host,
                "host6": record.host6,
                "sip_port": record.sip_port,
                "tls_port": record.tls_port,
                "uas_port": record.uas_port if record.with_uas else None,
                "ring_ms": record.ring_ms,
                "ca_file": str(record.ca_file),
                "log_file": str(record.log_file),
                "started_at": record.started_at,
                "processes": [
                    {
                        "name": item.name,
                        "pid": item.pid,
                        "alive": item.name in current.alive,
                        "log_file": str(item.log_file),
                    }
                    for item in record.processes
                ],
            }
        )
    data["users"] = [
        {"username": user.username, "password": user.password, "active": user.active}
        for user in LAB_USERS
    ]
    return data
