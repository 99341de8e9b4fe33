"""`siptest bulk ACCOUNTS.csv|ACCOUNTS.yaml`: check the registration of many accounts, paced."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from siptest.cli import common

if TYPE_CHECKING:
    from siptest.bulk.runner import AccountResult

DEFAULT_RATE = 5.0


def bulk(
    accounts_file: Annotated[
        Path,
        typer.Argument(
            metavar="ACCOUNTS.csv|ACCOUNTS.yaml",
            help="CSV: user,server[,transport,auth_user,domain] and password_env or "
            "password_file per row; or YAML (*.yaml, *.yml): a list of mappings with the "
            "same keys. Never a password.",
            dir_okay=False,
        ),
    ],
    rate: Annotated[
        float,
        typer.Option(
            min=0.1,
            max=1000,
            help="At most this many registrations begun per second toward one registrar "
            "(host): providers ban an address that logs in too fast.",
        ),
    ] = DEFAULT_RATE,
    workers: Annotated[
        int, typer.Option(min=1, max=32, help="Accounts checked at once (one process each).")
    ] = 4,
    timeout: common.TimeoutOpt = 5.0,
    json_output: common.JsonOpt = False,
    junit: Annotated[
        Path | None,
        typer.Option(metavar="PATH", help="Also write JUnit XML: one testcase per account."),
    ] = None,
    csv_path: Annotated[
        Path | None,
        typer.Option("--csv", metavar="PATH", help="Also write one CSV row per account."),
    ] = None,
) -> None:
    """Register every account of a CSV or YAML file, paced, and report each one.

    Each account is checked as `siptest register` checks it (one try when the
    server rejects the credentials, its registration removed afterwards), in a
    process of its own, at most --workers at once and --rate per second per
    registrar. Passwords come from the environment variable or the file (chmod 600)
    each account names; every source is checked before anything is sent.

    Exit status: 0 every account registered, 1 an account failed (diagnosed),
    2 bad file or option, 3 an account could not be checked, 130/143 interrupted
    (running checks un-register first).
    """
    common.guarded(
        lambda: _bulk(accounts_file, rate, workers, timeout, json_output, junit, csv_path),
        json_output,
    )


def _bulk(
    accounts_file: Path,
    rate: float,
    workers: int,
    timeout: float,
    json_output: bool,
    junit: Path | None,
    csv_path: Path | None,
) -> None:
    import os
    import sys

    from siptest.bulk.accounts import check_passwords, load_accounts
    from siptest.bulk.runner import run_bulk
    from siptest.report import bulk as report
    from siptest.report.trace import check_output_path

    for option, path in (("--junit", junit), ("--csv", csv_path)):
        if path is not None:
            check_output_path(path, option)
    _check_outputs_apart(accounts_file, junit, csv_path)
    accounts = load_accounts(accounts_file)
    check_passwords(accounts, accounts_file, os.environ)
    progress = _Progress(len(accounts)) if sys.stderr.isatty() else None
    run = run_bulk(
        accounts,
        rate=rate,
        workers=workers,
        timeout=timeout,
        on_result=progress.advance if progress else None,
    )
    if progress:
        progress.close()
    text = report.render_json(run) + "\n" if json_output else common.styled(report.render_text(run))
    typer.echo(text, nl=False, color=True)
    if junit is not None:
        common.write_or_exit(
            "the JUnit XML", junit, lambda: report.write_junit(junit, run, accounts_file)
        )
    if csv_path is not None:
        common.write_or_exit("the CSV results", csv_path, lambda: report.write_csv(csv_path, run))
    raise typer.Exit(run.exit_status)


def _same_file(one: Path, other: Path) -> bool:
    import os

    try:
        return os.path.samefile(one, other)
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(one) == os.path.realpath(other)


def _check_outputs_apart(accounts_file: Path, junit: Path | None, csv_path: Path | None) -> None:
    """An output file that is the accounts file would replace the fleet's inventory with
    results (and make it private); one file for both outputs would keep only the last."""
    from siptest.errors import UsageError

    for option, path in (("--junit", junit), ("--csv", csv_path)):
        if path is not None and _same_file(path, accounts_file):
            raise UsageError(
                f"{option} {path} is the accounts file; writing the results there would "
                "replace it. Give another file name."
            )
    if junit is not None and csv_path is not None and _same_file(csv_path, junit):
        raise UsageError(f"--csv {csv_path} is also the --junit file; give each its own file name.")


class _Progress:
    """A progress bar on the terminal's stderr, redrawn in place."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self._draw()

    def advance(self, result: AccountResult) -> None:
        self.done += 1
        self.failed += result.status in ("failed", "error")
        self._draw()

    def _draw(self) -> None:
        from siptest.report.bulk import progress_line

        typer.echo("\r" + progress_line(self.done, self.total, self.failed), nl=False, err=True)

    def close(self) -> None:
        typer.echo("", err=True)
