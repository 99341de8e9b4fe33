"""Call quality as a number: the ITU-T G.107 E-model, simplified for VoIP monitoring.

Pure arithmetic, no I/O. The transmission rating R is

    R = (R0 - Is) - Id - Ie,eff + A

with every G.107 default left as it is except the delay and the codec, as
VoIP monitors commonly do (Cole & Rosenbluth, "Voice over IP performance
monitoring", ACM SIGCOMM CCR 31(2), 2001):

- R0 - Is, with the default delay-independent terms of G.107 folded in, is
  93.2: the rating of a perfect narrow-band connection.
- Id, the delay impairment, uses Cole & Rosenbluth's fit of the G.107 curve
  for a connection with good echo control: Id = 0.024 d + 0.11 (d - 177.3) for
  d > 177.3 ms, else 0.024 d, where d is the one-way mouth-to-ear delay.
- Ie,eff, the equipment impairment with packet loss, is the G.107 formula
  Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl) with the codec's Ie and Bpl
  from the planning values of ITU-T G.113 Appendix I.
- A, the advantage factor, is 0 (a fixed line: no allowance for mobility).

R maps to an estimated MOS (conversational, on the 1..5 ACR scale) with the
G.107 Annex B formula. docs/media.md states every assumption with its source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

R_DEFAULT = 93.2
"""G.107 R with every parameter at its default: R0 - Is and the default echo terms."""

ADVANTAGE = 0.0
"""G.107 advantage factor A for a wired connection."""

JITTER_BUFFER_FACTOR = 2.0
"""The jitter buffer is assumed to hold twice the RFC 3550 interarrival jitter."""


@dataclass(frozen=True)
class CodecPlanning:
    """G.113 Appendix I planning values for one codec."""

    name: str
    ie: float
    """Equipment impairment factor without packet loss."""
    bpl: float
    """Packet-loss robustness factor with the decoder's packet-loss concealment."""
    bpl_without_plc: float | None
    """Bpl when the decoder has no concealment (None: G.113 gives no value)."""
    packet_ms: float
    """Audio per RTP packet (packetisation delay)."""
    lookahead_ms: float
    """Encoder look-ahead (algorithmic delay beyond the frame)."""


# ITU-T G.113 Appendix I: Table I.1 (Ie) and Table I.3 (Bpl, random loss).
# G.711 without concealment: Bpl 4.3; with G.711 Appendix I concealment: 25.1.
# pjmedia enables its concealment for G.711 by default (g711.c: setting.plc = 1),
# so 25.1 is what a siptest call gets on the direction siptest decodes.
_G711 = CodecPlanning(
    "G.711", ie=0.0, bpl=25.1, bpl_without_plc=4.3, packet_ms=20.0, lookahead_ms=0.0
)
# G.729A + VAD, 2 frames of 10 ms per packet, 5 ms look-ahead.
_G729 = CodecPlanning(
    "G.729", ie=11.0, bpl=19.0, bpl_without_plc=None, packet_ms=20.0, lookahead_ms=5.0
)
# G.723.1 + VAD at 6.3 kbit/s, one 30 ms frame per packet, 7.5 ms look-ahead.
_G723 = CodecPlanning(
    "G.723.1", ie=15.0, bpl=16.1, bpl_without_plc=None, packet_ms=30.0, lookahead_ms=7.5
)

CODECS: dict[str, CodecPlanning] = {
    "PCMU": _G711,
    "PCMA": _G711,
    "G711": _G711,
    "G.711": _G711,
    "G729": _G729,
    "G.729": _G729,
    "G729A": _G729,
    "G723": _G723,
    "G.723.1": _G723,
    "G7231": _G723,
}
"""Codec names as SDP and pjsip spell them (upper case, no clock rate)."""


@dataclass(frozen=True)
class QualityEstimate:
    """An E-model estimate for one direction of a call."""

    r_factor: float
    """Transmission rating R (0..100; 93.2 is a perfect narrow-band line)."""
    mos: float
    """Estimated mean opinion score, 1.0..4.5 (4.41 at R = 93.2)."""
    delay_ms: float
    """Effective one-way delay d used for Id."""
    ie_eff: float
    """Equipment impairment with packet loss, Ie,eff."""
    assumptions: tuple[str, ...]
    """Every value siptest had to assume, in words a report can show."""


def mos_from_r(r: float) -> float:
    """G.107 Annex B: R to estimated MOS (clamped to 1..4.5)."""
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    # The cubic dips just under 1 for 0 < R < 6.5; a MOS below 1 does not exist.
    return max(1.0, 1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6)


def delay_impairment(one_way_ms: float) -> float:
    """Id from one-way mouth-to-ear delay (Cole & Rosenbluth's fit of G.107)."""
    d = max(0.0, one_way_ms)
    excess = d - 177.3
    return 0.024 * d + (0.11 * excess if excess > 0 else 0.0)


def effective_equipment_impairment(
    ie: float, bpl: float, loss_percent: float, burst_ratio: float = 1.0
) -> float:
    """G.107 Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl); BurstR 1 is random loss."""
    if burst_ratio <= 0:
        raise ValueError(f"burst ratio must be positive, not {burst_ratio}")
    ppl = min(max(loss_percent, 0.0), 100.0)
    if ppl == 0:
        return ie
    return ie + (95.0 - ie) * ppl / (ppl / burst_ratio + bpl)


def codec_planning(codec: str) -> CodecPlanning | None:
    """G.113 values for a codec name such as `PCMA`, `pcmu/8000/1` or `G729`."""
    name = codec.split("/", 1)[0].strip().upper()
    return CODECS.get(name)


def _known(value: float | None) -> float | None:
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return max(0.0, value)


def estimate_mos(
    codec: str,
    loss_percent: float,
    jitter_ms: float | None,
    rtt_ms: float | None,
    *,
    plc: bool = True,
    burst_ratio: float = 1.0,
) -> QualityEstimate:
    """Estimate R and MOS for one direction from loss, jitter and round-trip time.

    One-way delay d = RTT / 2 + 2 x jitter (jitter buffer) + packetisation and
    look-ahead of the codec. Unknown jitter or RTT counts as 0 and is named in
    `assumptions`, so a missing measurement never lowers the score.
    `plc` says whether the decoder of this direction conceals lost packets.
    """
    assumptions: list[str] = []
    planning = codec_planning(codec)
    if planning is None:
        planning = _G711
        assumptions.append(
            f"no ITU-T G.113 planning values for codec {codec or '(none)'}: "
            "G.711 values used, so the codec's own impairment is not counted"
        )
    bpl = planning.bpl
    if not plc:
        if planning.bpl_without_plc is not None:
            bpl = planning.bpl_without_plc
        else:
            assumptions.append(f"{planning.name} has no G.113 Bpl without concealment")
    loss = min(_known(loss_percent) or 0.0, 100.0)
    if loss > 0 and burst_ratio == 1.0:
        assumptions.append("packet loss taken as random (BurstR = 1)")
    jitter = _known(jitter_ms)
    if jitter is None:
        assumptions.append("jitter not measured: taken as 0 ms")
    rtt = _known(rtt_ms)
    if rtt is None:
        assumptions.append("round-trip time not measured (no RTCP reports): taken as 0 ms")
    delay = (
        (rtt or 0.0) / 2.0
        + JITTER_BUFFER_FACTOR * (jitter or 0.0)
        + planning.packet_ms
        + planning.lookahead_ms
    )
    ie_eff = effective_equipment_impairment(planning.ie, bpl, loss, burst_ratio)
    r = R_DEFAULT - delay_impairment(delay) - ie_eff + ADVANTAGE
    return QualityEstimate(
        r_factor=r,
        mos=mos_from_r(r),
        delay_ms=delay,
        ie_eff=ie_eff,
        assumptions=tuple(assumptions),
    )
