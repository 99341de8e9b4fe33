"""Local addresses toward a server, and addresses in SIP URIs, for IPv4 and IPv6."""

from __future__ import annotations

from siptest.ua.addressing import is_ipv6, source_address
from siptest.ua.base import AccountSpec


def account(domain: str) -> AccountSpec:
    return AccountSpec("1001", domain, domain, None, "udp", "1001", "secret")


def test_source_address_toward_ipv6_loopback_is_ipv6_loopback():
    assert source_address("::1") == "::1"


def test_source_address_toward_ipv4_loopback_stays_ipv4():
    assert source_address("127.0.0.1") == "127.0.0.1"


def test_is_ipv6_tells_addresses_from_names():
    assert is_ipv6("::1")
    assert is_ipv6("2001:db8::1")
    assert not is_ipv6("127.0.0.1")
    assert not is_ipv6("sip.example.test")
    assert not is_ipv6("[::1]")


def test_address_of_record_brackets_an_ipv6_domain():
    assert account("::1").aor == "sip:1001@[::1]"
    assert account("sip.example.test").aor == "sip:1001@sip.example.test"


def test_a_domain_that_carries_its_port_is_not_taken_for_ipv6():
    # the hostile twin: a colon is not an IPv6 address (it was once bracketed whole)
    assert account("127.0.0.1:5070").aor == "sip:1001@127.0.0.1:5070"
    assert account("sip.example.test:5080").aor == "sip:1001@sip.example.test:5080"
    assert account("[::1]:5070").aor == "sip:1001@[::1]:5070"
    assert account("2001:db8::1").aor == "sip:1001@[2001:db8::1]"


def test_an_ascii_host_goes_to_getaddrinfo_as_bytes_so_no_idna_codec_is_loaded():
    from siptest.ua.addressing import getaddrinfo_host

    assert getaddrinfo_host("127.0.0.1") == b"127.0.0.1"
    assert getaddrinfo_host("sip.example.com") == b"sip.example.com"


def test_a_non_ascii_host_goes_to_getaddrinfo_as_text_for_idna():
    from siptest.ua.addressing import getaddrinfo_host

    assert getaddrinfo_host("bücher.example") == "bücher.example"
