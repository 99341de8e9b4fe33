"""One try per password: the guard that stops pjsip's stale-nonce retries."""

import pytest

from siptest.sipmessage import parse_message
from siptest.ua.credentials import CredentialGuard


def request(cseq: int, credentials: bool, call_id: str = "c1", auth_lines: str | None = None):
    auth = 'Authorization: Digest username="1001", realm="r", response="x"\r\n'
    auth = auth_lines if auth_lines is not None else auth if credentials else ""
    msg = parse_message(
        f"REGISTER sip:example.com SIP/2.0\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n"
        f"{auth}\r\n"
    )
    assert msg is not None
    return msg


def challenge(
    cseq: int,
    stale: bool = False,
    code: int = 401,
    call_id: str = "c1",
    realm: str = "r",
    extra: str = "",
):
    name = "WWW-Authenticate" if code == 401 else "Proxy-Authenticate"
    stale_param = ", stale=true" if stale else ""
    msg = parse_message(
        f"SIP/2.0 {code} Unauthorized\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n"
        f'{extra}{name}: Digest realm="{realm}", nonce="n{cseq}"{stale_param}\r\n\r\n'
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
    header = "Authorization" if code == 401 else "Proxy-Authorization"
    auth = f'{header}: Digest username="1001", realm="r", response="x"\r\n'
    guard.sent(request(1, credentials=False))
    guard.received(challenge(1, code=code))
    guard.sent(request(2, credentials=True, auth_lines=auth))
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
    # The server said the password was right each time: a loop, not a rejection.
    assert guard.gave_up("c1") and not guard.was_rejected("c1")


def test_other_dialogs_are_not_affected():
    guard = CredentialGuard()
    guard.sent(request(2, credentials=True))
    guard.received(challenge(2))
    assert guard.allows(request(1, credentials=True, call_id="other"))


PROXY_AUTH = 'Proxy-Authorization: Digest username="1001", realm="sbc", response="y"\r\n'
BOTH = 'Authorization: Digest username="1001", realm="r", response="x"\r\n' + PROXY_AUTH


def test_a_proxy_challenge_after_the_registrars_is_answered_not_a_rejection():
    # RFC 3261 22.3: an outbound proxy asks for its own realm after the registrar.
    guard = CredentialGuard()
    guard.sent(request(2, credentials=True))
    guard.received(challenge(2, code=407, realm="sbc"))
    assert guard.allows(request(3, credentials=True, auth_lines=BOTH))
    assert not guard.was_rejected("c1")
    guard.sent(request(3, credentials=True, auth_lines=BOTH))
    guard.received(challenge(3, code=407, realm="sbc"))  # now the proxy refuses
    assert guard.was_rejected("c1")
    assert not guard.allows(request(4, credentials=True, auth_lines=BOTH))


def test_a_registrar_rejection_behind_an_answered_proxy_is_a_rejection():
    guard = CredentialGuard()
    guard.sent(request(3, credentials=True, auth_lines=BOTH))
    guard.received(challenge(3, code=401, realm="r"))
    assert guard.was_rejected("c1")


def test_a_server_that_keeps_inventing_realms_is_given_up():
    guard = CredentialGuard()
    for cseq in range(2, 5):
        guard.sent(request(cseq, credentials=True))
        guard.received(challenge(cseq, realm=f"realm-{cseq}"))
    assert guard.gave_up("c1")
    assert not guard.allows(request(5, credentials=True))


def test_stale_is_read_from_every_challenge_header():
    # RFC 8760: one challenge per algorithm; stale=true on the second counts.
    guard = CredentialGuard()
    guard.sent(request(2, credentials=True))
    sha256 = 'WWW-Authenticate: Digest realm="r", nonce="a", algorithm=SHA-256\r\n'
    guard.received(challenge(2, stale=True, extra=sha256))
    assert guard.allows(request(3, credentials=True))
    assert not guard.was_rejected("c1")


def test_credentials_without_a_realm_answer_any_challenge_of_their_kind():
    guard = CredentialGuard()
    bare = 'Authorization: Digest username="1001", response="x"\r\n'
    guard.sent(request(2, credentials=True, auth_lines=bare))
    guard.received(challenge(2, realm="anything"))
    assert guard.was_rejected("c1")


def test_a_lower_case_sip_version_is_still_read():
    # RFC 3261 7.1: the version is case-insensitive, and pjsip reads it so.
    guard = CredentialGuard()
    guard.sent(request(2, credentials=True))
    message = parse_message(
        "sip/2.0 401 Unauthorized\r\nCall-ID: c1\r\nCSeq: 2 REGISTER\r\n"
        'WWW-Authenticate: Digest realm="r", nonce="n9"\r\n\r\n'
    )
    assert message is not None
    guard.received(message)
    assert guard.was_rejected("c1")


def ok_answer(cseq: int, call_id: str = "c1"):
    msg = parse_message(f"SIP/2.0 200 OK\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n\r\n")
    assert msg is not None
    return msg


def test_every_round_of_a_registrar_and_a_proxy_challenge_gets_through():
    # Register, then un-REGISTER on the same Call-ID: each round meets the
    # registrar's 401 and the proxy's 407 again; neither round is a rejection.
    guard = CredentialGuard()
    for first in (1, 4):
        guard.sent(request(first, credentials=False))
        guard.received(challenge(first, realm="r"))
        guard.sent(request(first + 1, credentials=True))
        guard.received(challenge(first + 1, code=407, realm="sbc"))
        assert guard.allows(request(first + 2, credentials=True, auth_lines=BOTH))
        guard.sent(request(first + 2, credentials=True, auth_lines=BOTH))
        guard.received(ok_answer(first + 2))
    assert not guard.was_rejected("c1") and not guard.gave_up("c1")


def test_a_successful_round_restores_the_stale_allowance():
    guard = CredentialGuard()
    guard.sent(request(2, credentials=True))
    guard.received(challenge(2, stale=True))
    guard.sent(request(3, credentials=True))
    guard.received(ok_answer(3))
    guard.sent(request(5, credentials=True))  # a refresh, its nonce now stale
    guard.received(challenge(5, stale=True))
    assert guard.allows(request(6, credentials=True))
    assert not guard.gave_up("c1")


def test_a_retransmitted_stale_challenge_earns_its_one_retry_once():
    from streams import Stream

    def register(cseq: int, auth: bool) -> str:
        credentials = 'Authorization: Digest username="u", realm="r", response="x"\r\n'
        return (
            f"REGISTER sip:x SIP/2.0\r\nCall-ID: c1\r\nCSeq: {cseq} REGISTER\r\n"
            f"{credentials if auth else ''}\r\n"
        )

    def stale(cseq: int) -> str:
        return (
            f"SIP/2.0 401 Unauthorized\r\nCall-ID: c1\r\nCSeq: {cseq} REGISTER\r\n"
            f'WWW-Authenticate: Digest realm="r", nonce="n{cseq}", stale=true\r\n\r\n'
        )

    stream = Stream()
    stream.sent(register(1, auth=False))
    stream.received(stale(1).replace(", stale=true", ""))
    stream.sent(register(2, auth=True))
    stream.received(stale(2))
    stream.received(stale(2))  # the same answer again
    assert stream.sent(register(3, auth=True))
