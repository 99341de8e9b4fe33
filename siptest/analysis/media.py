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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from siptest.analysis.addresses import (
    UNREACHABLE_KINDS,
    address_kind,
    behind_nat,
    reachable_from,
    split_hostport,
)
from siptest.analysis.audio import (
    SHORT_MEASUREMENT_S,
    THRESHOLDS,
    Assessment,
    Breach,
    QualityThresholds,
    assess,
    media_section,
    rounded,
    summary_line,
)
from siptest.analysis.model import Check, Verdict
from siptest.analysis.nat import SIP_ALG
from siptest.ua.base import CallCompleted, MediaSample


@dataclass(frozen=True)
class MediaExpectation:
    """What a scenario expects of an answered call's media (`expect:` in YAML)."""

    audio: Literal["both"] | None = None
    """`both`: audio must flow both ways (also the default verdict without expectations)."""
    min_mos: float | None = None
    """Lowest acceptable MOS estimate; replaces the default failure threshold (3.1)."""
    dtmf: str | None = None
    """Digits that must come back from the far end (echo service, second account)."""


# --- diagnoses ----------------------------------------------------------------

_RTP_PORTS = (
    "the RTP ports (UDP; siptest and most phones use a range such as 4000-65535 or "
    "10000-20000, see the device's RTP port setting)"
)
_CODEC_FIX = (
    "Offer a codec both sides support - G.711 (PCMA and PCMU) works everywhere - and "
    "make sure the device does not lock itself to a single other codec."
)


def _failure(id_: str, title: str, explanation: str, fix: str, rfc: str | None = None) -> Verdict:
    return Verdict(
        id=id_,
        category="media",
        severity="error",
        title=title,
        explanation=explanation,
        fix=fix,
        rfc=rfc,
    )


def _packets(count: int) -> str:
    return f"{count} audio packet{'s' if count != 1 else ''}"


def _short_call_note(sample: MediaSample) -> str:
    if sample.duration >= SHORT_MEASUREMENT_S:
        return ""
    return (
        f" The audio was measured for only {sample.duration:.1f} s; a longer call "
        "(--talk 3) gives a clearer answer."
    )


def _on_hold(sample: MediaSample) -> bool:
    return address_kind(split_hostport(sample.remote_rtp)[0]) == "unspecified"


def _remote_unreachable(sample: MediaSample, local_address: str | None) -> str | None:
    """The far end's SDP address when siptest cannot reach it (NAT on its side)."""
    host = split_hostport(sample.remote_rtp)[0]
    if address_kind(host) in UNREACHABLE_KINDS and not reachable_from(host, local_address):
        return host
    return None


def _hold_verdict(sample: MediaSample) -> Verdict:
    return _failure(
        "media.on_hold",
        "The far end answered on hold: it receives nothing from you",
        f"The far end's SDP names {sample.remote_rtp} as its audio address: 0.0.0.0 "
        "means 'do not send me audio', the old way of putting a call on hold, so siptest "
        "had nowhere to send its audio.",
        "Nothing is wrong with your line. Check the far end: a PBX or phone that answers "
        "with c=0.0.0.0 is configured to answer on hold (music on hold, call parking).",
        rfc="RFC 3264 section 8.4",
    )


def _stopped_verdict(sample: MediaSample) -> Verdict | None:
    """Audio that flowed and then stopped for good: the far end died, or its network did.

    The totals of such a call can look fine (115 of 400 packets is no "loss" in RTCP
    terms, the sender just went quiet), so it is judged on its own, before quality.
    """
    received, sent = sample.received_stopped_at, sample.sent_stopped_at
    if received is None and sent is None:
        return None
    parts = []
    if received is not None:
        parts.append(f"audio from the far end stopped after {received:g} s")
    if sent is not None:
        parts.append(f"the far end stopped receiving siptest's audio after {sent:g} s")
    said = " and ".join(parts)
    return _failure(
        "media.audio_stopped",
        f"Audio stopped during the call: {said}",
        f"The call was answered and audio flowed, then {said} of "
        f"{sample.duration:.1f} s while the call was still up. A far end that crashes, "
        "loses its network or is cut off by a firewall or NAT timeout looks like this; "
        "in a real call the line goes silent.",
        "Call again and watch whether it happens at the same moment: then a timer (a "
        "firewall or NAT session timeout, a session border controller's media timeout) "
        "ends it. If the far end is your own system, check its logs at that time; "
        "otherwise report the number and the time of the test to the provider.",
        rfc="RFC 3550 section 6.3.5",
    )


def _no_audio_from_far_end(
    sample: MediaSample, local_address: str | None, nat_seen: bool
) -> Verdict:
    explanation = (
        f"The call was answered and siptest sent {_packets(sample.sent.packets)} to "
        f"{sample.remote_rtp}, but received none back in {sample.duration:.1f} s."
    )
    if sample.rtt_ms is not None:
        explanation += (
            " The far end's RTCP reports show that siptest's audio reaches it, so only "
            "the path back to you is broken."
        )
    if behind_nat(local_address) or nat_seen:
        where = f"The address siptest uses, {local_address}," if local_address else "siptest"
        explanation += (
            f" {where} sits behind a NAT router: the far end sends its audio "
            "to the address in siptest's SDP, which cannot be reached from outside unless "
            "the provider relays the media or the router lets it in."
        )
        fix = (
            f"First {SIP_ALG}. Then enable NAT traversal on the device (STUN, or the "
            "provider's 'NAT' / 'symmetric RTP' option) so its SDP carries the public "
            f"address. If audio still does not arrive, forward {_RTP_PORTS} to the device, "
            "or ask the provider to relay media."
        )
    else:
        explanation += (
            " Either a firewall between the far end and siptest drops the RTP packets "
            "(SIP got through, the audio did not), or the far end answered without "
            "sending any audio."
        )
        fix = (
            f"Allow inbound UDP to {_RTP_PORTS} on every firewall between you and the far "
            f"end and {SIP_ALG}. Then call an echo test or another number: if audio "
            "comes back there, the problem is this destination, not your line."
        )
    explanation += _short_call_note(sample)
    return _failure(
        "media.no_audio_from_far_end",
        "One-way audio: you can hear nothing from the far end",
        explanation,
        fix,
        rfc="RFC 3550",
    )


def _no_audio_to_far_end(sample: MediaSample, local_address: str | None) -> Verdict:
    title = "One-way audio: the far end receives nothing from you"
    if _on_hold(sample):
        return _hold_verdict(sample)
    if sample.sent.packets == 0 and sample.sent.lost == 0:
        return _failure(
            "media.not_sent",
            title,
            f"siptest received {_packets(sample.received.packets)} from the far end but "
            f"sent none itself: the far end's SDP answer did not accept audio from siptest "
            f"(a=recvonly or a=inactive, or port 0), or no codec ({sample.codec or 'none'}) "
            "was agreed for sending.",
            f"{_CODEC_FIX} If the far end is a PBX, check that it answers with audio in "
            "both directions (sendrecv).",
            rfc="RFC 3264 section 6.1",
        )
    explanation = (
        f"siptest received {_packets(sample.received.packets)} from the far end and sent "
        f"its own audio to {sample.remote_rtp}, but the far end's RTCP receiver reports "
        f"say none of it arrived ({sample.sent.lost} lost)."
    )
    unreachable = _remote_unreachable(sample, local_address)
    if unreachable:
        explanation += (
            f" The far end asked for audio at {unreachable}, an address that cannot be "
            "reached from here: that device sits behind a NAT and advertises its inside "
            "address, or a SIP ALG on the way rewrote the SDP wrongly."
        )
        fix = (
            "On the far end's network, switch off the SIP ALG and enable NAT traversal "
            "(STUN) on that device. Through a provider, ask for media relay or symmetric "
            "RTP (sending audio back to where it comes from)."
        )
    else:
        explanation += (
            " A firewall on your side drops outgoing RTP, or one between you and the far "
            "end drops it on the way in."
        )
        fix = (
            f"Allow outgoing UDP from {_RTP_PORTS} to any address (the far end chooses "
            f"its own port), {SIP_ALG}, and try again."
        )
    explanation += _short_call_note(sample)
    return _failure("media.no_audio_to_far_end", title, explanation, fix, rfc="RFC 3550")


def _no_audio(sample: MediaSample, local_address: str | None, nat_seen: bool) -> Verdict:
    title = "No audio in either direction"
    lead = (
        "The call was answered but no audio flowed: siptest received no packets from "
        "the far end, and the far end received none of siptest's."
    )
    if not sample.codec:
        return _failure(
            "media.codec_mismatch",
            title,
            f"{lead} No codec was agreed: the two sides have no audio codec in common.",
            _CODEC_FIX,
            rfc="RFC 3264 section 6.1",
        )
    if _on_hold(sample):
        return _hold_verdict(sample)
    unreachable = _remote_unreachable(sample, local_address)
    natted = behind_nat(local_address) or nat_seen
    if unreachable and natted:
        explanation = (
            f"{lead} Both sides are behind NAT routers: the far end advertises its inside "
            f"address {unreachable} and siptest its own, so neither can reach the other."
        )
        fix = (
            f"{SIP_ALG.capitalize()} on both networks and enable NAT traversal (STUN) on "
            "both devices, or call through a provider that relays media."
        )
    elif unreachable:
        explanation = (
            f"{lead} The far end asked for audio at {unreachable}, an address that cannot "
            "be reached from here (it sits behind a NAT or a SIP ALG rewrote its SDP), and "
            "nothing came back either."
        )
        fix = (
            "On the far end's network, switch off the SIP ALG and enable NAT traversal "
            "(STUN) on that device; through a provider, ask for media relay."
        )
    else:
        explanation = (
            f"{lead} RTP is blocked both ways: a firewall lets SIP through but not the "
            "audio ports, or a SIP ALG rewrote the SDP addresses wrongly."
        )
        fix = f"Allow UDP in and out on {_RTP_PORTS} on every firewall on the way and {SIP_ALG}."
        if natted:
            fix += " Behind a NAT, also enable NAT traversal (STUN) on the device."
    explanation += _short_call_note(sample)
    return _failure("media.no_audio", title, explanation, fix, rfc="RFC 3550")


def _quality_fix(breaches: Iterable[Breach]) -> str:
    kinds = {breach.kind for breach in breaches}
    fixes: list[str] = []
    if kinds & {"loss", "jitter"}:
        fixes.append(
            "Loss and jitter come from the network path: make sure voice does not compete "
            "with uploads (enable the router's QoS or voice priority, or test while nothing "
            "else uses the line), use a cable instead of Wi-Fi, and if it persists give "
            "this report to the internet provider."
        )
    if "rtt" in kinds:
        fixes.append(
            "The delay is high: use the provider's nearest server and keep voice off VPNs "
            "and satellite or mobile links where you can."
        )
    if not fixes:
        fixes.append(
            "The codec itself costs quality: prefer G.711 (PCMA/PCMU) when the line has "
            "the bandwidth (about 90 kbit/s each way)."
        )
    return " ".join(fixes)


def _quality_verdict(
    assessment: Assessment, breaches: Sequence[Breach], *, failed: bool
) -> Verdict:
    worst = assessment.worst
    score = f"Estimated MOS {worst.mos:.2f} (R {worst.r_factor:.0f})" if worst else "Quality"
    explanation = (
        f"{score} with {assessment.sample.codec}: "
        + "; ".join(breach.text for breach in breaches)
        + "."
    )
    if failed:
        return _failure(
            "media.poor_quality",
            "Audio flows both ways, but the call quality is poor",
            explanation,
            _quality_fix(breaches),
            rfc="ITU-T G.107",
        )
    return Verdict(
        id="media.marginal_quality",
        category="media",
        severity="warning",
        title="Audio flows both ways; the call quality is marginal",
        explanation=explanation,
        fix=_quality_fix(breaches),
        rfc="ITU-T G.107",
    )


def _ok_verdict(assessment: Assessment) -> Verdict:
    sample, worst = assessment.sample, assessment.worst
    explanation = (
        f"siptest sent {_packets(sample.sent.packets)} and received "
        f"{_packets(sample.received.packets)} over {sample.duration:.1f} s with {sample.codec}"
    )
    explanation += f"; estimated MOS {worst.mos:.2f}." if worst else "."
    if sample.rtt_ms is None and sample.sent.lost == 0:
        explanation += (
            " The far end sent no RTCP reports, so the outgoing direction is judged from "
            "siptest's own count."
        )
    return Verdict(
        id="media.ok",
        category="none",
        severity="ok",
        title="Audio flows both ways",
        explanation=explanation,
        fix="Nothing to fix.",
    )


def _digits(text: str) -> str:
    return "".join(text.split()).upper()


def _dtmf_verdict(expected: str, sent: str, received: str) -> Verdict:
    title = "The DTMF digits did not arrive as sent"
    shown = (
        f"siptest sent '{sent}', the far end returned '{received}', "
        f"the scenario expects '{expected}'."
    )
    method_fix = (
        "Use the same DTMF method on both sides: RFC 4733 events (telephone-event in the "
        "SDP) are the usual default, SIP INFO only where the provider asks for it. Make "
        "sure the number called returns digits (an echo service or a second test account)."
    )
    if _digits(sent) != _digits(expected):
        return _failure(
            "media.dtmf_not_sent",
            title,
            f"{shown} siptest did not send all the digits the scenario expects back "
            "(with SIP INFO, a digit whose request got no answer stops the ones after it).",
            "Give the call step the same digits as the expectation (`dtmf:` on the call). "
            "If it has them, the far end left a SIP INFO unanswered: try `dtmf_method: "
            "rfc4733`, or ask the provider whether it takes DTMF by SIP INFO.",
        )
    if not received:
        explanation = (
            f"{shown} Nothing came back: the far end did not recognise the digits "
            "(different DTMF method), or it does not return them."
        )
        fix = method_fix
    elif _digits(received) == "".join(digit * 2 for digit in _digits(expected)):
        explanation = (
            f"{shown} Every digit arrived twice: the digits travel by two methods at once "
            "(RFC 4733 events and in-band tones, or RFC 4733 and SIP INFO)."
        )
        fix = (
            "Choose one DTMF method on the device (RFC 4733 is the usual one) and switch "
            "off the others."
        )
    elif len(_digits(received)) < len(_digits(expected)):
        explanation = (
            f"{shown} Some digits were lost: packet loss, or digits too short for the "
            "far end to detect."
        )
        fix = (
            "Check packet loss in the media measurement, and set the device's DTMF digit "
            "duration to at least 100 ms."
        )
    else:
        explanation = f"{shown} Different digits arrived than were sent."
        fix = method_fix
    return _failure("media.dtmf_mismatch", title, explanation, fix, rfc="RFC 4733")


# --- expectations ---------------------------------------------------------------


def _expectation_results(
    expectations: MediaExpectation | None,
    assessment: Assessment | None,
    *,
    dtmf_sent: str,
    dtmf_received: str,
) -> list[dict[str, Any]]:
    if expectations is None:
        return []
    results: list[dict[str, Any]] = []
    if expectations.audio is not None:
        verdict = assessment.verdict if assessment else None
        results.append(
            {
                "expect": "audio",
                "wanted": expectations.audio,
                "got": verdict,
                "met": bool(assessment and assessment.both),
            }
        )
    if expectations.min_mos is not None:
        worst = assessment.worst if assessment else None
        results.append(
            {
                "expect": "min_mos",
                "wanted": expectations.min_mos,
                "got": rounded(worst.mos if worst else None, 2),
                "met": worst is not None and worst.mos >= expectations.min_mos,
            }
        )
    if expectations.dtmf is not None:
        results.append(
            {
                "expect": "dtmf",
                "wanted": expectations.dtmf,
                "got": dtmf_received,
                "met": assessment is not None
                and _digits(dtmf_received) == _digits(expectations.dtmf),
            }
        )
    return results


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


def _with_findings(verdict: Verdict, findings: Sequence[Check]) -> Verdict:
    titles = [_in_sentence(f.diagnosis.title) for f in findings if f.diagnosis is not None]
    if not titles:
        return verdict
    return Verdict(
        id=verdict.id,
        category=verdict.category,
        severity=verdict.severity,
        title=verdict.title,
        explanation=f"{verdict.explanation} This run also found that {'; '.join(titles)}.",
        fix=verdict.fix,
        rfc=verdict.rfc,
    )


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
) -> Check:
    """The media check of one call: which way audio flowed, how good, expectations met.

    `local_address` is the address siptest used for RTP (NAT evidence); `nat` holds
    the findings of `nat_findings` for the same run, so a failure they explain can
    name them. `details["media"]` is the JSON media section (docs/media.md).
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
        results = _expectation_results(
            expectations, None, dtmf_sent=dtmf_sent, dtmf_received=dtmf_received
        )
        ok = all(result["met"] for result in results)
        section = media_section(
            None, verdict=None, dtmf_sent=dtmf_sent, dtmf_received=dtmf_received
        )
        section["expectations"] = results
        title, explanation, fix = (
            (
                "Audio not checked: the call was not answered",
                "There was no audio to measure; the call check says why the call was not answered.",
                "Fix the call first (see the call check).",
            )
            if not answered
            else (
                "Audio not checked: the call ended before audio could flow",
                "The call was hung up right after it was answered, before the first audio packets.",
                "Hold the call longer (--talk 3, or `talk:` in a scenario) to check audio.",
            )
        )
        return Check(
            kind="media",
            ok=ok,
            diagnosis=Verdict(
                id="media.not_measured",
                category="none" if ok else "media",
                severity="info" if ok else "error",
                title=title,
                explanation=explanation,
                fix=fix,
            ),
            details={"media": section},
        )
    if sample is None:
        results = _expectation_results(
            expectations, None, dtmf_sent=dtmf_sent, dtmf_received=dtmf_received
        )
        section = media_section(
            None, verdict="none", dtmf_sent=dtmf_sent, dtmf_received=dtmf_received
        )
        section["expectations"] = results
        return Check(
            kind="media",
            ok=False,
            diagnosis=_failure(
                "media.no_stream",
                "No audio in either direction: no audio stream was set up",
                "The call was answered, but the two sides agreed on no audio stream: the "
                "far end's SDP answer had no usable audio line (port 0) or no codec in "
                "common with siptest's offer.",
                _CODEC_FIX,
                rfc="RFC 3264 section 6",
            ),
            details={"media": section},
        )

    assessment = assess(sample, thresholds, min_mos)
    verdict_name = assessment.verdict
    results = _expectation_results(
        expectations, assessment, dtmf_sent=dtmf_sent, dtmf_received=dtmf_received
    )
    section = media_section(
        assessment, verdict=verdict_name, dtmf_sent=dtmf_sent, dtmf_received=dtmf_received
    )
    section["expectations"] = results

    explaining = [f for f in nat if _finding_id(f) in _EXPLAINS.get(verdict_name, frozenset())]
    nat_seen = any(_finding_id(f) == "nat.detected" for f in explaining)
    failures = assessment.failures()
    unmet = {result["expect"] for result in results if not result["met"]}

    stopped = _stopped_verdict(sample) if verdict_name != "none" else None
    diagnosis: Verdict
    if stopped is not None:
        diagnosis = stopped
    elif verdict_name == "one_way_out":
        diagnosis = _no_audio_from_far_end(sample, local_address, nat_seen)
    elif verdict_name == "one_way_in":
        diagnosis = _no_audio_to_far_end(sample, local_address)
    elif verdict_name == "none":
        diagnosis = _no_audio(sample, local_address, nat_seen)
    elif failures:
        diagnosis = _quality_verdict(assessment, assessment.breaches, failed=True)
    elif "dtmf" in unmet and expectations is not None and expectations.dtmf is not None:
        diagnosis = _dtmf_verdict(expectations.dtmf, dtmf_sent, dtmf_received)
    elif assessment.breaches:
        diagnosis = _quality_verdict(assessment, assessment.breaches, failed=False)
    else:
        diagnosis = _ok_verdict(assessment)

    if explaining and diagnosis.category == "media":
        diagnosis = _with_findings(diagnosis, explaining)
        section["explained_by"] = [_finding_id(f) for f in explaining]
    section["summary"] = summary_line(section)
    ok = assessment.both and not failures and not unmet and stopped is None
    if stopped is not None:
        section["stopped"] = {
            "received_after_s": sample.received_stopped_at,
            "sent_after_s": sample.sent_stopped_at,
        }
    return Check(
        kind="media",
        ok=ok,
        diagnosis=diagnosis,
        target=sample.remote_rtp or None,
        duration_ms=round(sample.duration * 1000.0, 1),
        details={"media": section},
    )


def analyse_call_media(
    call: CallCompleted,
    *,
    expectations: MediaExpectation | None = None,
    local_address: str | None = None,
    nat: Sequence[Check] = (),
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
    )
