"""`siptest explain`, run in-process (and once as a real process)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from siptest.cli.explain import explain

app = typer.Typer()
app.command()(explain)


def run(*args: str):
    return CliRunner(mix_stderr=False).invoke(app, list(args))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("486", "The line is busy"),
        ("This account is not valid", "The account is not valid (unknown, or not active)"),
        ("this account is NOT valid", "The account is not valid (unknown, or not active)"),
        ("699", "Refused everywhere (699)"),
        ("Busy Here", "The line is busy"),
        ("403 This call is not covered by your tariff plan", "not covered by your tariff plan"),
        ("477", "could not reach the next server"),
    ],
)
def test_explain_gives_sensible_output_and_exit_0(query, expected):
    result = run(query)
    assert result.exit_code == 0, result.stderr
    assert expected in result.stdout
    assert "What it means:" in result.stdout and "What to do:" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("query", "message", "what_to_do"),
    [
        ("", "Nothing to explain", "Pass a SIP response code"),
        ("   ", "Nothing to explain", "Pass a SIP response code"),
        ("hello", 'No diagnosis mentions "hello"', "Pass a SIP response code"),
        ("99", "99 is not a SIP response code", "100 to 699"),
        ("1000", "1000 is not a SIP response code", "100 to 699"),
        ("700", "700 is not a SIP response code", "100 to 699"),
    ],
)
def test_an_empty_or_nonsense_query_is_a_usage_error(query, message, what_to_do):
    result = run(query)
    assert result.exit_code == 2
    assert message in result.stderr
    assert what_to_do in result.stderr
    assert result.stdout == ""


def test_no_query_at_all_says_what_to_pass():
    result = run()
    assert result.exit_code == 2
    assert "Pass a SIP response code" in result.stderr


def test_method_selects_the_request_specific_diagnosis():
    register = run("403", "--method", "register")
    invite = run("403", "--method", "INVITE")
    assert "Registration refused" in register.stdout
    assert "Call not allowed" in invite.stdout


def test_without_method_other_situations_for_the_code_are_listed():
    result = run("408")
    assert "In other situations, 408 means:" in result.stdout
    assert "[callee.no_answer]" in result.stdout
    assert "[network.no_response]" in result.stdout


def test_an_invalid_method_is_a_usage_error():
    result = run("403", "--method", "REG ISTER")
    assert result.exit_code == 2
    assert "not a SIP method" in result.stderr


def test_profile_changes_the_advice():
    generic = run("This account is not valid")
    sipcall = run("This account is not valid", "--profile", "sipcall")
    assert "41411234567" not in generic.stdout
    assert "41411234567" in sipcall.stdout
    assert "profile sipcall" in sipcall.stdout


def test_an_unknown_profile_is_a_usage_error():
    result = run("486", "--profile", "nosuch")
    assert result.exit_code == 2
    assert "unknown profile 'nosuch'" in result.stderr


def test_a_malformed_profile_file_reports_file_line_and_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("profile:\n  name: bad\n  colour: blue\n")
    result = run("486", "--profile", str(path))
    assert result.exit_code == 2
    assert f"{path}:3: key 'colour': unknown key" in result.stderr


def test_json_has_the_documented_shape():
    result = run("486", "--json", "--method", "INVITE")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["query"] == "486"
    assert document["method"] == "INVITE"
    assert document["profile"] == "generic"
    assert set(document["diagnosis"]) == {
        "id",
        "category",
        "severity",
        "title",
        "explanation",
        "fix",
        "rfc",
        "code",
    }
    assert document["diagnosis"]["id"] == "callee.busy"
    assert document["diagnosis"]["code"] == 486


def test_json_for_a_message_has_no_code():
    document = json.loads(run("This password is not valid", "--json").stdout)
    assert document["method"] is None
    assert document["diagnosis"]["id"] == "credentials.password_invalid"
    assert document["diagnosis"]["code"] is None


def test_list_prints_the_table():
    result = run("--list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["CODE", "ID", "CATEGORY", "TITLE"]
    assert any(line.split()[:3] == ["486", "callee.busy", "callee"] for line in lines)
    assert any(line.split()[:2] == ["4xx", "fallback.4xx"] for line in lines)


def test_list_as_json_lists_every_entry():
    document = json.loads(run("--list", "--json", "--profile", "sipcall").stdout)
    assert document["profile"] == "sipcall"
    ids = [entry["id"] for entry in document["entries"]]
    assert "ok.registered" in ids and "fallback.unknown" in ids
    assert len(ids) == len(set(ids))


def test_list_with_a_query_is_a_usage_error():
    result = run("486", "--list")
    assert result.exit_code == 2


def test_python_dash_m_siptest_explain_works():
    result = subprocess.run(
        [sys.executable, "-m", "siptest", "explain", "486"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "The line is busy" in result.stdout


@pytest.mark.parametrize(
    ("query", "title_part"),
    [
        ("SIP/2.0 486 Busy Here", "(486 Busy Here)"),
        ("sip/2.0 486 Busy Here", "(486 Busy Here)"),
        ("Busy", "(486 Busy Here)"),
        ("Temporarily", "480"),
        ("busy everywhere", "600"),
    ],
)
def test_explain_finds_a_pasted_status_line_and_part_of_a_phrase(query, title_part):
    from siptest.knowledge import load_knowledge
    from siptest.knowledge.query import understand

    situation, entry = understand(load_knowledge(), query, None)
    diagnosis = load_knowledge().render(entry, situation)
    assert title_part in f"{diagnosis.title} ({situation.code} {situation.reason})"


def test_a_method_that_is_not_sip_is_refused_with_the_choices():
    result = run("486", "--method", "FOO")
    assert result.exit_code == 2
    assert "--method 'FOO' is not a SIP method" in result.stderr


def test_a_profile_name_in_other_case_is_taken_and_a_near_miss_gets_a_suggestion():
    from siptest.knowledge import load_knowledge
    from siptest.knowledge.loader import KnowledgeError

    assert load_knowledge("SIPCALL").profile.name == load_knowledge("sipcall").profile.name
    with pytest.raises(KnowledgeError, match="Did you mean 'sipcall'"):
        load_knowledge("sipcal")


def test_explain_a_diagnosis_id_from_a_report():
    result = run("media.no_audio")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "No audio in either direction"
    assert lines[1] == "  media.no_audio · category media · severity error · RFC 3550"
    assert "switch off the router's SIP ALG" in result.stdout  # the shared phrase, filled


def test_explain_a_matched_diagnosis_by_id_with_its_method_wording():
    result = run("credentials.rejected", "--method", "REGISTER", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["diagnosis"]["id"] == "credentials.rejected"
    assert document["diagnosis"]["code"] is None


def test_an_id_siptest_does_not_have_is_a_usage_error_that_says_how_to_ask():
    result = run("media.nothing")
    assert result.exit_code == 2
    assert 'No diagnosis mentions "media.nothing"' in result.stderr
    assert "or a diagnosis id from a report" in result.stderr
