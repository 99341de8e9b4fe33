"""The `siptest` command line: one module per command, joined here."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="siptest",
    no_args_is_help=True,
    add_completion=False,
    help="SIP registration and dial tester that explains what went wrong and how to fix it.",
)


def _show_version(value: bool) -> None:
    if value:
        from siptest import __version__

        typer.echo(f"siptest {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """SIP registration and dial tester that explains what went wrong and how to fix it."""


def _wire() -> None:
    from siptest.cli import call, explain, lab, register, run

    app.command("register")(register.register)
    app.command("call")(call.call)
    app.command("explain")(explain.explain)
    app.command("run")(run.run)
    app.add_typer(lab.app, name="lab")


def main() -> None:
    _wire()
    app()
