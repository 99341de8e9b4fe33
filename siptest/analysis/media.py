"""Did audio flow, which way, and how good was it? Pure: a media sample in, a check out.

After a call is answered the user agent measures both RTP directions and hands
over a `MediaSample`. `analyse_media` turns it into one `media` check:

    both         audio flows both ways (quality within the thresholds)
    poor         audio flows both ways, but loss, jitter, delay or MOS are off
    one_way_out  only our audio flows: you can hear nothing from the far end
    one_way_in   only the far end's audio flows: it receives nothing from you
    none         no audio in either direction

The measurement behind it is in `audio.py`; `nat.nat_findings` reads the NAT
evidence of the same run and returns findings (checks that pass, category
`network`). A media failure that such a finding explains names it
(`explained_by`). The rules, thresholds and sources are in docs/media.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from siptest.analysis.addresses import (
    UNREACHABLE_KINDS,
    address_kind,
    behind_nat,
    reachable_from,
)
from siptest.analysis.audio import (
    SHORT_MEASUREMENT_S,
    THRESHOLDS,
    Assessment,
    Breach,
    QualityThresholds,
    assess,
    media_section,
    summary_line,
)
from siptest.analysis.expectations import MediaExpectation, digits, media_results
from siptest.analysis.model import Check
from siptest.hostport import split_hostport
from siptest.knowledge import Diagnosis, Knowledge
from siptest.ua.calls import CallCompleted
from siptest.ua.mediaevents import MediaSample

# --- diagnoses ----------------------------------------------------------------
# Which diagnosis applies is decided here; its words are in the knowledge base
# (base.yaml, "named by the analyser"), where profiles can reword them.


@dataclass(frozen=True)
class _Pick:
    """A named diagnosis chosen, with the facts, cases and notes that fill it."""

    id: str
    facts: dict[str, object]
    cases: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    fix_notes: tuple[str, ...] = ()

    def render(self, knowledge: Knowledge, findings: Sequence[str] = ()) -> Diagnosis:
        facts, notes = self.facts, self.notes
        if findings:
            facts = {**facts, "findings": "; ".join(findings)}
            notes = (*notes, "findings")
        return knowledge.named(
            self.id, facts, cases=self.cases, notes=notes, fix_notes=self.fix_notes
        )


def _packets(count: int) -> str:
    return f"{count} audio packet{'s' if count != 1 else ''}"


def _rtp_packets(count: int) -> str:
    return f"{count} RTP packet{'s' if count != 1 else ''}"


def _seconds(value: float) -> str:
    return f"{value:.1f} s"


def _sample_facts(sample: MediaSample) -> dict[str, object]:
    facts: dict[str, object] = {
        "sent_packets": _packets(sample.sent.packets),
        "received_packets": _packets(sample.received.packets),
        "sent_lost": sample.sent.lost,
        "remote_rtp": sample.remote_rtp,
        "codec": sample.codec,
        "measured": _seconds(sample.duration),
    }
    return facts


def _short_call(sample: MediaSample, facts: dict[str, object]) -> tuple[str, ...]:
    """The short-measurement note, when the audio was measured too briefly."""
    if sample.duration >= SHORT_MEASUREMENT_S:
        return ()
    facts["short_measure"] = _seconds(sample.duration)
    return ("short_call",)


def _on_hold(sample: MediaSample) -> bool:
    return address_kind(split_hostport(sample.remote_rtp)[0]) == "unspecified"


def _remote_unreachable(sample: MediaSample, local_address: str | None) -> str | None:
    """The far end's SDP address when siptest cannot reach it (NAT on its side)."""
    host = split_hostport(sample.remote_rtp)[0]
    if address_kind(host) in UNREACHABLE_KINDS and not reachable_from(host, local_address):
        return host
    return None


def _stopped(sample: MediaSample) -> _Pick | None:
    """Audio that flowed and then stopped for good: the far end died, or its network did.

    The totals of such a call can look fine (115 of 400 packets is no "loss" in RTCP
    terms, the sender just went quiet), so it is judged on its own, before quality.
    """
    received, sent = sample.received_stopped_at, sample.sent_stopped_at
    if received is None and sent is None:
        return None
    facts = _sample_facts(sample)
    if received is not None:
        facts["received_after"] = f"{received:g} s"
    if sent is not None:
        facts["sent_after"] = f"{sent:g} s"
    notes: tuple[str, ...] = ()
    if received is not None and sample.received_unnegotiated:
        # RTP kept coming, in a payload type never agreed: not a dead far end
        facts["unnegotiated_packets"] = _rtp_packets(sample.received_unnegotiated)
        notes = ("payload_type",)
    if received is not None and sent is not None:
        return _Pick("media.audio_stopped", facts, cases=("both",), notes=notes)
    cases = () if received is not None else ("sent",)
    return _Pick("media.audio_stopped", facts, cases=cases, notes=notes)


def _no_audio_from_far_end(sample: MediaSample, local_address: str | None, nat_seen: bool) -> _Pick:
    facts = _sample_facts(sample)
    notes: tuple[str, ...] = ("rtcp_reached",) if sample.rtt_ms is not None else ()
    if sample.received_unnegotiated:
        # RTP arrived, so no firewall or NAT stopped it: its payload type was never
        # agreed (RFC 3264), and the stack discards what it cannot decode.
        facts["unnegotiated_packets"] = _rtp_packets(sample.received_unnegotiated)
        return _Pick(
            "media.no_audio_from_far_end",
            facts,
            cases=("payload_type",),
            notes=_short_call(sample, facts),
        )
    natted = behind_nat(local_address) or nat_seen
    if natted:
        facts["local_address"] = local_address
    notes += ("nat",) if natted else ("firewall",)
    return _Pick(
        "media.no_audio_from_far_end",
        facts,
        cases=("nat",) if natted else (),
        notes=notes + _short_call(sample, facts),
    )


def _no_audio_to_far_end(sample: MediaSample, local_address: str | None) -> _Pick:
    facts = _sample_facts(sample)
    if _on_hold(sample):
        return _Pick("media.on_hold", facts)
    if sample.sent.packets == 0 and sample.sent.lost == 0:
        return _Pick("media.not_sent", facts)
    unreachable = _remote_unreachable(sample, local_address)
    facts["unreachable"] = unreachable
    return _Pick(
        "media.no_audio_to_far_end",
        facts,
        cases=("far_nat",) if unreachable else (),
        notes=("far_nat" if unreachable else "firewall", *_short_call(sample, facts)),
    )


def _no_audio(sample: MediaSample, local_address: str | None, nat_seen: bool) -> _Pick:
    facts = _sample_facts(sample)
    if not sample.codec:
        return _Pick("media.codec_mismatch", facts)
    if _on_hold(sample):
        return _Pick("media.on_hold", facts)
    unreachable = _remote_unreachable(sample, local_address)
    facts["unreachable"] = unreachable
    natted = behind_nat(local_address) or nat_seen
    short = _short_call(sample, facts)
    if unreachable and natted:
        return _Pick("media.no_audio", facts, cases=("both_nat",), notes=("both_nat", *short))
    if unreachable:
        return _Pick("media.no_audio", facts, cases=("far_nat",), notes=("far_nat", *short))
    return _Pick(
        "media.no_audio",
        facts,
        notes=("blocked", *short),
        fix_notes=("nat",) if natted else (),
    )


def _quality(assessment: Assessment, breaches: Sequence[Breach], *, failed: bool) -> _Pick:
    worst = assessment.worst
    facts = _sample_facts(assessment.sample)
    facts["breaches"] = "; ".join(breach.text for breach in breaches)
    cases: tuple[str, ...] = ()
    if worst is not None:
        facts["mos"] = f"{worst.mos:.2f}"
        facts["r_factor"] = f"{worst.r_factor:.0f}"
    else:
        cases = ("unscored",)
    kinds = {breach.kind for breach in breaches}
    fix_notes: tuple[str, ...] = ()
    if kinds & {"loss", "jitter"}:
        fix_notes = ("delay",) if "rtt" in kinds else ()
    elif "rtt" in kinds:
        cases += ("delay",)
    else:
        cases += ("codec",)
    return _Pick(
        "media.poor_quality" if failed else "media.marginal_quality",
        facts,
        cases=cases,
        fix_notes=fix_notes,
    )


def _ok(assessment: Assessment) -> _Pick:
    sample, worst = assessment.sample, assessment.worst
    facts = _sample_facts(sample)
    if worst is not None:
        facts["mos"] = f"{worst.mos:.2f}"
    no_rtcp = sample.rtt_ms is None and sample.sent.lost == 0
    return _Pick("media.ok", facts, notes=("no_rtcp",) if no_rtcp else ())


def _dtmf(expected: str, sent: str, received: str) -> _Pick:
    facts: dict[str, object] = {
        "dtmf_expected": expected,
        "dtmf_sent": sent,
        "dtmf_received": received,
    }
    if digits(sent) != digits(expected):
        return _Pick("media.dtmf_not_sent", facts)
    if not received:
        return _Pick("media.dtmf_mismatch", facts, notes=("nothing",))
    if digits(received) == "".join(digit * 2 for digit in digits(expected)):
        return _Pick("media.dtmf_mismatch", facts, cases=("doubled",), notes=("doubled",))
    if len(digits(received)) < len(digits(expected)):
        return _Pick("media.dtmf_mismatch", facts, cases=("lost",), notes=("lost",))
    return _Pick("media.dtmf_mismatch", facts, notes=("different",))


# --- the check ------------------------------------------------------------------

_EXPLAINS: dict[str, frozenset[str]] = {
    "one_way_out": frozenset({"nat.detected", "nat.private_contact"}),
    "one_way_in": frozenset({"nat.remote_sdp_private"}),
    "none": frozenset({"nat.detected", "nat.private_contact", "nat.remote_sdp_private"}),
}


def _in_sentence(title: str) -> str:
    """A title continued mid-sentence: 'The registrar...' becomes 'the registrar...'."""
    if len(title) > 1 and title[0].isupper() and not title[1].isupper():
        return title[0].lower() + title[1:]
    return title


def _finding_id(finding: Check) -> str | None:
    return finding.diagnosis.id if finding.diagnosis else None


def analyse_media(
    sample: MediaSample | None,
    *,
    answered: bool,
    expectations: MediaExpectation | None = None,
    local_address: str | None = None,
    dtmf_sent: str = "",
    dtmf_received: str = "",
    nat: Sequence[Check] = (),
    thresholds: QualityThresholds = THRESHOLDS,
    knowledge: Knowledge,
    far_end_hung_up: bool = False,
    held: str | None = None,
) -> Check:
    """The media check of one call: which way audio flowed, how good, expectations met.

    `local_address` is the address siptest used for RTP (NAT evidence); `nat` holds
    the findings of `nat_findings` for the same run, so a failure they explain can
    name them. `Check.media` is the media report (the JSON section, docs/media.md).
    `far_end_hung_up`: the far end sent BYE (without a sample: before any audio).
    `held`: how the far end's re-INVITE put the call on hold (`CallCompleted.held`).
    """
    min_mos = expectations.min_mos if expectations else None
    too_short = (
        sample is not None
        and sample.duration < SHORT_MEASUREMENT_S
        and sample.sent.packets == 0
        and sample.received.packets == 0
    )
    if not answered or too_short:
        # Unanswered, or hung up before the first packet could flow (--talk 0):
        # nothing to judge, which is not the same as "no audio".
        results = media_results(
            expectations, None, dtmf_sent=dtmf_sent, dtmf_received=dtmf_received
        )
        ok = all(result.met for result in results)
        report = media_section(None, verdict=None, dtmf_sent=dtmf_sent, dtmf_received=dtmf_received)
        cases: tuple[str, ...] = ("too_short",) if answered else ()
        if not ok:
            cases += ("expected",)
        return Check(
            kind="media",
            ok=ok,
            diagnosis=knowledge.named("media.not_measured", cases=cases),
            media=replace(report, expectations=results),
        )
    if sample is None:
        results = media_results(
            expectations, None, dtmf_sent=dtmf_sent, dtmf_received=dtmf_received
        )
        report = media_section(
            None, verdict="none", dtmf_sent=dtmf_sent, dtmf_received=dtmf_received
        )
        # The far end's BYE came before siptest could measure anything: its answer
        # may have been fine, so this is no verdict on the SDP.
        return Check(
            kind="media",
            ok=False,
            diagnosis=knowledge.named(
                "callee.hung_up_at_once" if far_end_hung_up else "media.no_stream"
            ),
            media=replace(report, expectations=results),
        )

    assessment = assess(sample, thresholds, min_mos)
    verdict_name = assessment.verdict
    results = media_results(
        expectations, assessment, dtmf_sent=dtmf_sent, dtmf_received=dtmf_received
    )
    report = media_section(
        assessment, verdict=verdict_name, dtmf_sent=dtmf_sent, dtmf_received=dtmf_received
    )

    explaining = [f for f in nat if _finding_id(f) in _EXPLAINS.get(verdict_name, frozenset())]
    nat_seen = any(_finding_id(f) == "nat.detected" for f in explaining)
    failures = assessment.failures()
    unmet = {result.expect for result in results if not result.met}

    # Held by the far end (RFC 3264 8.4): audio stops or goes one way by its choice,
    # not because a network or firewall dropped it.
    on_hold = held is not None and verdict_name in ("one_way_out", "one_way_in", "none")
    stopped = _stopped(sample) if verdict_name != "none" and not on_hold else None
    pick: _Pick
    if on_hold:
        pick = _Pick("media.on_hold", {**_sample_facts(sample), "hold": held}, cases=("mid_call",))
    elif stopped is not None:
        pick = stopped
    elif verdict_name == "one_way_out":
        pick = _no_audio_from_far_end(sample, local_address, nat_seen)
    elif verdict_name == "one_way_in":
        pick = _no_audio_to_far_end(sample, local_address)
    elif verdict_name == "none":
        pick = _no_audio(sample, local_address, nat_seen)
    elif failures:
        pick = _quality(assessment, assessment.breaches, failed=True)
    elif "dtmf" in unmet and expectations is not None and expectations.dtmf is not None:
        pick = _dtmf(expectations.dtmf, dtmf_sent, dtmf_received)
    elif assessment.breaches:
        pick = _quality(assessment, assessment.breaches, failed=False)
    else:
        pick = _ok(assessment)

    titles = [_in_sentence(f.diagnosis.title) for f in explaining if f.diagnosis is not None]
    diagnosis = pick.render(knowledge, titles)
    explained_by: tuple[str, ...] = ()
    if explaining and diagnosis.category == "media":
        explained_by = tuple(i for i in (_finding_id(f) for f in explaining) if i is not None)
    ok = assessment.both and not failures and not unmet and stopped is None
    report = replace(
        report,
        expectations=results,
        explained_by=explained_by,
        summary=summary_line(report),
        stopped=(
            (sample.received_stopped_at, sample.sent_stopped_at) if stopped is not None else None
        ),
    )
    return Check(
        kind="media",
        ok=ok,
        diagnosis=diagnosis,
        target=sample.remote_rtp or None,
        duration_ms=round(sample.duration * 1000.0, 1),
        media=report,
    )


def analyse_call_media(
    call: CallCompleted,
    *,
    expectations: MediaExpectation | None = None,
    local_address: str | None = None,
    nat: Sequence[Check] = (),
    knowledge: Knowledge,
) -> Check:
    """`analyse_media` for a finished call, with its DTMF and answer state."""
    return analyse_media(
        call.media,
        answered=call.answered,
        expectations=expectations,
        local_address=local_address,
        dtmf_sent=call.dtmf_sent,
        dtmf_received=call.dtmf_received,
        nat=nat,
        knowledge=knowledge,
        far_end_hung_up=call.hangup == "remote",
        held=call.held,
    )
