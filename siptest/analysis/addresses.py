"""What kind of address is this: private, shared (CGNAT), public... Pure.

Media and NAT findings both ask whether an address seen in SIP or SDP can be
reached from where siptest stands.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

AddressKind = Literal[
    "public", "private", "shared", "loopback", "link_local", "unspecified", "name", "invalid"
]


_SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT
# Blocks inside which two hosts can reach each other without a NAT in between.
_SITE_BLOCKS = tuple(
    ipaddress.ip_network(block)
    for block in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",  # RFC 1918
        "100.64.0.0/10",  # RFC 6598
        "169.254.0.0/16",  # RFC 3927
        "fc00::/7",  # RFC 4193
        "fe80::/10",  # RFC 4291
    )
)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")
_URI_HOST = re.compile(r"sips?:(?:[^@;>]*@)?(\[[^\]]+\]|[^:;>\s]+)", re.IGNORECASE)

_NAT_BLOCKS = tuple(
    ipaddress.ip_network(block)
    for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
UNREACHABLE_KINDS = ("private", "shared", "link_local", "loopback")


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def address_kind(host: str | None) -> AddressKind:
    """What kind of address a host is, for reachability from elsewhere."""
    if not host:
        return "invalid"
    ip = _ip(host)
    if ip is None:
        return "name" if _HOSTNAME.match(host) else "invalid"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link_local"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "shared"
    # RFC 1918 and RFC 4193 only: documentation and reserved ranges, which Python's
    # is_private also covers, are not what a NAT hands out.
    if any(ip in block for block in _NAT_BLOCKS):
        return "private"
    return "public"


def uri_host(uri: str | None) -> str | None:
    if not uri:
        return None
    match = _URI_HOST.search(uri)
    return match.group(1).strip("[]") if match else None


def same_host(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    ip_a, ip_b = _ip(a), _ip(b)
    if ip_a is not None and ip_b is not None:
        return ip_a == ip_b
    return a.lower() == b.lower()


def reachable_from(remote: str, local: str | None) -> bool:
    """Whether packets from `local` can plausibly reach `remote` (no NAT in between).

    Public addresses and names are taken as reachable. A private address is
    reachable only from the same private block, a loopback one only from loopback.
    """
    kind = address_kind(remote)
    if kind not in UNREACHABLE_KINDS:
        return True
    local_kind = address_kind(local)
    if kind == "loopback":
        return local_kind == "loopback"
    remote_ip, local_ip = _ip(remote), _ip(local or "")
    if remote_ip is None or local_ip is None:
        return False
    return any(remote_ip in block and local_ip in block for block in _SITE_BLOCKS)


def behind_nat(local_address: str | None) -> bool:
    return address_kind(local_address) in ("private", "shared", "link_local")
