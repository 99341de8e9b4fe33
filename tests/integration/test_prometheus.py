"""A real Prometheus server scrapes `siptest exporter` against the lab.

Debian's `prometheus` (./dev installs it) runs on loopback with a temporary config and
storage; its scrape config uses the multi-target relabelling of blackbox_exporter
(`__param_target`, `__address__` -> the exporter). The test reads
`siptest_probe_success` for a good and a wrong-password account back through
Prometheus' HTTP API.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import urllib.parse
import urllib.request

import pytest
from exporter_process import start_exporter
from waiting import eventually

from siptest.lab.ports import free_port

pytestmark = [pytest.mark.lab, pytest.mark.timeout(120)]

SCRAPE = """\
global:
  scrape_interval: 2s
  scrape_timeout: 2s  # the exporter gets 1.5 s (0.5 s margin)
scrape_configs:
  - job_name: siptest
    metrics_path: /probe
    static_configs:
      - targets: ["1001@127.0.0.1:{sip_port}"]
        labels: {{__param_module: register, account: good}}
      - targets: ["1003@127.0.0.1:{sip_port}"]
        labels: {{__param_module: register_wrong, account: bad}}
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: {exporter}
"""


@pytest.fixture
def prometheus(tmp_path, lab):
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("Debian's prometheus is not installed: run ./dev test (it installs it)")
    modules = tmp_path / "modules.yaml"
    servers = f"    servers: ['127.0.0.1:{lab.sip_port}']\n"
    modules.write_text(
        "modules:\n"
        f"  register:\n    timeout: 1\n    password_env: GOOD_PW\n{servers}"
        f"  register_wrong:\n    timeout: 1\n    password_env: WRONG_PW\n{servers}"
    )
    exporter = start_exporter(
        modules,
        {"GOOD_PW": "lab-1001-pass", "WRONG_PW": "not-the-password"},
        tmp_path / "exporter.log",
    )
    config = tmp_path / "prometheus.yml"
    config.write_text(
        SCRAPE.format(sip_port=lab.sip_port, exporter=exporter.url.removeprefix("http://"))
    )
    port = free_port("127.0.0.1", tcp=True)
    log = (tmp_path / "prometheus.log").open("w")
    server = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield f"http://127.0.0.1:{port}", exporter
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)
        log.close()
        assert exporter.stop() == 0


def query(base: str, expression: str) -> list[dict]:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': expression})}"
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            body = json.load(answer)
    except OSError:
        return []  # not up yet
    assert body["status"] == "success", body
    return body["data"]["result"]


def test_prometheus_scrapes_a_good_and_a_wrong_password_account(prometheus):
    base, exporter = prometheus
    seen: dict[str, float] = {}

    def both_verdicts() -> bool:
        for result in query(base, "siptest_probe_success"):
            seen[result["metric"]["account"]] = float(result["value"][1])
        return seen == {"good": 1.0, "bad": 0.0}

    # a scrape on a busy machine may hit its deadline once: wait for both verdicts
    eventually(both_verdicts, f"both verdicts in Prometheus ({exporter.log()})", 90)
    good = query(base, 'siptest_probe_success{account="good"}')[0]["metric"]
    assert good["instance"].startswith("1001@127.0.0.1:")  # the target, set by relabelling
    diagnosis = query(base, 'siptest_diagnosis_info{account="bad"}')
    assert [r["metric"]["id"] for r in diagnosis] == ["credentials.password_invalid"]
    assert "not-the-password" not in exporter.log()
