"""Which of a scenario's servers siptest looks up, once each, and where accounts then send
(`siptest.scenario.routes`); the lookups themselves are faked here, the real DNS server
is in tests/integration/test_dns_scenario.py."""

from __future__ import annotations

import pytest

from siptest.errors import CannotRunError
from siptest.resolution import NoSuchName, Resolution, ResolvedTarget
from siptest.routing import MAX_TARGETS
from siptest.scenario.routes import check_tls_names, look_up_servers, server_key
from siptest.ua.base import AccountSpec


def account(host: str, port: int | None = None, proxy: str | None = None) -> AccountSpec:
    return AccountSpec(
        user="1001", domain=host, registrar=host, port=port, transport="udp",
        auth_user="1001", password="x", outbound_proxy=proxy,
    )  # fmt: skip


def target(address: str, port: int = 5060) -> ResolvedTarget:
    return ResolvedTarget("sip.example.test", address, port, "udp", "srv")


def resolution(domain: str, *targets: ResolvedTarget) -> Resolution:
    failure = None if targets else NoSuchName(domain, "127.0.0.1:53")
    return Resolution(domain, domain, "127.0.0.1:53", (), targets, failure=failure)


class FakeDns:
    def __init__(self, answers: dict[str, Resolution]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, spec: AccountSpec) -> Resolution:
        self.asked.append(spec.registrar)
        return self.answers[spec.registrar.rstrip(".").lower()]


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        (account("sip.example.test"), ("sip.example.test", None)),
        (account("SIP.Example.Test."), ("sip.example.test", None)),
        (account("sip.example.test", 5080), ("sip.example.test", 5080)),
        # not looked up by siptest: an address, localhost, everything through a proxy
        (account("192.0.2.10"), None),
        (account("2001:db8::1"), None),
        (account("localhost"), None),
        (account("sip.example.test", proxy="192.0.2.1:5060"), None),
    ],
)
def test_server_key(spec, key):
    assert server_key(spec) == key


def test_each_server_is_looked_up_once_and_its_accounts_share_the_route():
    dns = FakeDns({"sip.example.test": resolution("sip.example.test", target("192.0.2.1"))})
    accounts = {
        "a": account("sip.example.test"),
        "b": account("SIP.example.test."),
        "c": account("192.0.2.99"),
    }
    routes, lookups = look_up_servers(accounts, dns, calls=False)
    assert dns.asked == ["sip.example.test"]
    assert [name for name, _ in lookups] == ["a"]
    assert routes.of_account == {"a": ("sip.example.test", None), "b": ("sip.example.test", None)}
    sent = routes.spec("b", accounts["b"])
    assert (sent.registrar, sent.port, sent.domain) == ("192.0.2.1", 5060, "SIP.example.test.")
    assert routes.spec("c", accounts["c"]) == accounts["c"]  # an address: as written


def test_no_server_is_looked_up_once_stopped():
    dns = FakeDns(
        {
            "one.example.test": resolution("one.example.test", target("192.0.2.1")),
            "two.example.test": resolution("two.example.test", target("192.0.2.2")),
        }
    )
    accounts = {"a": account("one.example.test"), "b": account("two.example.test")}
    routes, lookups = look_up_servers(accounts, dns, calls=False, stopped=lambda: bool(dns.asked))
    assert dns.asked == ["one.example.test"]
    assert [name for name, _ in lookups] == ["a"]
    assert routes.route("a") is not None and routes.route("b") is None


def test_every_server_is_looked_up_when_not_stopped():
    dns = FakeDns(
        {
            "one.example.test": resolution("one.example.test", target("192.0.2.1")),
            "two.example.test": resolution("two.example.test", target("192.0.2.2")),
        }
    )
    accounts = {"a": account("one.example.test"), "b": account("two.example.test")}
    look_up_servers(accounts, dns, calls=False, stopped=lambda: False)
    assert dns.asked == ["one.example.test", "two.example.test"]


def test_a_failed_lookup_is_reported_and_gives_no_route():
    dns = FakeDns({"gone.example.test": resolution("gone.example.test")})
    routes, lookups = look_up_servers({"a": account("gone.example.test")}, dns, calls=False)
    assert [(name, found.ok) for name, found in lookups] == [("a", False)]
    assert routes.route("a") is None


def test_calls_leave_ipv6_targets_out_while_an_ipv4_one_remains():
    both = resolution("sip.example.test", target("2001:db8::1"), target("192.0.2.1"))
    v6 = resolution("v6.example.test", target("2001:db8::2"))
    dns = FakeDns({"sip.example.test": both, "v6.example.test": v6})
    accounts = {"a": account("sip.example.test"), "b": account("v6.example.test")}
    calling, _ = look_up_servers(accounts, dns, calls=True)
    registering, _ = look_up_servers(accounts, dns, calls=False)
    assert [t.address for t in calling.servers[("sip.example.test", None)].targets] == ["192.0.2.1"]
    assert [t.address for t in registering.servers[("sip.example.test", None)].targets] == [
        "2001:db8::1",
        "192.0.2.1",
    ]
    # IPv6 only: kept, and the call step says it is siptest's limit (ua.limits)
    assert [t.address for t in calling.servers[("v6.example.test", None)].targets] == [
        "2001:db8::2"
    ]


def test_at_most_max_targets_are_tried_and_settling_stops_at_the_one_that_answered():
    many = tuple(target(f"192.0.2.{n}") for n in range(1, MAX_TARGETS + 3))
    dns = FakeDns({"sip.example.test": resolution("sip.example.test", *many)})
    routes, _ = look_up_servers({"a": account("sip.example.test")}, dns, calls=False)
    route = routes.route("a")
    assert route is not None
    assert route.untried() == many[:MAX_TARGETS]
    route.settle(many[2])
    assert (route.settled, route.target) == (True, many[2])
    assert routes.spec("a", account("sip.example.test")).registrar == "192.0.2.3"


def test_tls_needs_every_account_at_the_one_domain_found_in_dns():
    dns = FakeDns(
        {
            "a.example.test": resolution("a.example.test", target("192.0.2.1")),
            "b.example.test": resolution("b.example.test", target("192.0.2.2")),
        }
    )
    same = {"a": account("a.example.test"), "b": account("A.example.test")}
    routes, _ = look_up_servers(same, dns, calls=False)
    check_tls_names(same, routes)  # one domain: its name is checked at every target
    assert routes.tls_server_name() == "a.example.test"
    for accounts in (
        {"a": account("a.example.test"), "b": account("b.example.test")},
        {"a": account("a.example.test"), "b": account("192.0.2.9")},
    ):
        routes, _ = look_up_servers(accounts, dns, calls=False)
        with pytest.raises(CannotRunError, match="limit of siptest"):
            check_tls_names(accounts, routes)


def test_tls_without_any_lookup_is_left_to_the_stack():
    accounts = {"a": account("192.0.2.1"), "b": account("localhost")}
    routes, lookups = look_up_servers(accounts, FakeDns({}), calls=False)
    check_tls_names(accounts, routes)
    assert (lookups, routes.tls_server_name()) == ([], None)
