"""Colour in the text report: when, and on which words."""

from __future__ import annotations


def test_colour_follows_no_color_force_color_and_the_terminal():
    from siptest.report.text import colourize, wants_colour

    assert wants_colour(True, {}) is True
    assert wants_colour(False, {}) is False
    assert wants_colour(True, {"NO_COLOR": "1"}) is False
    assert wants_colour(True, {"NO_COLOR": ""}) is True  # no-color.org: empty is unset
    assert wants_colour(False, {"FORCE_COLOR": "1"}) is True
    assert wants_colour(False, {"FORCE_COLOR": "0"}) is False
    assert wants_colour(True, {"TERM": "dumb"}) is False
    text = "[OK  ] Registration\n  Answer: 200 OK\nFAIL: 1 check failed."
    assert colourize(text).splitlines() == [
        "\x1b[1;32m[OK  ]\x1b[0m Registration",
        "  Answer: 200 OK",
        "\x1b[1;31mFAIL:\x1b[0m 1 check failed.",
    ]
