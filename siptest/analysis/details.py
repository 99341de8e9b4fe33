"""The typed details that only some checks carry: a call's audio (`MediaReport`), a
NAT finding's evidence (`NatEvidence`), a scenario check's step (`StepFacts`).

Apart from `siptest.analysis.model` so that a register check, which has none of
them, does not create their classes at start-up (benchmarks/register_vs_sipsak.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
