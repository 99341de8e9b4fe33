"""The E-model arithmetic against published reference points (ITU-T G.107, G.109, G.113)."""

import math
from itertools import pairwise

import pytest

from siptest.analysis.quality import (
    R_DEFAULT,
    codec_planning,
    delay_impairment,
    effective_equipment_impairment,
    estimate_mos,
    mos_from_r,
)


def test_default_r_of_g107_maps_to_mos_4_41():
    assert R_DEFAULT == 93.2
    assert mos_from_r(R_DEFAULT) == pytest.approx(4.41, abs=0.005)


@pytest.mark.parametrize(
    ("r", "mos"),
    [
        # G.109 Table 1 / G.107 Annex B: lower limits of the quality categories.
        (90, 4.34),
        (80, 4.03),
        (70, 3.60),
        (60, 3.10),
        (50, 2.58),
    ],
)
def test_r_category_limits_map_to_the_published_mos(r, mos):
    assert mos_from_r(r) == pytest.approx(mos, abs=0.01)


@pytest.mark.parametrize(("r", "mos"), [(-10, 1.0), (0, 1.0), (100, 4.5), (120, 4.5)])
def test_mos_is_clamped_to_one_and_four_and_a_half(r, mos):
    assert mos_from_r(r) == mos


def test_mos_rises_with_r_over_the_whole_scale():
    values = [mos_from_r(r / 2) for r in range(0, 201)]
    assert all(a <= b for a, b in pairwise(values))


@pytest.mark.parametrize(
    ("delay_ms", "id_"),
    [
        (0, 0.0),
        (100, 2.4),
        (177.3, 0.024 * 177.3),
        (300, 0.024 * 300 + 0.11 * (300 - 177.3)),
    ],
)
def test_delay_impairment_follows_the_piecewise_g107_fit(delay_ms, id_):
    assert delay_impairment(delay_ms) == pytest.approx(id_)


@pytest.mark.parametrize(
    ("ie", "bpl", "loss", "ie_eff"),
    [
        # G.711 without concealment (G.113 Bpl 4.3): 95 * Ppl / (Ppl + 4.3)
        (0, 4.3, 1, 17.92),
        (0, 4.3, 5, 51.08),
        # G.711 with Appendix I concealment (G.113 Bpl 25.1), what pjsip uses
        (0, 25.1, 1, 3.64),
        (0, 25.1, 2, 7.01),
        (0, 25.1, 5, 15.78),
        # G.729A + VAD (G.113 Ie 11, Bpl 19.0)
        (11, 19.0, 1, 15.20),
        (11, 19.0, 0, 11.0),
    ],
)
def test_effective_equipment_impairment_matches_g113_planning_values(ie, bpl, loss, ie_eff):
    assert effective_equipment_impairment(ie, bpl, loss) == pytest.approx(ie_eff, abs=0.01)


def test_bursty_loss_impairs_more_than_random_loss():
    random = effective_equipment_impairment(0, 25.1, 5, burst_ratio=1.0)
    bursty = effective_equipment_impairment(0, 25.1, 5, burst_ratio=2.0)
    assert bursty > random


def test_burst_ratio_must_be_positive():
    with pytest.raises(ValueError, match="burst ratio"):
        effective_equipment_impairment(0, 25.1, 5, burst_ratio=0)


def test_a_clean_g711_call_scores_near_the_g107_default():
    estimate = estimate_mos("PCMA", 0.0, 0.0, 0.0)
    # only the 20 ms packetisation delay is left: Id = 0.024 * 20
    assert estimate.r_factor == pytest.approx(93.2 - 0.48)
    assert estimate.mos == pytest.approx(4.40, abs=0.01)
    assert estimate.ie_eff == 0.0


@pytest.mark.parametrize("codec", ["PCMU", "pcma", "PCMA/8000/1", "G711"])
def test_g711_spellings_share_the_same_planning_values(codec):
    planning = codec_planning(codec)
    assert planning is not None
    assert (planning.ie, planning.bpl, planning.bpl_without_plc) == (0.0, 25.1, 4.3)


def test_g711_with_one_percent_loss_uses_pjsip_concealment_by_default():
    with_plc = estimate_mos("PCMU", 1.0, 0.0, 0.0)
    without_plc = estimate_mos("PCMU", 1.0, 0.0, 0.0, plc=False)
    assert with_plc.ie_eff == pytest.approx(3.64, abs=0.01)
    assert without_plc.ie_eff == pytest.approx(17.92, abs=0.01)
    assert without_plc.mos < with_plc.mos


@pytest.mark.parametrize("codec", ["PCMA", "G729"])
def test_mos_falls_as_loss_grows(codec):
    scores = [estimate_mos(codec, loss, 0.0, 20.0).mos for loss in (0, 1, 2, 5, 10, 20, 50)]
    assert all(a > b for a, b in pairwise(scores))


def test_mos_falls_as_round_trip_time_grows():
    scores = [estimate_mos("PCMA", 0.0, 0.0, rtt).mos for rtt in (0, 100, 300, 400, 600, 1000)]
    assert all(a > b for a, b in pairwise(scores))


def test_mos_falls_as_jitter_grows():
    scores = [estimate_mos("PCMA", 0.0, jitter, 200.0).mos for jitter in (0, 10, 30, 60, 120)]
    assert all(a > b for a, b in pairwise(scores))


def test_effective_delay_is_half_rtt_plus_twice_jitter_plus_codec_delay():
    assert estimate_mos("PCMA", 0.0, 10.0, 100.0).delay_ms == pytest.approx(50 + 20 + 20)
    # G.729: 20 ms of frames per packet plus 5 ms look-ahead
    assert estimate_mos("G729", 0.0, 10.0, 100.0).delay_ms == pytest.approx(50 + 20 + 25)


def test_low_bit_rate_codec_scores_below_g711_on_a_clean_line():
    assert estimate_mos("G729", 0.0, 0.0, 0.0).mos < estimate_mos("PCMA", 0.0, 0.0, 0.0).mos


def test_missing_measurements_are_named_and_never_lower_the_score():
    unknown = estimate_mos("PCMA", 0.0, None, None)
    zero = estimate_mos("PCMA", 0.0, 0.0, 0.0)
    assert unknown.mos == zero.mos
    assert any("jitter not measured" in text for text in unknown.assumptions)
    assert any("round-trip time not measured" in text for text in unknown.assumptions)
    assert not zero.assumptions


def test_nan_and_negative_inputs_count_as_unknown_or_zero():
    estimate = estimate_mos("PCMA", -3.0, math.nan, -5.0)
    assert estimate.mos == estimate_mos("PCMA", 0.0, 0.0, 0.0).mos


def test_unknown_codec_falls_back_to_g711_and_says_so():
    estimate = estimate_mos("opus/48000/2", 0.0, 0.0, 0.0)
    assert estimate.mos == estimate_mos("PCMA", 0.0, 0.0, 0.0).mos
    assert any("opus/48000/2" in text for text in estimate.assumptions)


def test_random_loss_assumption_is_stated_only_when_there_is_loss():
    assert any("BurstR = 1" in text for text in estimate_mos("PCMA", 2.0, 0, 0).assumptions)
    assert not estimate_mos("PCMA", 0.0, 0, 0).assumptions
