"""Which way audio flowed and how good it was: the measurement behind the media verdict.

`assess` reads a `MediaSample` (both RTP directions) against the quality
thresholds and estimates MOS per direction; `media_section` is the JSON
`media` section built from it. Pure. Thresholds and sources: docs/media.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from siptest.analysis.details import Direction, MediaReport
from siptest.analysis.quality import QualityEstimate, estimate_mos
from siptest.ua.mediaevents import MediaSample, StreamStats

AudioVerdict = Literal["both", "one_way_in", "one_way_out", "none", "poor"]
"""`one_way_out`: only our outgoing audio flows; `one_way_in`: only incoming audio flows."""


@dataclass(frozen=True)
class QualityThresholds:
    """When a call that carries audio both ways is reported as poor."""

    mos_warning: float = 3.6
    """G.107 R 70 (G.109: below it many users are dissatisfied)."""
    mos_failure: float = 3.1
    """G.107 R 60 (G.109: below it nearly all users are dissatisfied)."""
    loss_warning_percent: float = 1.0
    loss_failure_percent: float = 5.0
    jitter_warning_ms: float = 30.0
    rtt_warning_ms: float = 300.0
    """Twice the 150 ms one-way delay G.114 keeps most conversations transparent at."""


THRESHOLDS = QualityThresholds()

SHORT_MEASUREMENT_S = 1.0
"""Below this much media, a silent direction may only mean the call was too short."""


@dataclass(frozen=True)
class Breach:
    level: Literal["warning", "failure"]
    kind: Literal["mos", "loss", "jitter", "rtt"]
    text: str


@dataclass(frozen=True)
class Assessment:
    sample: MediaSample
    audio_in: bool
    audio_out: bool
    estimate_in: QualityEstimate | None
    estimate_out: QualityEstimate | None
    breaches: tuple[Breach, ...]

    @property
    def both(self) -> bool:
        return self.audio_in and self.audio_out

    @property
    def worst(self) -> QualityEstimate | None:
        if not self.both or self.estimate_in is None or self.estimate_out is None:
            return None
        return min(self.estimate_in, self.estimate_out, key=lambda estimate: estimate.mos)

    @property
    def verdict(self) -> AudioVerdict:
        if self.both:
            return "poor" if self.breaches else "both"
        if self.audio_out:
            return "one_way_out"
        if self.audio_in:
            return "one_way_in"
        return "none"

    def failures(self) -> list[Breach]:
        return [breach for breach in self.breaches if breach.level == "failure"]


_FAR_END_PLC = (
    "the far end's decoder is assumed to conceal lost packets like pjsip does "
    "(G.711 Appendix I, G.113 Bpl 25.1)"
)
_NO_RTCP = (
    "the far end sent no RTCP receiver reports: the outgoing direction is judged "
    "from siptest's own packet count"
)


def _mos_breach(
    worst: float, thresholds: QualityThresholds, min_mos: float | None
) -> Breach | None:
    # An explicit scenario minimum replaces the default failure limit, not the warning.
    if min_mos is not None and worst < min_mos:
        return Breach("failure", "mos", f"below the scenario's minimum of {min_mos:.2f}")
    if min_mos is None and worst < thresholds.mos_failure:
        return Breach(
            "failure",
            "mos",
            f"below {thresholds.mos_failure:.2f}, where nearly all users are dissatisfied "
            "(ITU-T G.109)",
        )
    if worst < thresholds.mos_warning:
        return Breach(
            "warning",
            "mos",
            f"below {thresholds.mos_warning:.2f}, where many users are dissatisfied (ITU-T G.109)",
        )
    return None


def _stream_breaches(stats: StreamStats, where: str, thresholds: QualityThresholds) -> list[Breach]:
    breaches: list[Breach] = []
    loss = stats.loss_percent
    lost = f"{loss:.1f} % of the audio {where} was lost"
    if loss > thresholds.loss_failure_percent:
        breaches.append(
            Breach("failure", "loss", f"{lost} (more than {thresholds.loss_failure_percent:g} %)")
        )
    elif loss > thresholds.loss_warning_percent:
        breaches.append(
            Breach("warning", "loss", f"{lost} (more than {thresholds.loss_warning_percent:g} %)")
        )
    if stats.jitter_ms is not None and stats.jitter_ms > thresholds.jitter_warning_ms:
        breaches.append(
            Breach(
                "warning",
                "jitter",
                f"jitter {where} is {stats.jitter_ms:.0f} ms "
                f"(more than {thresholds.jitter_warning_ms:g} ms)",
            )
        )
    return breaches


def assess(sample: MediaSample, thresholds: QualityThresholds, min_mos: float | None) -> Assessment:
    sent, received = sample.sent, sample.received
    audio_in, audio_out = received.packets > 0, sent.packets > 0
    # pjsip conceals loss on what it decodes; the far end is assumed to as well.
    estimate_in = (
        estimate_mos(sample.codec, received.loss_percent, received.jitter_ms, sample.rtt_ms)
        if audio_in
        else None
    )
    estimate_out = (
        estimate_mos(sample.codec, sent.loss_percent, sent.jitter_ms, sample.rtt_ms)
        if audio_out
        else None
    )
    breaches: list[Breach] = []
    if estimate_in is not None and estimate_out is not None:
        mos = _mos_breach(min(estimate_in.mos, estimate_out.mos), thresholds, min_mos)
        breaches.extend([mos] if mos else [])
        breaches.extend(_stream_breaches(received, "from the far end", thresholds))
        breaches.extend(_stream_breaches(sent, "to the far end", thresholds))
        if sample.rtt_ms is not None and sample.rtt_ms > thresholds.rtt_warning_ms:
            breaches.append(
                Breach(
                    "warning",
                    "rtt",
                    f"the round trip takes {sample.rtt_ms:.0f} ms "
                    f"(more than {thresholds.rtt_warning_ms:g} ms)",
                )
            )
    return Assessment(
        sample=sample,
        audio_in=audio_in,
        audio_out=audio_out,
        estimate_in=estimate_in,
        estimate_out=estimate_out,
        breaches=tuple(breaches),
    )


def rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _direction(stats: StreamStats, estimate: QualityEstimate | None) -> Direction:
    return Direction(
        packets=stats.packets,
        lost=stats.lost,
        loss_percent=round(stats.loss_percent, 2),
        jitter_ms=rounded(stats.jitter_ms, 2),
        mos=rounded(estimate.mos if estimate else None, 2),
        r_factor=rounded(estimate.r_factor if estimate else None, 1),
    )


def _assumptions(assessment: Assessment) -> list[str]:
    seen: list[str] = []
    for estimate in (assessment.estimate_in, assessment.estimate_out):
        for text in estimate.assumptions if estimate else ():
            if text not in seen:
                seen.append(text)
    if assessment.estimate_out is not None:
        seen.append(_FAR_END_PLC)
    if (
        assessment.audio_out
        and assessment.sample.rtt_ms is None
        and assessment.sample.sent.lost == 0
    ):
        seen.append(_NO_RTCP)
    return seen


_VERDICT_WORDS: dict[str, str] = {
    "both": "audio both ways",
    "poor": "audio both ways, poor quality",
    "one_way_out": "one-way audio: nothing heard from the far end",
    "one_way_in": "one-way audio: the far end receives nothing",
    "none": "no audio",
}


def summary_line(report: MediaReport) -> str:
    """One line for the text report, from a call's media report."""
    if report.verdict is None:
        return "audio not checked (the call was not answered)"
    parts = [_VERDICT_WORDS.get(report.verdict, report.verdict)]
    if report.codec:
        parts.append(report.codec)
    if report.mos is not None:
        parts.append(f"MOS {report.mos:.2f} (R {report.r_factor or 0:.0f})")
    received, sent = report.received, report.sent
    if received is not None and sent is not None:
        parts.append(
            f"in {received.packets} pkts, {received.loss_percent:.1f} % lost; "
            f"out {sent.packets} pkts, {sent.loss_percent:.1f} % lost"
        )
        if received.jitter_ms is not None:
            parts.append(f"jitter {received.jitter_ms:.1f} ms")
    if report.rtt_ms is not None:
        parts.append(f"RTT {report.rtt_ms:.0f} ms")
    return "; ".join(parts)


def media_section(
    assessment: Assessment | None,
    *,
    verdict: AudioVerdict | None,
    dtmf_sent: str,
    dtmf_received: str,
) -> MediaReport:
    """The media report of a call, before expectations and the summary are added."""
    if assessment is None:
        return MediaReport(verdict=verdict, dtmf_sent=dtmf_sent, dtmf_received=dtmf_received)
    sample, worst = assessment.sample, assessment.worst
    return MediaReport(
        verdict=verdict,
        codec=sample.codec or None,
        remote_rtp=sample.remote_rtp or None,
        duration_s=round(sample.duration, 2),
        sent=_direction(sample.sent, assessment.estimate_out),
        received=_direction(sample.received, assessment.estimate_in),
        rtt_ms=rounded(sample.rtt_ms, 1),
        mos=rounded(worst.mos if worst else None, 2),
        r_factor=rounded(worst.r_factor if worst else None, 1),
        audio_in=assessment.audio_in,
        audio_out=assessment.audio_out,
        dtmf_sent=dtmf_sent,
        dtmf_received=dtmf_received,
        assumptions=tuple(_assumptions(assessment)),
    )
