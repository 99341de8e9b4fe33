"""Scenarios as data: accounts, ordered steps, and what each step must show.

A `Scenario` is what the loader makes of one `*.sip.yaml` file, with every
`${VAR}` already substituted and every `repeat` unrolled, so the runner walks a
flat tuple of steps. Passwords are not in here: an account only says where its
password comes from (`PasswordSource`); `prepare` in the loader reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from siptest.analysis.details import ExpectationResult
from siptest.analysis.expectations import MediaExpectation, unmet_outcome
from siptest.analysis.model import Check
from siptest.errors import UsageError
from siptest.ua.base import AccountSpec, Transport

SCENARIO_SUFFIXES = (".sip.yaml", ".sip.yml")
"""How scenario files are named (found in directories, collected by pytest)."""
MAX_WAIT_SECONDS = 300.0
"""Longest single `wait` step: every wait in siptest is bounded."""
MAX_REPEAT = 100
"""Most repetitions of one `repeat` block."""
MAX_STEPS = 1000
"""Most steps of a scenario once its `repeat` blocks are unrolled."""
MOS_RANGE = (1.0, 4.5)
"""What `min_mos` may ask for: the MOS scale of the E-model estimate (ITU-T G.107)."""
MEDIA_KEYS = ("audio", "min_mos", "dtmf")
"""Expectations judged against the media check of an answered call."""
DtmfMethod = Literal["rfc4733", "info"]


def scenario_stem(path: Path) -> str:
    """The file name without its scenario suffix: the default name of the scenario."""
    name = path.name
    for suffix in (*SCENARIO_SUFFIXES, ".yaml", ".yml"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


class ScenarioError(UsageError):
    """A scenario file cannot be used as written; the message starts with FILE:LINE."""

    @property
    def problems(self) -> tuple[str, ...]:
        """Each mistake on its own, "FILE:LINE: key 'x': ..." (here: just the one)."""
        return (str(self),)


class ScenarioErrors(ScenarioError):
    """Every mistake found in one scenario file, in the order of the file."""

    def __init__(self, problems: list[ScenarioError]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self._problems = tuple(str(p) for p in problems)

    @property
    def problems(self) -> tuple[str, ...]:
        return self._problems


@dataclass(frozen=True)
class Location:
    """Where something is written: a file and a 1-based line."""

    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class PasswordSource:
    """Where an account's password comes from; never the password itself."""

    env: str | None = None
    """Name of the environment variable that holds it."""
    file: Path | None = None
    """A file only the owner can read (first line), as with --password-file."""
    location: Location | None = None
    """Where the source is named (the account's line when defaulted)."""

    @property
    def key(self) -> str:
        return "password_file" if self.file is not None else "password_env"

    def describe(self) -> str:
        return f"file {self.file}" if self.file is not None else f"${self.env}"


@dataclass(frozen=True)
class Account:
    """An account as the scenario describes it (the password still unread)."""

    name: str
    """The name steps refer to it by."""
    user: str
    host: str
    """Registrar host; IPv6 without brackets."""
    port: int | None
    transport: Transport
    auth_user: str | None
    domain: str | None
    outbound_proxy: str | None
    expires: int
    password: PasswordSource
    location: Location
    answers_calls: bool = False
    """Answer incoming calls while registered (the far end of a call between two
    accounts); otherwise siptest's account refuses them with 486 Busy Here."""

    @property
    def hostport(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port else host

    def spec(self, password: str) -> AccountSpec:
        """The account as the user agent takes it, with its password."""
        return AccountSpec(
            user=self.user,
            domain=self.domain or self.hostport,
            registrar=self.host,
            port=self.port,
            transport=self.transport,
            auth_user=self.auth_user or self.user,
            password=password,
            outbound_proxy=self.outbound_proxy,
            expires=self.expires,
            answers_calls=self.answers_calls,
        )


@dataclass(frozen=True)
class Expectation:
    """What a step's check must show. Every condition given must hold."""

    ok: bool | None = None
    """The check succeeded (registered, answered, removed) - or, if False, failed."""
    codes: tuple[int, ...] = ()
    """The final response code is one of these."""
    category: str | None = None
    """The diagnosis category (none, credentials, number, tariff...)."""
    answered: bool | None = None
    """The call was (or was not) answered. Calls only."""
    audio: Literal["both"] | None = None
    """Audio flowed both ways (the media check). Calls only."""
    min_mos: float | None = None
    """The call quality estimate (worse direction) is at least this. Calls only."""
    dtmf: str | None = None
    """These DTMF digits arrived at the far end. Calls only."""
    location: Location | None = None
    """Where the expectation is written; None for the default."""
    dtmf_location: Location | None = None
    """Where `dtmf` is written (its own line, for errors found after merging)."""

    @property
    def is_default(self) -> bool:
        return self.location is None

    @property
    def media(self) -> MediaExpectation | None:
        """The expectations on the call's media, as the media analysis takes them."""
        if self.audio is None and self.min_mos is None and self.dtmf is None:
            return None
        return MediaExpectation(audio=self.audio, min_mos=self.min_mos, dtmf=self.dtmf)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.ok is not None:
            data["ok"] = self.ok
        if self.codes:
            data["code"] = self.codes[0] if len(self.codes) == 1 else list(self.codes)
        if self.category is not None:
            data["category"] = self.category
        if self.answered is not None:
            data["answered"] = self.answered
        if self.audio is not None:
            data["audio"] = self.audio
        if self.min_mos is not None:
            data["min_mos"] = self.min_mos
        if self.dtmf is not None:
            data["dtmf"] = self.dtmf
        return data

    def describe(self) -> str:
        parts = []
        if self.ok is not None:
            parts.append("ok" if self.ok else "not ok")
        if self.codes:
            parts.append("code " + " or ".join(str(code) for code in self.codes))
        if self.category is not None:
            parts.append(f"category {self.category}")
        if self.answered is not None:
            parts.append("answered" if self.answered else "not answered")
        parts.extend(self.describe_media())
        return ", ".join(parts)

    def describe_media(self) -> list[str]:
        parts = []
        if self.audio is not None:
            parts.append("audio both ways")
        if self.min_mos is not None:
            parts.append(f"MOS at least {self.min_mos:g}")
        if self.dtmf is not None:
            parts.append(f"DTMF '{self.dtmf}' at the far end")
        return parts

    def unmet(self, check: Check) -> list[str]:
        """What did not hold, in words ("expected code 404, got 200 OK"); empty if met.

        Judges the step's own check; the media keys are judged by `unmet_media`.
        """
        return unmet_outcome(
            check, ok=self.ok, codes=self.codes, category=self.category, answered=self.answered
        )

    def unmet_media(self, call: Check, media: Check | None) -> list[str]:
        """What the media check shows against `audio`, `min_mos` and `dtmf`; empty if met.

        `call` is the call's check, `media` its media check (None when the call was
        not answered: nothing was measured, so no media expectation can hold).
        """
        if self.media is None:
            return []
        wanted = " and ".join(self.describe_media())
        report = media.media if media is not None else None
        if media is None or report is None:
            response = call.response
            got = f"{response.code} {response.reason}".strip() if response else "no response"
            return [f"expected {wanted}, but the call was not answered ({got})"]
        problems = [_unmet_media_text(result) for result in report.expectations if not result.met]
        if not problems and not media.ok:
            # Each key held, but the media check failed on its own terms (no audio
            # back, loss beyond the failure threshold): the step fails with it.
            title = media.diagnosis.title if media.diagnosis else "the media check failed"
            problems.append(f"expected {wanted}; the media check failed: {title}")
        return problems


_AUDIO_WORDS = {
    "both": "audio both ways",
    "poor": "audio both ways, poor quality",
    "one_way_out": "one-way audio (nothing heard from the far end)",
    "one_way_in": "one-way audio (the far end receives nothing)",
    "none": "no audio in either direction",
}


def _unmet_media_text(result: ExpectationResult) -> str:
    """One unmet media expectation in words, from the media section's `expectations`."""
    kind, wanted, got = result.expect, result.wanted, result.got
    if kind == "audio":
        return f"expected audio both ways, got {_AUDIO_WORDS.get(str(got), 'no audio')}"
    if kind == "min_mos":
        if got is None:
            return f"expected MOS at least {wanted:g}, got no estimate (no audio both ways)"
        return f"expected MOS at least {wanted:g}, got {got:.2f}"
    if kind == "dtmf":
        arrived = f"'{got}'" if got else "nothing"
        return f"expected DTMF '{wanted}' at the far end, {arrived} arrived"
    return f"expected {kind} {wanted}, got {got}"


DEFAULT_EXPECTATION = Expectation(ok=True)
"""A step without `expect` must succeed."""


@dataclass(frozen=True)
class Register:
    """Register an account (and keep it registered until unregister or the end)."""

    account: str
    location: Location
    expect: Expectation = DEFAULT_EXPECTATION
    round: str = ""
    """"2/5" inside a repeat block; nested blocks give "1/2 2/5"."""


@dataclass(frozen=True)
class Unregister:
    """Remove the account's registration (our own contact only)."""

    account: str
    location: Location
    expect: Expectation = DEFAULT_EXPECTATION
    round: str = ""


@dataclass(frozen=True)
class Call:
    """Dial a number from an account; hang up after `talk` seconds."""

    account: str
    number: str
    location: Location
    ring_timeout: float = 30.0
    talk: float = 2.0
    dtmf: str = ""
    dtmf_method: DtmfMethod = "rfc4733"
    """How the digits are sent: RFC 4733 events in the RTP stream, or SIP INFO."""
    expect: Expectation = DEFAULT_EXPECTATION
    round: str = ""


@dataclass(frozen=True)
class Wait:
    """Do nothing for a while (at most MAX_WAIT_SECONDS)."""

    seconds: float
    location: Location
    round: str = ""


Step = Register | Unregister | Call | Wait


@dataclass(frozen=True)
class Scenario:
    """One scenario file, ready to run once its passwords are read."""

    name: str
    path: Path
    accounts: Mapping[str, Account]
    """By name, in the order the file lists them."""
    steps: tuple[Step, ...]
    """In order, repeat blocks unrolled."""
    transport: Transport
    """Shared by every account: one SIP stack serves one transport."""
    timeout: float = 5.0
    """Seconds each SIP transaction may take."""
    profile: str | None = None
    """Provider profile name or profile file path."""
    continue_on_failure: bool = False
    tls_ca: Path | None = None
    tls_insecure: bool = False
    description: str = ""
    profile_location: Location | None = None
    """Where `profile` is written (for errors found when the profile is loaded)."""

    @property
    def location(self) -> Location:
        return Location(self.path, 1)
