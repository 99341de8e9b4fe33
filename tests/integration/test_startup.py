"""What a single `siptest register` loads at start-up (benchmarks/register_vs_sipsak.py).

Python's own import profiler (PYTHONPROFILEIMPORTTIME) lists every module the real
command imports; a check of an IP address must not pay for dnspython, PyYAML or the
modules of features it does not use. Nothing here measures time.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from siptest import __version__

pytestmark = pytest.mark.lab

PASSWORD = "lab-1001-pass"

NOT_FOR_AN_ADDRESS = (
    "dns",  # dnspython: only when a name is looked up
    "siptest.resolution",
    "yaml",  # the bundled knowledge is a pre-built snapshot
    "ssl",  # only over TLS (siptest.ua.tlsprobe)
    "siptest.ua.tlsprobe",
    "siptest.report.progress",  # live progress: only for a person at a terminal
    "encodings.idna",  # getaddrinfo gets an ASCII host as bytes
    "siptest.report.html",
    "siptest.report.nagios",
    "dpkt",
    "prometheus_client",
    # a call's types, media and outcome: a register check creates none of their classes
    "siptest.ua.calls",
    "siptest.ua.mediaevents",
    "siptest.ua.pjsua.media",
    "siptest.ua.pjsua.mediatap",  # only for --pcap
    "siptest.ua.rtp",
    "siptest.analysis.details",
    "siptest.ua.recording",  # recorded event streams: tests only
)


def imported(stderr: str) -> set[str]:
    """Module names from `-X importtime` lines: `import time: SELF | CUMULATIVE | NAME`."""
    found = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)$", stderr, re.MULTILINE)
    return set(found)


def loaded(modules: set[str], package: str) -> list[str]:
    return sorted(m for m in modules if m == package or m.startswith(f"{package}."))


def test_a_register_check_of_an_address_loads_no_dns_yaml_tls_or_other_commands(siptest, lab):
    result = siptest(
        "register",
        f"1001@127.0.0.1:{lab.sip_port}",
        "--json",
        password=PASSWORD,
        env={"PYTHONPROFILEIMPORTTIME": "1"},
    )
    assert result.status == 0, result.stderr[-2000:]
    assert result.check("register")["ok"] is True
    modules = imported(result.stderr)
    assert {"siptest.registration", "siptest.ua.pjsua.agent", "typer"} <= modules
    # each name is one that exists: a misspelt module would never be "loaded"
    assert [name for name in NOT_FOR_AN_ADDRESS if importlib.util.find_spec(name) is None] == []
    assert [loaded(modules, name) for name in NOT_FOR_AN_ADDRESS] == [
        [] for _ in NOT_FOR_AN_ADDRESS
    ]


def test_a_register_check_of_a_name_loads_dnspython(siptest, lab, dns_lab):
    result = siptest(
        "register",
        "1001@failover.test",
        "--dns-server",
        str(dns_lab.server),
        "--json",
        password=PASSWORD,
        env={"PYTHONPROFILEIMPORTTIME": "1"},
    )
    assert result.status == 0, result.stderr[-2000:]
    assert result.check("resolution")["ok"] is True
    modules = imported(result.stderr)
    assert "dns.resolver" in modules
    assert "siptest.resolution.resolver" in modules


def test_the_installed_command_and_python_m_siptest_are_the_same_entry():
    script = Path(sys.executable).with_name("siptest")
    runs = [
        subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
        for command in ([str(script), "--version"], [sys.executable, "-m", "siptest", "--version"])
    ]
    assert [(run.returncode, run.stdout) for run in runs] == [(0, f"siptest {__version__}\n")] * 2
