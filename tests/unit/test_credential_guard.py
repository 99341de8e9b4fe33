"""One try per password: the guard that stops pjsip's stale-nonce retries."""

import pytest

from siptest.sipmessage import parse_message
from siptest.ua.credentials import CredentialGuard


def request(cseq: int, credentials: bool, call_id: str = "c1"):
    auth = 'Authorization: Digest username="1001", response="x"\r\n' if credentials else ""
    msg = parse_message(
        f"REGISTER sip:example.com SIP/2.0\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n"
        f"{auth}\r\n"
    )
    assert msg is not None
    return msg


def challenge(cseq: int, stale: bool = False, code: int = 401, call_id: str = "c1"):
    name = "WWW-Authenticate" if code == 401 else "Proxy-Authenticate"
    stale_param = ", stale=true" if stale else ""
    msg = parse_message(
        f"SIP/2.0 {code} Unauthorized\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n"
        f'{name}: Digest realm="r", nonce="n{cseq}"{stale_param}\r\n\r\n'
    )
    assert msg is not None
    return msg


def test_first_challenge_lets_credentials_go():
    guard = CredentialGuard()
    guard.sent(request(1, credentials=False))
    guard.received(challenge(1))
    assert guard.allows(request(2, credentials=True))


@pytest.mark.parametrize("code", [401, 407])
def test_rejection_of_credentials_with_fresh_nonce_blocks_the_retry(code):
    guard = CredentialGuard()
    guard.sent(request(1, credentials=False))
    guard.received(challenge(1, code=code))
    guard.sent(request(2, credentials=True))
    guard.received(challenge(2, code=code))
    assert not guard.allows(request(3, credentials=True))
    assert guard.was_rejected("c1")


def test_explicit_stale_allows_exactly_one_more_try():
    guard = CredentialGuard()
    guard.sent(request(2, credentials=True))
    guard.received(challenge(2, stale=True))
    assert guard.allows(request(3, credentials=True))
    guard.sent(request(3, credentials=True))
    guard.received(challenge(3, stale=True))
    assert not guard.allows(request(4, credentials=True))


def test_other_dialogs_are_not_affected():
    guard = CredentialGuard()
    guard.sent(request(2, credentials=True))
    guard.received(challenge(2))
    assert guard.allows(request(1, credentials=True, call_id="other"))
