"""The exporter's modules file and a probe's metrics, without a server."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from waiting import eventually

from siptest.errors import UsageError
from siptest.exporter.metrics import probe_metrics
from siptest.exporter.modules import load_modules
from siptest.exporter.probe import ProbeResult, command


def modules(tmp_path, text: str):
    path = tmp_path / "modules.yaml"
    path.write_text(text)
    return load_modules(path)


def test_a_call_module_becomes_options_then_the_target_and_number_after_a_double_dash(tmp_path):
    loaded = modules(
        tmp_path,
        "modules:\n  c:\n    check: call\n    number: '0900123'\n    talk: 1\n"
        "    transport: tcp\n    password_env: PW\n    servers: [127.0.0.1:5070]\n",
    )
    argv = command(loaded["c"], "1001@127.0.0.1:5070")
    assert argv[-3:] == ["--", "1001@127.0.0.1:5070", "0900123"]
    assert argv[argv.index("--password-env") + 1] == "PW"
    assert argv[argv.index("--transport") + 1] == "tcp"
    assert "--json" in argv


SERVERS = "    servers: [pbx.example]\n"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("  m:\n    password: hunter2\n", "'password' is refused"),
        ("  m:\n    password_env: A\n", "needs servers:"),
        ("  m:\n    password_env: A\n    servers: []\n", "needs servers:"),
        ("  m:\n    password_env: A\n    servers: pbx.example\n", "a list"),
        ("  m:\n    password_env: A\n    servers: ['*.example']\n", "no wildcards"),
        ("  m:\n    password_env: A\n    servers: ['pbx.*']\n", "no wildcards"),
        ("  m:\n    password_env: A\n    servers: [5060]\n", "HOST or HOST:PORT"),
        ("  m:\n    password_env: A\n    servers: [[a]]\n", "HOST or HOST:PORT"),
        ("  m:\n    password_env: A\n    servers: ['1001@pbx.example']\n", "without a user"),
        ("  m:\n    password_env: A\n    servers: ['::1']\n", "in brackets"),
        ("  m:\n    password_env: A\n    servers: ['pbx.example:99999']\n", "valid port"),
        ("  m:\n    password_env: A\n    servers: ['']\n", "HOST or HOST:PORT"),
        ("  m:\n    timeout: 2\n" + SERVERS, "exactly one of password_env"),
        ("  m:\n    password_env: A\n    password_file: /x\n" + SERVERS, "exactly one of"),
        ("  m:\n    password_env: A\n    colour: red\n" + SERVERS, "unknown key(s) colour"),
        ("  m:\n    check: call\n    password_env: A\n" + SERVERS, "needs number"),
        ("  m:\n    number: '1'\n    password_env: A\n" + SERVERS, "belong to check: call"),
        ("  m:\n    password_env: A\n    timeout: 100\n" + SERVERS, "timeout must be a number"),
        ("  m:\n    password_env: A\n    transport: sctp\n" + SERVERS, "transport must be one of"),
        ("  m:\n    password_env: '$(rm -rf)'\n" + SERVERS, "must name an environment variable"),
        ("  m:\n    password_env: A\n    profile: --help\n" + SERVERS, "not starting with '-'"),
        ("  'bad name':\n    password_env: A\n" + SERVERS, "use letters, digits"),
        ("  m: [\n", "not valid YAML"),
        ("  {}\n", "no modules"),
        ("  - a\n", "expected a mapping 'modules:'"),
    ],
)
def test_broken_modules_files_are_refused_with_what_to_do(tmp_path, body, words):
    with pytest.raises(UsageError) as refused:
        modules(tmp_path, "modules:\n" + body)
    assert words in str(refused.value)
    assert "hunter2" not in str(refused.value)


def samples(body: bytes) -> dict:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def test_a_probe_stopped_at_its_deadline_exports_failure_and_nothing_invented():
    got = samples(probe_metrics(ProbeResult(1.4, None, None, timed_out=True)))
    assert set(got) == {("siptest_probe_success", ()), ("siptest_probe_duration_seconds", ())}
    assert got[("siptest_probe_success", ())] == 0


def test_a_probe_that_could_not_run_exports_its_exit_status_and_no_checks():
    report = {"ok": False, "error": {"exit_status": 3, "message": "x"}, "checks": []}
    got = samples(probe_metrics(ProbeResult(0.2, 3, report)))
    assert got[("siptest_probe_exit_status", ())] == 3
    assert got[("siptest_probe_success", ())] == 0
    assert not [name for name, _ in got if name.startswith(("siptest_phase", "siptest_mos"))]


def test_an_answered_call_exports_phases_mos_and_loss_ratio():
    call = {
        "kind": "call",
        "ok": True,
        "response": {"code": 200},
        "answer_ms": 1500.0,
        "diagnosis": {"id": "ok.answered", "category": "none", "severity": "ok"},
        "media": {
            "mos": 4.1,
            "sent": {"mos": 4.3, "loss_percent": 0.0},
            "received": {"mos": 4.1, "loss_percent": 2.5},
        },
    }
    register = {"kind": "register", "ok": True, "response": {"code": 200}, "duration_ms": 40.0}
    got = samples(probe_metrics(ProbeResult(2.0, 0, {"ok": True, "checks": [register, call]})))
    assert got[("siptest_probe_success", ())] == 1
    assert got[("siptest_phase_duration_seconds", (("phase", "answer"),))] == 1.5
    assert got[("siptest_phase_duration_seconds", (("phase", "register"),))] == 0.04
    assert got[("siptest_rtp_loss_ratio", (("direction", "received"),))] == 0.025
    assert got[("siptest_mos", (("direction", "sent"),))] == 4.3
    assert got[("siptest_sip_status_code", (("check", "call"),))] == 200


def test_a_probe_still_cleaning_up_at_the_deadline_is_reaped_in_the_background():
    import sys

    from siptest.exporter.probe import Children, run_command

    # A child that takes its time after SIGTERM (as siptest hanging up and un-registering
    # on a loaded machine): the caller gets its answer at budget + grace, the child is
    # killed only after `linger`. (3 s of budget: the child must have set its handler.)
    slow = "import signal, time; signal.signal(signal.SIGTERM, lambda *a: None); time.sleep(30)"
    children = Children()
    result = run_command(
        [sys.executable, "-I", "-c", slow], budget=3.0, grace=0.2, children=children, linger=1.0
    )
    assert result.timed_out and result.report is None
    (child,) = list(children._running)  # still there, cleaning up
    assert child.poll() is None
    eventually(lambda: not children._running, "the reaper to let go of the child", 10)
    assert child.wait(timeout=5) == -9  # killed after its linger, not left behind


# -- servers: where a module may send its password -----------------------------------


def module_with(tmp_path, *servers: str):
    listed = ", ".join(f"'{server}'" for server in servers)
    text = f"modules:\n  m:\n    password_env: PW\n    servers: [{listed}]\n"
    return modules(tmp_path, text)["m"]


@pytest.mark.parametrize(
    ("servers", "target"),
    [
        (["pbx.example"], "1001@pbx.example"),
        (["pbx.example"], "1001@PBX.Example:5080"),
        (["pbx.example"], "sip:1001@pbx.example:5060"),
        (["PBX.example."], "1001@pbx.example"),
        (["pbx.example:5070"], "1001@pbx.example:5070"),
        (["a.example", "pbx.example:5070"], "1001@pbx.example:5070"),
        (["127.0.0.1"], "1001@127.0.0.1:9"),
        (["[::1]:5070"], "1001@[0:0::1]:5070"),
        (["[0:0::1]"], "1001@[::1]"),
    ],
)
def test_a_target_at_a_listed_server_may_be_probed(tmp_path, servers, target):
    assert module_with(tmp_path, *servers).allows(target)


@pytest.mark.parametrize(
    ("servers", "target"),
    [
        (["pbx.example"], "1001@attacker.example"),
        (["pbx.example"], "1001@pbx.example.attacker.example"),
        (["pbx.example"], "1001@xpbx.example"),
        (["pbx.example"], "1001@sub.pbx.example"),
        (["pbx.example"], "1001@pbx.example@attacker.example"),
        (["pbx.example:5070"], "1001@pbx.example"),
        (["pbx.example:5070"], "1001@pbx.example:5071"),
        (["127.0.0.1:5070"], "1001@127.0.0.2:5070"),
        (["127.0.0.1"], "1001@localhost"),
        (["[::1]:5070"], "1001@[::2]:5070"),
        (["[::1]"], "1001@127.0.0.1"),
        (["pbx.example"], "not a target"),
    ],
)
def test_a_target_anywhere_else_is_refused(tmp_path, servers, target):
    assert not module_with(tmp_path, *servers).allows(target)


def test_the_servers_read_back_as_written_in_one_spelling(tmp_path):
    loaded = module_with(tmp_path, "PBX.example", "[0:0::1]:5070", "127.0.0.1:5060")
    assert [str(server) for server in loaded.servers] == [
        "pbx.example",
        "[::1]:5070",
        "127.0.0.1:5060",
    ]


def test_the_exporter_refuses_a_target_outside_the_servers_before_any_child(tmp_path):
    from siptest.exporter.server import Exporter

    exporter = Exporter({"m": module_with(tmp_path, "pbx.example", "[::1]:5070")})
    reply = exporter.probe("module=m&target=1001@attacker.example", None)
    assert reply.status == 400
    body = reply.body.decode()
    assert "pbx.example, [::1]:5070" in body and "module m" in body
    assert not exporter.children._running
    # no slot was taken either: every one of them is free
    assert all(exporter.slots.acquire(blocking=False) for _ in range(exporter.concurrency))


def test_a_probe_still_cleaning_up_keeps_its_slot_until_the_child_has_exited():
    import sys
    import threading

    from siptest.exporter.probe import Children, run_command

    slow = "import signal, time; signal.signal(signal.SIGTERM, lambda *a: None); time.sleep(30)"
    children = Children()
    exited = threading.Event()
    result = run_command(
        [sys.executable, "-I", "-c", slow],
        budget=3.0,
        grace=0.2,
        children=children,
        linger=1.0,
        on_exit=exited.set,
    )
    assert result.timed_out
    (child,) = list(children._running)
    assert child.poll() is None and not exited.is_set()  # answered, still cleaning up
    assert exited.wait(timeout=10)
    assert child.returncode == -9  # the slot came back only once the child was gone


def test_a_probe_that_ends_in_time_gives_its_slot_back_once():
    import sys

    from siptest.exporter.probe import Children, run_command

    calls: list[int] = []
    run_command(
        [sys.executable, "-I", "-c", "print('{}')"],
        budget=20.0,
        grace=0.2,
        children=Children(),
        on_exit=lambda: calls.append(1),
    )
    assert calls == [1]


def test_a_probe_whose_child_cannot_start_gives_its_slot_back():
    from siptest.exporter.probe import Children, run_command

    calls: list[int] = []
    with pytest.raises(OSError):
        run_command(
            ["/nonexistent/siptest-child"],
            budget=1.0,
            grace=0.2,
            children=Children(),
            on_exit=lambda: calls.append(1),
        )
    assert calls == [1]


def test_a_probe_whose_child_cannot_start_is_a_500_saying_why_not_a_dropped_connection(
    tmp_path, monkeypatch, capsys
):
    import sys

    from siptest.exporter.server import Exporter

    exporter = Exporter({"m": module_with(tmp_path, "127.0.0.1:9")}, concurrency=1)
    # the real failure of starting a process (as when the exporter runs out of file
    # descriptors or memory): the interpreter it starts is not there
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python-here"))
    reply = exporter.probe("module=m&target=1001@127.0.0.1:9", "5")
    assert reply.status == 500
    body = reply.body.decode()
    assert "could not start" in body and "No such file or directory" in body
    assert "1001@" not in body and "1001@" not in capsys.readouterr().err
    assert exporter.slots.acquire(blocking=False)  # its slot came back


def test_a_probe_whose_child_starts_is_a_200_with_its_metrics(tmp_path, monkeypatch):
    from siptest.exporter.server import Exporter

    exporter = Exporter({"m": module_with(tmp_path, "127.0.0.1:9")}, concurrency=1)
    monkeypatch.delenv("PW", raising=False)  # the child stops at once: no password
    reply = exporter.probe("module=m&target=1001@127.0.0.1:9", "20")
    assert reply.status == 200
    assert b"siptest_probe_success 0.0" in reply.body
    assert b"siptest_probe_exit_status 2.0" in reply.body
