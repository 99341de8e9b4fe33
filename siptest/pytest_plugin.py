"""pytest plugin: scenario files as test items, and fixtures for your own SIP tests.

Installed with siptest (entry point `pytest11`, name `siptest`; `-p no:siptest`
turns it off). Every `*.sip.yaml` file pytest comes across is one test, so CI
gets `--junitxml`, `-k`, `-x`, pytest-timeout and pytest-xdist as usual:

    pytest scenarios/                              # against what the variables say
    pytest scenarios/ --sip-lab                    # against a lab started for the session
    pytest scenarios/ --sip-var SIPTEST_HOST=staging.example.com

A failing scenario's report shows the unmet expectations with the diagnosis
(What / Why / Fix) and the whole text report. With `--sip-lab` the variables
SIPTEST_HOST, SIPTEST_PORT, SIPTEST_TLS_PORT and SIPTEST_CA_FILE point at the
lab; passwords still come from the environment (or files) the scenario names.

Fixtures: `sip_lab` (the bundled lab, one per session) and `sip_account` (an
active lab account on it, as the `AccountSpec` siptest's library calls take).
The ini option `siptest_scenario_patterns` changes which files are collected.

Only pytest and the standard library are imported up front: the plugin loads in
every pytest run of an environment where siptest is installed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from siptest.lab import Lab
    from siptest.ua.base import AccountSpec

DEFAULT_PATTERNS = ["*.sip.yaml", "*.sip.yml"]
LAB_ACCOUNT = "1001"
"""The active lab user `sip_account` stands for."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("siptest", "siptest scenario files")
    group.addoption(
        "--sip-lab",
        action="store_true",
        default=False,
        help="Start siptest's bundled lab (Kamailio + SIPp on 127.0.0.1) for the session and "
        "point scenarios at it (SIPTEST_HOST, SIPTEST_PORT, SIPTEST_TLS_PORT, SIPTEST_CA_FILE).",
    )
    group.addoption(
        "--sip-var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="Set a scenario variable (like siptest run --var).",
    )
    parser.addini(
        "siptest_scenario_patterns",
        type="args",
        default=DEFAULT_PATTERNS,
        help="Glob patterns of scenario file names to collect (default: *.sip.yaml *.sip.yml).",
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    patterns: list[str] = parent.config.getini("siptest_scenario_patterns")
    if any(fnmatch.fnmatch(file_path.name, pattern) for pattern in patterns):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


def pytest_unconfigure(config: pytest.Config) -> None:
    holder = config.stash.get(_LAB_KEY, None)
    if holder is not None:
        holder.stop()


class ScenarioFile(pytest.File):
    """A scenario file: one test item, read when it runs (so -k needs no passwords)."""

    def collect(self) -> Iterator[pytest.Item]:
        from siptest.scenario.model import scenario_stem

        yield ScenarioItem.from_parent(self, name=scenario_stem(self.path))


class ScenarioFailed(Exception):
    """The scenario ran and an expectation did not hold (or it could not run)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class ScenarioItem(pytest.Item):
    """Load, prepare and run one scenario file with the real user agent."""

    def runtest(self) -> None:
        from siptest.report.scenario import failure_text, render_run_text
        from siptest.scenario import load_scenario, parse_overrides, prepare, run_scenario

        overrides = _lab_variables(self.config) if self.config.getoption("sip_lab") else {}
        overrides.update(parse_overrides(self.config.getoption("sip_var")))
        scenario = load_scenario(self.path, overrides=overrides)
        environ = _lab_passwords(scenario) if self.config.getoption("sip_lab") else None
        run = run_scenario(prepare(scenario, environ))
        report = render_run_text(run)
        self.add_report_section("call", "siptest report", report)
        self.user_properties.append(("scenario", scenario.name))
        self.user_properties.append(("status", run.status))
        if run.status == "interrupted":
            # Ctrl-C: the scenario cleaned up; now stop the session as pytest would.
            raise KeyboardInterrupt
        if not run.ok:
            raise ScenarioFailed(failure_text(run))

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | Any:
        from siptest.errors import SiptestError

        if isinstance(excinfo.value, ScenarioFailed):
            return excinfo.value.text
        if isinstance(excinfo.value, SiptestError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario {self.name}"


# -- the lab -------------------------------------------------------------------------------


class _LabHolder:
    """One lab per session, started on first use, stopped when pytest ends."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._lab: Lab | None = None
        self._error: str | None = None

    def get(self) -> Lab:
        from siptest.errors import CannotRunError
        from siptest.lab import Lab

        if self._error is not None:
            pytest.fail(self._error, pytrace=False)
        if self._lab is None:
            lab = Lab(self._workdir)
            try:
                lab.start()
            except CannotRunError as error:
                self._error = f"siptest's lab could not start: {error}"
                pytest.fail(self._error, pytrace=False)
            self._lab = lab
        return self._lab

    def stop(self) -> None:
        import shutil

        try:
            if self._lab is not None:
                self._lab.stop()
                self._lab = None
        finally:
            shutil.rmtree(self._workdir, ignore_errors=True)


_LAB_KEY = pytest.StashKey[_LabHolder]()


def _holder(config: pytest.Config) -> _LabHolder:
    holder = config.stash.get(_LAB_KEY, None)
    if holder is None:
        import tempfile

        # Short and private: Kamailio's control socket path must fit in 107 bytes.
        holder = _LabHolder(Path(tempfile.mkdtemp(prefix="siptest-lab-")))
        config.stash[_LAB_KEY] = holder
    return holder


def _lab_passwords(scenario: Any) -> dict[str, str]:
    """The environment for a scenario run against the lab: a lab account whose password
    variable is not set gets the lab's password for that user (they are public)."""
    import os

    from siptest.lab import LAB_USERS
    from siptest.password import DEFAULT_ENV

    passwords = {user.username: user.password for user in LAB_USERS}
    environ = dict(os.environ)
    for account in scenario.accounts.values():
        name = account.password.env or (None if account.password.file else DEFAULT_ENV)
        if name and name not in environ and account.user in passwords:
            environ[name] = passwords[account.user]
    return environ


def _lab_variables(config: pytest.Config) -> dict[str, str]:
    lab = _holder(config).get()
    return {
        "SIPTEST_HOST": lab.host,
        "SIPTEST_PORT": str(lab.sip_port),
        "SIPTEST_TLS_PORT": str(lab.tls_port),
        "SIPTEST_CA_FILE": str(lab.ca_file),
    }


@pytest.fixture(scope="session")
def sip_lab(pytestconfig: pytest.Config) -> Lab:
    """siptest's bundled lab (Kamailio as a provider, SIPp answering 7000) on 127.0.0.1.

    Started once per session on free ports, stopped at the end; the same lab
    `--sip-lab` points scenarios at. Users and dial plan: README.md, "The lab".
    """
    return _holder(pytestconfig).get()


@pytest.fixture
def sip_account(sip_lab: Lab) -> AccountSpec:
    """An active lab account (1001, UDP) with its password, for siptest's library calls."""
    from siptest.lab import find_user
    from siptest.ua.base import AccountSpec

    user = find_user(LAB_ACCOUNT)
    return AccountSpec(
        user=user.username,
        domain=f"{sip_lab.host}:{sip_lab.sip_port}",
        registrar=sip_lab.host,
        port=sip_lab.sip_port,
        transport="udp",
        auth_user=user.username,
        password=user.password,
    )
