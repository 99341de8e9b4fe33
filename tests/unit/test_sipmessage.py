from siptest.sipmessage import header_params, parse_message, redact

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


def test_redact_sweeps_secrets_from_any_text():
    assert redact("password is s3cr3t-pass", ["s3cr3t-pass"]) == "password is ********"
