"""Which entry wins: the most specific one, deterministically."""

from __future__ import annotations

import textwrap

import pytest

from siptest.knowledge import (
    Conditions,
    Entry,
    Knowledge,
    Profile,
    Situation,
    load_knowledge,
)
from siptest.knowledge.placeholders import fact_text, render

S = Situation


@pytest.mark.parametrize(
    ("situation", "expected"),
    [
        # message text beats the code
        (S("REGISTER", 403, "This account is not valid"), "account.invalid"),
        (S("REGISTER", 403, "Forbidden"), "account.forbidden"),
        (
            S("REGISTER", 401, "This password is not valid", credentials_sent=True),
            "credentials.password_invalid",
        ),
        (
            S("INVITE", 407, "This password is not valid", credentials_sent=True),
            "credentials.password_invalid",
        ),
        (S("INVITE", 403, "This call is not covered by your tariff plan"), "tariff.not_covered"),
        (S("INVITE", 403, "Forbidden"), "routing.forbidden"),
        (
            S("INVITE", 403, "Auth user does not match From/To user"),
            "credentials.auth_user_mismatch",
        ),
    ],
)
def test_message_text_beats_code(situation, expected):
    assert load_knowledge().diagnose(situation).id == expected


@pytest.mark.parametrize(
    "warning",
    [
        '399 siptest.local "This call is not covered by your tariff plan"',
        '399 sip.example.net "THIS CALL IS NOT COVERED BY YOUR TARIFF PLAN"',
    ],
)
def test_message_text_is_found_in_the_warning_header_case_insensitively(warning):
    situation = S("INVITE", 403, "Forbidden", warning=warning)
    assert load_knowledge().diagnose(situation).id == "tariff.not_covered"


@pytest.mark.parametrize(
    ("situation", "expected"),
    [
        (S("REGISTER", 408, origin="local", local_cause="timeout"), "network.no_response"),
        (S("REGISTER", 408, origin="local"), "network.no_response"),
        (S("REGISTER", None, origin="none"), "network.no_response"),
        (S("REGISTER", 408), "server.timeout"),
        (S("INVITE", 408), "routing.next_hop_timeout"),
        (S("REGISTER", 503, origin="local", local_cause="refused"), "network.refused"),
        (S("REGISTER", 503, origin="local", local_cause="tls", transport="tls"), "tls.failed"),
        (S("REGISTER", 503, origin="local", local_cause="unreachable"), "network.unreachable"),
        (S("REGISTER", 503, origin="local"), "network.transport_failed"),
        (S("REGISTER", 503, "Service Unavailable"), "server.unavailable"),
        (S("REGISTER", 502, origin="local"), "network.dns"),
        (S("REGISTER", None, origin="none", local_cause="dns"), "network.dns"),
        (S("INVITE", 502), "routing.bad_gateway"),
        (
            S("INVITE", 487, origin="local", local_cause="interrupted", cancelled_by_us=True),
            "ok.cancelled",
        ),
        (
            # interrupted (Ctrl-C) while the far end answered: still siptest's own stop
            S("INVITE", 200, origin="local", local_cause="interrupted", cancelled_by_us=True),
            "ok.cancelled",
        ),
        (S("INVITE", 480, origin="local"), "network.local_failure"),
        (S("REGISTER", None, origin="none", local_cause="limit"), "server.loop_limit"),
    ],
)
def test_origin_and_local_cause_beat_remote_defaults(situation, expected):
    assert load_knowledge().diagnose(situation).id == expected


@pytest.mark.parametrize(
    ("situation", "expected"),
    [
        (S("INVITE", 408, provisional=(100, 180)), "callee.no_answer"),
        (S("INVITE", 408, provisional=(100,)), "routing.next_hop_timeout"),
        (
            S("REGISTER", 408, origin="local", local_cause="timeout", provisional=(100,)),
            "network.lost_after_provisional",
        ),
        (S("REGISTER", 401, credentials_sent=True), "credentials.rejected"),
        (S("REGISTER", 401), "credentials.unauthorized"),
        (S("INVITE", 407, credentials_sent=True), "credentials.rejected"),
        (S("INVITE", 407), "credentials.proxy_auth"),
        (S("INVITE", 487, cancelled_by_us=True), "routing.no_ringing"),
        (S("INVITE", 487, cancelled_by_us=True, provisional=(180,)), "callee.ring_timeout"),
        (S("INVITE", 487), "callee.cancelled"),
        # a 2xx that crossed our CANCEL (RFC 3261 9.1) is no answer in time; its twin,
        # the same 200 OK without our CANCEL, is the answered call
        (
            S("INVITE", 200, cancelled_by_us=True, provisional=(180,)),
            "callee.answered_after_cancel",
        ),
        (S("INVITE", 200, cancelled_by_us=True), "callee.answered_after_cancel"),
        (S("INVITE", 200, provisional=(180,)), "ok.answered"),
        (
            S("REGISTER", 401, credentials_sent=True, server="Asterisk PBX 20.5.0"),
            "credentials.rejected.asterisk",
        ),
        (
            S("REGISTER", 403, credentials_sent=True, server="FreeSWITCH-mod_sofia/1.10.9"),
            "credentials.rejected.freeswitch",
        ),
        (S("REGISTER", 403, credentials_sent=True, server="Kamailio (5.6.3)"), "account.forbidden"),
    ],
)
def test_context_beats_the_bare_code(situation, expected):
    assert load_knowledge().diagnose(situation).id == expected


@pytest.mark.parametrize(
    ("code", "register_id", "invite_id"),
    [
        (200, "ok.registered", "ok.answered"),
        (403, "account.forbidden", "routing.forbidden"),
        (404, "account.not_found", "number.not_found"),
        (408, "server.timeout", "routing.next_hop_timeout"),
        (480, "server.temporarily_unavailable", "callee.unavailable"),
        (484, "account.address_incomplete", "number.incomplete"),
        (500, "device.register_conflict", "server.internal_error"),
    ],
)
def test_register_and_invite_get_their_own_diagnosis(code, register_id, invite_id):
    knowledge = load_knowledge()
    assert knowledge.diagnose(S("REGISTER", code)).id == register_id
    assert knowledge.diagnose(S("INVITE", code)).id == invite_id


@pytest.mark.parametrize(
    ("code", "credentials_sent"), [(401, True), (500, False), (503, False), (501, False)]
)
def test_register_and_invite_wording_differs_within_one_entry(code, credentials_sent):
    knowledge = load_knowledge()
    register = knowledge.diagnose(S("REGISTER", code, credentials_sent=credentials_sent))
    invite = knowledge.diagnose(S("INVITE", code, credentials_sent=credentials_sent))
    if register.id == invite.id:
        assert register.explanation != invite.explanation
    else:
        assert register.category != invite.category or register.title != invite.title


def test_method_is_matched_case_insensitively():
    knowledge = load_knowledge()
    assert knowledge.diagnose(S("register", 200)).id == "ok.registered"


# -- profile over base, file order, determinism -------------------------------------------


def write_profile(tmp_path, entries_yaml):
    path = tmp_path / "overlay.yaml"
    path.write_text("profile:\n  name: overlay\nentries:\n" + textwrap.indent(entries_yaml, "  "))
    return path


def test_a_profile_entry_beats_a_base_entry_of_equal_specificity(tmp_path):
    path = write_profile(
        tmp_path,
        textwrap.dedent(
            """\
            - id: callee.busy_at_my_provider
              match: {code: 486}
              category: callee
              severity: warning
              title: Busy, says my provider
              explanation: The other side is busy.
              fix: Try later.
              rfc: null
            """
        ),
    )
    assert load_knowledge(path).diagnose(S("INVITE", 486)).id == "callee.busy_at_my_provider"
    assert load_knowledge().diagnose(S("INVITE", 486)).id == "callee.busy"


def test_a_more_specific_base_entry_still_beats_a_profile_entry(tmp_path):
    path = write_profile(
        tmp_path,
        textwrap.dedent(
            """\
            - id: server.anything_5xx
              match: {code: 5xx}
              category: server
              severity: error
              title: Server trouble
              explanation: The server had trouble.
              fix: Try later.
              rfc: null
            """
        ),
    )
    knowledge = load_knowledge(path)
    assert knowledge.diagnose(S("INVITE", 503)).id == "server.unavailable"
    assert knowledge.diagnose(S("INVITE", 599)).id == "server.anything_5xx"


def test_ties_within_a_file_go_to_the_first_entry(tmp_path):
    entry = textwrap.dedent(
        """\
        - id: callee.{name}
          match: {{code: 486}}
          category: callee
          severity: warning
          title: "{name}"
          explanation: x.
          fix: y.
          rfc: null
        """
    )
    path = write_profile(tmp_path, entry.format(name="first") + entry.format(name="second"))
    assert load_knowledge(path).diagnose(S("INVITE", 486)).id == "callee.first"


def make_entry(id_, conditions, order, layer=0):
    return Entry(
        id=id_,
        alternatives=(conditions,),
        category="none",
        severity="info",
        title=id_,
        explanation="x",
        fix="y",
        rfc=None,
        layer=layer,
        order=order,
    )


@pytest.mark.parametrize("reverse", [False, True])
def test_the_choice_does_not_depend_on_list_order(reverse):
    entries = [
        make_entry("a.first", Conditions(codes=frozenset({486})), order=0),
        make_entry("a.second", Conditions(codes=frozenset({486})), order=1),
        make_entry("a.profile", Conditions(classes=frozenset({4})), order=2, layer=1),
        make_entry("a.catch_all", Conditions(), order=3),
    ]
    knowledge = Knowledge(entries[::-1] if reverse else entries, Profile("test"), {})
    assert knowledge.diagnose(S("INVITE", 486)).id == "a.first"
    assert knowledge.diagnose(S("INVITE", 499)).id == "a.profile"
    assert knowledge.diagnose(S("INVITE", 200)).id == "a.catch_all"


@pytest.mark.parametrize(
    ("stronger", "weaker"),
    [
        (Conditions(texts=("x",)), Conditions(codes=frozenset({403}), methods=frozenset({"A"}))),
        (Conditions(origins=frozenset({"local"})), Conditions(codes=frozenset({408}))),
        (
            Conditions(origins=frozenset({"local"}), local_causes=frozenset({"tls"})),
            Conditions(origins=frozenset({"local"}), codes=frozenset({503})),
        ),
        (
            Conditions(codes=frozenset({403}), methods=frozenset({"REGISTER"})),
            Conditions(codes=frozenset({403})),
        ),
        (Conditions(codes=frozenset({403})), Conditions(classes=frozenset({4}))),
        (Conditions(classes=frozenset({4})), Conditions()),
    ],
)
def test_specificity_orders_conditions_as_documented(stronger, weaker):
    assert stronger.specificity > weaker.specificity


# -- placeholders ------------------------------------------------------------------------


def test_facts_fill_placeholders_and_the_situation_supplies_code_and_transport():
    situation = S("REGISTER", 408, origin="local", local_cause="timeout", transport="tcp")
    facts = {"host": "sip.example.net", "port": 5061, "timeout": 5.0}
    diagnosis = load_knowledge().diagnose(situation, facts)
    assert "sip.example.net:5061 over TCP within 5 seconds" in diagnosis.explanation


def test_missing_facts_drop_the_optional_parts():
    diagnosis = load_knowledge().diagnose(S("REGISTER", 503, origin="local", local_cause="refused"))
    assert diagnosis.explanation.startswith("Nothing accepted the connection over UDP:")


def test_retry_after_and_min_expires_are_quoted_when_known():
    knowledge = load_knowledge()
    unavailable = knowledge.diagnose(S("REGISTER", 503), {"retry_after": 30})
    assert "wait 30 seconds" in unavailable.explanation
    assert "Wait at least 30 seconds" in unavailable.fix
    too_short = knowledge.diagnose(S("REGISTER", 423), {"min_expires": 600})
    assert "(600 seconds)" in too_short.fix
    assert "Min-Expires value." in knowledge.diagnose(S("REGISTER", 423)).fix


def test_caller_facts_override_profile_facts():
    knowledge = load_knowledge("sipcall")
    diagnosis = knowledge.diagnose(S("INVITE", 504), {"provider": "Acme"})
    assert diagnosis.fix.endswith("report it to Acme.")


@pytest.mark.parametrize(
    ("template", "values", "expected"),
    [
        ("at {host}:{port}", {"host": "h", "port": "1"}, "at h:1"),
        ("nothing[[ at {host}:{port}]].", {"host": "h"}, "nothing."),
        ("nothing[[ at {host}:{port}]].", {"host": "h", "port": "1"}, "nothing at h:1."),
        ("wait {retry_after|a while}.", {}, "wait a while."),
        ("wait {retry_after|a while}.", {"retry_after": "9"}, "wait 9."),
        ("ask {provider}.", {}, "ask your provider."),
        ("an {unknown_thing}.", {}, "an unknown thing."),
        ("{ not a placeholder }", {}, "{ not a placeholder }"),
    ],
)
def test_rendering_never_raises_and_reads_sensibly(template, values, expected):
    assert render(template, values, {"provider": "your provider"}) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [(5.0, "5"), (2.5, "2.5"), (None, ""), ([180, 183], "180, 183"), (True, "yes"), (" a ", "a")],
)
def test_fact_values_are_written_plainly(value, text):
    assert fact_text(value) == text


def test_diagnose_accepts_any_mapping_of_facts_including_unknown_ones():
    diagnosis = load_knowledge().diagnose(S("INVITE", 486), {"password": "s3cret", "x": object()})
    assert "s3cret" not in diagnosis.explanation + diagnosis.fix + diagnosis.title


@pytest.mark.parametrize(
    ("situation", "expected"),
    [
        # RFC 3261 20.43: a Warning does not change what a success means
        (S("INVITE", 200, "OK", warning='399 sbc "Low balance: 1.20 EUR left"'), "ok.answered"),
        (S("REGISTER", 200, "OK", warning='399 reg "Account expired soon"'), "ok.registered"),
        # the same words on a failure still decide
        (S("INVITE", 403, "Forbidden", warning='399 sbc "Low balance"'), "tariff.no_credit"),
    ],
)
def test_text_rules_without_a_code_do_not_turn_a_success_into_a_failure(situation, expected):
    assert load_knowledge().diagnose(situation).id == expected
