"""`--report PATH.html` against the lab, opened in a real headless browser (Debian's
chromium, driven by Playwright): it loads without console errors and without a single
network request, shows the verdict, and draws one ladder arrow per traced message.

Screenshots are kept in $SIPTEST_ARTIFACTS (default test-artifacts/ at the repository
root) for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "lab-1001-pass"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).parents[2]

needs_chromium = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason="Debian's chromium is not installed (./dev test installs it: apt-get install chromium)",
)


def artifacts() -> Path:
    folder = Path(os.environ.get("SIPTEST_ARTIFACTS") or ROOT / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def traced_messages(trace: Path) -> int:
    return sum(1 for line in trace.read_text().splitlines() if re.match(r"^(-->|<--|xx>) ", line))


@dataclass
class Opened:
    """A report as the browser shows it, and everything the page did while loading."""

    page: Any
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def text(self, selector: str = "body") -> str:
        return str(self.page.inner_text(selector))

    def count(self, selector: str) -> int:
        return int(self.page.locator(selector).count())


@pytest.fixture
def browser(tmp_path) -> Iterator[Any]:
    """Chromium on a fresh profile, with every network request recorded and refused."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync",
            ],
            viewport={"width": 1100, "height": 900},
            offline=True,
        )  # fmt: skip
        try:
            yield context
        finally:
            context.close()


def open_report(context: Any, path: Path) -> Opened:
    page = context.new_page()
    opened = Opened(page)
    page.on("request", lambda request: opened.requests.append(request.url))
    page.on(
        "console",
        lambda message: message.type == "error" and opened.console_errors.append(message.text),
    )
    page.on("pageerror", lambda error: opened.page_errors.append(str(error)))
    page.on("dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss()))
    # Anything but the file itself is recorded above and refused here.
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url == path.as_uri() else route.abort(),
    )
    page.goto(path.as_uri(), wait_until="load", timeout=20_000)
    return opened


def assert_clean_load(opened: Opened, path: Path) -> None:
    assert opened.requests == [path.as_uri()], "the page asked for more than itself"
    assert opened.console_errors == [] and opened.page_errors == []
    assert opened.dialogs == []


def screenshot(opened: Opened, name: str) -> Path:
    shot = artifacts() / name
    opened.page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
    return shot


@needs_chromium
def test_a_registration_report_loads_offline_with_its_verdict_and_ladder(
    siptest, lab, tmp_path, browser
):
    report, trace = tmp_path / "register.html", tmp_path / "register.txt"
    result = siptest(
        "register", f"1001@127.0.0.1:{lab.sip_port}", "--json",
        "--report", str(report), "--trace", str(trace), password=PASSWORD,
    )  # fmt: skip
    assert result.status == 0, result.stdout + result.stderr
    assert report.stat().st_mode & 0o777 == 0o600
    assert PASSWORD not in report.read_text()
    opened = open_report(browser, report)
    assert_clean_load(opened, report)
    assert opened.text("#verdict") == "PASS"
    title = result.check("register")["diagnosis"]["title"]
    assert title in opened.text(".check")
    assert opened.count("svg .arrow") == traced_messages(trace) >= 4
    first = opened.page.locator("svg .arrow").first.locator("text").all_text_contents()
    assert re.fullmatch(r"\+\d+\.\d ms", first[0]) and first[1] == "REGISTER"
    screenshot(opened, "html-report-register.png")


@needs_chromium
def test_an_answered_call_report_has_audio_charts_and_the_far_end(siptest, lab, tmp_path, browser):
    report, trace = tmp_path / "call.html", tmp_path / "call.txt"
    result = siptest(
        "call", f"1001@127.0.0.1:{lab.sip_port}", "7000", "--talk", "1.5", "--json",
        "--report", str(report), "--trace", str(trace), password=PASSWORD,
    )  # fmt: skip
    assert result.status == 0, result.stdout + result.stderr
    opened = open_report(browser, report)
    assert_clean_load(opened, report)
    assert opened.text("#verdict") == "PASS"
    assert result.check("call")["diagnosis"]["title"] in opened.text("body")
    assert opened.count("svg .arrow") == traced_messages(trace)
    # the lab relays the call to its echo service: a far end behind the server
    assert "far end" in opened.text(".ladder")
    assert opened.count("svg .relay") >= 3  # 180, 200 and ACK at least
    # audio: both directions, three charts of what came from the far end
    assert opened.count(".audio .direction") == 2
    assert opened.count(".audio .direction >> nth=0 >> svg.chart") == 3
    points = opened.page.locator("svg.chart polyline").first.get_attribute("points")
    assert len(points.split()) >= 5  # a tick every 0.2 s over 1.5 s
    # a message opens on a click and shows the trace's redaction
    opened.page.locator("details.message summary").first.click()
    assert "REGISTER" in opened.text("details.message >> nth=0")
    shot = screenshot(opened, "html-report-call.png")
    assert shot.exists()


@needs_chromium
def test_html_a_server_sends_stays_text_in_the_browser(siptest, sip_peer, tmp_path, browser):
    from sippeer import always, respond

    hostile = "<script>document.title='pwned';alert(1)</script>"
    peer = sip_peer(
        "udp",
        always(respond(403, hostile, {"X-Evil": '"><img src=x onerror="alert(\'header\')">'})),
    )
    report = tmp_path / "hostile.html"
    result = siptest(
        "register", f"1001@127.0.0.1:{peer.port}", "--report", str(report), password=PASSWORD
    )
    assert result.status == 1, result.stdout + result.stderr
    opened = open_report(browser, report)
    assert_clean_load(opened, report)
    assert "pwned" not in opened.page.title()
    assert opened.count("script") == 0 and opened.count("img") == 0
    assert "403 <script>document.title=" in opened.text(".ladder")
    message = opened.page.locator("details.message").nth(1).text_content()
    assert f"403 {hostile}" in message and "onerror=\"alert('header')\"" in message


@needs_chromium
def test_run_writes_one_report_with_a_section_per_scenario(siptest, lab, tmp_path, browser):
    scenarios = ROOT / "scenarios"
    report, trace = tmp_path / "runs.html", tmp_path / "runs.txt"
    result = siptest(
        "run", str(scenarios / "credential-check.sip.yaml"),
        str(scenarios / "ata-self-check.sip.yaml"),
        "--report", str(report), "--trace", str(trace), password=PASSWORD,
        env={"SIPTEST_PORT": str(lab.sip_port)},
    )  # fmt: skip
    assert result.status == 0, result.stdout + result.stderr
    opened = open_report(browser, report)
    assert_clean_load(opened, report)
    assert opened.count("section.run") == 2
    assert opened.count("svg .arrow") == traced_messages(trace)
    assert opened.text("#verdict") == "PASS"
    screenshot(opened, "html-report-run.png")


def test_a_report_path_that_is_a_symbolic_link_is_refused(siptest, tmp_path):
    target = tmp_path / "target"
    target.write_bytes(b"keep")
    link = tmp_path / "report.html"
    link.symlink_to(target)
    result = siptest("register", "1001@127.0.0.1:9", "--report", str(link), password=PASSWORD)
    assert result.status == 2
    assert "--report" in result.stderr and target.read_bytes() == b"keep"


@needs_chromium
def test_a_doctor_report_shows_its_steps_verdict_ladder_and_audio(siptest, lab, tmp_path, browser):
    report = tmp_path / "doctor.html"
    result = siptest(
        "doctor", f"1001@127.0.0.1:{lab.sip_port}", "--tls-port", str(lab.tls_port),
        "--tls-ca", str(lab.ca_file), "--call", "7000", "--timeout", "1", "--json",
        "--report", str(report), password=PASSWORD,
    )  # fmt: skip
    assert result.status == 0, result.stdout + result.stderr
    assert report.stat().st_mode & 0o777 == 0o600
    assert PASSWORD not in report.read_text()
    opened = open_report(browser, report)
    assert_clean_load(opened, report)
    assert opened.text("#verdict") == "PASS"
    assert result.json["verdict"]["title"] in opened.text(".verdict-cause")
    # one article per step, in the doctor's order, each with its own status
    names = [step["name"] for step in result.json["steps"]]
    assert opened.count("article.step") == len(names) == 7
    assert opened.text("article.step >> nth=-1").startswith("OK") and "Call" in opened.text(
        "article.step >> nth=-1"
    )
    # the SIP exchange of its REGISTER and call: one arrow per message listed below
    arrows = opened.count("svg .arrow")
    assert arrows == opened.count("details.message") >= 10
    labels = opened.page.locator("svg .arrow").all_text_contents()
    assert any("REGISTER" in label for label in labels)
    assert any("INVITE" in label for label in labels) and any("BYE" in label for label in labels)
    assert opened.count(".audio .direction") == 2
    # a step's evidence opens on a click
    opened.page.locator("article.step >> nth=1 >> summary").click()
    assert "OPTIONS" in opened.text("article.step >> nth=1 >> pre")
    screenshot(opened, "html-report-doctor.png")


@needs_chromium
def test_a_failing_doctor_report_shows_the_cause_and_no_password(siptest, lab, tmp_path, browser):
    report = tmp_path / "doctor-wrong.html"
    wrong = "not-the-lab-password"
    result = siptest(
        "doctor", f"1001@127.0.0.1:{lab.sip_port}", "--tls-port", str(lab.tls_port),
        "--tls-ca", str(lab.ca_file), "--call", "7000", "--timeout", "1", "--json",
        "--report", str(report), password=wrong,
    )  # fmt: skip
    assert result.status == 1, result.stdout + result.stderr
    assert wrong not in report.read_text()
    opened = open_report(browser, report)
    assert_clean_load(opened, report)
    assert opened.text("#verdict") == "FAIL"
    assert result.json["verdict"]["step"] == "register"
    assert result.json["verdict"]["title"] in opened.text(".verdict-cause")
    register = opened.page.locator("article.step", has_text="REGISTER")
    assert register.inner_text().startswith("FAIL")
    # it stopped at the cause: no call step, no INVITE, no audio
    assert "call" not in [s["name"] for s in result.json["steps"]]
    assert opened.count(".audio") == 0
    labels = opened.page.locator("svg .arrow").all_text_contents()
    assert any("REGISTER" in label for label in labels)
    assert not any("INVITE" in label for label in labels)
    screenshot(opened, "html-report-doctor-fail.png")
