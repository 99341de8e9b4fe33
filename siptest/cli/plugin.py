"""`--nagios` on register, call and run: the options and the plugin's exit contract.

Under `--nagios` every way out prints one status line on stdout and exits 0 OK,
1 WARNING, 2 CRITICAL or 3 UNKNOWN (the monitoring-plugins guidelines): a bad
option or threshold, a missing password or a failed start is UNKNOWN, never a
traceback or siptest's own exit status 2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from siptest.errors import SiptestError, UsageError

if TYPE_CHECKING:
    from siptest.registration import CheckRun
    from siptest.report.nagios import PluginOutput, Thresholds

NagiosOpt = Annotated[
    bool,
    typer.Option(
        "--nagios",
        help="Print Nagios/Icinga plugin output; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
    ),
]
WarningOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--warning",
        metavar="LABEL=RANGE",
        help="With --nagios: WARNING when LABEL (register, invite_to_answer, mos, loss_sent, "
        "loss_received; seconds, MOS, percent) is outside RANGE, e.g. register=0.5 or mos=3.6:.",
        show_default=False,
    ),
]
CriticalOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--critical",
        metavar="LABEL=RANGE",
        help="With --nagios: CRITICAL when LABEL is outside RANGE (the same syntax).",
        show_default=False,
    ),
]


def thresholds(
    nagios: bool,
    json_output: bool,
    warning: Sequence[str] | None,
    critical: Sequence[str] | None,
    labels: Sequence[str] | None = None,
) -> Thresholds | None:
    """The thresholds under --nagios (None without it); UsageError when they are wrong."""
    if not nagios:
        if warning or critical:
            raise UsageError("--warning and --critical apply with --nagios only.")
        return None
    # imported only here: a check without --nagios does not pay for it at start-up
    from siptest.report.nagios import LABELS, RangeError, parse_thresholds

    if json_output:
        raise UsageError("--nagios and --json are two outputs: choose one.")
    try:
        return parse_thresholds(warning or [], critical or [], labels or LABELS)
    except RangeError as error:
        raise UsageError(str(error)) from None


def show(output: PluginOutput) -> NoReturn:
    typer.echo(output.text, nl=False)
    raise typer.Exit(int(output.state))


def unknown(message: str) -> NoReturn:
    from siptest.report.nagios import render_unknown

    show(render_unknown(message))


def guarded(action: Callable[[], None]) -> None:
    """Run a command body under --nagios: siptest's own errors are UNKNOWN."""
    try:
        action()
    except SiptestError as error:
        unknown(str(error))


def emit(
    run: CheckRun,
    limits: Thresholds,
    trace: Path | None,
    header: str,
    pcap: Path | None,
    html: Path | None = None,
) -> NoReturn:
    """The plugin output of a register or call check; the files asked for as usual,
    written first: one that cannot be is in the output, whose state it may change."""
    from siptest.cli.common import write_file, write_files
    from siptest.report.json import report_json
    from siptest.report.nagios import render_report

    unwritten = None
    try:
        write_files(run, header, trace, pcap, html, writer=write_file)
    except SiptestError as error:
        unwritten = str(error)
    show(render_report(report_json(run.report), limits, unwritten))


def run_as_plugin(app: typer.Typer, args: list[str]) -> NoReturn:
    """The whole command line under --nagios: errors click finds in the options (an
    unknown option, a value of the wrong type) and internal errors become UNKNOWN."""
    import click

    from siptest.report.nagios import render_unknown

    command = args[0] if args else "siptest"
    message = None
    try:
        status = app(args=args, standalone_mode=False)
    except click.ClickException as error:
        message = f"{error.format_message()} (see siptest {command} --help)"
    except click.Abort:
        message = "aborted"
    except Exception as error:  # the plugin contract: a status line, never a traceback
        message = (
            f"internal error ({type(error).__name__}) in siptest; run the same command "
            "without --nagios to see it"
        )
    if message is not None:
        output = render_unknown(message)
        typer.echo(output.text, nl=False)
        raise SystemExit(int(output.state))
    raise SystemExit(status if isinstance(status, int) else 0)
