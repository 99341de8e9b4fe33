"""The SIP stack one scenario runs on: its transport, timers, TLS checks and the address
it advertises. One stack serves every account of a scenario."""

from __future__ import annotations

from siptest.scenario.loader import PreparedScenario
from siptest.scenario.routes import Routes
from siptest.ua.base import AgentConfig, TlsSettings


def local_address(prepared: PreparedScenario, routes: Routes | None = None) -> str | None:
    """The address the scenario's SIP stack advertises (Via, Contact, SDP): toward the
    first account's server, as the agent is set up (NAT evidence for the media check)."""
    from siptest.ua.addressing import source_address

    name, first = next(iter(prepared.accounts.items()))
    if routes is not None:
        first = routes.spec(name, first)
    return source_address(first.outbound_proxy or first.registrar)


def agent_config(
    prepared: PreparedScenario, capture_media: bool = False, routes: Routes | None = None
) -> AgentConfig:
    """One stack on the scenario's transport; with `capture_media`, it keeps the RTP/RTCP
    packets of its calls (for `--pcap`). With `routes`, the accounts at a name found in
    DNS are sent to its targets, and over TLS the certificates must name that domain."""
    scenario = prepared.scenario
    server_name = routes.tls_server_name() if routes is not None else None
    return AgentConfig(
        transport=scenario.transport,
        timeout=scenario.timeout,
        tls=TlsSettings(
            verify=not scenario.tls_insecure,
            ca_file=scenario.tls_ca,
            server_name=server_name if scenario.transport == "tls" else None,
        ),
        public_address=local_address(prepared, routes),
        secrets=tuple(spec.password for spec in prepared.accounts.values()),
        capture_media=capture_media,
    )
