"""The capture of pjsua2's message log: redaction, drops, and the credential veto."""

from siptest.ua.capture import Capture

REGISTER = (
    "REGISTER sip:example.com SIP/2.0\r\n"
    "Call-ID: c1\r\n"
    "CSeq: {cseq} REGISTER\r\n"
    "{auth}"
    "Content-Length: 0\r\n\r\n"
)
AUTH = 'Authorization: Digest username="1001", realm="r", nonce="n", response="deadbeef"\r\n'
CHALLENGE = (
    "SIP/2.0 401 Unauthorized\r\nCall-ID: c1\r\nCSeq: {cseq} REGISTER\r\n"
    'WWW-Authenticate: Digest realm="r", nonce="n{cseq}"\r\n\r\n'
)


def tx(cseq: int, auth: bool) -> str:
    text = REGISTER.format(cseq=cseq, auth=AUTH if auth else "")
    return (
        f"TX 300 bytes Request msg REGISTER/cseq={cseq} (tdta{cseq}) to UDP 127.0.0.1:5060:\n"
        f"{text}--end msg--"
    )


def rx(cseq: int) -> str:
    return (
        f"RX 200 bytes Response msg 401/REGISTER/cseq={cseq} (rdata{cseq}) "
        f"from UDP 127.0.0.1:5060:\n{CHALLENGE.format(cseq=cseq)}--end msg--"
    )


def test_messages_are_parsed_and_redacted():
    capture = Capture(secrets=("s3cret-pass",))
    capture.on_log(tx(1, auth=False))
    capture.on_log(rx(1))
    capture.on_log(tx(2, auth=True))
    assert [m.direction for m in capture.messages] == ["sent", "received", "sent"]
    assert capture.messages[1].message.code == 401
    assert "deadbeef" not in capture.messages[2].text
    assert capture.messages[2].peer == "127.0.0.1:5060"


def test_a_second_credentialed_try_after_rejection_is_vetoed_and_marked():
    capture = Capture()
    capture.on_log(tx(1, auth=False))
    assert not capture.veto("Request msg REGISTER/cseq=1 (tdta1)")
    capture.on_log(rx(1))
    capture.on_log(tx(2, auth=True))
    assert not capture.veto("Request msg REGISTER/cseq=2 (tdta2)")
    capture.on_log(rx(2))
    capture.on_log(tx(3, auth=True))
    assert capture.veto("Request msg REGISTER/cseq=3 (tdta3)")
    assert capture.messages[-1].blocked


def test_dropped_messages_and_other_lines_are_remembered_redacted():
    capture = Capture(secrets=("s3cret-pass",))
    capture.on_log(
        "Dropping 40 bytes packet from UDP 127.0.0.1:5060 : PJSIP syntax error exception "
        "when parsing 'Status Line'"
    )
    capture.on_log("something mentioning s3cret-pass")
    assert capture.dropped and "Status Line" in capture.dropped[0][1]
    assert "s3cret-pass" not in " ".join(capture.log_tail)
