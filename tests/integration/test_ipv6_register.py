"""The pjsua2 agent registers with the lab over IPv6 ([::1]) on UDP, TCP and TLS.

Library-level: the command line still refuses IPv6 targets (siptest/cli/common.py) until
its target handling is changed; the stack underneath already speaks IPv6.
"""

from __future__ import annotations

import pytest

from siptest.knowledge import load_knowledge
from siptest.registration import RegistrationRequest, check_registration
from siptest.ua.base import AccountSpec, TlsSettings

pytestmark = [pytest.mark.lab, pytest.mark.timeout(60)]


def ipv6_account(port: int, transport: str, password: str = "lab-1001-pass") -> AccountSpec:
    return AccountSpec(
        user="1001",
        domain="::1",
        registrar="::1",
        port=port,
        transport=transport,
        auth_user="1001",
        password=password,
    )


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_registers_with_the_lab_over_ipv6(lab, lab_log, transport):
    port = lab.tls_port if transport == "tls" else lab.sip_port
    tls = TlsSettings(ca_file=lab.ca_file) if transport == "tls" else TlsSettings()
    request = RegistrationRequest(ipv6_account(port, transport), timeout=3, tls=tls)

    run = check_registration(request, load_knowledge())

    register = run.report.checks[0]
    assert register.ok, register
    assert (register.response.code, register.response.origin) == (200, "remote")
    seen = lab_log.requests("REGISTER", "1001")
    assert seen, lab_log.text()
    assert all(f"proto={transport} src=::1:" in line for line in seen), seen
    assert f"REGISTER sip:[::1]:{port}" in seen[0]


def test_wrong_password_over_ipv6_is_diagnosed_as_credentials(lab):
    request = RegistrationRequest(ipv6_account(lab.sip_port, "udp", "not-the-password"), timeout=3)

    register = check_registration(request, load_knowledge()).report.checks[0]

    assert not register.ok
    assert register.response.code == 401
    assert register.diagnosis.category == "credentials"


def test_nothing_listening_on_ipv6_gets_no_answer(lab):
    # SIPp (the UAS) listens on 127.0.0.1 only: nothing answers on [::1] at its port
    request = RegistrationRequest(ipv6_account(lab.uas_port, "tcp"), timeout=2)

    register = check_registration(request, load_knowledge()).report.checks[0]

    assert not register.ok
    assert register.response.origin == "none"
