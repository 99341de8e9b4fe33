"""`siptest call USER@HOST[:PORT] NUMBER`: dial like a phone would, and explain the outcome."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from siptest.cli import common, plugin


class DtmfMethod(str, Enum):
    rfc4733 = "rfc4733"
    info = "info"


def call(
    target: Annotated[
        str, typer.Argument(metavar="USER@HOST[:PORT]", help="Account and SIP server.")
    ],
    number: Annotated[
        str, typer.Argument(metavar="NUMBER", help="Number to dial (digits or a sip: URI).")
    ],
    ring_timeout: Annotated[
        float,
        typer.Option(
            min=0.5,
            max=600,
            help="Seconds to let it ring before hanging up (CANCEL); unanswered then = exit 1.",
        ),
    ] = 30.0,
    talk: Annotated[
        float, typer.Option(min=0, max=3600, help="Seconds to hold an answered call before BYE.")
    ] = 2.0,
    no_register: Annotated[
        bool,
        typer.Option(
            "--no-register",
            help="Do not register; send the INVITE straight to HOST:PORT (answers 401/407).",
        ),
    ] = False,
    expect: Annotated[
        str | None,
        typer.Option(
            help="Expected outcome: a response code (e.g. 403), a category (e.g. tariff) "
            "or 'answered'. The check passes when it happens.",
        ),
    ] = None,
    dtmf: Annotated[
        str,
        typer.Option(help="DTMF digits to send once answered (0-9 * # A-D)."),
    ] = "",
    dtmf_method: Annotated[
        DtmfMethod,
        typer.Option(help="How to send DTMF: RFC 4733 telephone events or SIP INFO."),
    ] = DtmfMethod.rfc4733,
    force: Annotated[
        bool,
        typer.Option("--force", help="Dial even when pre-flight says the number will fail."),
    ] = False,
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
    """Register, dial NUMBER, let it ring, talk, hang up, and explain the outcome.

    The password comes from --password-file, $SIPTEST_PASSWORD (or --password-env)
    or a prompt; never from the command line.

    Exit status: 0 answered (or the --expect outcome happened), 1 the call failed
    (diagnosed; nobody answering within --ring-timeout is a failure too, unless
    --expect callee), 2 bad input, 3 could not run, 130/143 interrupted.
    """
    from dataclasses import replace

    from siptest.analysis.expectations import parse_expectation
    from siptest.calling import CallRequest, check_call
    from siptest.report.terminal import live_progress
    from siptest.ua.calls import CallSpec

    def run() -> None:
        limits = plugin.thresholds(nagios, json_output, warning, critical)
        expected = parse_expectation(expect) if expect is not None else None
        # The transport a URI's ;transport= must agree with: the one given, UDP for a
        # server siptest does not look up; for a name, DNS chooses it later.
        from siptest.routing import needs_dns
        from siptest.target import dial_number, dtmf_digits, parse_target

        chosen = transport.value if transport is not None else None
        if chosen is None and not needs_dns(parse_target(target).host):
            chosen = common.TransportChoice.udp.value
        dialled = dial_number(number, chosen)
        digits = dtmf_digits(dtmf) if dtmf else ""
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
        request = CallRequest(
            account=account,
            call=CallSpec(
                number=dialled,
                ring_timeout=ring_timeout,
                talk=talk,
                dtmf=digits,
                dtmf_method=dtmf_method.value,
                registered=not no_register,
            ),
            timeout=timeout,
            tls=tls,
            local_port=local_port,
            force=force,
            expect=expected,
            capture_media=pcap is not None,
        )
        with live_progress(json_output or nagios) as progress:
            run_result = options.routed(
                account,
                tls,
                knowledge,
                lambda at, tls_at: check_call(
                    replace(request, account=at, tls=tls_at), knowledge, watcher=progress
                ),
                calls=True,
            )
        header = f"call {dialled} from {account.aor}"
        if limits is not None:
            plugin.emit(run_result, limits, trace, header, pcap, report)
        common.emit(run_result, json_output, trace, header, pcap, report)

    if nagios:
        plugin.guarded(run)
    else:
        common.guarded(run, json_output)
