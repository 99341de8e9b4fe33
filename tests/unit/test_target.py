import pytest

from siptest.errors import UsageError
from siptest.target import parse_hostport, parse_target


@pytest.mark.parametrize(
    ("text", "user", "host", "port"),
    [
        ("1001@127.0.0.1:5070", "1001", "127.0.0.1", 5070),
        ("41411234567@sip.example.com", "41411234567", "sip.example.com", None),
        ("sip:1001@example.com:5060", "1001", "example.com", 5060),
        ("1001@[::1]:5070", "1001", "::1", 5070),
        ("1001@[2001:db8::1]", "1001", "2001:db8::1", None),
        ("alice.smith@localhost", "alice.smith", "localhost", None),
    ],
)
def test_valid_targets_are_read(text, user, host, port):
    target = parse_target(text)
    assert (target.user, target.host, target.port) == (user, host, port)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("1001@::1", "brackets"),
        ("1001@127.0.0.1:70000", "70000"),
        ("1001@127.0.0.1:0", "port"),
        ("1001@127.0.0.1:abc", "abc"),
        ("tel:+41411234567", "tel"),
        ("<sip:1001@example.com>", "angle brackets"),
        ("example.com", "user ID is missing"),
        ("@example.com", "user ID is missing"),
        ("1001@", "server is missing"),
        ("10 01@example.com", "characters"),
        ("1001@exa mple.com", "not a valid host"),
        ("1001@-bad-.com", "not a valid host"),
        ("1001@999.1.1.1", "IPv4"),
        ("1001@[::1", "closing"),
        ("1001@[zz::1]", "IPv6"),
        ("", "empty"),
    ],
)
def test_bad_targets_are_refused_with_the_bad_token_named(text, names):
    with pytest.raises(UsageError) as info:
        parse_target(text)
    assert names in str(info.value)


def test_hostport_options_refuse_a_user_part():
    with pytest.raises(UsageError, match="without a user part"):
        parse_hostport("1001@proxy.example.com", "--outbound-proxy")
    assert parse_hostport("proxy.example.com:5080", "--outbound-proxy") == (
        "proxy.example.com",
        5080,
    )


def test_a_target_without_a_server_says_the_server_is_missing():
    import pytest as _pytest

    from siptest.errors import UsageError
    from siptest.target import parse_target

    with _pytest.raises(UsageError, match="the server is missing"):
        parse_target("1001")
    with _pytest.raises(UsageError, match="the user ID is missing"):
        parse_target("sip.example.com")
    with _pytest.raises(UsageError, match="the user ID is missing"):
        parse_target("@sip.example.com")


def test_listen_addresses_are_read_by_the_one_host_port_parser():
    from siptest.cli.exporter import parse_listen

    assert parse_listen("127.0.0.1:0") == ("127.0.0.1", 0)  # any free port
    assert parse_listen("[::1]:9467") == ("::1", 9467)
    for bad in ("127.0.0.1", "::1:9467", "127.0.0.1:65536", "host name:80"):
        with pytest.raises(UsageError):
            parse_listen(bad)


def test_a_number_s_transport_is_judged_only_once_the_transport_is_known():
    from siptest.target import dial_number

    uri = "sip:7000@pbx.example.test;transport=tcp"
    assert dial_number(uri, None) == uri  # DNS will choose: not judged yet
    assert dial_number(uri, "tcp") == uri
    with pytest.raises(UsageError):
        dial_number(uri, "udp")
    with pytest.raises(UsageError):
        dial_number("sips:7000@pbx.example.test", None)  # never, whatever the transport
