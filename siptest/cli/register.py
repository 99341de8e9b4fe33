"""`siptest register USER@HOST[:PORT]`: does this account register, and if not, why."""

from __future__ import annotations

from typing import Annotated

import typer

from siptest.cli import common
from siptest.errors import UsageError


def register(
    target: Annotated[
        str, typer.Argument(metavar="USER@HOST[:PORT]", help="Account and SIP server.")
    ],
    transport: common.TransportOpt = common.TransportChoice.udp,
    auth_user: common.AuthUserOpt = None,
    domain: common.DomainOpt = None,
    outbound_proxy: common.ProxyOpt = None,
    timeout: common.TimeoutOpt = 5.0,
    profile: common.ProfileOpt = None,
    json_output: common.JsonOpt = False,
    trace: common.TraceOpt = None,
    password_file: common.PasswordFileOpt = None,
    password_env: common.PasswordEnvOpt = "SIPTEST_PASSWORD",
    tls_insecure: common.TlsInsecureOpt = False,
    tls_ca: common.TlsCaOpt = None,
    local_port: common.LocalPortOpt = 0,
) -> None:
    """Register an account, explain the result, then remove the registration.

    The password is read from --password-file, the SIPTEST_PASSWORD environment
    variable (or the one --password-env names), or a prompt; never from the
    command line.

    Exit status: 0 registered, 1 registration failed (diagnosed), 2 bad input,
    3 could not run, 130/143 interrupted.
    """
    from siptest.knowledge import load_knowledge
    from siptest.password import read_password
    from siptest.registration import RegistrationRequest, check_registration, trace_header
    from siptest.report.json import render_json
    from siptest.report.text import render_text
    from siptest.report.trace import write_trace
    from siptest.target import parse_hostport, parse_target
    from siptest.ua.base import AccountSpec, TlsSettings

    def run() -> None:
        parsed = parse_target(target)
        if domain is not None:
            parse_hostport(domain, "--domain")
        if outbound_proxy is not None:
            parse_hostport(outbound_proxy, "--outbound-proxy")
        if tls_ca is not None and not tls_ca.is_file():
            raise UsageError(f"--tls-ca {tls_ca}: no such file.")
        if (tls_insecure or tls_ca) and transport != common.TransportChoice.tls:
            raise UsageError("--tls-insecure and --tls-ca only apply with --transport tls.")
        if trace is not None and not trace.parent.is_dir():
            raise UsageError(f"--trace {trace}: the folder {trace.parent} does not exist.")
        knowledge = load_knowledge(common.resolve_profile(profile))
        password = read_password(password_file, password_env)
        account = AccountSpec(
            user=parsed.user,
            domain=domain or parsed.hostport,
            registrar=parsed.host,
            port=parsed.port,
            transport=transport.value,
            auth_user=auth_user or parsed.user,
            password=password.value,
            outbound_proxy=outbound_proxy,
        )
        request = RegistrationRequest(
            account=account,
            timeout=timeout,
            tls=TlsSettings(verify=not tls_insecure, ca_file=tls_ca),
            local_port=local_port,
        )
        run_result = check_registration(request, knowledge)
        if trace is not None:
            write_trace(trace, run_result.messages, trace_header(request))
        report = run_result.report
        typer.echo(render_json(report) + "\n" if json_output else render_text(report), nl=False)
        common.finish(report.ok, run_result.exit_status)

    common.guarded(run)
