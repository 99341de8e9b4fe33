"""Scenario files: what the loader accepts, and how it refuses everything else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from siptest.errors import ExitStatus
from siptest.scenario import ScenarioError, load_scenario, prepare
from siptest.scenario.model import Call, Register, Unregister, Wait

CANARY = "Canary-Pw-7f3a9c"
"""A secret that must never appear in a message."""

ACCOUNT = """\
account:
  user: "1001"
  host: 127.0.0.1
  port: 5070
"""


def write(tmp_path: Path, text: str, name: str = "test.sip.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, **options):
    options.setdefault("environ", {})
    return load_scenario(write(tmp_path, text), **options)


# -- broken files: FILE:LINE: key 'x': problem, exit status 2, no secret -------------------

BROKEN = [
    pytest.param(
        "account: {user: '1001', host: 127.0.0.1\nsteps: [register]\n",
        2,
        None,
        "not valid YAML",
        id="bad-yaml",
    ),
    pytest.param(
        f'account:\n  user: "1001\n  host: x\n  # {CANARY}\n',
        5,
        None,
        "not valid YAML",
        id="bad-yaml-unclosed-quote-holds-a-secret",
    ),
    pytest.param(
        ACCOUNT + "acount: x\nsteps: [register]\n",
        5,
        "acount",
        "Did you mean 'account'",
        id="unknown-top-level-key",
    ),
    pytest.param(
        ACCOUNT + "  usr: bob\nsteps: [register]\n",
        5,
        "usr",
        "unknown key",
        id="unknown-account-key",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - register: bob\n",
        6,
        "account",
        "no account named 'bob'",
        id="missing-account",
    ),
    pytest.param(
        "steps: [register]\n",
        1,
        "account",
        "missing",
        id="no-account-at-all",
    ),
    pytest.param(
        ACCOUNT + f"  password: {CANARY}\nsteps: [register]\n",
        5,
        "password",
        "password_env",
        id="inline-password",
    ),
    pytest.param(
        f"variables:\n  password: {CANARY}\n" + ACCOUNT + "steps: [register]\n",
        2,
        "password",
        "password_file",
        id="inline-password-as-variable",
    ),
    pytest.param(
        ACCOUNT + f"  password_env: '{CANARY} x'\nsteps: [register]\n",
        5,
        "password_env",
        "not the password itself",
        id="password-in-password-env",
    ),
    pytest.param(
        'account:\n  user: "1001"\n  host: 127.0.0.1\n  port: five\nsteps: [register]\n',
        4,
        "port",
        "expected a whole number",
        id="wrong-type-port",
    ),
    pytest.param(
        ACCOUNT + "steps: register\n",
        5,
        "steps",
        "expected a list of steps",
        id="wrong-type-steps",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - register\n  - call: 7000\n    expect: maybe\n",
        8,
        "expect",
        "not something to expect",
        id="bad-expect",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - register:\n      expect: answered\n",
        7,
        "answered",
        "only a call can be answered",
        id="answered-on-register",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - register\n  - call: 7000\n    expect: {code: 99}\n",
        8,
        "code",
        "100 to 699",
        id="bad-expect-code",
    ),
    pytest.param(
        ACCOUNT + "  transport: sctp\nsteps: [register]\n",
        5,
        "transport",
        "udp, tcp or tls",
        id="bad-transport",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - register\n  - dial: 7000\n",
        7,
        "dial",
        "unknown step",
        id="unknown-step",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - register\n  - call: {ring_timeout: 5}\n",
        7,
        "number",
        "missing",
        id="missing-number",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - call\n",
        6,
        "call",
        "needs the number",
        id="bare-call",
    ),
    pytest.param(
        'account:\n  user: "1001"\n  host: ${1HOST}\nsteps: [register]\n',
        3,
        "host",
        "not a variable reference",
        id="bad-variable-syntax",
    ),
    pytest.param(
        'account:\n  user: "1001"\n  host: ${SIPTEST_NOT_SET_ANYWHERE}\nsteps: [register]\n',
        3,
        "host",
        "${SIPTEST_NOT_SET_ANYWHERE} is not set",
        id="unset-variable",
    ),
    pytest.param(
        'account:\n  user: "1001"\n  host: ${HOST\nsteps: [register]\n',
        3,
        "host",
        "not closed",
        id="unclosed-variable",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - register\n  - wait: 301\n",
        7,
        "wait",
        "from 0 to 300 seconds",
        id="wait-too-long",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - wait: 1\n  - expect: ok\n",
        7,
        "expect",
        "there is none",
        id="expect-without-step",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - call: 7000\n    ring_timeout: 5\n",
        7,
        "ring_timeout",
        "inside the step",
        id="call-option-at-step-level",
    ),
    pytest.param(
        "accounts:\n  a: {user: '1001', host: h}\n  b: {user: '1002', host: h, transport: tcp}\n"
        "steps: [register]\n",
        3,
        "transport",
        "same transport",
        id="mixed-transports",
    ),
    pytest.param(
        "accounts:\n  a: {user: '1001', host: h}\n  b: {user: '1002', host: h}\n"
        "steps:\n  - register\n",
        5,
        "register",
        "name the one to use",
        id="ambiguous-account",
    ),
    pytest.param(
        ACCOUNT + "  user: '1002'\nsteps: [register]\n",
        5,
        "user",
        "appears twice (first on line 2)",
        id="duplicate-key",
    ),
    pytest.param(
        "accounts:\n"
        + "".join(f"  a{n}: {{user: '10{n}', host: h}}\n" for n in range(9))
        + "steps: [register: a0]\n",
        2,
        "accounts",
        "holds at most 8 at once",
        id="nine-accounts",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - repeat:\n      times: 0\n      steps: [register]\n",
        7,
        "times",
        "from 1 to 100",
        id="repeat-zero-times",
    ),
    pytest.param(
        ACCOUNT + "tls_insecure: true\nsteps: [register]\n",
        5,
        "tls_insecure",
        "transport tls",
        id="tls-option-without-tls",
    ),
    # -- expectations on media (calls only) --
    pytest.param(
        ACCOUNT + "steps:\n  - register\n  - call: 7000\n    expect: {audio: one_way}\n",
        8,
        "audio",
        "only 'both'",
        id="audio-not-both",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - register\n  - call: 7000\n    expect: {min_mos: 4.6}\n",
        8,
        "min_mos",
        "must be from 1.0 to 4.5",
        id="min-mos-above-4.5",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - register\n  - call: 7000\n    expect: {min_mos: 0.9}\n",
        8,
        "min_mos",
        "must be from 1.0 to 4.5",
        id="min-mos-below-1",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - register\n  - call: 7000\n    expect: {min_mos: good}\n",
        8,
        "min_mos",
        "expected a MOS score such as 3.5, got 'good'",
        id="min-mos-not-a-number",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - register\n  - call: 7000\n    expect: {min_mos: nan}\n",
        8,
        "min_mos",
        "must be from 1.0 to 4.5",
        id="min-mos-nan",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - call: {number: 7000, dtmf: '12'}\n    expect: {dtmf: '12x'}\n",
        7,
        "dtmf",
        "DTMF is 1 to 32 of 0-9, *, # and A-D",
        id="expect-dtmf-bad-digit",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - register:\n      expect: {audio: both}\n",
        7,
        "audio",
        "only a call step can expect audio",
        id="audio-on-register",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - register\n  - unregister:\n      expect: {min_mos: 3.5}\n",
        8,
        "min_mos",
        "only a call step can expect min_mos",
        id="min-mos-on-unregister",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - register\n  - expect: {dtmf: '1'}\n",
        7,
        "dtmf",
        "only a call step can expect dtmf",
        id="dtmf-expected-of-a-register-step",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - register\n  - call: 7000\n    expect: {dtmf: '12'}\n",
        8,
        "dtmf",
        "the call sends no digits (the call on line 7)",
        id="expect-dtmf-but-none-sent",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - call: {number: 7000, dtmf: '1'}\n"
        "    expect:\n      audio: both\n      dtmf: '12'\n",
        9,
        "dtmf",
        "differ from the digits the call sends",
        id="expect-dtmf-other-than-sent",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - call: 7000\n    expect: {audio: both}\n  - expect: {audio: both}\n",
        8,
        "audio",
        "already expected on line 7",
        id="audio-expected-twice",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - call: {number: 7000, dtmf: '1', dtmf_method: sms}\n",
        6,
        "dtmf_method",
        "'sms' is not a DTMF method; rfc4733",
        id="unknown-dtmf-method",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - call: {number: 7000, dtmf_method: info}\n",
        6,
        "dtmf_method",
        "no digits to send",
        id="dtmf-method-without-digits",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - call: 7000\n    dtmf_method: info\n",
        7,
        "dtmf_method",
        "inside the step",
        id="dtmf-method-at-step-level",
    ),
    pytest.param(
        ACCOUNT + "steps:\n  - call: 7000\n    expect: {mos: 3.5}\n",
        7,
        "mos",
        "Did you mean 'min_mos'",
        id="expect-key-typo",
    ),
]


@pytest.mark.parametrize(("text", "line", "key", "fragment"), BROKEN)
def test_broken_scenario_is_a_usage_error_naming_file_line_and_key(
    tmp_path, text, line, key, fragment
):
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, environ={"SIPTEST_PASSWORD": CANARY})
    message = str(caught.value)
    assert caught.value.exit_status == ExitStatus.USAGE
    prefix = f"{path}:{line}: " + (f"key '{key}': " if key else "")
    assert message.startswith(prefix), message
    assert fragment in message
    assert CANARY not in message


def test_a_value_from_the_environment_is_named_not_quoted(tmp_path):
    text = (
        'account:\n  user: "1001"\n  host: 127.0.0.1\n  port: ${SECRET_PORT}\nsteps: [register]\n'
    )
    with pytest.raises(ScenarioError) as caught:
        load(tmp_path, text, environ={"SECRET_PORT": CANARY})
    message = str(caught.value)
    assert ":4: key 'port'" in message
    assert "${SECRET_PORT}" in message
    assert CANARY not in message


def test_a_value_written_in_the_file_is_quoted(tmp_path):
    with pytest.raises(ScenarioError, match="'sctp' is not a transport"):
        load(tmp_path, ACCOUNT + "  transport: sctp\nsteps: [register]\n")


def test_an_unreadable_file_is_a_usage_error(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read the scenario"):
        load_scenario(tmp_path / "missing.sip.yaml")


def test_an_empty_file_says_what_a_scenario_needs(tmp_path):
    with pytest.raises(ScenarioError, match=r":1: the file is empty"):
        load(tmp_path, "# nothing yet\n")


# -- what the loader makes of good files ----------------------------------------------------


def test_minimal_file_of_five_lines_registers_the_one_account(tmp_path):
    scenario = load(
        tmp_path, 'account:\n  user: "1001"\n  host: 127.0.0.1:5070\nsteps:\n  - register\n'
    )
    account = scenario.accounts["default"]
    assert (account.user, account.host, account.port, account.transport) == (
        "1001",
        "127.0.0.1",
        5070,
        "udp",
    )
    assert account.password.env == "SIPTEST_PASSWORD"
    assert scenario.name == "test"
    assert scenario.timeout == 5.0
    assert scenario.continue_on_failure is False
    (step,) = scenario.steps
    assert isinstance(step, Register)
    assert step.expect.ok is True and step.expect.is_default
    assert str(step.location) == f"{tmp_path / 'test.sip.yaml'}:5"


def test_numbers_keep_their_leading_zeros(tmp_path):
    scenario = load(tmp_path, ACCOUNT + "steps:\n  - call: 0123\n  - call: 0900123456\n")
    assert [step.number for step in scenario.steps if isinstance(step, Call)] == [
        "0123",
        "0900123456",
    ]


def test_call_options_and_both_ways_of_writing_expect(tmp_path):
    text = ACCOUNT + (
        "steps:\n"
        "  - call: {number: 0900123456, ring_timeout: 10, talk: 0.5, dtmf: '12#'}\n"
        "    expect: tariff\n"
        "  - expect: {code: [403, 404]}\n"
        "  - call: 7000\n"
        "  - expect: answered\n"
    )
    first, second = load(tmp_path, text).steps
    assert isinstance(first, Call) and isinstance(second, Call)
    assert (first.ring_timeout, first.talk, first.dtmf) == (10.0, 0.5, "12#")
    assert first.expect.category == "tariff"
    assert first.expect.codes == (403, 404)
    assert first.expect.ok is None
    assert second.expect.answered is True


@pytest.mark.parametrize(
    ("call", "expect", "wanted"),
    [
        ("7000", "{audio: both}", {"audio": "both"}),
        ("7000", "{audio: BOTH, answered: true}", {"audio": "both", "answered": True}),
        ("7000", "{min_mos: 3.5}", {"min_mos": 3.5}),
        ("7000", "{min_mos: 1}", {"min_mos": 1.0}),
        ("7000", "{min_mos: '4.5'}", {"min_mos": 4.5}),
        ("{number: 7000, dtmf: '123#'}", "{dtmf: '123#'}", {"dtmf": "123#"}),
        ("{number: 7000, dtmf: 'a*'}", "{dtmf: 'A*'}", {"dtmf": "A*"}),
        (
            "{number: 7000, dtmf: '1'}",
            "{code: 200, audio: both, min_mos: 4.0, dtmf: '1'}",
            {"code": 200, "audio": "both", "min_mos": 4.0, "dtmf": "1"},
        ),
    ],
)
def test_expectations_on_media(tmp_path, call, expect, wanted):
    text = ACCOUNT + f"steps:\n  - call: {call}\n    expect: {expect}\n"
    (step,) = load(tmp_path, text).steps
    assert isinstance(step, Call)
    assert step.expect.as_json() == wanted
    media = step.expect.media
    assert media is not None
    assert (media.audio, media.min_mos, media.dtmf) == (
        wanted.get("audio"),
        wanted.get("min_mos"),
        wanted.get("dtmf"),
    )


def test_media_expectations_combine_with_a_separate_expect(tmp_path):
    text = ACCOUNT + (
        "steps:\n"
        "  - call: {number: 1002, dtmf: '123#', dtmf_method: info}\n"
        "    expect: answered\n"
        "  - expect: {audio: both, dtmf: '123#'}\n"
        "  - expect: {min_mos: 3.5}\n"
    )
    (step,) = load(tmp_path, text).steps
    assert isinstance(step, Call)
    assert (step.dtmf, step.dtmf_method) == ("123#", "info")
    assert step.expect.as_json() == {
        "answered": True,
        "audio": "both",
        "min_mos": 3.5,
        "dtmf": "123#",
    }


def test_a_call_without_media_expectations_has_none_and_sends_rfc4733(tmp_path):
    (step,) = load(tmp_path, ACCOUNT + "steps:\n  - call: {number: 7000, dtmf: '1'}\n").steps
    assert isinstance(step, Call)
    assert step.expect.media is None
    assert step.dtmf_method == "rfc4733"


def test_expecting_the_same_thing_twice_is_refused(tmp_path):
    text = ACCOUNT + "steps:\n  - call: 7000\n    expect: 404\n  - expect: {code: 403}\n"
    with pytest.raises(ScenarioError, match=r":8: key 'code': already expected on line 7"):
        load(tmp_path, text)


def test_variables_come_from_overrides_then_the_file_then_the_environment(tmp_path):
    text = (
        "name: costs $$5\n"
        "variables:\n"
        "  host: ${SIPTEST_HOST:-127.0.0.1}\n"
        "  port: '5070'\n"
        "account:\n"
        "  user: ${USER_ID}\n"
        "  host: ${host}\n"
        "  port: ${port}\n"
        "steps: [register]\n"
    )
    environ = {"USER_ID": "1002", "SIPTEST_HOST": "10.0.0.1", "port": "9999"}
    scenario = load(tmp_path, text, environ=environ)
    account = scenario.accounts["default"]
    assert (account.user, account.host, account.port) == ("1002", "10.0.0.1", 5070)
    assert scenario.name == "costs $5"
    account = load(tmp_path, text, environ=environ, overrides={"port": "6000"}).accounts["default"]
    assert account.port == 6000
    account = load(tmp_path, text, environ={"USER_ID": "1"}).accounts["default"]
    assert account.host == "127.0.0.1"


def test_repeat_blocks_are_unrolled_with_their_round(tmp_path):
    text = ACCOUNT + (
        "steps:\n"
        "  - repeat:\n"
        "      times: 2\n"
        "      steps:\n"
        "        - register\n"
        "        - wait: 1\n"
        "        - unregister\n"
    )
    steps = load(tmp_path, text).steps
    assert [type(step) for step in steps] == [Register, Wait, Unregister] * 2
    assert [step.round for step in steps] == ["1/2"] * 3 + ["2/2"] * 3


def test_registering_again_and_again_is_no_limit_of_the_stack(tmp_path):
    # Only accounts alive at once count against the stack's 8 (each un-REGISTER frees
    # one): a scenario that flaps one registration a hundred times is a valid file.
    text = ACCOUNT + "steps:\n  - repeat:\n      times: 100\n      steps: [register, unregister]\n"
    steps = load(tmp_path, text).steps
    assert sum(isinstance(step, Register) for step in steps) == 100


def test_several_accounts_are_named_in_steps(tmp_path):
    text = (
        "accounts:\n"
        "  caller: {user: '1001', host: h, password_env: PW_A}\n"
        "  callee: {user: '1002', host: h, password_file: secrets/b.txt, answers_calls: yes}\n"
        "steps:\n"
        "  - register: caller\n"
        "  - register: {account: callee}\n"
        "  - call: {number: 1002, account: caller}\n"
    )
    scenario = load(tmp_path, text)
    assert list(scenario.accounts) == ["caller", "callee"]
    assert scenario.accounts["callee"].password.file == tmp_path / "secrets" / "b.txt"
    assert scenario.accounts["callee"].answers_calls is True
    assert scenario.accounts["caller"].answers_calls is False
    assert [step.account for step in scenario.steps] == ["caller", "callee", "caller"]


# -- prepare: passwords and profiles ----------------------------------------------------------


def test_prepare_reads_the_password_from_the_named_variable(tmp_path):
    scenario = load(tmp_path, ACCOUNT + "  password_env: LAB_PW\nsteps: [register]\n")
    prepared = prepare(scenario, environ={"LAB_PW": CANARY})
    assert prepared.accounts["default"].password == CANARY
    assert prepared.accounts["default"].domain == "127.0.0.1:5070"
    assert prepared.knowledge.profile.name == "generic"


def test_prepare_without_the_variable_names_it_and_how_to_fix(tmp_path):
    scenario = load(tmp_path, ACCOUNT + "  password_env: LAB_PW\nsteps: [register]\n")
    with pytest.raises(ScenarioError, match=r":5: key 'password_env': .*LAB_PW is not set"):
        prepare(scenario, environ={})


def test_prepare_refuses_a_password_file_others_can_read(tmp_path):
    secret = tmp_path / "pw.txt"
    secret.write_text(CANARY + "\n")
    os.chmod(secret, 0o644)
    scenario = load(tmp_path, ACCOUNT + "  password_file: pw.txt\nsteps: [register]\n")
    with pytest.raises(ScenarioError) as caught:
        prepare(scenario, environ={})
    message = str(caught.value)
    assert ":5: key 'password_file':" in message
    assert "chmod 600" in message
    assert CANARY not in message
    os.chmod(secret, 0o600)
    assert prepare(scenario, environ={}).accounts["default"].password == CANARY


def test_prepare_names_an_unknown_profile(tmp_path):
    scenario = load(tmp_path, ACCOUNT + "profile: nosuchprovider\nsteps: [register]\n")
    with pytest.raises(ScenarioError, match=r":5: key 'profile': .*unknown profile"):
        prepare(scenario, environ={"SIPTEST_PASSWORD": "x"})


TWO_ACCOUNTS_AND_A_PROFILE = """\
profile: nosuchprovider
accounts:
  a:
    user: "1001"
    host: 127.0.0.1
    password_env: A_PW
  b:
    user: "1002"
    host: 127.0.0.1
    password_file: b.txt
steps: [{register: {account: a}}]
"""


def test_prepare_names_every_problem_of_a_file_at_once_in_the_order_of_the_file(tmp_path):
    (tmp_path / "b.txt").write_text(CANARY + "\n")
    os.chmod(tmp_path / "b.txt", 0o644)
    scenario = load(tmp_path, TWO_ACCOUNTS_AND_A_PROFILE)
    with pytest.raises(ScenarioError) as caught:
        prepare(scenario, environ={})
    problems = caught.value.problems
    assert [problem.split(": ", 2)[:2] for problem in problems] == [
        [f"{tmp_path / 'test.sip.yaml'}:1", "key 'profile'"],
        [f"{tmp_path / 'test.sip.yaml'}:6", "key 'password_env'"],
        [f"{tmp_path / 'test.sip.yaml'}:10", "key 'password_file'"],
    ]
    assert CANARY not in str(caught.value)


def test_prepare_with_one_problem_names_just_that_one(tmp_path):
    (tmp_path / "b.txt").write_text(CANARY + "\n")
    os.chmod(tmp_path / "b.txt", 0o600)
    scenario = load(tmp_path, TWO_ACCOUNTS_AND_A_PROFILE.replace("nosuchprovider", "generic"))
    with pytest.raises(ScenarioError) as caught:
        prepare(scenario, environ={})
    assert [problem.split(": ", 2)[1] for problem in caught.value.problems] == [
        "key 'password_env'"
    ]
    assert prepare(scenario, environ={"A_PW": "x"}).accounts["b"].password == CANARY


def test_every_scenario_example_in_the_readme_loads(tmp_path):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Scenario files", 1)[1].split("\n## ", 1)[0]
    section = section.split("\n### siptest bulk", 1)[0]  # its YAML is an accounts file
    examples = [block.split("```", 1)[0] for block in section.split("```yaml\n")[1:]]
    assert len(examples) >= 2
    for index, example in enumerate(examples):
        scenario = load_scenario(write(tmp_path, example, f"{index}.sip.yaml"), environ={})
        assert scenario.steps


def test_the_example_scenarios_load_with_their_defaults():
    directory = Path(__file__).resolve().parents[2] / "scenarios"
    paths = sorted(directory.glob("*.sip.yaml"))
    assert len(paths) == 3
    for path in paths:
        scenario = load_scenario(path, environ={})
        assert all(account.port == 5070 for account in scenario.accounts.values())


def test_a_scenario_tls_ca_that_is_not_pem_is_refused_at_its_line(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not a certificate\n")
    path = tmp_path / "tls.sip.yaml"
    path.write_text(
        'account:\n  user: "1001"\n  host: 127.0.0.1:5061\n  transport: tls\n'
        f"tls_ca: {ca}\nsteps:\n  - register\n"
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert f"{path}:5" in str(caught.value) and "tls_ca" in str(caught.value)
    assert "PEM" in str(caught.value)
