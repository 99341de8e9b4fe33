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


_COMMANDS = ("register", "call", "doctor", "explain", "run", "bulk", "lab", "exporter")


def _wire(words: list[str]) -> None:
    """Join the commands; only the one being run when the first word names it.

    Building a command reads its function's signature, and importing it brings
    its dependencies: start-up is measured against sipsak (benchmarks/), and a
    one-shot tester should not pay for four commands it does not run.
    """
    from importlib import import_module

    wanted = [words[0]] if words and words[0] in _COMMANDS else list(_COMMANDS)
    for name in wanted:
        module = import_module(f"siptest.cli.{name}")
        if name == "lab":
            app.add_typer(module.app, name="lab")
        else:
            app.command(name)(getattr(module, name))


def main() -> None:
    import sys

    _refuse_bytes_that_are_not_text(sys.argv[1:])
    _wire(sys.argv[1:])
    if "--nagios" in sys.argv[1:]:
        from siptest.cli.plugin import run_as_plugin

        run_as_plugin(app, sys.argv[1:])
    try:
        app()
    except SystemExit as done:  # typer's standalone mode always ends this way
        _leave_now(done)
        raise


def _leave_now(done: SystemExit) -> None:
    """Exit at once once the output is flushed, skipping the interpreter's teardown.

    Tearing down the modules and objects of typer, click and the SIP bindings costs
    15-20 ms, as long as a whole registration on loopback. Nothing is lost by
    skipping it: every file siptest writes is closed by the time a command returns
    (with-blocks), the SIP stack is destroyed and its registrations removed by the
    command itself, lab processes run in sessions of their own, and siptest
    registers no atexit handlers. When flushing fails (a closed pipe), the normal
    exit path runs instead.
    """
    import os
    import sys

    code = done.code
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # a message: Python prints it and exits 1
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    os._exit(status)


def _refuse_bytes_that_are_not_text(args: list[str]) -> None:
    """An argument with bytes that are not UTF-8 (kept by Python as lone surrogates)
    would fail deep inside the SIP stack: refuse it here, naming where it stands but
    never its value (it could be a password given by mistake)."""
    import sys

    for position, arg in enumerate(args, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            before = (
                args[position - 2] if position > 1 and args[position - 2].startswith("-") else ""
            )
            named = f" (the value of {before})" if before else ""
            message = (
                f"argument {position}{named} holds bytes that are not UTF-8 text. "
                "Give it as UTF-8 (check the terminal's character encoding)."
            )
            if "--nagios" in args:
                sys.stdout.write(f"SIPTEST UNKNOWN - {message}\n")
                raise SystemExit(3) from None
            sys.stderr.write(f"siptest: {message}\n")
            if "--json" in args:
                from siptest.report.json import render_error_json

                sys.stdout.write(render_error_json(2, message) + "\n")
            raise SystemExit(2) from None
