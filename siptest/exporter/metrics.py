"""A probe's result as Prometheus metrics, with the official prometheus_client.

Only what the report measured: the registration time and the INVITE-to-answer time
are the phases siptest's report holds. DNS lookup, connect and TLS handshake times
are not in it, so they are not exported (no invented values), and neither is a TLS
certificate's expiry. No label carries a user ID, a target or a password.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from siptest.exporter.probe import ProbeResult
from siptest.report.summary import measures, verdict


def probe_metrics(result: ProbeResult) -> bytes:
    """The text exposition of one probe, from a registry of its own."""
    registry = CollectorRegistry()
    Gauge(
        "siptest_probe_success", "1 when every check of the probe passed.", registry=registry
    ).set(1 if result.success else 0)
    Gauge(
        "siptest_probe_duration_seconds",
        "Wall time of the probe, siptest's start-up included.",
        registry=registry,
    ).set(result.duration_s)
    if result.exit_status is not None:
        Gauge(
            "siptest_probe_exit_status",
            "siptest's exit status: 0 passed, 1 failed (diagnosed), 2 bad input, 3 could not run.",
            registry=registry,
        ).set(result.exit_status)
    checks = list(result.report.get("checks", ())) if result.report else []
    if checks:
        _checks(registry, checks)
    return generate_latest(registry)


def _checks(registry: CollectorRegistry, checks: list[Mapping[str, object]]) -> None:
    measured = measures(checks)
    _labelled(
        registry,
        "siptest_phase_duration_seconds",
        "Seconds per phase: register = REGISTER to its final answer (challenge "
        "included); answer = first INVITE to the 2xx that answered it.",
        "phase",
        {"register": measured.register_s, "answer": measured.invite_to_answer_s},
    )
    _labelled(
        registry,
        "siptest_sip_status_code",
        "Final SIP status of the check (its own for a local failure, e.g. 408 timeout).",
        "check",
        {"register": measured.register_code, "call": measured.call_code},
    )
    _labelled(
        registry,
        "siptest_mos",
        "Estimated MOS (1-4.5, ITU-T G.107 E-model) of the audio sent / received.",
        "direction",
        {"sent": measured.mos_sent, "received": measured.mos_received},
    )
    _labelled(
        registry,
        "siptest_rtp_loss_ratio",
        "Share of RTP packets lost (0-1) toward the far end (sent) / toward siptest.",
        "direction",
        {"sent": measured.loss_sent, "received": measured.loss_received},
        scale=0.01,  # the report's loss is in percent
    )
    diagnosis = verdict(checks).diagnosis
    if diagnosis is not None:
        Gauge(
            "siptest_diagnosis_info",
            "The diagnosis that decides the probe (the first failure, else a warning, "
            "else the main check's); always 1.",
            ["id", "category"],
            registry=registry,
        ).labels(str(diagnosis.get("id", "")), str(diagnosis.get("category", ""))).set(1)


def _labelled(
    registry: CollectorRegistry,
    name: str,
    documentation: str,
    label: str,
    values: Mapping[str, float | int | None],
    scale: float = 1.0,
) -> None:
    """One gauge with a sample per label value measured; none when nothing was."""
    if all(value is None for value in values.values()):
        return
    gauge = Gauge(name, documentation, [label], registry=registry)
    for key, value in values.items():
        if value is not None:
            gauge.labels(key).set(value * scale)
