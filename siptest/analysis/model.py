"""What a run found, as data: checks and the report that holds them.

Renderers (text, JSON) read these; nothing here prints or talks to a network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from siptest.knowledge.model import Diagnosis
from siptest.ua.base import Response

CheckKind = Literal["resolution", "register", "call", "unregister", "media", "preflight", "hangup"]


@dataclass(frozen=True)
class Binding:
    """What a registration says about the network: the NAT evidence other checks read.

    The REGISTER's own Contact and the interval asked for; the registrar's 2xx: our
    binding as it lists it (RFC 3261 10.3) and the interval granted; its top Via: where
    it saw us (`received`, `rport`: RFC 3261 18.2.1, RFC 3581).
    """

    contact: str | None = None
    registered_contact: str | None = None
    """Our binding as the 2xx lists it: the same, or rewritten; None when not listed."""
    expires_requested: int | None = None
    expires_granted: int | None = None
    via_received: str | None = None
    via_rport: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "expires_requested": self.expires_requested,
            "expires_granted": self.expires_granted,
            "contact": self.contact,
            "registered_contact": self.registered_contact,
            "via_received": self.via_received,
            "via_rport": self.via_rport,
        }


@dataclass(frozen=True)
class NatEvidence:
    """What a NAT finding was read from: where siptest sent from and where the server
    saw it, the binding it holds, the far end's SDP address, the intervals."""

    local_address: str | None = None
    local_port: int | None = None
    via_received: str | None = None
    via_rport: int | None = None
    contact: str | None = None
    remote_sdp_address: str | None = None
    expires_requested: int | None = None
    expires_granted: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "local_address": self.local_address,
            "local_port": self.local_port,
            "via_received": self.via_received,
            "via_rport": self.via_rport,
            "contact": self.contact,
            "remote_sdp_address": self.remote_sdp_address,
            "expires_requested": self.expires_requested,
            "expires_granted": self.expires_granted,
        }


@dataclass(frozen=True)
class Direction:
    """One RTP direction of an answered call, as measured and estimated."""

    packets: int
    lost: int
    loss_percent: float
    jitter_ms: float | None = None
    mos: float | None = None
    r_factor: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "packets": self.packets,
            "lost": self.lost,
            "loss_percent": self.loss_percent,
            "jitter_ms": self.jitter_ms,
            "mos": self.mos,
            "r_factor": self.r_factor,
        }


@dataclass(frozen=True)
class ExpectationResult:
    """One media expectation (audio, min_mos, dtmf): what was wanted, what was seen."""

    expect: str
    wanted: object
    got: object
    met: bool

    def as_json(self) -> dict[str, Any]:
        return {"expect": self.expect, "wanted": self.wanted, "got": self.got, "met": self.met}


@dataclass(frozen=True)
class MediaReport:
    """A call's media as the report shows it (the JSON `media` section, docs/media.md)."""

    verdict: str | None
    """both, one_way_out, one_way_in, none, poor; None when nothing was measured."""
    codec: str | None = None
    remote_rtp: str | None = None
    duration_s: float | None = None
    sent: Direction | None = None
    received: Direction | None = None
    rtt_ms: float | None = None
    mos: float | None = None
    r_factor: float | None = None
    audio_in: bool = False
    audio_out: bool = False
    dtmf_sent: str = ""
    dtmf_received: str = ""
    assumptions: tuple[str, ...] = ()
    expectations: tuple[ExpectationResult, ...] = ()
    explained_by: tuple[str, ...] = ()
    """NAT findings of the same run that explain a media failure."""
    summary: str | None = None
    """One line for the text report (None when nothing was measured)."""
    stopped: tuple[float | None, float | None] | None = None
    """(received_after_s, sent_after_s) when audio stopped for good mid-call."""

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "codec": self.codec,
            "remote_rtp": self.remote_rtp,
            "duration_s": self.duration_s,
            "sent": self.sent.as_json() if self.sent else None,
            "received": self.received.as_json() if self.received else None,
            "rtt_ms": self.rtt_ms,
            "mos": self.mos,
            "r_factor": self.r_factor,
            "verdict": self.verdict,
            "audio_in": self.audio_in,
            "audio_out": self.audio_out,
            "dtmf_sent": self.dtmf_sent,
            "dtmf_received": self.dtmf_received,
            "assumptions": list(self.assumptions),
            "expectations": [result.as_json() for result in self.expectations],
        }
        if self.explained_by:
            data["explained_by"] = list(self.explained_by)
        if self.summary is not None:
            data["summary"] = self.summary
        if self.stopped is not None:
            data["stopped"] = {"received_after_s": self.stopped[0], "sent_after_s": self.stopped[1]}
        return data


@dataclass(frozen=True)
class StepFacts:
    """Where a check stands in a scenario: its step, account and expectation."""

    step: str | None = None
    """FILE:LINE of the step."""
    step_name: str | None = None
    """The step in words ("call 7000 from a", "clean-up: unregister a")."""
    account: str | None = None
    expect: dict[str, Any] | None = None
    """The step's expectation as written (JSON form)."""
    round: str | None = None
    """"2/5" inside a repeat block."""
    interrupted: bool = False
    """Cut short by Ctrl-C: recorded, not judged."""
    cleanup: bool = False
    """The un-REGISTER at the scenario's end."""
    unmet: tuple[str, ...] = ()
    """What did not hold, in words."""

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key in ("step", "step_name", "account", "expect", "round"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.interrupted:
            data["interrupted"] = True
        if self.cleanup:
            data["cleanup"] = True
        if self.unmet:
            data["unmet"] = list(self.unmet)
        return data


@dataclass(frozen=True)
class Check:
    """One thing siptest checked, its outcome, and what it means."""

    kind: CheckKind
    ok: bool
    diagnosis: Diagnosis | None
    target: str | None = None
    transport: str | None = None
    response: Response | None = None
    duration_ms: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    """Kind-specific facts for the report (requests sent, provisional codes...)."""
    binding: Binding | None = None
    """A `register` check's NAT evidence (typed: the media check and doctor read it)."""
    media: MediaReport | None = None
    """A `media` check's audio, and once measured the `call` check's too."""
    nat: NatEvidence | None = None
    """A NAT finding's evidence (such a finding is a passing `media` check)."""
    step: StepFacts | None = None
    """In a scenario: the step the check belongs to."""


@dataclass(frozen=True)
class Report:
    """Everything one command found, in the order it happened."""

    checks: tuple[Check, ...]
    profile: str = "generic"
    insecure: bool = False
    """TLS certificate checks were switched off (--tls-insecure)."""
    interrupted: bool = False
    """The run was cut short by a signal; the report is partial."""

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(check.ok for check in self.checks)
