"""The audio of an answered call in the HTML report: totals per direction and small
inline-SVG charts of packets, loss and jitter over the call (the 0.2 s `MediaTick`s)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from siptest.report.markup import Markup, tag
from siptest.ua.mediaevents import MediaSampled, MediaTick, StreamStats

if TYPE_CHECKING:
    pass


def audio(sampled: MediaSampled) -> Markup:
    sample = sampled.sample
    meta = (
        f"Codec {sample.codec or 'unknown'}, far end's RTP address "
        f"{sample.remote_rtp or 'unknown'}, {sample.duration:.1f} s measured"
        + (f", round trip {sample.rtt_ms:.1f} ms." if sample.rtt_ms is not None else ".")
    )
    table = tag(
        "table",
        tag("tr", *(tag("th", h) for h in ("direction", "packets", "lost", "loss", "jitter"))),
        _stats_row("from the far end (received)", sample.received),
        _stats_row("to the far end (as it reported)", sample.sent),
    )
    ticks = sample.timeline
    if len(ticks) < 2:
        charts: Markup = tag("p", "No samples over time were kept for this call.", class_="meta")
    else:
        charts = tag(
            "div",
            _direction_charts("From the far end (received)", ticks, received=True),
            _direction_charts("To the far end (from its RTCP reports)", ticks, received=False),
            class_="charts",
        )
    return tag("div", tag("p", meta), table, charts, class_="audio")


def _stats_row(label: str, stats: StreamStats) -> Markup:
    jitter = f"{stats.jitter_ms:.2f} ms" if stats.jitter_ms is not None else "unknown"
    return tag(
        "tr",
        tag("td", label),
        tag("td", str(stats.packets)),
        tag("td", str(stats.lost)),
        tag("td", f"{stats.loss_percent:.1f} %"),
        tag("td", jitter),
    )


def _direction_charts(label: str, ticks: Sequence[MediaTick], received: bool) -> Markup:
    times = [t.at for t in ticks]
    if received:
        counts = [t.received for t in ticks]
        lost = [float(t.received_lost) for t in ticks]
        jitter = [t.received_jitter_ms for t in ticks]
        rate_label = "packets/s received"
    else:
        counts = [t.sent for t in ticks]
        lost = [float(t.reported_lost) for t in ticks]
        jitter = [t.reported_jitter_ms for t in ticks]
        rate_label = "packets/s sent"
    # The first tick counts from the answer (time 0).
    before = [(0.0, 0), *zip(times, counts, strict=True)]
    rates = [
        max(0, count - earlier) / max(at - then, 1e-3)
        for (then, earlier), (at, count) in itertools.pairwise(before)
    ]
    parts = [
        tag("strong", label),
        _sparkline(rate_label, times, [float(r) for r in rates]),
        _sparkline("packets lost (total)", times, lost),
    ]
    if any(j is not None for j in jitter):
        parts.append(_sparkline("jitter (ms)", times, jitter))
    else:
        parts.append(tag("p", "jitter: no report", class_="meta"))
    if not received and not any(t.reports for t in ticks):
        parts.append(
            tag("p", "The far end sent no RTCP report: what it received is unknown.",
                 class_="meta")
        )  # fmt: skip
    return tag("div", *parts, class_="direction")


def _sparkline(label: str, times: Sequence[float], values: Sequence[float | None]) -> Markup:
    """A small line chart over the call: time across, the value up, its range written."""
    width, height, left, top = 260.0, 56.0, 4.0, 14.0
    known = [v for v in values if v is not None]
    high = max(known, default=0.0) or 1.0
    span = (times[-1] - times[0]) or 1.0
    plot_w, plot_h = width - 2 * left, height - top - 12
    points = " ".join(
        f"{left + (t - times[0]) / span * plot_w:.1f},{top + plot_h - v / high * plot_h:.1f}"
        for t, v in zip(times, values, strict=True)
        if v is not None
    )
    peak = max(known, default=0.0)
    return tag(
        "svg",
        tag("title", f"{label} over {span:.1f} s"),
        tag("text", f"{label}: max {peak:.1f}", x=left, y=10),
        tag("rect", x=left, y=top, width=plot_w, height=plot_h, fill="#f3f3f8"),
        tag("polyline", points=points, fill="none", stroke="#1b6a8a", stroke_width=1.5),
        tag("text", f"{times[0]:.1f} s", x=left, y=height - 1),
        tag("text", f"{times[-1]:.1f} s", x=width - left, y=height - 1, text_anchor="end"),
        class_="chart",
        width=width,
        height=height,
        viewBox=f"0 0 {width:g} {height:g}",
        xmlns="http://www.w3.org/2000/svg",
        role="img",
    )
