"""How the pjsua2 user agent is set up: limits, configuration, transports.

Nothing here imports pjsua2; `transport_config` receives the module.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from siptest import __version__
from siptest.errors import CannotRunError
from siptest.ua import limits
from siptest.ua.addressing import is_ipv6
from siptest.ua.base import AgentConfig

USER_AGENT = f"siptest/{__version__}"
"""Plain and honest: providers block scanner signatures, not named testers."""

MAX_ACCOUNTS = limits.MAX_ACCOUNTS
MAX_CALLS = limits.MAX_CALLS

_SYSTEM_CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/cert.pem",  # macOS, BSD
)


def system_ca_bundle() -> Path | None:
    for candidate in _SYSTEM_CA_BUNDLES:
        path = Path(candidate)
        if path.is_file():
            return path
    return None


def transport_config(pj: Any, config: AgentConfig) -> tuple[int, Any]:
    """pjsua2's transport kind and TransportConfig for one agent's transport."""
    tp = pj.TransportConfig()
    tp.port = config.local_port
    if config.public_address:
        tp.publicAddress = config.public_address
    if config.public_address and is_ipv6(config.public_address):
        # the server is reached over IPv6: pjsip needs a transport of that family
        kind = {
            "udp": pj.PJSIP_TRANSPORT_UDP6,
            "tcp": pj.PJSIP_TRANSPORT_TCP6,
            "tls": pj.PJSIP_TRANSPORT_TLS6,
        }[config.transport]
    else:
        kind = {
            "udp": pj.PJSIP_TRANSPORT_UDP,
            "tcp": pj.PJSIP_TRANSPORT_TCP,
            "tls": pj.PJSIP_TRANSPORT_TLS,
        }[config.transport]
    if config.transport in ("tcp", "tls"):
        # Without TCP_NODELAY each request waits 40-88 ms for Nagle.
        opt = pj.SockOpt()
        opt.level = socket.IPPROTO_TCP
        opt.optName = socket.TCP_NODELAY
        opt.setOptValInt(1)
        params = pj.SockOptParams()
        params.sockOpts.append(opt)
        tp.sockOptParams = params
    if config.transport == "tls":
        tls = tp.tlsConfig
        ca = config.tls.ca_file or system_ca_bundle()
        if ca is not None:
            tls.CaListFile = str(ca)
        # With a server name (an address found in DNS), siptest's probe has checked the
        # chain and that name on this address; the stack could only check the address.
        tls.verifyServer = config.tls.verify and config.tls.server_name is None
        tls.msecTimeout = int(config.timeout * 1000)
        if config.tls.verify and ca is None:
            raise CannotRunError(
                "No trusted CA certificates found to verify the TLS server. "
                "Pass --tls-ca FILE (or install ca-certificates)."
            )
    return kind, tp
