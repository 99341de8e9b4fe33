import pytest

from siptest.sipmessage import (
    granted_expiry,
    header_params,
    parse_message,
    redact,
    registered_binding,
    show_bytes,
    split_list,
)

RESPONSE_401 = (
    "SIP/2.0 401 This password is not valid\r\n"
    "Via: SIP/2.0/UDP 10.0.0.2:5060;rport=40000;received=203.0.113.9;branch=z9hG4bK1\r\n"
    "From: <sip:1001@example.com>;tag=a\r\n"
    "To: <sip:1001@example.com>;tag=b\r\n"
    "i: abc@host\r\n"
    "CSeq: 2 REGISTER\r\n"
    'WWW-Authenticate: Digest realm="example.com",\r\n'
    ' nonce="n2", stale=TRUE, qop="auth"\r\n'
    'Warning: 399 example.com "This password is not valid"\r\n'
    "\r\n"
)


def test_response_start_line_headers_and_cseq_are_read():
    msg = parse_message(RESPONSE_401)
    assert msg is not None
    assert (msg.code, msg.reason, msg.method, msg.cseq) == (
        401,
        "This password is not valid",
        "REGISTER",
        2,
    )
    assert msg.header("Call-ID") == "abc@host"  # compact form "i"
    assert msg.header("warning") == '399 example.com "This password is not valid"'


def test_folded_header_lines_are_joined():
    msg = parse_message(RESPONSE_401)
    assert msg is not None
    params = header_params(msg.header("www-authenticate") or "")
    assert params["stale"] == "TRUE"
    assert params["realm"] == "example.com"


def test_response_without_reason_phrase_is_read():
    msg = parse_message("SIP/2.0 200\r\nCSeq: 1 REGISTER\r\n\r\n")
    assert msg is not None
    assert (msg.code, msg.reason) == (200, "")


def test_non_sip_text_is_not_a_message():
    assert parse_message("HTTP/1.1 200 OK\r\n\r\n") is None


def test_via_parameters_are_read():
    params = header_params("SIP/2.0/UDP 10.0.0.2:5060;rport=40000;received=203.0.113.9")
    assert params["received"] == "203.0.113.9"
    assert params["rport"] == "40000"


def test_redact_removes_digest_response_and_nonce_but_keeps_user():
    request = (
        "REGISTER sip:example.com SIP/2.0\r\n"
        'Authorization: Digest username="1001", realm="example.com", nonce="abc",\r\n'
        ' uri="sip:example.com", response="0123456789abcdef", cnonce="xyz", nc=00000001,'
        " qop=auth, algorithm=MD5\r\n"
        'Proxy-Authorization: Digest username="1001", response="fedcba"\r\n'
        "CSeq: 2 REGISTER\r\n\r\n"
    )
    out = redact(request)
    assert "0123456789abcdef" not in out
    assert "fedcba" not in out
    assert "xyz" not in out
    assert 'nonce="abc"' not in out
    assert 'username="1001"' in out
    assert "CSeq: 2 REGISTER" in out
    assert "<credentials redacted>" in out


def test_redaction_is_by_header_and_never_masks_other_text():
    # Masking the password's text elsewhere would tell a reader what it is.
    text = "SIP/2.0 200 OK\r\nUser-Agent: siptest/0.1.0\r\nServer: siptest\r\n\r\n"
    assert redact(text) == text


def test_bytes_that_are_not_utf8_are_shown_escaped_and_never_raise():
    shown = show_bytes(b"SIP/2.0 403 Verboten f\xfcr \x00\x1b[2J\xc3\xbc\r\n")
    assert shown == "SIP/2.0 403 Verboten f\\xfcr \\x00\\x1b[2J\u00fc\r\n"
    shown.encode("utf-8")


def test_c1_control_characters_in_utf8_are_shown_escaped():
    # U+009B is CSI: a terminal may run what follows as an escape sequence, exactly as
    # it would ESC [. Valid UTF-8, so decoding alone lets it through.
    shown = show_bytes("SIP/2.0 403 a\u009b2J b\u0085c \u00a0d \u00fc\r\n".encode())
    assert shown == "SIP/2.0 403 a\\x9b2J b\\x85c \u00a0d \u00fc\r\n"


@pytest.mark.parametrize("size", [0, 1, 17, 4000])
def test_any_bytes_parse_without_raising(size):
    data = bytes((i * 37 + 11) % 256 for i in range(size))
    parse_message(b"SIP/2.0 200 OK\r\n" + data)
    parse_message(data)


OURS = "<sip:1001@192.0.2.7:40000;ob>"


def ok_with(*headers: str) -> str:
    return "SIP/2.0 200 OK\r\nCSeq: 2 REGISTER\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n"


@pytest.mark.parametrize(
    ("headers", "granted"),
    [
        # the binding that is ours, among the account's other devices, in any order
        (["Contact: <sip:1001@198.51.100.4:5060>;expires=3600, "
          "<sip:1001@192.0.2.7:40000;ob>;expires=120"], 120),
        (["Contact: <sip:1001@198.51.100.4:5060>;expires=3600",
          "m: <SIP:1001@192.0.2.7:40000>;q=0.5;Expires=90"], 90),
        # a display name with a comma does not split the list
        (['Contact: "Desk, 2nd floor" <sip:1001@192.0.2.7:40000>;expires=60'], 60),
        # no expires on our binding: the Expires header
        (["Contact: <sip:1001@192.0.2.7:40000>", "Expires: 600"], 600),
        # another device's expires is not ours
        (["Contact: <sip:1001@198.51.100.4:5060>;expires=3600", "Expires: 300"], 300),
        # RFC 3261 25.1: delta-seconds stop at 2**32-1 (pjsip wraps them around)
        (["Contact: <sip:1001@192.0.2.7:40000>;expires=99999999999999"], 2**32 - 1),
        # nothing usable: the caller falls back to what the stack says
        (["Contact: <sip:1001@192.0.2.7:40000>;expires=soon"], None),
        ([], None),
    ],
)  # fmt: skip
def test_the_expiry_granted_is_read_from_our_binding(headers, granted):
    message = parse_message(ok_with(*headers))
    assert message is not None
    assert granted_expiry(message, OURS) == granted


def test_a_header_list_splits_on_commas_outside_quotes_and_brackets():
    value = '"A, \\"B\\"" <sip:a@x;p=1,2>;q=1, sip:b@y , <sip:c@z>'
    assert split_list(value) == ['"A, \\"B\\"" <sip:a@x;p=1,2>;q=1', "sip:b@y", "<sip:c@z>"]


def test_parameters_may_have_spaces_around_the_equals_sign():
    # RFC 3261 25.1: EQUAL = SWS "=" SWS
    value = "SIP/2.0/UDP 10.0.0.2:5060;rport = 41234 ;received= 203.0.113.7;branch=z9"
    params = header_params(value)
    assert (params["rport"], params["received"], params["branch"]) == ("41234", "203.0.113.7", "z9")
    assert header_params("<sip:a@b>;ob;expires =60")["expires"] == "60"
    assert header_params("SIP/2.0/UDP h;rport ;received=192.0.2.1")["rport"] == ""


VIA_SEEN = "Via: SIP/2.0/UDP 192.0.2.7:40000;rport=41234;received=203.0.113.7;branch=z9"


@pytest.mark.parametrize(
    ("headers", "binding", "granted"),
    [
        # the registrar rewrote our Contact to the address and port it saw (RFC 3581)
        ([VIA_SEEN, "Contact: <sip:1001@203.0.113.7:41234;ob>;expires=120", "Expires: 300"],
         "<sip:1001@203.0.113.7:41234;ob>;expires=120", 120),
        # another device behind the same router: same address, other port
        ([VIA_SEEN, "Contact: <sip:1001@203.0.113.7:5060>;expires=3600", "Expires: 300"],
         None, 300),
        # without rport the address alone cannot tell devices apart
        (["Via: SIP/2.0/UDP 192.0.2.7:40000;received=203.0.113.7",
          "Contact: <sip:1001@203.0.113.7:40000>;expires=60"], None, None),
        # ours as sent wins over anything else
        ([VIA_SEEN, "Contact: <sip:1001@203.0.113.7:41234>;expires=120, "
          "<sip:1001@192.0.2.7:40000;ob>;expires=90"], "<sip:1001@192.0.2.7:40000;ob>;expires=90",
         90),
    ],
)  # fmt: skip
def test_our_binding_is_found_even_when_the_registrar_rewrote_it(headers, binding, granted):
    message = parse_message(ok_with(*headers))
    assert message is not None
    assert registered_binding(message, OURS) == binding
    assert granted_expiry(message, OURS) == granted


def test_an_empty_kept_parameter_does_not_carry_the_digest_into_a_trace():
    text = 'Authorization: Digest username= response="0123456789abcdef", nonce="n"\r\n'
    assert "0123456789abcdef" not in redact(text)


@pytest.mark.parametrize(
    "headers",
    [
        ["Via: ;rport=40000;received=1.2.3.4", "Contact: <sip:1001@1.2.3.4:40000>"],
        ["Via:", "Contact: <sip:1001@192.0.2.7:40000>;expires=" + "9" * 5000],
        ["Contact: ,,<>;;expires=", "Expires: " + "1" * 5000],
    ],
)
def test_odd_bindings_never_raise(headers):
    message = parse_message(ok_with(*headers))
    assert message is not None
    registered_binding(message, OURS)
    granted = granted_expiry(message, OURS)
    assert granted is None or 0 <= granted <= 2**32 - 1
