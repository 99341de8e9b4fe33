"""Which local address talks to a server (no packet is sent to find out)."""

from __future__ import annotations

import ipaddress
import socket


def is_ipv6(host: str) -> bool:
    """True for an IPv6 address (without brackets)."""
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


def getaddrinfo_host(host: str) -> str | bytes:
    """`host` as socket.getaddrinfo should get it: an ASCII name or address as bytes.

    Given text, getaddrinfo encodes it with the "idna" codec, whose import (with
    stringprep and unicodedata) costs a register check about a millisecond; for ASCII
    that encoding changes nothing. Other text goes through IDNA as before."""
    return host.encode("ascii") if host.isascii() else host


def source_address(host: str, port: int = 5060) -> str | None:
    """The local address the kernel would use to reach `host` (no packet is sent).

    pjsip otherwise advertises the machine's first interface, which is wrong
    for a loopback lab and for multi-homed technicians' laptops alike. A name is
    looked up as IPv4 (the stack's transport is IPv4 then); an IPv6 address gives
    the IPv6 source address.
    """
    family = socket.AF_INET6 if is_ipv6(host) else socket.AF_INET
    try:
        family, _, _, _, address = socket.getaddrinfo(
            getaddrinfo_host(host), port, family=family, type=socket.SOCK_DGRAM
        )[0]
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            return str(sock.getsockname()[0])
    except (OSError, IndexError):
        return None
