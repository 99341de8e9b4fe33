"""`siptest register USER@HOST[:PORT]`: does this account register, and if not, why."""

from __future__ import annotations

from typing import Annotated

import typer

from siptest.cli import common, plugin


def register(
    target: Annotated[
        str, typer.Argument(metavar="USER@HOST[:PORT]", help="Account and SIP server.")
    ],
    transport: common.TransportOpt = None,
    dns_server: common.DnsServerOpt = None,
    auth_user: common.AuthUserOpt = None,
    domain: common.DomainOpt = None,
    outbound_proxy: common.ProxyOpt = None,
    timeout: common.TimeoutOpt = 5.0,
    profile: common.ProfileOpt = None,
    json_output: common.JsonOpt = False,
    nagios: plugin.NagiosOpt = False,
    warning: plugin.WarningOpt = None,
    critical: plugin.CriticalOpt = None,
    trace: common.TraceOpt = None,
    pcap: common.PcapOpt = None,
    report: common.ReportOpt = None,
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
    from dataclasses import replace

    from siptest.registration import RegistrationRequest, check_registration, trace_header
    from siptest.report.terminal import live_progress

    def run() -> None:
        limits = plugin.thresholds(nagios, json_output, warning, critical, ("register",))
        options = common.SipOptions(
            target=target,
            transport=transport,
            auth_user=auth_user,
            domain=domain,
            outbound_proxy=outbound_proxy,
            timeout=timeout,
            profile=profile,
            trace=trace,
            pcap=pcap,
            report=report,
            password_file=password_file,
            password_env=password_env,
            tls_insecure=tls_insecure,
            tls_ca=tls_ca,
            dns_server=dns_server,
        )
        account, tls, knowledge = options.resolve()
        request = RegistrationRequest(
            account=account, timeout=timeout, tls=tls, local_port=local_port
        )
        with live_progress(json_output or nagios) as progress:
            run_result = options.routed(
                account,
                tls,
                knowledge,
                lambda at, tls_at: check_registration(
                    replace(request, account=at, tls=tls_at), knowledge, watcher=progress
                ),
            )
        if limits is not None:
            plugin.emit(run_result, limits, trace, trace_header(request), pcap, report)
        common.emit(run_result, json_output, trace, trace_header(request), pcap, report)

    if nagios:
        plugin.guarded(run)
    else:
        common.guarded(run, json_output)
