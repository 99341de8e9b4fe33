"""The provider guide's 15 codes and 3 messages, and the design's context rules, as data."""

from __future__ import annotations

import pytest

from siptest.knowledge import Situation, load_knowledge

S = Situation
LAB = {"host": "sip.example.net", "port": 5060, "timeout": 5, "user": "41411234567"}

# (situation, profile, id, category, phrases the guide's meaning and fix come through in)
GUIDE = [
    (
        S("INVITE", 400, "Bad Request"),
        None,
        "device.bad_request",
        "device",
        ["malfunctioning", "firmware", "factory settings"],
    ),
    (
        S("REGISTER", 401, "Unauthorized", credentials_sent=True),
        None,
        "credentials.rejected",
        "credentials",
        ["password", "authentication user", "stopped after this one rejection"],
    ),
    (
        S("INVITE", 403, "Forbidden"),
        None,
        "routing.forbidden",
        "routing",
        ["no route", "premium-rate number (such as 0900…)"],
    ),
    (
        S("INVITE", 404, "Not Found"),
        None,
        "number.not_found",
        "number",
        ["no destination for the number", "not in service"],
    ),
    (
        S("INVITE", 407, "Proxy Authentication Required"),
        None,
        "credentials.proxy_auth",
        "credentials",
        ["password entered is not correct", "Re-enter the SIP password"],
    ),
    (
        S("INVITE", 408, "Request Timeout", provisional=(100, 180)),
        None,
        "callee.no_answer",
        "callee",
        ["rang", "nobody picked up"],
    ),
    (
        S("INVITE", 480, "Temporarily Unavailable"),
        None,
        "callee.unavailable",
        "callee",
        ["cannot be reached right now"],
    ),
    (
        S("INVITE", 481, "Call/Transaction Does Not Exist"),
        None,
        "device.no_such_transaction",
        "device",
        ["telephone device", "routing problem"],
    ),
    (
        S("INVITE", 482, "Loop Detected"),
        None,
        "routing.loop_detected",
        "routing",
        ["routing", "circle"],
    ),
    (
        S("INVITE", 483, "Too Many Hops"),
        None,
        "routing.too_many_hops",
        "routing",
        ["routing loop", "routing problem"],
    ),
    (
        S("INVITE", 484, "Address Incomplete"),
        None,
        "number.incomplete",
        "number",
        ["too few digits", "full number including the area code"],
    ),
    (S("INVITE", 486, "Busy Here"), None, "callee.busy", "callee", ["busy"]),
    (
        S("INVITE", 487, "Request Terminated"),
        None,
        "callee.cancelled",
        "callee",
        ["caller hanging up before the callee picked up"],
    ),
    (
        S("REGISTER", 500, "Server Internal Error"),
        "sipcall",
        "device.register_conflict",
        "device",
        ["conflict inside the device", "factory settings", '"System Settings"', "firmware"],
    ),
    (
        S("REGISTER", 500, "Server Internal Error"),
        None,
        "device.register_conflict",
        "device",
        ["conflict inside the device", "factory settings", "firmware"],
    ),
    (
        S("INVITE", 503, "Service Unavailable"),
        None,
        "server.unavailable",
        "server",
        ["overloaded", "maintenance"],
    ),
    # the three messages, with the provider's profile and without
    (
        S("REGISTER", 403, "This account is not valid"),
        "sipcall",
        "account.invalid",
        "account",
        ["41 followed by 9 digits", "41411234567", '"SIP-Data"'],
    ),
    (
        S("REGISTER", 403, "This account is not valid"),
        None,
        "account.invalid",
        "account",
        ["full phone number with country code, exactly as your provider shows it"],
    ),
    (
        S("INVITE", 403, "This call is not covered by your tariff plan"),
        "sipcall",
        "tariff.not_covered",
        "tariff",
        [
            "top up",
            "032xxxxxxx",
            "004132xxxxxxx",
            "+4132xxxxxxx form is not supported",
            "0041",
            "0900",
        ],
    ),
    (
        S("INVITE", 403, "This call is not covered by your tariff plan"),
        None,
        "tariff.not_covered",
        "tariff",
        ["credit", "format", "premium-rate"],
    ),
    (
        S("REGISTER", 401, "This password is not valid", credentials_sent=True),
        "sipcall",
        "credentials.password_invalid",
        "credentials",
        [
            "not the password of the customer portal",
            "copy the password",
            "Phone number overview",
            '"SIP-Data"',
        ],
    ),
    (
        S("REGISTER", 401, "This password is not valid", credentials_sent=True),
        None,
        "credentials.password_invalid",
        "credentials",
        ["not the password you use to log in", "paste it"],
    ),
]


@pytest.mark.parametrize(
    ("situation", "profile", "id_", "category", "phrases"),
    [pytest.param(*case, id=f"{case[0].code}-{case[0].reason}-{case[1]}") for case in GUIDE],
)
def test_the_guide_reads_through(situation, profile, id_, category, phrases):
    diagnosis = load_knowledge(profile).diagnose(situation, LAB)
    assert (diagnosis.id, diagnosis.category) == (id_, category)
    text = f"{diagnosis.title} {diagnosis.explanation} {diagnosis.fix}"
    for phrase in phrases:
        assert phrase.lower() in text.lower(), f"{phrase!r} missing from {diagnosis.id}: {text}"


def test_register_success_and_answered_call_are_category_none():
    knowledge = load_knowledge()
    registered = knowledge.diagnose(S("REGISTER", 200, "OK"))
    answered = knowledge.diagnose(S("INVITE", 200, "OK"))
    assert (registered.id, registered.category, registered.severity) == (
        "ok.registered",
        "none",
        "ok",
    )
    assert (answered.id, answered.category) == ("ok.answered", "none")


def test_a_local_timeout_names_where_it_sent_and_the_likely_causes():
    situation = S("REGISTER", 408, origin="local", local_cause="timeout")
    diagnosis = load_knowledge().diagnose(situation, LAB)
    assert diagnosis.id == "network.no_response"
    assert "sip.example.net:5060 over UDP within 5 seconds" in diagnosis.explanation
    for cause in ("firewall", "port", "IP address"):
        assert cause in diagnosis.explanation


def test_a_refused_connection_says_nothing_accepted_it():
    situation = S("REGISTER", 503, origin="local", local_cause="refused", transport="tcp")
    diagnosis = load_knowledge().diagnose(situation, LAB)
    assert "Nothing accepted the connection at sip.example.net:5060 over TCP" in (
        diagnosis.explanation
    )


def test_a_tls_failure_names_the_certificate_and_the_options():
    situation = S("REGISTER", 503, origin="local", local_cause="tls", transport="tls")
    diagnosis = load_knowledge().diagnose(situation, LAB)
    assert (diagnosis.id, diagnosis.category) == ("tls.failed", "tls")
    assert "certificate" in diagnosis.explanation
    assert "--tls-ca" in diagnosis.fix and "--tls-insecure" in diagnosis.fix


def test_a_dns_failure_says_the_name_did_not_resolve():
    diagnosis = load_knowledge().diagnose(S("REGISTER", 502, origin="local"), LAB)
    assert diagnosis.id == "network.dns"
    assert '"sip.example.net" could not be resolved' in diagnosis.explanation


def test_our_cancel_after_ringing_is_nobody_answering_not_a_pass():
    # DESIGN.md: nobody answering is a `callee` failure, unless the user expected it.
    situation = S("INVITE", 487, cancelled_by_us=True, provisional=(100, 180))
    diagnosis = load_knowledge().diagnose(situation, {"ring_timeout": 1.0})
    assert (diagnosis.id, diagnosis.category, diagnosis.severity) == (
        "callee.ring_timeout",
        "callee",
        "error",
    )
    assert "rang for 1 second and" in diagnosis.explanation


def test_our_cancel_with_no_ringing_is_a_routing_failure():
    diagnosis = load_knowledge().diagnose(
        S("INVITE", 487, cancelled_by_us=True, provisional=(100,))
    )
    assert (diagnosis.id, diagnosis.category) == ("routing.no_ringing", "routing")


def test_our_cancel_because_siptest_was_interrupted_is_expected():
    situation = S("INVITE", 487, origin="local", local_cause="interrupted", cancelled_by_us=True)
    diagnosis = load_knowledge().diagnose(situation)
    assert (diagnosis.id, diagnosis.category, diagnosis.severity) == ("ok.cancelled", "none", "ok")


def test_a_rejection_explains_why_siptest_stopped():
    diagnosis = load_knowledge().diagnose(S("INVITE", 407, credentials_sent=True))
    assert diagnosis.id == "credentials.rejected"
    assert "block an IP address" in diagnosis.explanation


def test_423_asks_for_the_min_expires_interval():
    diagnosis = load_knowledge().diagnose(S("REGISTER", 423), {"min_expires": 3600})
    assert (diagnosis.id, diagnosis.category) == ("config.expires_too_short", "config")
    assert "3600 seconds" in diagnosis.fix


def test_without_a_profile_no_provider_specific_rule_leaks_in():
    knowledge = load_knowledge()
    for entry in knowledge.entries():
        diagnosis = knowledge.render(entry, S("INVITE", None))
        text = f"{diagnosis.title} {diagnosis.explanation} {diagnosis.fix}"
        for provider_fact in ("sipcall", "41411234567", "SIP-Data", "System Settings"):
            assert provider_fact not in text, (entry.id, provider_fact)


def test_a_timeout_names_the_address_the_request_went_to_in_good_english():
    from siptest.analysis.registration import analyse_registration
    from siptest.ua.base import AccountSpec, RegistrationCompleted, Response

    account = AccountSpec(user="1001", domain="example.com", registrar="sip.example.com",
                          port=5070, transport="udp", auth_user="1001", password="-")  # fmt: skip
    outcome = RegistrationCompleted(
        response=Response("REGISTER", 408, "No final response", "none", 1.0,
                          local_cause="timeout"),
        requests_sent=1, credentials_sent=False, credentials_rejected=False,
        expires_requested=300, expires_granted=None, sent_to="127.0.0.2:5060",
    )  # fmt: skip
    check = analyse_registration(outcome, account, load_knowledge(), timeout=1.0, duration_ms=1)
    assert check.diagnosis is not None
    assert "Nothing came back from 127.0.0.2:5060 over UDP within 1 second." in (
        check.diagnosis.explanation
    )


@pytest.mark.parametrize(
    ("situation", "expected"),
    [
        # A password message when no password was sent: the code decides (the live
        # diagnosis; the message stays in the report's response).
        (
            S("INVITE", 486, "Busy Here", warning='399 h "This password is not valid"'),
            "callee.busy",
        ),
        (S("INVITE", 403, "This password is not valid"), "routing.forbidden"),
        (S("REGISTER", 403, "Auth user does not match From/To user"), "account.forbidden"),
        # Its twins: the same answers to a request that carried credentials (the guide).
        (
            S("INVITE", 486, "Busy Here", warning='399 h "This password is not valid"',
              credentials_sent=True),
            "credentials.password_invalid",
        ),
        (
            S("INVITE", 403, "This password is not valid", credentials_sent=True),
            "credentials.password_invalid",
        ),
        (
            S("REGISTER", 403, "Auth user does not match From/To user", credentials_sent=True),
            "credentials.auth_user_mismatch",
        ),
        # A message about the account is judged without credentials (the user ID is in From).
        (S("REGISTER", 403, "This account is not valid"), "account.invalid"),
    ],
)  # fmt: skip
def test_a_password_message_counts_only_when_a_password_was_sent(situation, expected):
    from siptest.analysis.registration import diagnose_live

    assert diagnose_live(load_knowledge(), situation, dict(LAB)).id == expected


@pytest.mark.parametrize(
    ("situation", "expected"),
    [
        # A REGISTER refused 403 with the guide's password message, no challenge first:
        # the provider's own word on the login (the guide: the password is wrong).
        (S("REGISTER", 403, "This password is not valid"), "credentials.password_invalid"),
        (
            S("REGISTER", 403, "Forbidden", warning='399 h "This password is not valid"'),
            "credentials.password_invalid",
        ),
        # Its twins: the code still decides where siptest's own stack is the cause (a
        # 401 it could not answer) and for a call's answer with a stray password Warning.
        (
            S("REGISTER", 401, "This password is not valid", origin="local",
              local_cause="no_challenge"),
            "server.challenge_missing",
        ),
        (
            S("INVITE", 486, "Busy Here", warning='399 h "This password is not valid"'),
            "callee.busy",
        ),
        (S("REGISTER", 403, "Auth user does not match From/To user"), "account.forbidden"),
    ],
)  # fmt: skip
def test_a_register_refused_with_the_password_message_is_the_password(situation, expected):
    from siptest.analysis.registration import diagnose_live

    assert diagnose_live(load_knowledge(), situation, dict(LAB)).id == expected
