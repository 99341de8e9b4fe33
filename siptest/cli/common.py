"""Options and plumbing shared by the commands that talk SIP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer

from siptest.errors import CannotRunError, ExitStatus, SiptestError, UsageError

if TYPE_CHECKING:
    from siptest.knowledge import Knowledge
    from siptest.registration import CheckRun
    from siptest.ua.base import AccountSpec, TlsSettings


class TransportChoice(str, Enum):
    udp = "udp"
    tcp = "tcp"
    tls = "tls"


TransportOpt = Annotated[
    TransportChoice | None,
    typer.Option(
        "--transport",
        "-t",
        help="SIP transport to use. Default: what the server's DNS records (NAPTR, SRV) "
        "offer, as a phone set to 'auto' does; udp for an address.",
        case_sensitive=False,
        show_default=False,
    ),
]
DnsServerOpt = Annotated[
    str | None,
    typer.Option(
        "--dns-server",
        metavar="HOST[:PORT]",
        help="Ask this DNS server (an IP address) for the server's NAPTR, SRV and A/AAAA "
        "records instead of the system's.",
        show_default=False,
    ),
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
PcapOpt = Annotated[
    Path | None,
    typer.Option(
        help="Write the SIP messages to PATH as a capture (pcap) for Wireshark or sngrep "
        "(credentials redacted); a call adds its RTP headers and RTCP packets.",
        dir_okay=False,
    ),
]
ReportOpt = Annotated[
    Path | None,
    typer.Option(
        "--report",
        metavar="PATH.html",
        help="Write an HTML report to PATH: verdicts, a SIP ladder, every message "
        "(credentials redacted), audio charts. One file, opens offline.",
        dir_okay=False,
    ),
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


def fail(error: SiptestError, json_output: bool = False) -> NoReturn:
    """The message on stderr; with --json also one JSON object on stdout (for pipelines)."""
    typer.echo(f"siptest: {error}", err=True)
    if json_output:
        from siptest.report.json import render_error_json

        typer.echo(render_error_json(int(error.exit_status), str(error)))
    raise typer.Exit(int(error.exit_status))


def guarded(action: Callable[[], T], json_output: bool = False) -> T:
    """Run a command body; siptest's own errors become a message and an exit status."""
    try:
        return action()
    except SiptestError as error:
        fail(error, json_output)


def resolve_profile(profile: str | None) -> str | Path | None:
    from siptest.target import profile_reference

    return None if profile is None else profile_reference(profile)


def finish(ok: bool, interrupted_status: int | None = None) -> NoReturn:
    if interrupted_status:
        raise typer.Exit(interrupted_status)
    raise typer.Exit(int(ExitStatus.OK if ok else ExitStatus.CHECK_FAILED))


@dataclass(frozen=True)
class SipOptions:
    """The options every SIP-talking command shares, before validation."""

    target: str
    transport: TransportChoice | None
    auth_user: str | None
    domain: str | None
    outbound_proxy: str | None
    timeout: float
    profile: str | None
    trace: Path | None
    password_file: Path | None
    password_env: str
    tls_insecure: bool
    tls_ca: Path | None
    pcap: Path | None = None
    report: Path | None = None
    dns_server: str | None = None

    def resolve(self) -> tuple[AccountSpec, TlsSettings, Knowledge]:
        """Validate everything before any packet; the password is read last."""
        from siptest.knowledge import load_knowledge
        from siptest.password import read_password
        from siptest.target import parse_hostport, parse_target
        from siptest.ua.base import AccountSpec, TlsSettings

        parsed = parse_target(self.target)
        if self.domain is not None:
            parse_hostport(self.domain, "--domain")
        if self.outbound_proxy is not None:
            parse_hostport(self.outbound_proxy, "--outbound-proxy")
        if self.tls_ca is not None:
            from siptest.target import check_ca_file

            check_ca_file(self.tls_ca, "--tls-ca")
        from siptest.routing import needs_dns

        may_be_tls = self.transport == TransportChoice.tls or (
            self.transport is None and needs_dns(parsed.host)
        )
        if (self.tls_insecure or self.tls_ca) and not may_be_tls:
            raise UsageError("--tls-insecure and --tls-ca only apply with --transport tls.")
        if self.dns_server is not None:
            from siptest.resolution import parse_dns_server

            parse_dns_server(self.dns_server)
        if self.trace is not None:
            from siptest.report.trace import check_output_path

            check_output_path(self.trace, "--trace")
        if self.pcap is not None:
            from siptest.report.trace import check_output_path

            check_output_path(self.pcap, "--pcap")
        if self.report is not None:
            from siptest.report.trace import check_output_path

            check_output_path(self.report, "--report")
        knowledge = load_knowledge(resolve_profile(self.profile))
        password = read_password(self.password_file, self.password_env)
        account = AccountSpec(
            user=parsed.user,
            domain=self.domain or parsed.hostport,
            registrar=parsed.host,
            port=parsed.port,
            transport=(self.transport or TransportChoice.udp).value,
            auth_user=self.auth_user or parsed.user,
            password=password.value,
            outbound_proxy=self.outbound_proxy,
        )
        tls = TlsSettings(verify=not self.tls_insecure, ca_file=self.tls_ca)
        return account, tls, knowledge

    def routed(
        self,
        account: AccountSpec,
        tls: TlsSettings,
        knowledge: Knowledge,
        run_one: Callable[[AccountSpec, TlsSettings], CheckRun],
        *,
        calls: bool = False,
    ) -> CheckRun:
        """Run the check at the server as a phone finds it (siptest.routing): the DNS
        targets in order, moving on as a phone does; directly for an address. `calls`:
        the check places a call (IPv4 targets first: see `routing.routed_run`)."""
        from siptest.routing import at_target, look_up, routed_run

        dns_server = None
        if self.dns_server:
            from siptest.resolution import parse_dns_server

            dns_server = parse_dns_server(self.dns_server)
        resolution = look_up(
            account,
            transport=self.transport.value if self.transport is not None else None,
            dns_server=dns_server,
            timeout=self.timeout,
        )
        if resolution is None:
            return run_one(account, tls)
        return routed_run(
            resolution,
            knowledge,
            lambda target: run_one(*at_target(account, tls, resolution, target)),
            calls=calls,
        )


def terminal_width() -> int:
    """Columns to wrap the text report at: the terminal's, or a fixed width when piped."""
    import sys

    from siptest.report.text import report_width

    return report_width(sys.stdout.isatty())


def styled(text: str) -> str:
    """The text report, in colour when standard output is a terminal that wants it."""
    import sys

    from siptest.report.text import colourize, wants_colour

    return colourize(text) if wants_colour(sys.stdout.isatty()) else text


FileWriter = Callable[[str, Path, Callable[[], None]], None]


def write_file(what: str, path: Path, write: Callable[[], None]) -> None:
    """Write an output file; CannotRunError says why it could not be written."""
    try:
        write()
    except OSError as exc:
        raise CannotRunError(
            f"Could not write {what} to {path}: {exc.strerror}. Check the path and free disk space."
        ) from None


def write_or_exit(what: str, path: Path, write: Callable[[], None]) -> None:
    """Write an output file; when that fails the report is out already: say why the
    file is missing and exit 3."""
    try:
        write_file(what, path, write)
    except SiptestError as error:
        typer.echo(f"siptest: {error}", err=True)
        raise typer.Exit(int(ExitStatus.CANNOT_RUN)) from None


def emit(
    run: CheckRun,
    json_output: bool,
    trace: Path | None,
    header: str,
    pcap: Path | None = None,
    html: Path | None = None,
) -> NoReturn:
    """Write the trace, print the report, exit with the status the report calls for."""
    from siptest.report.json import render_json
    from siptest.report.text import render_text

    report = run.report
    # color=True: click would strip the codes when piped, and FORCE_COLOR asks for them.
    text = (
        render_json(report) + "\n" if json_output else styled(render_text(report, terminal_width()))
    )
    typer.echo(text, nl=False, color=True)
    write_files(run, header, trace, pcap, html)
    finish(report.ok, run.exit_status)


def write_files(
    run: CheckRun,
    header: str,
    trace: Path | None,
    pcap: Path | None,
    html: Path | None,
    writer: FileWriter = write_or_exit,
) -> None:
    """The files asked for beside the report: capture, HTML report, trace (each
    through `writer`)."""
    if pcap is not None:
        from siptest.report.pcap import write_pcap

        writer("the capture", pcap, lambda: write_pcap(pcap, run.events))
    if html is not None:
        from siptest.report.html import ReportSection, section_verdict, write_html

        verdict = section_verdict(run.report)
        section = ReportSection(header, run.report, run.events, verdict)
        writer("the HTML report", html, lambda: write_html(html, header, verdict, [section]))
    if trace is not None:
        from siptest.report.trace import write_trace

        writer("the trace", trace, lambda: write_trace(trace, run.events, header))
