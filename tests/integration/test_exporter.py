"""`siptest exporter` against the real lab: probes, refusals, deadlines, concurrency."""

from __future__ import annotations

import threading
from urllib.parse import urlencode

import pytest
from exporter_process import start_exporter
from prometheus_client.parser import text_string_to_metric_families
from waiting import eventually

pytestmark = pytest.mark.lab

CANARY = "Canary-Pw-51c7e0"


def samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, parsed by prometheus_client's own parser."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


@pytest.fixture
def modules_file(tmp_path, lab):
    path = tmp_path / "modules.yaml"
    servers = f"    servers: ['127.0.0.1:{lab.sip_port}']\n"
    path.write_text(
        "modules:\n"
        f"  register:\n    timeout: 2\n    password_env: GOOD_PW\n{servers}"
        f"  register_wrong:\n    timeout: 2\n    password_env: WRONG_PW\n{servers}"
        "  long_call:\n    check: call\n    number: '7000'\n    talk: 30\n"
        f"    password_env: GOOD_PW\n{servers}"
        "  short_call:\n    check: call\n    number: '7000'\n    talk: 4\n"
        f"    password_env: GOOD_PW\n{servers}"
    )
    return path


@pytest.fixture
def exporter(modules_file, tmp_path):
    running = start_exporter(
        modules_file,
        {"GOOD_PW": "lab-1001-pass", "WRONG_PW": CANARY},
        tmp_path / "exporter.log",
        "--concurrency",
        "1",
    )
    yield running
    assert running.stop() == 0, running.log()
    assert "stopped" in running.log()


def probe(exporter, module: str, target: str, **headers: str):
    query = urlencode({"module": module, "target": target})
    return exporter.get(f"/probe?{query}", headers=headers)


def test_probe_of_a_good_account_succeeds_with_measured_phases_only(exporter, lab):
    status, body = probe(exporter, "register", f"1001@127.0.0.1:{lab.sip_port}")
    assert status == 200, body
    got = samples(body)
    assert got[("siptest_probe_success", ())] == 1
    assert got[("siptest_sip_status_code", (("check", "register"),))] == 200
    assert got[("siptest_phase_duration_seconds", (("phase", "register"),))] > 0
    assert got[("siptest_diagnosis_info", (("category", "none"), ("id", "ok.registered")))] == 1
    phases = {dict(labels)["phase"] for name, labels in got if name.startswith("siptest_phase")}
    assert phases == {"register"}  # dns, connect, tls are not measured: not exported
    # no user ID in any label (a sample's value may hold the digits: 0.5434699110010115)
    assert [value for _, labels in got for _, value in labels if "1001" in value] == []
    assert "1001@" not in body


def test_probe_of_a_wrong_password_fails_diagnosed_without_the_password(exporter, lab):
    status, body = probe(exporter, "register_wrong", f"1003@127.0.0.1:{lab.sip_port}")
    assert status == 200, body
    got = samples(body)
    assert got[("siptest_probe_success", ())] == 0
    assert got[("siptest_sip_status_code", (("check", "register"),))] == 401
    diagnosis = [dict(labels) for name, labels in got if name == "siptest_diagnosis_info"]
    assert diagnosis == [{"id": "credentials.password_invalid", "category": "credentials"}]
    assert CANARY not in body + exporter.log()


def test_answered_call_probe_exports_mos_and_loss_per_direction(modules_file, tmp_path, lab):
    running = start_exporter(modules_file, {"GOOD_PW": "lab-1001-pass"}, tmp_path / "e.log")
    try:
        _, body = probe(running, "short_call", f"1001@127.0.0.1:{lab.sip_port}")
    finally:
        assert running.stop() == 0
    got = samples(body)
    assert got[("siptest_probe_success", ())] == 1, body
    for direction in ("sent", "received"):
        assert 1 <= got[("siptest_mos", (("direction", direction),))] <= 4.5
        assert 0 <= got[("siptest_rtp_loss_ratio", (("direction", direction),))] <= 1
    assert got[("siptest_phase_duration_seconds", (("phase", "answer"),))] > 0
    assert got[("siptest_sip_status_code", (("check", "call"),))] == 200


def test_unknown_module_is_a_400_naming_the_modules(exporter, lab):
    status, body = probe(exporter, "nope", f"1001@127.0.0.1:{lab.sip_port}")
    assert status == 400
    assert "register, register_wrong, short_call" in body.replace("long_call, ", "")


@pytest.mark.parametrize("target", ["", "--help", "1001", "1001@", "a b@127.0.0.1"])
def test_bad_target_is_a_400_and_runs_nothing(exporter, target):
    status, body = probe(exporter, "register", target)
    assert status == 400, body
    health = samples(exporter.get("/metrics")[1])
    assert not [name for name, _ in health if name == "siptest_exporter_probes_total"]


def test_a_password_in_the_url_is_refused_loudly_and_never_logged(exporter, lab):
    status, body = exporter.get(
        f"/probe?module=register&target=1001@127.0.0.1:{lab.sip_port}&password={CANARY}"
    )
    assert status == 400
    assert "change that password" in body
    assert "passwords never go in a URL" in exporter.log()
    assert CANARY not in exporter.log()


def test_the_scrape_timeout_header_bounds_the_probe(exporter, lab):
    # a 30 s call under a 3 s scrape timeout: stopped at the deadline, reported failed
    status, body = probe(
        exporter,
        "long_call",
        f"1001@127.0.0.1:{lab.sip_port}",
        **{"X-Prometheus-Scrape-Timeout-Seconds": "3"},
    )
    assert status == 200, body
    assert samples(body)[("siptest_probe_success", ())] == 0
    assert "stopped at the scrape deadline" in exporter.log()
    # SIGTERM lets the child hang up and un-register, also after the scrape got its
    # answer (a loaded machine may need longer than the scrape's grace)
    eventually(lambda: lab.bindings("1001") == [], "the probe's binding to go", 15)


def test_a_probe_over_the_concurrency_limit_gets_503(exporter, lab):
    target = f"1001@127.0.0.1:{lab.sip_port}"
    first: list = []
    worker = threading.Thread(target=lambda: first.append(probe(exporter, "short_call", target)))
    worker.start()
    eventually(
        lambda: samples(exporter.get("/metrics")[1]).get(("siptest_exporter_probes_in_flight", ())),
        "the first probe in flight",
        15,
    )
    status, body = probe(
        exporter, "register", target, **{"X-Prometheus-Scrape-Timeout-Seconds": "2"}
    )
    assert status == 503, body
    assert "--concurrency" in body
    worker.join(timeout=30)
    assert first and first[0][0] == 200
    health = samples(exporter.get("/metrics")[1])
    assert health[("siptest_exporter_probes_rejected_total", ())] == 1
    assert health[("siptest_exporter_probes_in_flight", ())] == 0


def test_a_target_outside_the_modules_servers_is_a_400_and_nothing_is_sent(lab, sip_peer, tmp_path):
    # The module's password belongs to the lab; the URL names another server (here a
    # scripted peer on another loopback port, standing for an attacker's host that would
    # answer with a challenge and collect the digest of that password).
    peer = sip_peer("udp", [])  # records everything, never answers
    path = tmp_path / "modules.yaml"
    path.write_text(
        "modules:\n"
        f"  lab:\n    timeout: 1\n    password_env: GOOD_PW\n"
        f"    servers: ['127.0.0.1:{lab.sip_port}', 'pbx.example']\n"
        f"  at_peer:\n    timeout: 1\n    password_env: GOOD_PW\n"
        f"    servers: ['127.0.0.1:{peer.port}']\n"
    )
    running = start_exporter(path, {"GOOD_PW": CANARY}, tmp_path / "exporter.log")
    try:
        status, body = probe(running, "lab", f"1002@127.0.0.1:{peer.port}")
        assert status == 400, body
        assert f"127.0.0.1:{lab.sip_port}, pbx.example" in body
        health = samples(running.get("/metrics")[1])
        assert not [name for name, _ in health if name == "siptest_exporter_probes_total"]
        assert peer.received == []
        # the twin: a module whose servers list the peer does reach it, so the peer would
        # have seen the refused probe's REGISTER (user 1002) by the time it sees this one
        status, _ = probe(running, "at_peer", f"1001@127.0.0.1:{peer.port}")
        assert status == 200
    finally:
        assert running.stop() == 0
    froms = {request.header("from") or "" for request in peer.requests_of("REGISTER")}
    assert froms and all("sip:1001@" in value for value in froms), froms
    log = running.log()
    assert "refused a probe of module lab" in log
    assert "1002@" not in log and "target=" not in log and CANARY not in log


@pytest.mark.timeout(90)
def test_a_probe_cleaning_up_after_its_answer_still_holds_its_concurrency_slot(
    sip_peer, tmp_path, monkeypatch
):
    from sippeer import ok

    from siptest.exporter.modules import load_modules
    from siptest.exporter.server import Exporter

    # The peer binds the REGISTER and never answers the un-REGISTER: at the scrape
    # deadline the child is told to stop, answers nothing in the grace time and goes on
    # waiting for the un-REGISTER (--timeout 30) after the scrape has its answer.
    peer = sip_peer("udp", [ok()])
    monkeypatch.setenv("PEER_PW", "peer-test-pass")
    path = tmp_path / "modules.yaml"
    path.write_text(
        "modules:\n  m:\n    timeout: 30\n    password_env: PEER_PW\n"
        f"    servers: ['127.0.0.1:{peer.port}']\n"
    )
    exporter = Exporter(load_modules(path), concurrency=1)
    query = f"module=m&target=1004@127.0.0.1:{peer.port}"
    try:
        first = exporter.probe(query, "8")
        assert first.status == 200
        assert b"siptest_probe_success 0.0" in first.body
        assert len(peer.requests_of("REGISTER")) == 2  # the un-REGISTER is unanswered
        (child,) = list(exporter.children._running)
        assert child.poll() is None  # still cleaning up
        # --concurrency 1: no second stack while the first one still runs
        assert exporter.probe(query, "1").status == 503
        assert child.poll() is None, "the child exited too early for this test"
        eventually(lambda: not exporter.children._running, "the child to be reaped", 30)
        assert child.poll() is not None
        assert exporter.slots.acquire(timeout=5)  # given back once the child is gone
        exporter.slots.release()
    finally:
        exporter.children.terminate_all()
