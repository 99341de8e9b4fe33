"""SIPTEST_BULK_TURN_FD set by mistake in a user's environment (copied from a bulk
child, a script): `siptest register` says so, exits 3 and sends nothing, whatever
descriptor the variable names; it never writes to it, waits on it or closes it."""

from __future__ import annotations

import pytest
from sippeer import always, ok

from siptest.bulk.turn import TURN_ENV

PASSWORD = "review-secret"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("fd", ["1", "2", "987654"])
def test_a_turn_variable_bulk_did_not_set_is_a_clear_error_and_nothing_is_sent(
    siptest, sip_peer, fd
):
    # 1 and 2: the command's own output pipes, open but no socket of siptest bulk's
    peer = sip_peer("udp", always(ok()))
    result = siptest(
        "register", f"1001@127.0.0.1:{peer.port}", "--timeout", "1", "--json",
        password=PASSWORD, env={TURN_ENV: fd}, timeout=20,
    )  # fmt: skip
    assert result.status == 3, result.stdout + result.stderr
    assert TURN_ENV in result.json["error"]["message"]
    assert "Nothing was sent" in result.json["error"]["message"]
    assert result.stdout.lstrip().startswith("{")  # no stray byte of the turn protocol
    assert "Traceback" not in result.stderr
    assert peer.requests == []


def test_without_the_variable_the_registration_goes_at_once(siptest, sip_peer):
    # The twin: the same command, no variable, registers.
    peer = sip_peer("udp", always(ok()))
    result = siptest(
        "register", f"1001@127.0.0.1:{peer.port}", "--timeout", "1", "--json",
        password=PASSWORD, timeout=20,
    )  # fmt: skip
    assert result.status == 0, result.stdout + result.stderr
    assert peer.requests_of("REGISTER")
