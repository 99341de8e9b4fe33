"""The pure parts of DNS resolution: SRV order (RFC 2782), --dns-server, failover."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from siptest.errors import UsageError
from siptest.resolution import (
    DnsServer,
    FailoverCause,
    ResolvedTarget,
    SrvRecord,
    fail_over,
    order_srv,
    parse_dns_server,
)
from siptest.resolution.resolver import resolve

# -- SRV order ------------------------------------------------------------------------


class Draws:
    """Draws the given values in turn (capped at the top of the range)."""

    def __init__(self, *values: int) -> None:
        self.values = list(values)

    def randint(self, a: int, b: int) -> int:
        return min(self.values.pop(0), b)


def srv(priority: int, weight: int, target: str, port: int = 5060) -> SrvRecord:
    return SrvRecord(priority, weight, port, target)


def test_lower_priority_comes_first_whatever_the_weights():
    records = [srv(20, 100, "b"), srv(10, 0, "a"), srv(30, 50, "c")]

    assert [r.target for r in order_srv(records, Draws(0, 0, 0))] == ["a", "b", "c"]


def test_the_draw_picks_the_first_running_sum_at_or_above_it():
    records = [srv(10, 60, "a"), srv(10, 40, "b")]

    assert [r.target for r in order_srv(records, Draws(60, 0))] == ["a", "b"]
    assert [r.target for r in order_srv(records, Draws(61, 0))] == ["b", "a"]


def test_order_does_not_depend_on_the_order_the_server_sent():
    records = [srv(10, 60, "a"), srv(10, 40, "b")]

    assert order_srv(records, Draws(61, 0)) == order_srv(records[::-1], Draws(61, 0))


def test_weight_zero_is_drawn_only_by_a_zero_draw():
    records = [srv(10, 50, "heavy"), srv(10, 0, "zero")]

    assert [r.target for r in order_srv(records, Draws(0, 0))] == ["zero", "heavy"]
    assert [r.target for r in order_srv(records, Draws(1, 0))] == ["heavy", "zero"]


def test_weights_share_first_place_in_proportion():
    records = [srv(10, 60, "a"), srv(10, 40, "b")]
    source = random.Random(3263)
    firsts = Counter(order_srv(records, source)[0].target for _ in range(4000))

    # 60 % expected, and the draw includes both ends (0..100: 61 of 101 values pick "a")
    assert 0.56 < firsts["a"] / 4000 < 0.65


# -- --dns-server ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.53", DnsServer("192.0.2.53", 53)),
        ("127.0.0.1:5353", DnsServer("127.0.0.1", 5353)),
        ("::1", DnsServer("::1", 53)),
        ("2001:db8::53", DnsServer("2001:db8::53", 53)),
        ("[::1]", DnsServer("::1", 53)),
        ("[2001:DB8::53]:5353", DnsServer("2001:db8::53", 5353)),
        (" 10.0.0.1 ", DnsServer("10.0.0.1", 53)),
    ],
)
def test_dns_server_is_an_address_with_an_optional_port(text, expected):
    assert parse_dns_server(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("dns.example.com", "not an IP address"),
        ("dns.example.com:53", "not an IP address"),
        ("", "is empty"),
        ("127.0.0.1:0", "from 1 to 65535"),
        ("127.0.0.1:65536", "from 1 to 65535"),
        ("127.0.0.1:", "from 1 to 65535"),
        ("127.0.0.1:dns", "from 1 to 65535"),
        ("[::1", "']' after the IPv6 address is missing"),
        ("[::1]5353", "expected ':PORT'"),
        ("[127.0.0.1]:53", "brackets are for IPv6 addresses only"),
        ("[dns.example.com]:53", "not an IPv6 address"),
        ("[fe80::1%eth0]:53", "zone index"),
        ("300.1.1.1", "not an IP address"),
    ],
)
def test_dns_server_that_is_not_an_address_is_refused_with_the_forms(text, words):
    with pytest.raises(UsageError) as refused:
        parse_dns_server(text)

    assert words in str(refused.value)
    assert "[::1]:5353" in str(refused.value)


def test_dns_server_prints_ipv6_in_brackets():
    assert str(DnsServer("::1", 5353)) == "[::1]:5353"
    assert str(DnsServer("127.0.0.1", 53)) == "127.0.0.1:53"


# -- resolve() input, before any query ------------------------------------------------


@pytest.mark.parametrize(
    ("host", "options", "words"),
    [
        ("example.test", {"secure": True, "transport": "udp"}, "sips: URI needs TLS"),
        ("example.test", {"port": 0}, "from 1 to 65535"),
        ("exa mple..test", {}, "not a valid domain name"),
        ("[example.test]", {}, "neither a domain name nor an IP address"),
        ("example.test", {"lifetime": 0}, "positive number of seconds"),
    ],
)
def test_resolve_refuses_input_that_cannot_work(host, options, words):
    with pytest.raises(UsageError, match=words):
        resolve(host, dns_server=DnsServer("127.0.0.1", 9), **options)


# -- failover -------------------------------------------------------------------------


def target(port: int) -> ResolvedTarget:
    return ResolvedTarget("sip.example.test", "127.0.0.1", port, "udp", "srv")


TARGETS = [target(5001), target(5002), target(5003)]
CAUSES = {
    "timeout": FailoverCause.TIMEOUT,
    "refused": FailoverCause.TRANSPORT_ERROR,
    503: FailoverCause.SERVICE_UNAVAILABLE,
}


def run_with(answers: dict[int, object]):
    calls: list[int] = []

    def attempt(t: ResolvedTarget) -> object:
        calls.append(t.port)
        return answers[t.port]

    return fail_over(TARGETS, attempt, lambda result: CAUSES.get(result)), calls


@pytest.mark.parametrize("failure", ["timeout", "refused", 503])
def test_fails_over_on_timeout_transport_error_and_503(failure):
    run, calls = run_with({5001: failure, 5002: 200, 5003: 200})

    assert calls == [5001, 5002]
    assert run.final is not None and run.final.target == TARGETS[1]
    assert run.result == 200


@pytest.mark.parametrize("answer", [200, 401, 403, 404, 500, 502, 504])
def test_stops_at_any_other_answer(answer):
    run, calls = run_with({5001: answer, 5002: 200, 5003: 200})

    assert calls == [5001]
    assert run.tried == (TARGETS[0],)
    assert run.result == answer


def test_records_which_targets_answered():
    run, _ = run_with({5001: "timeout", 5002: 503, 5003: 401})

    assert run.tried == tuple(TARGETS)
    # a 503 is an answer, even though the next target was tried after it
    assert run.answered == (TARGETS[1], TARGETS[2])
    assert run.to_json()["answered"] == ["127.0.0.1:5002", "127.0.0.1:5003"]
    assert [item["failover"] for item in run.to_json()["tried"]] == [
        "timeout",
        "service_unavailable",
        None,
    ]


def test_every_target_failing_ends_without_a_final_answer():
    run, calls = run_with({5001: "timeout", 5002: "refused", 5003: 503})

    assert calls == [5001, 5002, 5003]
    assert run.final is None
    assert run.result == 503
    assert run.to_json()["final"] is None


def test_no_targets_tries_nothing():
    run = fail_over([], lambda t: pytest.fail("nothing to try"), lambda r: None)

    assert run.attempts == ()
    assert run.result is None
    assert run.final is None


def test_the_package_hands_out_the_resolvers_own_resolve_when_first_asked():
    # loaded on first use, so that a check of an address never imports dnspython
    import siptest.resolution as package
    from siptest.resolution import resolver

    assert package.resolve is resolver.resolve
    assert package.DEFAULT_LIFETIME == resolver.DEFAULT_LIFETIME


def test_a_name_the_package_does_not_have_is_an_attribute_error():
    import siptest.resolution as package

    with pytest.raises(AttributeError, match="no_such_name"):
        _ = package.no_such_name  # type: ignore[attr-defined]
