"""The doctor's verdict chain: step results in, one verdict out (pure, no network)."""

from __future__ import annotations

import pytest

from siptest.analysis.model import Check
from siptest.doctor.model import AlgSign, Findings, NatEvidence, Probe, Reach
from siptest.doctor.nat import alg_signs
from siptest.doctor.runner import render
from siptest.doctor.verdict import choose
from siptest.knowledge import Situation, load_knowledge
from siptest.resolution import (
    DnsServerFailed,
    DnsServerSilent,
    NoServerRecords,
    NoSuchName,
    Resolution,
    ResolvedTarget,
    TargetsWithoutAddress,
    TargetWithoutAddress,
)
from siptest.sipmessage import parse_message
from siptest.ua.base import Response

KNOWLEDGE = load_knowledge()


def probe(transport, outcome, port=5060, host="sip.example.test", **tls):
    return Probe(transport, host, "192.0.2.10", port, outcome, f"{outcome} detail", dict(tls))


def reach(transport, *outcomes, port=5060):
    return Reach(transport, tuple(probe(transport, o, port) for o in outcomes))


def resolution(failure=None, unresolved=()):
    target = ResolvedTarget("sip.example.test", "192.0.2.10", 5060, "udp", "srv")
    return Resolution(
        "example.test",
        "example.test",
        "127.0.0.1:53",
        (),
        () if failure else (target,),
        tuple(unresolved),
        failure,
    )


def register_check(ok=True, code=200, origin="remote", cause=None, situation=None):
    response = Response("REGISTER", code, "OK" if ok else "Nope", origin, 0.0, local_cause=cause)
    diagnosis = KNOWLEDGE.diagnose(situation or Situation("REGISTER", code))
    return Check("register", ok, diagnosis, response=response)


WRONG_PASSWORD = Situation("REGISTER", 401, "This password is not valid", credentials_sent=True)
SILENT = Situation("REGISTER", 408, origin="none", local_cause="timeout")


def nat(alg=(), behind=False):
    findings = ()
    if behind:
        findings = (Check("media", True, KNOWLEDGE.named("nat.detected"), details={}),)
    return NatEvidence("10.0.0.2:5060", "203.0.113.7", 40000, None, findings, tuple(alg))


def findings(transport="udp", **kwargs):
    base = {"domain": "example.test", "port": None, "transport_given": False}
    base.update(kwargs)
    return Findings(transport=transport, **base)


GOOD_REACH = (reach("udp", "answered"), reach("tcp", "answered"), reach("tls", "answered"))


# -- DNS ------------------------------------------------------------------------------

DNS_FAILURES = [
    (NoSuchName("example.test", "127.0.0.1:53"), "doctor.dns_no_such_name"),
    (NoServerRecords("example.test", "127.0.0.1:53"), "doctor.dns_no_records"),
    (
        TargetsWithoutAddress(
            "example.test",
            (TargetWithoutAddress("x.example.test", 5060, "udp", "_sip._udp SRV ...", True),),
        ),
        "doctor.dns_targets_without_address",
    ),
    (DnsServerSilent("127.0.0.1:53", "example.test. NAPTR", 2.0), "doctor.dns_server_silent"),
    (DnsServerFailed("127.0.0.1:53", "example.test. NAPTR", "REFUSED"), "doctor.dns_server_failed"),
]


@pytest.mark.parametrize(("failure", "verdict"), DNS_FAILURES)
def test_each_dns_failure_is_its_own_verdict(failure, verdict):
    choice = choose(findings(dns=resolution(failure)))
    assert (choice.id, choice.ok, choice.step) == (verdict, False, "dns")
    diagnosis = render(choice, KNOWLEDGE, "udp")
    assert failure.sentence() in diagnosis.explanation


def test_hostile_every_step_failing_names_dns_first():
    choice = choose(
        findings(
            dns=resolution(NoSuchName("example.test", "system")),
            reach=(reach("udp", "silent"), reach("tcp", "refused"), reach("tls", "not_tls")),
            register=register_check(False, 408, "none", "timeout", SILENT),
            nat=nat(alg=(AlgSign("Via", "a", "b"),)),
        )
    )
    assert choice.id == "doctor.dns_no_such_name"


# -- reachability -----------------------------------------------------------------------


def test_udp_silent_but_tcp_answering_says_set_transport_to_tcp():
    choice = choose(
        findings(dns=resolution(), reach=(reach("udp", "silent"), reach("tcp", "answered")))
    )
    assert (choice.id, choice.cases, choice.step) == (
        "doctor.use_other_transport",
        ("udp_blocked",),
        "udp",
    )
    diagnosis = render(choice, KNOWLEDGE, "udp")
    assert diagnosis.title == "UDP to 5060 gets no answer but TCP does"
    assert "Set the device's transport to TCP" in diagnosis.fix


def test_twin_udp_and_tcp_both_silent_is_no_answer_not_a_transport_switch():
    choice = choose(findings(reach=(reach("udp", "silent"), reach("tcp", "dropped"))))
    assert choice.id == "doctor.no_answer"


def test_udp_refused_but_tcp_answering_says_udp_is_not_offered():
    choice = choose(findings(reach=(reach("udp", "port_unreachable"), reach("tcp", "answered"))))
    assert (choice.id, choice.cases) == ("doctor.use_other_transport", ("not_offered",))


def test_nothing_listens_when_every_probe_is_turned_away():
    choice = choose(
        findings(reach=(reach("udp", "port_unreachable"), reach("tcp", "refused"), reach("tls")))
    )
    assert choice.id == "doctor.nothing_listens"
    assert (
        render(choice, KNOWLEDGE, "udp").title == "Nothing listens on port 5060 at sip.example.test"
    )


def test_contradictory_probes_refused_and_dropped_are_neither_listening_nor_silent():
    choice = choose(findings(reach=(reach("udp", "port_unreachable"), reach("tcp", "dropped"))))
    assert choice.id == "doctor.unreachable"
    assert "UDP 192.0.2.10:5060: nothing listens" in str(choice.facts["outcomes"])


def test_a_working_other_transport_is_not_needed_when_the_devices_one_works():
    choice = choose(
        findings(
            reach=(reach("udp", "answered"), reach("tcp", "refused")), register=register_check()
        )
    )
    assert choice.id == "doctor.works"


@pytest.mark.parametrize(
    ("outcome", "problem", "verdict", "cases"),
    [
        ("tls_certificate", "name", "doctor.tls_certificate", ("name",)),
        ("tls_certificate", "expired", "doctor.tls_certificate", ("expired",)),
        ("not_tls", None, "tls.not_tls", ()),
        ("tls_version", None, "siptest.tls_version", ()),
        ("tls_failed", None, "tls.failed", ()),
    ],
)
def test_tls_failures_of_a_tls_device(outcome, problem, verdict, cases):
    tls = Reach("tls", (probe("tls", outcome, 5061, problem=problem, server_name="example.test"),))
    choice = choose(
        findings("tls", reach=(reach("udp", "answered"), reach("tcp", "answered"), tls))
    )
    assert (choice.id, choice.cases) == (verdict, cases)
    assert render(choice, KNOWLEDGE, "tls").id == verdict


def test_twin_a_broken_tls_port_does_not_decide_for_a_udp_device():
    tls = Reach("tls", (probe("tls", "tls_certificate", 5061, problem="name"),))
    choice = choose(
        findings("udp", reach=(reach("udp", "answered"), tls), register=register_check())
    )
    assert choice.id == "doctor.works"


def test_a_certificate_problem_outranks_a_refusal_on_another_tls_target():
    tls = Reach(
        "tls",
        (probe("tls", "refused", 5061), probe("tls", "tls_certificate", 5061, problem="name")),
    )
    assert choose(findings("tls", reach=(tls,))).id == "doctor.tls_certificate"


# -- REGISTER, NAT, call ----------------------------------------------------------------


def test_wrong_password_is_the_registers_own_diagnosis():
    check = register_check(False, 401, situation=WRONG_PASSWORD)
    choice = choose(findings(reach=GOOD_REACH, register=check))
    assert (choice.id, choice.step) == ("credentials.password_invalid", "register")
    assert render(choice, KNOWLEDGE, "udp") is check.diagnosis


def test_contradiction_options_answered_but_register_silent():
    check = register_check(False, 408, "none", "timeout", SILENT)
    choice = choose(findings(reach=GOOD_REACH, register=check))
    assert choice.id == "doctor.register_unanswered"


def test_contradiction_register_worked_although_every_probe_failed_trusts_the_register():
    choice = choose(
        findings(reach=(reach("udp", "silent"), reach("tcp", "dropped")), register=register_check())
    )
    assert choice.id == "doctor.works"


def test_alg_sign_is_the_verdict_after_a_successful_register():
    sign = AlgSign("Via", "10.0.0.2:5060", "203.0.113.7:40000")
    choice = choose(findings(reach=GOOD_REACH, register=register_check(), nat=nat(alg=(sign,))))
    assert (choice.id, choice.ok) == ("doctor.sip_alg", False)
    diagnosis = render(choice, KNOWLEDGE, "udp")
    assert "10.0.0.2:5060" in diagnosis.explanation and "SIP ALG" in diagnosis.fix


def test_twin_nat_without_alg_works_and_says_nat():
    choice = choose(findings(reach=GOOD_REACH, register=register_check(), nat=nat(behind=True)))
    assert (choice.id, choice.cases, choice.ok) == ("doctor.works", ("nat",), True)
    assert render(choice, KNOWLEDGE, "udp").title == "The account works (behind a NAT)"


def test_no_nat_works_plainly():
    choice = choose(findings(reach=GOOD_REACH, register=register_check(), nat=nat()))
    assert (choice.id, choice.cases) == ("doctor.works", ())


def test_a_failed_call_is_the_verdict_after_everything_else_passed():
    call = Check("call", False, KNOWLEDGE.named("media.no_audio"))
    choice = choose(
        findings(reach=GOOD_REACH, register=register_check(), nat=nat(), call=call, call_ok=False)
    )
    assert (choice.id, choice.step) == ("media.no_audio", "call")


def test_srv_target_without_address_with_working_failover_warns_and_names_the_good_one():
    broken = TargetWithoutAddress(
        "sip2.example.test", 5060, "udp", "_sip._udp.example.test SRV 10 0 5060 sip2", True
    )
    choice = choose(
        findings(dns=resolution(unresolved=[broken]), reach=GOOD_REACH, register=register_check())
    )
    assert (choice.id, choice.ok, choice.cases) == (
        "doctor.srv_target_unusable",
        True,
        ("no_address",),
    )
    diagnosis = render(choice, KNOWLEDGE, "udp")
    assert "sip2.example.test" in diagnosis.explanation
    assert "enter sip.example.test" in diagnosis.fix


def test_a_dead_first_target_with_a_live_second_warns():
    udp = Reach(
        "udp", (probe("udp", "silent", 5999, host="dead.example.test"), probe("udp", "answered"))
    )
    choice = choose(findings(reach=(udp,), register=register_check()))
    assert (choice.id, choice.cases) == ("doctor.srv_target_unusable", ("dead",))


# -- ALG signs from the bytes ---------------------------------------------------------

SENT = (
    "REGISTER sip:example.test SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.0.0.2:5062;rport;branch=z9hG4bK1\r\n"
    "From: <sip:1001@example.test>;tag=a\r\nTo: <sip:1001@example.test>\r\n"
    "Call-ID: c1\r\nCSeq: 2 REGISTER\r\nContact: <sip:1001@10.0.0.2:5062>\r\n"
    "Content-Length: 0\r\n\r\n"
)


def ok_with(via, contact):
    return parse_message(
        "SIP/2.0 200 OK\r\n"
        f"Via: {via}\r\n"
        "From: <sip:1001@example.test>;tag=a\r\nTo: <sip:1001@example.test>;tag=b\r\n"
        f"Call-ID: c1\r\nCSeq: 2 REGISTER\r\nContact: {contact}\r\nContent-Length: 0\r\n\r\n"
    )


def test_a_rewritten_via_and_contact_are_alg_signs():
    answer = ok_with(
        "SIP/2.0/UDP 203.0.113.7:40000;rport=40000;branch=z9hG4bK1;received=203.0.113.7",
        "<sip:1001@198.51.100.9:5062>;expires=300",
    )
    signs = alg_signs(parse_message(SENT), answer)
    assert [(s.header, s.sent, s.seen) for s in signs] == [
        ("Via", "10.0.0.2:5062", "203.0.113.7:40000"),
        ("Contact", "10.0.0.2:5062", "198.51.100.9:5062"),
    ]


def test_twin_nat_seen_in_received_and_rport_only_is_no_alg_sign():
    answer = ok_with(
        "SIP/2.0/UDP 10.0.0.2:5062;rport=40000;branch=z9hG4bK1;received=203.0.113.7",
        "<sip:1001@10.0.0.2:5062>;expires=300",
    )
    assert alg_signs(parse_message(SENT), answer) == ()


def test_twin_a_registrar_that_stores_the_address_it_saw_is_no_alg_sign():
    answer = ok_with(
        "SIP/2.0/UDP 10.0.0.2:5062;rport=40000;branch=z9hG4bK1;received=203.0.113.7",
        "<sip:1001@203.0.113.7:40000>;expires=300",
    )
    assert alg_signs(parse_message(SENT), answer) == ()
