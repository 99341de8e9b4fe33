"""`siptest doctor USER@DOMAIN[:PORT]`: the network triage, one verdict."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from siptest.cli import common

if TYPE_CHECKING:
    from siptest.doctor.runner import DoctorRequest, DoctorRun
    from siptest.knowledge import Knowledge
    from siptest.registration import CheckRun
    from siptest.ua.base import AccountSpec

DoctorTransportOpt = Annotated[
    common.TransportChoice | None,
    typer.Option(
        "--transport",
        "-t",
        help="The device's transport (default: the one DNS lists first, else UDP). "
        "Every transport is probed; this one is registered over.",
        case_sensitive=False,
    ),
]
TlsPortOpt = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=65535,
        help="Port to probe TLS on when the target names a port (that one is UDP/TCP's).",
    ),
]
CallOpt = Annotated[
    str | None,
    typer.Option(
        "--call", metavar="NUMBER", help="After registering, call NUMBER and check audio."
    ),
]


def doctor(
    target: Annotated[
        str,
        typer.Argument(metavar="USER@DOMAIN[:PORT]", help="Account and SIP domain or server."),
    ],
    transport: DoctorTransportOpt = None,
    auth_user: common.AuthUserOpt = None,
    timeout: common.TimeoutOpt = 5.0,
    dns_server: common.DnsServerOpt = None,
    tls_port: TlsPortOpt = None,
    call: CallOpt = None,
    profile: common.ProfileOpt = None,
    json_output: common.JsonOpt = False,
    report: common.ReportOpt = None,
    password_file: common.PasswordFileOpt = None,
    password_env: common.PasswordEnvOpt = "SIPTEST_PASSWORD",
    tls_insecure: common.TlsInsecureOpt = False,
    tls_ca: common.TlsCaOpt = None,
    local_port: common.LocalPortOpt = 0,
) -> None:
    """Find out why a device cannot register or call, step by step, and name the cause.

    In order, each step bounded by --timeout, stopping when the cause is clear:
    DNS (NAPTR, SRV, A/AAAA); SIP OPTIONS over UDP, TCP connect and OPTIONS, the
    TLS handshake and certificate; REGISTER with the credentials; NAT and SIP ALG
    signs in the registrar's answer; with --call, a call with audio both ways.
    Ends in one verdict: the cause and the setting to change.

    The password is read from --password-file, the SIPTEST_PASSWORD environment
    variable (or the one --password-env names), or a prompt; never from the
    command line. It is sent once, in the REGISTER step only.

    Exit status: 0 the account works, 1 a cause was found (the verdict), 2 bad
    input, 3 could not run, 130/143 interrupted.
    """

    def run() -> None:
        if report is not None:
            from siptest.report.trace import check_output_path

            check_output_path(report, "--report")  # before any packet
        request, knowledge = _request(
            target, transport, auth_user, timeout, dns_server, tls_port, call, profile,
            password_file, password_env, tls_insecure, tls_ca, local_port,
        )  # fmt: skip
        from siptest.doctor.runner import run_doctor
        from siptest.registration import check_registration

        result = run_doctor(request, knowledge, check_registration, _call)
        _emit(result, json_output, report)

    common.guarded(run, json_output)


def _request(
    target: str,
    transport: common.TransportChoice | None,
    auth_user: str | None,
    timeout: float,
    dns_server: str | None,
    tls_port: int | None,
    call: str | None,
    profile: str | None,
    password_file: Path | None,
    password_env: str,
    tls_insecure: bool,
    tls_ca: Path | None,
    local_port: int,
) -> tuple[DoctorRequest, Knowledge]:
    """Validate everything before any packet; the password is read last."""
    from siptest.doctor.runner import DoctorRequest
    from siptest.errors import UsageError
    from siptest.knowledge import load_knowledge
    from siptest.password import read_password
    from siptest.resolution import parse_dns_server
    from siptest.target import check_ca_file, dial_number, parse_target
    from siptest.ua.base import TlsSettings

    parsed = parse_target(target)
    server = parse_dns_server(dns_server) if dns_server is not None else None
    if tls_insecure and tls_ca is not None:
        raise UsageError("--tls-insecure and --tls-ca contradict each other: give one.")
    if tls_ca is not None:
        check_ca_file(tls_ca, "--tls-ca")
    number = dial_number(call, transport.value if transport else "udp") if call else None
    knowledge = load_knowledge(common.resolve_profile(profile))
    password = read_password(password_file, password_env)
    request = DoctorRequest(
        user=parsed.user,
        host=parsed.host,
        port=parsed.port,
        transport=transport.value if transport else None,
        auth_user=auth_user or parsed.user,
        password=password.value,
        timeout=timeout,
        dns_server=server,
        tls=TlsSettings(verify=not tls_insecure, ca_file=tls_ca),
        tls_port=tls_port,
        call=number,
        local_port=local_port,
    )
    return request, knowledge


def _call(
    account: AccountSpec, number: str, request: DoctorRequest, knowledge: Knowledge
) -> CheckRun:
    from siptest.calling import CallRequest, check_call
    from siptest.routing import tls_for
    from siptest.ua.calls import CallSpec

    call = CallRequest(
        account=account,
        call=CallSpec(number=number),
        timeout=request.timeout,
        tls=tls_for(account, request.tls, request.host),
        local_port=request.local_port,
    )
    return check_call(call, knowledge)


def _emit(result: DoctorRun, json_output: bool, html: Path | None) -> None:
    from siptest.report.doctor import render_doctor_json, render_doctor_text

    text = (
        render_doctor_json(result.report) + "\n"
        if json_output
        else common.styled(render_doctor_text(result.report))
    )
    typer.echo(text, nl=False, color=True)
    if html is not None:
        from siptest.report.html import write_doctor_html

        common.write_or_exit(
            "the HTML report", html, lambda: write_doctor_html(html, result.report, result.events)
        )
    common.finish(result.report.ok, result.exit_status)
