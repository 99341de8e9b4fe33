"""RFC 3263 resolution against a real DNS server (Knot, `dns_lab`) serving the `.test` zone."""

from __future__ import annotations

import socket

import pytest

from siptest.lab import send_options
from siptest.resolution import (
    DnsServerFailed,
    DnsServerSilent,
    FailoverCause,
    NoServerRecords,
    NoSuchName,
    TargetsWithoutAddress,
    TargetWithoutAddress,
    fail_over,
    resolve,
)

pytestmark = pytest.mark.timeout(30)


class FixedDraw:
    """A random source that always draws ``value`` (capped at the top of the range)."""

    def __init__(self, value: int) -> None:
        self.value = value
        self.calls: list[tuple[int, int]] = []

    def randint(self, a: int, b: int) -> int:
        self.calls.append((a, b))
        return min(max(self.value, a), b)


def queried(resolution):
    return [(lookup.name, lookup.rdtype) for lookup in resolution.lookups]


def targets(resolution):
    return [(t.host, t.address, t.port, t.transport, t.step) for t in resolution.targets]


# -- NAPTR -> SRV -> A --------------------------------------------------------------


def test_naptr_lists_dead_first_udp_target_then_the_lab_then_tcp_and_tls(dns_lab):
    ports = dns_lab.ports
    resolution = resolve("failover.test", dns_server=dns_lab.server)

    assert resolution.ok
    assert targets(resolution) == [
        ("dead.failover.test", "127.0.0.1", ports.dead, "udp", "naptr"),
        ("lab.failover.test", "127.0.0.1", ports.sip, "udp", "naptr"),
        ("lab.failover.test", "127.0.0.1", ports.sip, "tcp", "naptr"),
        ("lab.failover.test", "127.0.0.1", ports.tls, "tls", "naptr"),
    ]
    assert resolution.targets[0].record == (
        f"_sip._udp.failover.test SRV 10 0 {ports.dead} dead.failover.test"
    )
    # RFC 5922: the certificate is checked against the domain, not the SRV target
    assert resolution.tls_server_name == "failover.test"


def test_naptr_services_siptest_does_not_speak_are_never_followed(dns_lab):
    resolution = resolve("failover.test", dns_server=dns_lab.server)

    names = [name for name, _ in queried(resolution)]
    assert "_sip._sctp.failover.test" not in names
    assert names[0] == "failover.test"
    assert queried(resolution)[0] == ("failover.test", "NAPTR")


def test_sips_uri_keeps_only_the_sips_naptr_service(dns_lab):
    resolution = resolve("failover.test", secure=True, dns_server=dns_lab.server)

    assert targets(resolution) == [
        ("lab.failover.test", "127.0.0.1", dns_lab.ports.tls, "tls", "naptr"),
    ]


def test_naptr_order_comes_before_preference(dns_lab):
    resolution = resolve("preference.test", dns_server=dns_lab.server)

    assert [t.transport for t in resolution.targets] == ["tcp", "tls", "udp"]


def test_naptr_without_srv_records_falls_back_to_the_domain_with_naptr_transport(dns_lab):
    resolution = resolve("naptrnosrv.test", dns_server=dns_lab.server)

    assert targets(resolution) == [("naptrnosrv.test", "127.0.0.1", 5060, "tcp", "address")]


# -- explicit port and transport ------------------------------------------------------


def test_explicit_port_skips_naptr_and_srv(dns_lab):
    resolution = resolve("failover.test", port=5999, dns_server=dns_lab.server)

    assert queried(resolution) == [("failover.test", "A"), ("failover.test", "AAAA")]
    assert targets(resolution) == [("failover.test", "127.0.0.3", 5999, "udp", "address")]


def test_explicit_transport_asks_only_that_transports_srv(dns_lab):
    resolution = resolve("failover.test", transport="tcp", dns_server=dns_lab.server)

    assert queried(resolution)[0] == ("_sip._tcp.failover.test", "SRV")
    assert ("failover.test", "NAPTR") not in queried(resolution)
    assert targets(resolution) == [
        ("lab.failover.test", "127.0.0.1", dns_lab.ports.sip, "tcp", "srv"),
    ]


def test_explicit_tls_asks_the_sips_srv(dns_lab):
    resolution = resolve("failover.test", transport="tls", dns_server=dns_lab.server)

    assert queried(resolution)[0] == ("_sips._tcp.failover.test", "SRV")
    assert targets(resolution) == [
        ("lab.failover.test", "127.0.0.1", dns_lab.ports.tls, "tls", "srv"),
    ]


def test_explicit_transport_without_its_srv_uses_the_domain_at_the_default_port(dns_lab):
    resolution = resolve("aonly.test", transport="tls", dns_server=dns_lab.server)

    assert targets(resolution) == [("aonly.test", "127.0.0.1", 5061, "tls", "address")]


# -- SRV without NAPTR, weights -------------------------------------------------------


def test_srv_without_naptr_tries_tcp_before_udp(dns_lab):
    resolution = resolve("srvonly.test", dns_server=dns_lab.server, random=FixedDraw(0))

    assert queried(resolution)[:4] == [
        ("srvonly.test", "NAPTR"),
        ("_sips._tcp.srvonly.test", "SRV"),
        ("_sip._tcp.srvonly.test", "SRV"),
        ("one.srvonly.test", "A"),
    ]
    assert [(t.host, t.transport, t.step) for t in resolution.targets] == [
        ("one.srvonly.test", "tcp", "srv"),
        ("one.srvonly.test", "udp", "srv"),
        ("two.srvonly.test", "udp", "srv"),
        ("backup.srvonly.test", "udp", "srv"),
    ]


def test_a_low_weight_draw_puts_the_weight_60_target_first(dns_lab):
    resolution = resolve(
        "srvonly.test", transport="udp", dns_server=dns_lab.server, random=FixedDraw(0)
    )

    assert [t.address for t in resolution.targets] == ["127.0.0.1", "127.0.0.2", "127.0.0.4"]


def test_a_high_weight_draw_puts_the_weight_40_target_first(dns_lab):
    draw = FixedDraw(100)
    resolution = resolve("srvonly.test", transport="udp", dns_server=dns_lab.server, random=draw)

    assert [t.address for t in resolution.targets] == ["127.0.0.2", "127.0.0.1", "127.0.0.4"]
    # RFC 2782: a draw from 0 to the sum of the weights left, inclusive
    assert draw.calls[0] == (0, 100)


# -- addresses only -------------------------------------------------------------------


def test_a_only_domain_is_reached_over_udp_at_5060(dns_lab):
    resolution = resolve("aonly.test", dns_server=dns_lab.server)

    assert targets(resolution) == [("aonly.test", "127.0.0.1", 5060, "udp", "address")]
    assert [q for q in queried(resolution) if q[1] == "SRV"] == [
        ("_sips._tcp.aonly.test", "SRV"),
        ("_sip._tcp.aonly.test", "SRV"),
        ("_sip._udp.aonly.test", "SRV"),
    ]


def test_aaaa_only_domain_gives_an_ipv6_target(dns_lab):
    resolution = resolve("aaaaonly.test", dns_server=dns_lab.server)

    assert targets(resolution) == [("aaaaonly.test", "::1", 5060, "udp", "address")]
    assert resolution.targets[0].hostport == "[::1]:5060"


def test_sips_a_only_domain_is_reached_over_tls_at_5061(dns_lab):
    resolution = resolve("aonly.test", secure=True, dns_server=dns_lab.server)

    assert targets(resolution) == [("aonly.test", "127.0.0.1", 5061, "tls", "address")]
    assert ("_sip._udp.aonly.test", "SRV") not in queried(resolution)


def test_dual_stack_domain_lists_ipv4_before_ipv6(dns_lab):
    resolution = resolve("dualstack.test", dns_server=dns_lab.server)

    assert [t.address for t in resolution.targets] == ["127.0.0.1", "::1"]


def test_the_dns_server_is_reachable_over_ipv6(dns_lab):
    resolution = resolve("aonly.test", dns_server=dns_lab.server_v6)

    assert resolution.server == f"[::1]:{dns_lab.server_v6.port}"
    assert [t.address for t in resolution.targets] == ["127.0.0.1"]


# -- failures -------------------------------------------------------------------------


def test_srv_target_without_address_is_named_and_the_next_target_used(dns_lab):
    resolution = resolve("halfbroken.test", dns_server=dns_lab.server)

    assert resolution.ok
    assert [t.host for t in resolution.targets] == ["lab.halfbroken.test"]
    assert resolution.unresolved == (
        TargetWithoutAddress(
            target="noaddr.halfbroken.test",
            port=dns_lab.ports.sip,
            transport="udp",
            record=f"_sip._udp.halfbroken.test SRV 10 0 {dns_lab.ports.sip} noaddr.halfbroken.test",
            no_such_name=False,
        ),
    )


def test_every_srv_target_without_address_is_its_own_failure(dns_lab):
    resolution = resolve("allbroken.test", dns_server=dns_lab.server)

    assert resolution.targets == ()
    assert isinstance(resolution.failure, TargetsWithoutAddress)
    assert [(t.target, t.no_such_name) for t in resolution.failure.targets] == [
        ("noaddr.allbroken.test", False),
        ("missing.allbroken.test", True),
    ]
    assert "missing.allbroken.test" in resolution.failure.sentence()


def test_name_without_sip_records_or_address_is_no_records(dns_lab):
    resolution = resolve("norecords.test", dns_server=dns_lab.server)

    assert resolution.failure == NoServerRecords("norecords.test", str(dns_lab.server))
    assert resolution.targets == ()


def test_unknown_name_is_no_such_name_after_one_query(dns_lab):
    resolution = resolve("nosuch.test", dns_server=dns_lab.server)

    assert resolution.failure == NoSuchName("nosuch.test", str(dns_lab.server))
    assert [lookup.outcome for lookup in resolution.lookups] == ["nxdomain"]


def test_unknown_name_with_explicit_port_is_no_such_name(dns_lab):
    resolution = resolve("nosuch.test", port=5060, dns_server=dns_lab.server)

    assert resolution.failure == NoSuchName("nosuch.test", str(dns_lab.server))


def test_server_refusing_the_name_is_a_server_failure(dns_lab):
    # Knot serves only .test: it answers REFUSED, and nothing leaves the machine
    resolution = resolve("example.org", dns_server=dns_lab.server)

    assert isinstance(resolution.failure, DnsServerFailed)
    assert resolution.failure.detail == "REFUSED"
    assert resolution.failure.name == "example.org NAPTR"


@pytest.fixture
def silent_dns_server():
    """A UDP socket on 127.0.0.1 that receives queries and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_silent_dns_server_is_named_after_one_lifetime(silent_dns_server):
    from siptest.resolution import DnsServer

    server = DnsServer("127.0.0.1", silent_dns_server)
    resolution = resolve("failover.test", dns_server=server, lifetime=0.5)

    assert resolution.failure == DnsServerSilent(
        server=f"127.0.0.1:{silent_dns_server}", name="failover.test NAPTR", lifetime=0.5
    )
    # one query, not one per step: the next would wait as long again
    assert [lookup.outcome for lookup in resolution.lookups] == ["timeout"]


def test_ip_literals_never_ask_the_dns_server(silent_dns_server):
    from siptest.resolution import DnsServer

    server = DnsServer("127.0.0.1", silent_dns_server)
    for host, port, expected in [
        ("127.0.0.1", None, ("127.0.0.1", 5060)),
        ("::1", 5070, ("::1", 5070)),
        ("[::1]", None, ("::1", 5060)),
    ]:
        resolution = resolve(host, port=port, dns_server=server, lifetime=0.5)
        assert resolution.lookups == ()
        assert [(t.address, t.port, t.step) for t in resolution.targets] == [(*expected, "literal")]
        assert resolution.tls_server_name is None


# -- JSON and failover ----------------------------------------------------------------


def test_json_has_every_record_with_its_ttl(dns_lab):
    data = resolve("failover.test", dns_server=dns_lab.server).to_json()

    naptr = data["records"][0]
    assert (naptr["name"], naptr["type"], naptr["outcome"], naptr["ttl"]) == (
        "failover.test",
        "NAPTR",
        "answer",
        60,
    )
    assert '10 50 "s" "SIP+D2U" "" _sip._udp.failover.test.' in naptr["answers"]
    assert data["failure"] is None
    assert data["tls_server_name"] == "failover.test"


def test_options_fail_over_from_the_dead_srv_target_to_the_lab(dns_lab):
    resolution = resolve("failover.test", transport="udp", dns_server=dns_lab.server)

    def options(target):
        return send_options(target.address, target.port, transport=target.transport, timeout=2)

    run = fail_over(
        resolution.targets,
        options,
        lambda code: FailoverCause.TRANSPORT_ERROR if code is None else None,
    )

    assert [t.port for t in run.tried] == [dns_lab.ports.dead, dns_lab.ports.sip]
    assert run.answered == (resolution.targets[1],)
    assert run.result == 200
    assert run.attempts[0].failover is FailoverCause.TRANSPORT_ERROR


def test_a_slow_dns_server_cannot_multiply_the_wait():
    # Every answer comes 0.4 s late (NOERROR, no records): NAPTR, three SRV names, then
    # A and AAAA would be six waits. The lifetime bounds the whole resolution: it stops,
    # naming the server, before asking them all.
    from dnsserver import slow_dns_server

    from siptest.resolution import DnsServerSilent, resolve

    with slow_dns_server(delay=0.4) as server:
        resolution = resolve("slow.test", dns_server=server, lifetime=1.0)
    assert isinstance(resolution.failure, DnsServerSilent)
    assert resolution.failure.server == str(server)
    assert len(resolution.lookups) < 6
    assert resolution.lookups[-1].outcome == "timeout"
