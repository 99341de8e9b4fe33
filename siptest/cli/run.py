"""`siptest run SCENARIO...`: run scenario files; text, `--json`, `--junit PATH`."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from siptest.cli import common, plugin
from siptest.errors import SiptestError

if TYPE_CHECKING:
    from siptest.report.nagios import Thresholds
    from siptest.scenario import ScenarioRuns

ScenariosArg = Annotated[
    list[Path],
    typer.Argument(
        metavar="SCENARIO...",
        help="Scenario files (*.sip.yaml), or directories searched for them.",
        show_default=False,
    ),
]
JunitOpt = Annotated[
    Path | None,
    typer.Option(
        "--junit",
        metavar="PATH",
        help="Also write JUnit XML to PATH: one testcase per scenario.",
        dir_okay=False,
    ),
]
VarOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--var",
        metavar="NAME=VALUE",
        help="Set a scenario variable, over the file's variables: and the environment.",
        show_default=False,
    ),
]


def run(
    scenarios: ScenariosArg,
    json_output: common.JsonOpt = False,
    nagios: plugin.NagiosOpt = False,
    warning: plugin.WarningOpt = None,
    critical: plugin.CriticalOpt = None,
    junit: JunitOpt = None,
    var: VarOpt = None,
    trace: common.TraceOpt = None,
    pcap: common.PcapOpt = None,
    report: common.ReportOpt = None,
    dns_server: common.DnsServerOpt = None,
) -> None:
    """Run scenario files: registrations, calls and what each must show.

    Every file is read and checked before anything is sent. Each account's
    password comes from the environment variable or file the scenario names,
    never from the scenario itself.

    Exit status: 0 every scenario passed, 1 an expectation was not met
    (diagnosed), 2 a bad scenario file or option, 3 a scenario could not run,
    130/143 interrupted (after cleaning up; the reports are partial).
    """

    def body() -> None:
        limits = plugin.thresholds(nagios, json_output, warning, critical)
        _run(scenarios, json_output, junit, var or [], trace, pcap, report, limits, dns_server)

    if nagios:
        plugin.guarded(body)
    else:
        common.guarded(body, json_output)


def _run(
    paths: list[Path],
    json_output: bool,
    junit: Path | None,
    var: list[str],
    trace: Path | None,
    pcap: Path | None = None,
    report: Path | None = None,
    limits: Thresholds | None = None,
    dns_server: str | None = None,
) -> None:
    from siptest.report.junit import write_junit
    from siptest.report.scenario import render_runs_json, render_runs_text
    from siptest.report.terminal import live_progress
    from siptest.report.trace import check_output_path
    from siptest.scenario import (
        PreparedScenario,
        ScenarioError,
        find_scenarios,
        load_scenario,
        parse_overrides,
        prepare,
        run_scenarios,
    )

    outputs = (("--junit", junit), ("--trace", trace), ("--pcap", pcap), ("--report", report))
    for option, path in outputs:
        if path is not None:
            check_output_path(path, option)
    server = None
    if dns_server is not None:
        from siptest.resolution import parse_dns_server

        server = parse_dns_server(dns_server)
    overrides = parse_overrides(var)
    broken: list[tuple[Path, tuple[str, ...]]] = []
    readable: list[Path] = []
    prepared: list[PreparedScenario] = []
    for path in find_scenarios(paths):
        try:
            prepared.append(prepare(load_scenario(path, overrides=overrides)))
            readable.append(path)
        except ScenarioError as error:
            broken.append((path, error.problems))
    if broken:
        if limits is not None:
            # A plugin's exit 2 is CRITICAL: a broken file is UNKNOWN, nothing was checked.
            every = [problem for _, found in broken for problem in found]
            more = len(every) - 1
            plugin.unknown(
                f"a scenario file cannot be used, nothing was run: {every[0]}"
                + (f" (and {more} more; run without --nagios to see them all)" if more else "")
            )
        # Every error of every file at once: CI runs are too slow to fix them one by one.
        for _, problems in broken:
            for problem in problems:
                typer.echo(f"siptest: {problem}", err=True)
        if json_output:
            from siptest.report.scenario import render_unreadable_json

            typer.echo(render_unreadable_json(broken, readable))
        raise typer.Exit(int(ScenarioError.exit_status))
    with live_progress(json_output or limits is not None) as progress:
        runs = run_scenarios(
            prepared, watcher=progress, capture_media=pcap is not None, dns_server=server
        )
    files = [
        (what, path, partial(write, path, runs))
        for what, path, write in (
            ("the JUnit XML", junit, write_junit),
            ("the trace", trace, _write_traces),
            ("the capture", pcap, _write_capture),
            ("the HTML report", report, _write_report),
        )
        if path is not None
    ]
    if limits is not None:
        from siptest.report.nagios import render_runs
        from siptest.report.scenario import runs_json

        # The files first: one that cannot be written is in the one status line.
        unwritten = None
        try:
            for what, path, write in files:
                common.write_file(what, path, write)
        except SiptestError as error:
            unwritten = str(error)
        plugin.show(render_runs(runs_json(runs), limits, unwritten))
    text = (
        render_runs_json(runs) + "\n"
        if json_output
        else common.styled(render_runs_text(runs, common.terminal_width()))
    )
    typer.echo(text, nl=False, color=True)
    for what, path, write in files:
        common.write_or_exit(what, path, write)
    raise typer.Exit(int(runs.exit_status))


def _write_report(path: Path, runs: ScenarioRuns) -> None:
    """One page, a section per scenario."""
    from siptest.report.html import scenario_sections, write_html

    verdict = (
        "INTERRUPTED" if runs.interrupted_status is not None else "PASS" if runs.ok else "FAIL"
    )
    names = ", ".join(run.scenario.name for run in runs.runs) or "no scenario"
    write_html(path, f"run {names}", verdict, scenario_sections(runs))


def _write_capture(path: Path, runs: ScenarioRuns) -> None:
    """Every scenario's messages in one capture, one after the other in time."""
    import time

    from siptest.report.pcap import pcap_bytes
    from siptest.report.trace import write_private_bytes

    # Each run's clock starts at 0: lay the runs end to end, the last ending now.
    spans = [max((getattr(e, "at", 0.0) for e in run.events), default=0.0) for run in runs.runs]
    start = time.time() - sum(spans)
    chunks = []
    for run, span in zip(runs.runs, spans, strict=True):
        chunks.append(pcap_bytes(run.events, started=start))
        start += span
    write_private_bytes(path, _join_captures(chunks))


def _join_captures(chunks: list[bytes]) -> bytes:
    """pcap files of the same link type joined: the first header, then every record."""
    if not chunks:
        from siptest.report.pcap import pcap_bytes

        return pcap_bytes([])
    header = 24  # the pcap global header
    return chunks[0] + b"".join(chunk[header:] for chunk in chunks[1:])


def _write_traces(path: Path, runs: ScenarioRuns) -> None:
    from siptest.report.trace import format_trace, write_private

    text = "\n".join(
        format_trace(run.events, f"scenario {run.scenario.name} ({run.scenario.path})")
        for run in runs.runs
    )
    write_private(path, text)
