"""`--nagios` output: the range parser, thresholds, perfdata and the four states."""

from __future__ import annotations

import math

import pytest
from plugin_grammar import parse_plugin_output

from siptest.analysis.details import NatEvidence
from siptest.analysis.expectations import apply_expectation
from siptest.analysis.model import Check, Report
from siptest.analysis.preflight import check_number
from siptest.knowledge import Diagnosis as Verdict
from siptest.knowledge import Situation, load_knowledge
from siptest.report.json import report_json
from siptest.report.nagios import (
    LABELS,
    RangeError,
    State,
    Thresholds,
    label_text,
    parse_range,
    parse_thresholds,
    render_report,
    render_runs,
    render_unknown,
)
from siptest.ua.base import Response

NONE = Thresholds({}, {})


# -- the range syntax ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "alerting", "quiet"),
    [
        ("10", [-0.1, 10.5, 11], [0, 5, 10]),
        ("10:", [9.99, 0, -3], [10, 10.1, 1e9]),
        ("~:10", [10.01, 100], [10, 0, -1e9]),
        ("10:20", [9.9, 20.1, 0], [10, 15, 20]),
        ("@10:20", [10, 15, 20], [9.9, 20.1, 0]),
        ("0.5", [0.51, -0.01], [0, 0.25, 0.5]),
        ("3.6:", [3.59, 1], [3.6, 4.5]),
        ("-5:5", [-5.1, 5.1], [-5, 0, 5]),
        ("@~:0", [-1, 0], [0.001]),
        (".5", [0.6], [0.5, 0]),
        ("~:", [], [-1e12, 0, 1e12]),
    ],
)
def test_each_range_form_alerts_exactly_where_the_guidelines_say(text, alerting, quiet):
    limit = parse_range(text)
    assert limit.text == text
    for value in alerting:
        assert limit.alerts(value), (text, value)
    for value in quiet:
        assert not limit.alerts(value), (text, value)


def test_the_short_forms_mean_what_the_guidelines_say():
    assert (parse_range("10").start, parse_range("10").end) == (0, 10)
    assert (parse_range("10:").start, parse_range("10:").end) == (10, math.inf)
    assert parse_range("~:10").start == -math.inf
    assert parse_range("@10:20").inside and not parse_range("10:20").inside


@pytest.mark.parametrize(
    "text",
    [
        "",
        "@",
        ":",
        ":10",
        "20:10",
        "@20:10",
        "abc",
        "10:~",
        "~",
        "1e3",
        "nan",
        "inf",
        "-inf:0",
        "10;20",
        " 10",
        "10 ",
        "@@10",
        "10:20:30",
        "--5",
        "1" * 400,
        "0x10",
        "10s",
        "１０",
    ],
)
def test_hostile_ranges_are_refused_with_the_syntax_in_the_message(text):
    with pytest.raises(RangeError) as refused:
        parse_range(text)
    assert "range" in str(refused.value) or "too large" in str(refused.value)


def test_thresholds_are_label_equals_range_for_measured_labels_only():
    limits = parse_thresholds(["register=0.5", "mos=3.6:"], ["mos=3.1:"])
    assert limits.warning["register"].end == 0.5
    assert limits.critical["mos"].start == 3.1
    assert set(LABELS) >= set(limits.warning)


@pytest.mark.parametrize(
    ("warning", "labels", "words"),
    [
        (["register"], LABELS, "LABEL=RANGE"),
        (["latency=1"], LABELS, "not measured here"),
        (["mos=3.6:"], ("register",), "not measured here"),
        (["register=1", "register=2"], LABELS, "given twice"),
        (["register=1:0"], LABELS, "greater than its end"),
        (["=1"], LABELS, "not measured here"),
    ],
)
def test_wrong_threshold_options_say_what_to_do(warning, labels, words):
    with pytest.raises(RangeError) as refused:
        parse_thresholds(warning, [], labels)
    assert words in str(refused.value)


# -- perfdata ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "shown"),
    [
        ("register", "register"),
        ("loss_sent", "loss_sent"),
        ("ATA self check", "'ATA self check'"),
        ("it's", "'it''s'"),
        ("a=b", "a_b"),
    ],
)
def test_labels_are_quoted_only_when_they_must_be(label, shown):
    assert label_text(label) == shown


# -- the report, in the four states --------------------------------------------------


def verdict(id_: str, category: str, severity: str, title: str) -> Verdict:
    return Verdict(id_, category, severity, title, f"why {id_}", f"fix {id_}")


def registered(ms: float = 34.0) -> Check:
    return Check(
        kind="register",
        ok=True,
        diagnosis=verdict("ok.registered", "none", "ok", "Registered"),
        target="sip:1001@127.0.0.1:5070",
        transport="udp",
        response=Response("REGISTER", 200, "OK", origin="remote", at=0.0),
        duration_ms=ms,
    )


def unregistered(ok: bool = True) -> Check:
    return Check(
        kind="unregister",
        ok=ok,
        diagnosis=None
        if ok
        else verdict(
            "cleanup.unregister_failed",
            "server",
            "warning",
            "The registration could not be removed",
        ),
        response=Response(
            "REGISTER",
            200 if ok else 500,
            "OK" if ok else "Server Internal Error",
            origin="remote",
            at=0.0,
        ),
        duration_ms=2.0,
    )


def media_section(mos_in: float = 4.4, mos_out: float = 4.3, loss_in: float = 0.0) -> dict:
    return {
        "mos": min(mos_in, mos_out),
        "sent": {"packets": 100, "lost": 0, "loss_percent": 0.0, "mos": mos_out},
        "received": {"packets": 100, "lost": 1, "loss_percent": loss_in, "mos": mos_in},
    }


def answered(media: dict, answer_ms: float = 1006.5) -> Check:
    return Check(
        kind="call",
        ok=True,
        diagnosis=verdict("ok.answered", "none", "ok", "Call answered"),
        target="sip:7000@127.0.0.1:5070",
        transport="udp",
        response=Response("REGISTER", 200, "OK", origin="remote", at=0.0),
        duration_ms=2100.0,
        details={"answer_ms": answer_ms, "media": media},
    )


def plugin(checks: list[Check], limits: Thresholds = NONE, **report: object):
    output = render_report(report_json(Report(tuple(checks), **report)), limits)
    state, items, long_lines = parse_plugin_output(output.text)
    assert state == output.state.name
    return output, items, long_lines


def test_pass_is_ok_with_the_register_time_in_seconds():
    output, items, long_lines = plugin([registered(34.0), unregistered()])
    assert output.state == State.OK == 0
    assert output.text.startswith("SIPTEST OK - Registered | ")
    assert items == {"register": "register=0.034s;;;0"}
    assert not any(line.startswith("Fix:") for line in long_lines)


def test_wrong_password_is_critical_with_explanation_and_fix():
    rejected = Check(
        kind="register",
        ok=False,
        diagnosis=verdict(
            "credentials.password_invalid", "credentials", "error", "The SIP password is wrong"
        ),
        target="sip:1001@127.0.0.1:5070",
        transport="udp",
        response=Response("REGISTER", 401, "This password is not valid", origin="remote", at=0.0),
        duration_ms=3.0,
    )
    output, _, long_lines = plugin([rejected])
    assert output.state == State.CRITICAL == 2
    assert output.text.startswith("SIPTEST CRITICAL - The SIP password is wrong | register=0.003s")
    assert "Why: why credentials.password_invalid" in long_lines
    assert "Fix: fix credentials.password_invalid" in long_lines
    assert any("401 This password is not valid (sent by the server)" in line for line in long_lines)


def test_a_failed_clean_up_after_a_pass_is_a_warning_not_critical():
    output, _, _ = plugin([registered(), unregistered(ok=False)])
    assert output.state == State.WARNING
    assert "The registration could not be removed" in output.text.splitlines()[0]


def test_a_nat_finding_of_severity_warning_is_a_warning_and_info_is_not():
    def nat(severity: str) -> Check:
        return Check(
            kind="media",
            ok=True,
            diagnosis=verdict("nat.private_contact", "network", severity, "Behind NAT"),
            nat=NatEvidence(),
        )

    assert plugin([registered(), nat("warning")])[0].state == State.WARNING
    assert plugin([registered(), nat("info")])[0].state == State.OK


def test_answered_call_perfdata_has_answer_time_mos_and_loss_per_direction():
    output, items, _ = plugin([registered(), answered(media_section(4.4, 4.3, 1.5))])
    assert output.state == State.OK
    assert output.text.startswith("SIPTEST OK - Call answered |")
    assert items["invite_to_answer"] == "invite_to_answer=1.0065s;;;0"
    assert items["mos"] == "mos=4.3;;;1;4.5"
    assert items["loss_sent"] == "loss_sent=0%;;;0;100"
    assert items["loss_received"] == "loss_received=1.5%;;;0;100"


def test_mos_below_the_warning_range_degrades_and_below_critical_fails():
    checks = [registered(), answered(media_section(3.4, 3.4))]
    warn = parse_thresholds(["mos=3.6:"], ["mos=3.1:"])
    output, items, _ = plugin(checks, warn)
    assert output.state == State.WARNING
    assert items["mos"] == "mos=3.4;3.6:;3.1:;1;4.5"
    worse = [registered(), answered(media_section(3.0, 3.4))]
    assert plugin(worse, warn)[0].state == State.CRITICAL


def test_a_slow_registration_breaches_its_threshold_and_a_fast_one_does_not():
    limits = parse_thresholds(["register=0.5"], ["register=2"])
    assert plugin([registered(700.0)], limits)[0].state == State.WARNING
    assert plugin([registered(2500.0)], limits)[0].state == State.CRITICAL
    assert plugin([registered(400.0)], limits)[0].state == State.OK


@pytest.mark.parametrize(
    ("given", "in_perfdata"),
    [("+0.5", "0.5"), ("@+0.1:+0.5", "@0.1:0.5"), ("+0:", "0:"), ("~:+1", "~:1")],
)
def test_a_plus_sign_is_taken_but_perfdata_carries_the_range_in_its_grammar(given, in_perfdata):
    # strtod (the monitoring-plugins C library) takes a '+'; perfdata's numbers are
    # [-0-9.] only, and graphers parse them so
    limits = parse_thresholds([f"register={given}"], [])
    _, items, _ = plugin([registered(300.0)], limits)
    assert items["register"] == f"register=0.3s;{in_perfdata};;0"


def test_a_range_without_a_sign_reaches_perfdata_as_given():
    _, items, _ = plugin([registered(300.0)], parse_thresholds(["register=0.50"], ["register=.9"]))
    assert items["register"] == "register=0.3s;0.50;.9;0"


def test_a_threshold_on_something_not_measured_is_unknown_not_ok():
    output, _, long_lines = plugin([registered()], parse_thresholds(["mos=3.6:"], []))
    assert output.state == State.UNKNOWN
    assert "mos was not measured: the threshold on it could not be checked." in long_lines


def test_an_interrupted_check_is_unknown():
    output, _, _ = plugin([registered()], interrupted=True)
    assert output.state == State.UNKNOWN
    assert "interrupted" in output.text.splitlines()[0]


def test_a_pipe_or_line_break_from_the_server_cannot_forge_perfdata_or_a_status():
    hostile = Check(
        kind="register",
        ok=False,
        diagnosis=verdict("server.x", "server", "error", "Bad | mos=4.5\nSIPTEST OK - fine"),
        target="sip:1001@127.0.0.1:5070",
        transport="udp",
        response=Response(
            "REGISTER", 500, "Oops | register=0s\nSIPTEST OK - all good", origin="remote", at=0.0
        ),
        duration_ms=5.0,
    )
    output, items, long_lines = plugin([hostile])
    assert output.state == State.CRITICAL
    assert set(items) == {"register"}
    assert items["register"] == "register=0.005s;;;0"
    assert output.text.splitlines()[0] == (
        "SIPTEST CRITICAL - Bad ¦ mos=4.5 SIPTEST OK - fine | register=0.005s;;;0"
    )
    assert not any(line.startswith("SIPTEST") for line in long_lines)


@pytest.mark.parametrize("brk", ["\x85", "\u2028", "\u2029", "\x0b", "\x1c"])
def test_a_unicode_line_break_from_the_server_cannot_start_a_line_either(brk):
    # NEL, LINE/PARAGRAPH SEPARATOR: line breaks to str.splitlines() and to readers that
    # follow Unicode, so a consumer splitting on them would see a forged status line.
    hostile = Check(
        kind="register",
        ok=True,
        diagnosis=verdict("ok.registered", "none", "ok", "Registered"),
        target="sip:1001@127.0.0.1:5070",
        transport="udp",
        response=Response("REGISTER", 200, f"OK{brk}SIPTEST CRITICAL - forged", "remote", 0.0),
        duration_ms=5.0,
    )
    output, _, long_lines = plugin([hostile])
    assert output.state == State.OK
    assert output.text.splitlines() == output.text.split("\n")[:-1]
    assert long_lines[0].endswith(": 200 OK SIPTEST CRITICAL - forged (sent by the server)")


def test_printable_text_beyond_ascii_from_the_server_is_kept():
    kept = Check(
        kind="register",
        ok=False,
        diagnosis=verdict("account.forbidden", "account", "error", "Refused"),
        target="sip:1001@127.0.0.1:5070",
        transport="udp",
        response=Response("REGISTER", 403, "Accès refusé — 禁止", "remote", 0.0),
        duration_ms=5.0,
    )
    _, _, long_lines = plugin([kept])
    assert ": 403 Accès refusé — 禁止 (sent by the server)" in long_lines[0]


def test_cannot_run_is_one_unknown_line():
    output = render_unknown("No SIP password given.\nSet SIPTEST_PASSWORD | or else")
    assert output.state == State.UNKNOWN == 3
    state, items, long_lines = parse_plugin_output(output.text)
    assert (state, items, long_lines) == ("UNKNOWN", {}, [])


# -- siptest run ---------------------------------------------------------------------


def scenario(name: str, status: str, checks: list[Check], **extra: object) -> dict:
    from siptest.report.json import check_json

    return {"name": name, "status": status, "checks": [check_json(c) for c in checks], **extra}


def runs(*scenarios: dict, interrupted: bool = False) -> dict:
    statuses = [s["status"] for s in scenarios]
    summary = {
        "scenarios": len(scenarios),
        "passed": statuses.count("passed"),
        "failed": statuses.count("failed"),
        "errors": statuses.count("error"),
    }
    return {"interrupted": interrupted, "summary": summary, "scenarios": list(scenarios)}


def test_run_passing_is_ok_with_counts():
    output = render_runs(runs(scenario("ATA self-check", "passed", [registered()])), NONE)
    state, items, _ = parse_plugin_output(output.text)
    assert (state, output.state) == ("OK", State.OK)
    assert items["passed"] == "passed=1;;;0" and items["failed"] == "failed=0;;;0"


def test_run_with_a_failed_scenario_is_critical_naming_the_unmet_expectation():
    failure = {
        "step_name": "call 7000",
        "problems": ["expected the call answered, it was not answered (404 Not Found)"],
        "diagnosis": {
            "id": "number.not_found",
            "title": "Not found",
            "explanation": "e",
            "fix": "f",
        },
    }
    output = render_runs(
        runs(
            scenario("good", "passed", [registered()]),
            scenario("CI smoke", "failed", [registered()], failures=[failure]),
        ),
        NONE,
    )
    _, _, long_lines = parse_plugin_output(output.text)
    assert output.state == State.CRITICAL
    assert "CI smoke: expected the call answered" in output.text.splitlines()[0]
    assert "Fix: f" in long_lines


def test_run_with_a_scenario_that_could_not_run_is_unknown():
    output = render_runs(
        runs(scenario("lab", "error", [], error="Could not bind UDP 0.0.0.0:5060")), NONE
    )
    assert output.state == State.UNKNOWN
    assert "Could not bind" in output.text.splitlines()[0]


# -- the state of each kind of check, from the real knowledge base --------------------

KNOWLEDGE = load_knowledge()


def answered_with(
    kind: str,
    code: int,
    reason: str,
    *,
    provisional: tuple[int, ...] = (),
    origin: str = "remote",
    local_cause: str | None = None,
) -> Check:
    """A register or call check answered `code`, diagnosed as siptest diagnoses it."""
    method = "REGISTER" if kind == "register" else "INVITE"
    situation = Situation(
        method=method,
        code=code,
        reason=reason,
        origin=origin,
        provisional=provisional,
        credentials_sent=True,
        local_cause=local_cause,
    )
    return Check(
        kind=kind,
        ok=False,
        diagnosis=KNOWLEDGE.diagnose(situation),
        target="sip:1001@127.0.0.1:5070" if kind == "register" else "sip:7000@127.0.0.1:5070",
        transport="udp",
        response=Response(method, code, reason, origin=origin, at=0.0, local_cause=local_cause),
        duration_ms=4.0,
        details={"provisional": list(provisional)} if kind == "call" else {},
    )


@pytest.mark.parametrize(
    ("code", "reason", "entry"),
    [
        (302, "Moved Temporarily", "routing.moved_temporarily"),
        (423, "Interval Too Brief", "config.expires_too_short"),
    ],
)
def test_a_failed_registration_of_warning_severity_is_still_critical(code, reason, entry):
    rejected = answered_with("register", code, reason)
    assert (rejected.diagnosis.id, rejected.diagnosis.severity) == (entry, "warning")
    output, _, _ = plugin([rejected])
    assert output.state == State.CRITICAL
    assert output.text.startswith(f"SIPTEST CRITICAL - {rejected.diagnosis.title} |")


@pytest.mark.parametrize(
    ("code", "reason", "provisional", "entry"),
    [
        (486, "Busy Here", (), "callee.busy"),
        (480, "Temporarily Unavailable", (), "callee.unavailable"),
        (603, "Decline", (), "callee.declined"),
        (408, "Request Timeout", (100, 180), "callee.no_answer"),
    ],
)
def test_an_unanswered_call_is_critical_whatever_the_severity_of_its_diagnosis(
    code, reason, provisional, entry
):
    call = answered_with("call", code, reason, provisional=provisional)
    assert (call.diagnosis.id, call.diagnosis.severity) == (entry, "warning")
    output, _, long_lines = plugin([registered(), call])
    assert output.state == State.CRITICAL
    assert output.text.startswith(f"SIPTEST CRITICAL - {call.diagnosis.title} |")
    assert any(f"{code} {reason} (sent by the server)" in line for line in long_lines)


def test_a_call_answered_as_expected_is_ok_not_a_warning():
    busy = answered_with("call", 486, "Busy Here")
    expected = apply_expectation(busy, 486, KNOWLEDGE)
    assert expected.details["expectation_met"] is True
    output, _, _ = plugin([registered(), expected])
    assert output.state == State.OK
    assert output.text.startswith(f"SIPTEST OK - {busy.diagnosis.title} |")


def test_a_call_expected_busy_that_was_unavailable_is_critical():
    unavailable = answered_with("call", 480, "Temporarily Unavailable")
    unmet = apply_expectation(unavailable, 486, KNOWLEDGE)
    assert unmet.details["expectation_met"] is False
    assert plugin([registered(), unmet])[0].state == State.CRITICAL


def test_a_failed_media_check_of_warning_severity_is_critical():
    media = Check(kind="media", ok=False, diagnosis=KNOWLEDGE.named("media.marginal_quality"))
    assert media.diagnosis.severity == "warning"
    output, _, _ = plugin([registered(), answered(media_section()), media])
    assert output.state == State.CRITICAL
    assert media.diagnosis.title in output.text.splitlines()[0]


def test_a_passing_media_check_of_marginal_quality_is_a_warning():
    media = Check(kind="media", ok=True, diagnosis=KNOWLEDGE.named("media.marginal_quality"))
    assert plugin([registered(), answered(media_section()), media])[0].state == State.WARNING


def test_a_dial_stopped_before_any_packet_is_critical():
    _, findings = check_number("+41441234567", load_knowledge("sipcall"))
    stopped = [finding for finding in findings if not finding.ok]
    assert [finding.diagnosis.id for finding in stopped] == ["preflight.number_plus_form"]
    output, _, _ = plugin([registered(), *stopped])
    assert output.state == State.CRITICAL


def resolution(diagnosis_id: str, ok: bool) -> Check:
    return Check(
        kind="resolution",
        ok=ok,
        diagnosis=KNOWLEDGE.named(diagnosis_id, {"domain": "sip.example"}),
        target="sip.example",
    )


def test_a_failed_resolution_is_critical():
    output, _, _ = plugin([resolution("dns.no_such_name", ok=False)])
    assert output.state == State.CRITICAL


def test_a_resolution_with_a_target_without_address_is_a_warning_when_it_passed():
    output, _, _ = plugin([resolution("dns.target_without_address", ok=True), registered()])
    assert output.state == State.WARNING
    assert KNOWLEDGE.named("dns.target_without_address").title in output.text.splitlines()[0]


def test_an_unanswered_bye_is_a_warning():
    hangup = Check(kind="hangup", ok=False, diagnosis=KNOWLEDGE.named("cleanup.bye_unanswered"))
    output, _, _ = plugin([registered(), answered(media_section()), hangup])
    assert output.state == State.WARNING


@pytest.mark.parametrize(
    ("code", "reason", "cause", "entry"),
    [
        (503, "TLS 1.3 required", "tls_version", "siptest.tls_version"),
        (513, "Message Too Large", "too_large", "siptest.packet_limit"),
        (401, "Unauthorized", "challenge", "siptest.unsupported_challenge"),
    ],
)
def test_a_limit_of_siptest_is_unknown_with_its_title(code, reason, cause, entry):
    limited = answered_with("register", code, reason, origin="local", local_cause=cause)
    assert (limited.diagnosis.id, limited.diagnosis.category) == (entry, "siptest")
    output, _, long_lines = plugin([limited])
    assert output.state == State.UNKNOWN == 3
    assert output.text.startswith(f"SIPTEST UNKNOWN - {limited.diagnosis.title} |")
    assert f"What: {limited.diagnosis.title} [{entry}]" in long_lines


def test_a_real_failure_outranks_a_limit_of_siptest():
    limited = answered_with("register", 503, "TLS", origin="local", local_cause="tls_version")
    busy = answered_with("call", 486, "Busy Here")
    assert plugin([limited, busy])[0].state == State.CRITICAL


def test_a_scenario_step_that_met_its_expectation_is_ok_not_a_warning():
    busy = answered_with("call", 486, "Busy Here")
    met = Check(
        kind="call",
        ok=True,
        diagnosis=busy.diagnosis,
        target=busy.target,
        response=busy.response,
        details={"expectation_met": True},
    )
    output = render_runs(runs(scenario("busy line", "passed", [registered(), met])), NONE)
    assert output.state == State.OK
    assert output.text.startswith("SIPTEST OK - 1 of 1 scenarios passed")


def test_a_scenario_with_a_nat_warning_is_still_a_warning():
    nat = Check(
        kind="media",
        ok=True,
        diagnosis=KNOWLEDGE.named("nat.private_contact"),
        nat=NatEvidence(),
    )
    output = render_runs(runs(scenario("behind nat", "passed", [registered(), nat])), NONE)
    assert output.state == State.WARNING


def test_a_scenario_stopped_by_a_limit_of_siptest_is_unknown_with_its_title():
    limited = answered_with("register", 503, "TLS", origin="local", local_cause="tls_version")
    failure = {
        "step_name": "register alice",
        "problems": ["expected the registration to pass, it failed (503 TLS)"],
        "diagnosis": limited.diagnosis.as_json(),
    }
    output = render_runs(runs(scenario("tls only", "failed", [limited], failures=[failure])), NONE)
    assert output.state == State.UNKNOWN
    assert output.text.startswith(f"SIPTEST UNKNOWN - tls only: {limited.diagnosis.title} |")


def test_a_scenario_failure_outranks_another_scenario_stopped_by_a_limit_of_siptest():
    limited = answered_with("register", 503, "TLS", origin="local", local_cause="tls_version")
    busy = answered_with("call", 486, "Busy Here")

    def failed(name: str, check: Check) -> dict:
        failure = {"step_name": "s", "problems": ["p"], "diagnosis": check.diagnosis.as_json()}
        return scenario(name, "failed", [check], failures=[failure])

    output = render_runs(runs(failed("tls only", limited), failed("busy", busy)), NONE)
    assert output.state == State.CRITICAL
    assert output.text.startswith("SIPTEST CRITICAL - busy: p |")


def test_a_failed_hangup_without_a_diagnosis_in_a_passed_scenario_is_a_warning():
    hangup = Check(kind="hangup", ok=False, diagnosis=None)
    output = render_runs(runs(scenario("bye", "passed", [registered(), hangup])), NONE)
    assert output.state == State.WARNING
    assert output.text.startswith("SIPTEST WARNING - bye: The hangup check failed |")
