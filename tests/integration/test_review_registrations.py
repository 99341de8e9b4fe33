"""A registration whose 200 OK siptest could not read, repeated: the account a lost 2xx
may have bound is removed before the next REGISTER, not left holding one of the SIP
stack's 8 accounts (nor a binding siptest forgets)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sippeer import always, raw, respond

PASSWORD = "review-secret"


# A 200 OK to every REGISTER (un-REGISTERs included) that the stack cannot parse: the
# server may have bound the Contact, and siptest cannot read that it did.
GARBLED_200 = raw(
    "SIP/2.0 200 OK\r\nVia: {via}\r\nFrom: {from}\r\nTo: {to};tag={tag}\r\n"
    "Call-ID: {call_id}\r\nCSeq: {cseq}\r\nContact: <sip:x@[:::1>;;;expires=\x01\r\n"
    "Content-Length: 0\r\n\r\n"
)


def scenario(path: Path, port: int, times: int) -> Path:
    path.write_text(
        f"""\
name: relogin
account:
  user: "1001"
  host: 127.0.0.1
  port: {port}
timeout: 1
steps:
  - repeat:
      times: {times}
      steps:
        - register: {{expect: {{ok: false}}}}
""",
        encoding="utf-8",
    )
    return path


def unregisters(peer) -> int:
    return sum(
        1
        for r in peer.requests_of("REGISTER")
        if (r.header("expires") or "").strip() == "0" or "expires=0" in (r.header("contact") or "")
    )


@pytest.mark.timeout(120)
def test_nine_registrations_whose_2xx_was_lost_are_not_siptests_account_limit(
    siptest, sip_peer, tmp_path
):
    peer = sip_peer("udp", always(GARBLED_200))
    path = scenario(tmp_path / "relogin.sip.yaml", peer.port, 9)
    result = siptest("run", str(path), "--json", password=PASSWORD, timeout=100)
    assert result.status == 0, result.stdout + result.stderr  # each step failed, as expected
    assert "at most 8 accounts" not in result.stdout + result.stderr
    (report,) = result.json["scenarios"]
    registers = [c for c in report["checks"] if c["kind"] == "register"]
    assert [c["response"]["local_cause"] for c in registers] == ["malformed"] * 9
    # each REGISTER the server may have bound is removed before the next one, and the
    # last one at the end: nine un-REGISTERs
    assert unregisters(peer) == 9


@pytest.mark.timeout(120)
def test_nine_refused_registrations_send_no_unregister(siptest, sip_peer, tmp_path):
    # The twin: a refusal binds nothing; there is nothing to remove between attempts.
    peer = sip_peer("udp", always(respond(403, "Forbidden")))
    path = scenario(tmp_path / "refused.sip.yaml", peer.port, 9)
    result = siptest("run", str(path), "--json", password=PASSWORD, timeout=100)
    assert result.status == 0, result.stdout + result.stderr
    (report,) = result.json["scenarios"]
    registers = [c for c in report["checks"] if c["kind"] == "register"]
    assert [c["response"]["code"] for c in registers] == [403] * 9
    assert len(peer.requests_of("REGISTER")) == 9
    assert unregisters(peer) == 0
