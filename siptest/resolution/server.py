"""Reading ``--dns-server HOST[:PORT]``: the one DNS server to ask, by address.

Only an address is taken: naming the DNS server by a name would need another DNS server
to find it, and the point of the option is to know exactly which server answered.
"""

from __future__ import annotations

import ipaddress

from siptest.errors import UsageError
from siptest.resolution.model import DnsServer

_FORMS = (
    "Give it as an IP address with an optional port: "
    "192.0.2.53, 192.0.2.53:5353, ::1 or [::1]:5353."
)


def parse_dns_server(text: str) -> DnsServer:
    """``192.0.2.53``, ``192.0.2.53:5353``, ``2001:db8::53``, ``[2001:db8::53]:5353``."""
    raw = text.strip()
    if not raw:
        raise UsageError(f"--dns-server is empty. {_FORMS}")
    if raw.startswith("["):
        host, bracket, rest = raw[1:].partition("]")
        if not bracket:
            raise UsageError(
                f"--dns-server '{text}': the ']' after the IPv6 address is missing. {_FORMS}"
            )
        if rest and not rest.startswith(":"):
            raise UsageError(f"--dns-server '{text}': expected ':PORT' after ']'. {_FORMS}")
        address = _address(host, text, want_v6=True)
        return DnsServer(address, _port(rest[1:], text) if rest else 53)
    if raw.count(":") > 1:
        # a bare IPv6 address: no port can follow without brackets
        return DnsServer(_address(raw, text, want_v6=True))
    host, colon, port = raw.partition(":")
    address = _address(host, text, want_v6=False)
    return DnsServer(address, _port(port, text) if colon else 53)


def _address(host: str, text: str, *, want_v6: bool) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if want_v6:
            raise UsageError(
                f"--dns-server '{text}': '{host}' is not an IPv6 address. {_FORMS}"
            ) from None
        raise UsageError(
            f"--dns-server '{text}': '{host}' is not an IP address. siptest asks the DNS "
            f"server you name by its address, never by a name. {_FORMS}"
        ) from None
    if want_v6 and address.version != 6:
        raise UsageError(f"--dns-server '{text}': brackets are for IPv6 addresses only. {_FORMS}")
    if address.version == 6 and getattr(address, "scope_id", None):
        raise UsageError(f"--dns-server '{text}': a zone index (%...) is not supported. {_FORMS}")
    return str(address)


def _port(port: str, text: str) -> int:
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UsageError(
            f"--dns-server '{text}': the port must be a number from 1 to 65535. {_FORMS}"
        )
    return int(port)
