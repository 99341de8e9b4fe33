"""Media verdicts: which way audio flowed, how good it was, and what to do about it."""

import json
from functools import partial

import pytest

from siptest.analysis import media, nat
from siptest.analysis.addresses import address_kind, reachable_from
from siptest.analysis.audio import summary_line
from siptest.analysis.expectations import MediaExpectation
from siptest.analysis.model import Report
from siptest.hostport import split_hostport
from siptest.knowledge import load_knowledge
from siptest.report.json import render_json
from siptest.report.text import render_text
from siptest.ua.base import Response
from siptest.ua.calls import CallCompleted
from siptest.ua.mediaevents import MediaSample, StreamStats

KNOWLEDGE = load_knowledge()
analyse_media = partial(media.analyse_media, knowledge=KNOWLEDGE)
analyse_call_media = partial(media.analyse_call_media, knowledge=KNOWLEDGE)
nat_findings = partial(nat.nat_findings, KNOWLEDGE)

LOOPBACK = "127.0.0.1"


def sample(
    sent=(100, 0, None),
    received=(100, 0, 0.5),
    *,
    rtt_ms=None,
    codec="PCMA",
    remote_rtp="127.0.0.1:6000",
    duration=2.0,
):
    return MediaSample(
        codec=codec,
        remote_rtp=remote_rtp,
        sent=StreamStats(*sent),
        received=StreamStats(*received),
        rtt_ms=rtt_ms,
        duration=duration,
    )


def text_of(check):
    d = check.diagnosis
    return f"{d.title} {d.explanation} {d.fix}"


# --- verdict table -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("media", "verdict", "ok", "category", "phrase"),
    [
        pytest.param(sample(), "both", True, "none", "Audio flows both ways", id="echo"),
        pytest.param(
            sample(sent=(100, 0, 1.0), received=(100, 0, 1.0), rtt_ms=4.0),
            "both",
            True,
            "none",
            "Audio flows both ways",
            id="echo-with-rtcp",
        ),
        pytest.param(
            sample(received=(0, 0, None)),
            "one_way_out",
            False,
            "media",
            "you can hear nothing from the far end",
            id="peer-sends-no-rtp",
        ),
        pytest.param(
            sample(sent=(0, 100, None)),
            "one_way_in",
            False,
            "media",
            "the far end receives nothing from you",
            id="far-end-reports-all-lost",
        ),
        pytest.param(
            sample(sent=(0, 100, None), received=(0, 0, None)),
            "none",
            False,
            "media",
            "No audio in either direction",
            id="blocked-both-ways",
        ),
        pytest.param(
            sample(received=(90, 10, 2.0)),
            "poor",
            False,
            "media",
            "10.0 % of the audio from the far end was lost",
            id="ten-percent-loss-in",
        ),
        pytest.param(
            sample(sent=(90, 10, 2.0), rtt_ms=20.0),
            "poor",
            False,
            "media",
            "10.0 % of the audio to the far end was lost",
            id="ten-percent-loss-out",
        ),
        pytest.param(
            sample(received=(98, 2, 2.0)),
            "poor",
            True,
            "media",
            "quality is marginal",
            id="two-percent-loss-warns",
        ),
        pytest.param(
            sample(received=(100, 0, 45.0)),
            "poor",
            True,
            "media",
            "jitter from the far end is 45 ms",
            id="jitter-warns",
        ),
        pytest.param(
            sample(rtt_ms=350.0),
            "poor",
            True,
            "media",
            "the round trip takes 350 ms",
            id="rtt-warns",
        ),
    ],
)
def test_sample_gives_verdict_category_and_names_the_direction(
    media, verdict, ok, category, phrase
):
    check = analyse_media(media, answered=True, local_address=LOOPBACK)
    assert check.kind == "media"
    assert check.media.as_json()["verdict"] == verdict
    assert check.ok is ok
    assert check.diagnosis.category == category
    assert phrase in text_of(check)


@pytest.mark.parametrize(
    ("media", "audio_in", "audio_out"),
    [
        (sample(), True, True),
        (sample(received=(0, 0, None)), False, True),
        (sample(sent=(0, 100, None)), True, False),
        (sample(sent=(0, 100, None), received=(0, 0, None)), False, False),
    ],
)
def test_direction_flags_say_plainly_which_way_audio_flowed(media, audio_in, audio_out):
    section = analyse_media(media, answered=True).media.as_json()
    assert (section["audio_in"], section["audio_out"]) == (audio_in, audio_out)


# --- diagnoses by cause --------------------------------------------------------------


def test_silent_far_end_behind_our_nat_points_at_sip_alg_and_stun():
    check = analyse_media(
        sample(received=(0, 0, None), remote_rtp="198.51.100.20:30000"),
        answered=True,
        local_address="192.168.1.10",
    )
    assert check.diagnosis.id == "media.no_audio_from_far_end"
    assert "behind a NAT" in check.diagnosis.explanation
    assert "SIP ALG" in check.diagnosis.fix
    assert "STUN" in check.diagnosis.fix


def test_silent_far_end_without_nat_points_at_firewall_and_rtp_ports():
    check = analyse_media(sample(received=(0, 0, None)), answered=True, local_address=LOOPBACK)
    assert "firewall" in check.diagnosis.explanation
    assert "RTP ports" in check.diagnosis.fix
    assert check.diagnosis.rfc == "RFC 3550"


def test_rtcp_from_the_far_end_narrows_one_way_audio_to_the_return_path():
    check = analyse_media(sample(received=(0, 0, None), rtt_ms=30.0), answered=True)
    assert "only the path back to you is broken" in check.diagnosis.explanation


def test_private_address_in_the_far_ends_sdp_explains_why_it_hears_nothing():
    check = analyse_media(
        sample(sent=(0, 150, None), remote_rtp="192.168.50.20:4000"),
        answered=True,
        local_address="203.0.113.10",
    )
    assert check.media.as_json()["verdict"] == "one_way_in"
    assert check.diagnosis.id == "media.no_audio_to_far_end"
    assert "192.168.50.20" in check.diagnosis.explanation
    assert "symmetric RTP" in check.diagnosis.fix and "media relay" in check.diagnosis.fix


def test_private_far_end_on_our_own_lan_is_not_blamed_on_nat():
    check = analyse_media(
        sample(sent=(0, 150, None), remote_rtp="192.168.1.50:4000"),
        answered=True,
        local_address="192.168.1.10",
    )
    assert "192.168.1.50, an address" not in check.diagnosis.explanation
    assert "firewall" in check.diagnosis.explanation


def test_far_end_answering_with_0_0_0_0_is_on_hold():
    check = analyse_media(sample(sent=(0, 100, None), remote_rtp="0.0.0.0:4000"), answered=True)
    assert check.diagnosis.id == "media.on_hold"
    assert "receives nothing from you" in check.diagnosis.title
    assert check.diagnosis.rfc == "RFC 3264 section 8.4"


def test_siptest_sending_nothing_points_at_the_sdp_answer_and_codecs():
    check = analyse_media(sample(sent=(0, 0, None)), answered=True)
    assert check.media.as_json()["verdict"] == "one_way_in"
    assert check.diagnosis.id == "media.not_sent"
    assert "G.711" in check.diagnosis.fix


def test_no_codec_agreed_is_a_codec_mismatch():
    check = analyse_media(sample(sent=(0, 0, None), received=(0, 0, None), codec=""), answered=True)
    assert check.diagnosis.id == "media.codec_mismatch"
    assert "PCMA and PCMU" in check.diagnosis.fix


def test_both_sides_behind_nat_is_named_as_such():
    check = analyse_media(
        sample(sent=(0, 50, None), received=(0, 0, None), remote_rtp="10.1.2.3:4000"),
        answered=True,
        local_address="192.168.1.10",
    )
    assert check.diagnosis.id == "media.no_audio"
    assert "Both sides are behind NAT routers" in check.diagnosis.explanation


def test_answered_call_without_a_stream_has_no_media_at_all():
    check = analyse_media(None, answered=True)
    assert not check.ok
    assert check.media.as_json()["verdict"] == "none"
    assert check.diagnosis.id == "media.no_stream"
    assert check.diagnosis.category == "media"


def test_a_far_end_that_hung_up_before_any_audio_is_named_not_blamed_on_its_sdp():
    check = analyse_media(None, answered=True, far_end_hung_up=True)
    assert not check.ok
    assert check.diagnosis.id == "callee.hung_up_at_once"
    assert check.diagnosis.category == "callee"
    assert "SDP" not in check.diagnosis.explanation


def test_silence_after_the_far_end_put_the_call_on_hold_is_its_hold_not_the_network():
    silent = sample(sent=(0, 0, None), received=(0, 0, None))
    check = analyse_media(silent, answered=True, held="a=inactive")
    assert not check.ok
    assert check.diagnosis.id == "media.on_hold"
    assert "a=inactive" in check.diagnosis.explanation
    # the twin: the same silence without a hold is blocked audio
    assert analyse_media(silent, answered=True).diagnosis.id == "media.no_audio"


def test_audio_both_ways_on_a_held_call_is_judged_as_audio():
    check = analyse_media(sample(), answered=True, held="a=sendonly")
    assert (check.ok, check.diagnosis.id) == (True, "media.ok")


def test_unanswered_call_is_not_measured_and_not_a_media_failure():
    check = analyse_media(None, answered=False)
    assert check.ok
    assert check.media.as_json()["verdict"] is None
    assert check.diagnosis.category == "none"


def test_very_short_measurement_suggests_a_longer_call():
    check = analyse_media(sample(received=(0, 0, None), duration=0.3), answered=True)
    assert "--talk 3" in check.diagnosis.explanation


def test_loss_and_delay_fixes_name_the_network_and_the_route():
    loss = analyse_media(sample(received=(90, 10, 2.0)), answered=True)
    slow = analyse_media(sample(rtt_ms=350.0), answered=True)
    assert "QoS" in loss.diagnosis.fix
    assert "nearest server" in slow.diagnosis.fix


# --- the JSON media section -----------------------------------------------------------


def test_media_section_holds_both_directions_and_the_estimate():
    check = analyse_media(
        sample(sent=(200, 2, 3.0), received=(199, 1, 1.5), rtt_ms=40.0), answered=True
    )
    section = check.media.as_json()
    assert section["codec"] == "PCMA"
    assert section["remote_rtp"] == "127.0.0.1:6000"
    assert section["sent"]["packets"] == 200
    assert section["sent"]["lost"] == 2
    assert section["sent"]["loss_percent"] == pytest.approx(0.99, abs=0.01)
    assert section["received"]["jitter_ms"] == 1.5
    assert section["rtt_ms"] == 40.0
    assert 4.0 < section["mos"] < 4.41
    assert section["mos"] == min(section["sent"]["mos"], section["received"]["mos"])
    assert 80 < section["r_factor"] < 93.2
    assert section["verdict"] == "both"
    assert check.target == "127.0.0.1:6000"
    assert check.duration_ms == 2000.0


def test_one_way_audio_has_no_overall_mos():
    section = analyse_media(sample(received=(0, 0, None)), answered=True).media.as_json()
    assert section["mos"] is None
    assert section["received"]["mos"] is None
    assert section["sent"]["mos"] is not None


def test_missing_rtcp_is_stated_as_an_assumption():
    section = analyse_media(sample(), answered=True).media.as_json()
    assert any("no RTCP" in text for text in section["assumptions"])


def test_media_check_renders_in_json_and_text_reports():
    check = analyse_media(sample(received=(0, 0, None)), answered=True)
    data = json.loads(render_json(Report(checks=(check,))))
    media = data["checks"][0]["media"]
    assert media["verdict"] == "one_way_out"
    assert data["checks"][0]["diagnosis"]["category"] == "media"
    text = render_text(Report(checks=(check,)))
    assert "[FAIL] Media 127.0.0.1:6000" in text
    assert "you can hear nothing from the far end" in text


@pytest.mark.parametrize(
    ("media", "words"),
    [
        (sample(rtt_ms=12.0), "audio both ways; PCMA; MOS 4.40"),
        (sample(received=(0, 0, None)), "one-way audio: nothing heard from the far end"),
        (sample(sent=(0, 100, None)), "one-way audio: the far end receives nothing"),
    ],
)
def test_summary_line_reads_as_one_sentence(media, words):
    report = analyse_media(media, answered=True).media
    assert report is not None and report.summary is not None
    assert report.summary.startswith(words)
    assert summary_line(report) == report.summary


# --- expectations -------------------------------------------------------------------


def test_min_mos_met_by_a_clean_call():
    check = analyse_media(sample(), answered=True, expectations=MediaExpectation(min_mos=3.5))
    assert check.ok
    assert check.media.as_json()["expectations"] == [
        {"expect": "min_mos", "wanted": 3.5, "got": pytest.approx(4.39, abs=0.02), "met": True}
    ]


def test_min_mos_unmet_fails_and_names_the_scenario_minimum():
    # G.729 on a slow route: MOS about 3.2, above the default failure limit
    slow = sample(codec="G729", rtt_ms=450.0, received=(100, 0, 20.0))
    assert analyse_media(slow, answered=True).ok
    check = analyse_media(slow, answered=True, expectations=MediaExpectation(min_mos=3.5))
    assert not check.ok
    assert "scenario's minimum of 3.50" in check.diagnosis.explanation


def test_min_mos_replaces_the_default_failure_threshold():
    # G.729 over a 500 ms round trip: MOS just under 3.1
    far = sample(codec="G729", rtt_ms=500.0, received=(100, 0, 20.0))
    assert not analyse_media(far, answered=True).ok
    lenient = analyse_media(far, answered=True, expectations=MediaExpectation(min_mos=2.9))
    assert lenient.ok
    assert lenient.diagnosis.severity == "warning"


def test_audio_both_expectation_unmet_by_one_way_audio():
    check = analyse_media(
        sample(received=(0, 0, None)),
        answered=True,
        expectations=MediaExpectation(audio="both"),
    )
    assert not check.ok
    assert check.media.as_json()["expectations"] == [
        {"expect": "audio", "wanted": "both", "got": "one_way_out", "met": False}
    ]


def test_expectations_on_an_unanswered_call_are_unmet():
    check = analyse_media(None, answered=False, expectations=MediaExpectation(audio="both"))
    assert not check.ok
    assert check.diagnosis.category == "media"


@pytest.mark.parametrize(
    ("sent", "received", "ok", "diagnosis_id", "phrase"),
    [
        ("123#", "123#", True, "media.ok", ""),
        ("123#", " 1 2 3 # ", True, "media.ok", ""),
        ("123#", "", False, "media.dtmf_mismatch", "Nothing came back"),
        ("123#", "112233##", False, "media.dtmf_mismatch", "arrived twice"),
        ("123#", "13", False, "media.dtmf_mismatch", "Some digits were lost"),
        ("123#", "456#", False, "media.dtmf_mismatch", "Different digits"),
        ("", "", False, "media.dtmf_not_sent", "did not send all the digits"),
    ],
)
def test_dtmf_expectation(sent, received, ok, diagnosis_id, phrase):
    check = analyse_media(
        sample(),
        answered=True,
        expectations=MediaExpectation(dtmf="123#"),
        dtmf_sent=sent,
        dtmf_received=received,
    )
    assert check.ok is ok
    assert check.diagnosis.id == diagnosis_id
    assert phrase in check.diagnosis.explanation
    assert check.media.as_json()["dtmf_received"] == received


def test_analyse_call_media_reads_the_call_record():
    call = CallCompleted(
        number="7000",
        uri="sip:7000@127.0.0.1",
        provisional=(100, 180),
        answered=True,
        response=Response(method="INVITE", code=200, reason="OK", origin="remote", at=1.0),
        requests_sent=2,
        credentials_sent=True,
        credentials_rejected=False,
        cancelled_by_us=False,
        media=sample(),
        dtmf_sent="123#",
        dtmf_received="123#",
    )
    check = analyse_call_media(call, expectations=MediaExpectation(audio="both", dtmf="123#"))
    assert check.ok
    assert [r["met"] for r in check.media.as_json()["expectations"]] == [True, True]


# --- NAT findings --------------------------------------------------------------------


def ids(findings):
    return [finding.diagnosis.id for finding in findings]


def test_lab_on_loopback_has_no_nat_findings():
    findings = nat_findings(
        local_address=LOOPBACK,
        local_port=5080,
        via_received=LOOPBACK,
        via_rport="5080",
        contact="<sip:1001@127.0.0.1:5080>",
        remote_sdp_address=LOOPBACK,
        expires_requested=300,
        expires_granted=300,
    )
    assert findings == []


def test_address_rewritten_by_the_router_is_a_nat_finding_not_a_failure():
    findings = nat_findings(
        local_address="192.168.1.10",
        local_port=5060,
        via_received="203.0.113.7",
        via_rport="40312",
    )
    assert ids(findings) == ["nat.detected"]
    finding = findings[0]
    assert finding.ok and finding.kind == "media"
    assert finding.diagnosis.category == "network"
    assert "203.0.113.7:40312" in finding.diagnosis.explanation
    assert finding.nat is not None and finding.nat.via_rport == 40312


def test_shared_address_space_is_named_carrier_grade_nat():
    findings = nat_findings(
        local_address="192.168.1.10", local_port=5060, via_received="100.64.3.4", via_rport=5060
    )
    assert "carrier-grade NAT" in findings[0].diagnosis.explanation


def test_port_translation_alone_is_nat():
    findings = nat_findings(
        local_address="203.0.113.7", local_port=5060, via_received="203.0.113.7", via_rport=61000
    )
    assert ids(findings) == ["nat.detected"]
    assert "Only the port changed" in findings[0].diagnosis.explanation


def test_private_contact_behind_nat_is_a_warning():
    findings = nat_findings(
        local_address="192.168.1.10",
        local_port=5060,
        via_received="203.0.113.7",
        via_rport=40312,
        contact="<sip:1001@192.168.1.10:5060;transport=udp>",
    )
    assert "nat.private_contact" in ids(findings)
    warning = findings[ids(findings).index("nat.private_contact")]
    assert warning.ok and warning.diagnosis.severity == "warning"


def test_contact_rewritten_to_the_public_address_is_fine():
    findings = nat_findings(
        local_address="192.168.1.10",
        local_port=5060,
        via_received="203.0.113.7",
        via_rport=40312,
        contact="<sip:1001@203.0.113.7:40312>",
    )
    assert "nat.private_contact" not in ids(findings)


@pytest.mark.parametrize(
    ("local", "remote", "finding"),
    [
        ("203.0.113.10", "192.168.50.20", True),
        ("192.168.1.10", "10.0.0.5", True),
        ("192.168.1.10", "192.168.1.50", False),
        (LOOPBACK, LOOPBACK, False),
        ("192.168.1.10", LOOPBACK, True),
        ("192.168.1.10", "198.51.100.20", False),
    ],
)
def test_far_end_sdp_address_siptest_cannot_reach(local, remote, finding):
    findings = nat_findings(local_address=local, remote_sdp_address=remote)
    assert ("nat.remote_sdp_private" in ids(findings)) is finding


def test_shortened_expiry_is_reported_as_information():
    findings = nat_findings(expires_requested=3600, expires_granted=60)
    assert ids(findings) == ["nat.expiry_shortened"]
    assert findings[0].diagnosis.severity == "info"


@pytest.mark.parametrize(("granted", "keepalive"), [(3600, True), (60, False)])
def test_long_registration_behind_nat_suggests_keepalives(granted, keepalive):
    findings = nat_findings(
        local_address="192.168.1.10",
        local_port=5060,
        via_received="203.0.113.7",
        via_rport=5060,
        expires_requested=granted,
        expires_granted=granted,
    )
    assert ("nat.keepalive" in ids(findings)) is keepalive


def test_nat_findings_that_explain_one_way_audio_are_named_by_the_failure():
    findings = nat_findings(
        local_address="203.0.113.50",
        local_port=5060,
        via_received="198.51.100.9",
        via_rport=5060,
    )
    check = analyse_media(
        sample(received=(0, 0, None), remote_rtp="198.51.100.20:30000"),
        answered=True,
        local_address="203.0.113.50",
        nat=findings,
    )
    assert check.media.as_json()["explained_by"] == ["nat.detected"]
    assert "This run also found that siptest is behind a NAT" in check.diagnosis.explanation
    assert "behind a NAT router" in check.diagnosis.explanation
    assert all(finding.ok for finding in findings)


def test_nat_findings_do_not_touch_a_passing_media_check():
    findings = nat_findings(local_address="192.168.1.10", via_received="203.0.113.7")
    check = analyse_media(sample(), answered=True, nat=findings)
    assert check.ok
    assert "explained_by" not in check.media.as_json()


# --- addresses ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("203.0.113.7", "public"),
        ("8.8.8.8", "public"),
        ("192.168.1.10", "private"),
        ("172.20.0.1", "private"),
        ("10.9.8.7", "private"),
        ("100.64.0.1", "shared"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.3.4", "link_local"),
        ("fe80::1", "link_local"),
        ("fd00::5", "private"),
        ("2001:4860::1", "public"),
        ("::ffff:192.168.1.1", "private"),
        ("0.0.0.0", "unspecified"),
        ("sip.example.com", "name"),
        ("", "invalid"),
        ("not an address", "invalid"),
    ],
)
def test_address_kind(host, kind):
    assert address_kind(host) == kind


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("1.2.3.4:4000", ("1.2.3.4", 4000)),
        ("[2001:db8::1]:4000", ("2001:db8::1", 4000)),
        ("2001:db8::1", ("2001:db8::1", None)),
        ("media.example.com", ("media.example.com", None)),
    ],
)
def test_split_hostport(text, parts):
    assert split_hostport(text) == parts


def test_reachability_needs_the_same_private_block():
    assert reachable_from("192.168.1.50", "192.168.1.10")
    assert not reachable_from("192.168.1.50", "10.0.0.1")
    assert not reachable_from("192.168.1.50", None)
    assert reachable_from("198.51.100.1", "192.168.1.10")


def test_audio_that_stopped_mid_call_fails_however_good_the_totals():
    from siptest.ua.mediaevents import MediaSample, StreamStats

    sample = MediaSample(
        codec="PCMA", remote_rtp="192.0.2.1:4000",
        sent=StreamStats(400, 0, 1.0), received=StreamStats(115, 0, 1.0),
        rtt_ms=None, duration=8.0, received_stopped_at=2.3,
    )  # fmt: skip
    check = analyse_media(sample, answered=True)
    assert check.ok is False
    assert check.diagnosis is not None and check.diagnosis.id == "media.audio_stopped"
    assert "audio from the far end stopped after 2.3 s" in check.diagnosis.title
    assert check.media.as_json()["stopped"]["received_after_s"] == 2.3


def test_a_bye_nobody_answered_is_a_warning_check():
    from siptest.analysis.calls import analyse_hangup

    answered = CallCompleted(
        number="7000", uri="sip:7000@x", provisional=(180,), answered=True,
        response=Response("INVITE", 200, "OK", "remote", 0.0), requests_sent=1,
        credentials_sent=False, credentials_rejected=False, cancelled_by_us=False,
        hangup="us", bye_answered=True,
    )  # fmt: skip
    assert analyse_hangup(answered, KNOWLEDGE) is None
    from dataclasses import replace

    check = analyse_hangup(replace(answered, bye_answered=False), KNOWLEDGE)
    assert check is not None and check.ok is False and check.kind == "hangup"
    assert check.diagnosis is not None and check.diagnosis.severity == "warning"


@pytest.mark.parametrize(
    ("refused", "expected"),
    [
        ("481 Call/Transaction Does Not Exist", "cleanup.bye_call_unknown"),
        ("481 Call Leg/Transaction Does Not Exist", "cleanup.bye_call_unknown"),
        ("", None),  # accepted (2xx)
        ("500 Server Internal Error", None),  # refused, the call ended all the same (15.1.1)
    ],
)
def test_a_bye_answered_481_is_a_warning_that_the_far_end_lost_the_call(refused, expected):
    from dataclasses import replace

    from siptest.analysis.calls import analyse_hangup

    answered = CallCompleted(
        number="7000", uri="sip:7000@x", provisional=(180,), answered=True,
        response=Response("INVITE", 200, "OK", "remote", 0.0), requests_sent=1,
        credentials_sent=False, credentials_rejected=False, cancelled_by_us=False,
        hangup="us", bye_answered=True,
    )  # fmt: skip
    check = analyse_hangup(replace(answered, bye_refused=refused), KNOWLEDGE)
    if expected is None:
        assert check is None
    else:
        assert check is not None and (check.ok, check.kind) == (False, "hangup")
        assert check.diagnosis is not None and check.diagnosis.id == expected
        assert (check.diagnosis.category, check.diagnosis.severity) == ("server", "warning")


# --- RTP of a payload type never agreed ----------------------------------------------


def test_rtp_only_of_a_payload_type_never_agreed_blames_the_far_ends_codec_not_a_firewall():
    from dataclasses import replace

    heard_nothing = replace(sample(received=(0, 0, None)), received_unnegotiated=99)
    check = analyse_media(heard_nothing, answered=True)
    assert (check.ok, check.media.verdict) == (False, "one_way_out")
    assert check.diagnosis.id == "media.no_audio_from_far_end"
    assert "format it never agreed" in check.diagnosis.title
    assert "99 RTP packets" in check.diagnosis.explanation
    assert "(PCMA)" in check.diagnosis.explanation
    assert "firewall" not in text_of(check).lower()


def test_no_rtp_at_all_from_the_far_end_still_points_at_the_network():
    # The twin: nothing arrived, of any payload type.
    check = analyse_media(sample(received=(0, 0, None)), answered=True)
    assert check.diagnosis.id == "media.no_audio_from_far_end"
    assert check.diagnosis.title == "One-way audio: you can hear nothing from the far end"
    assert "firewall" in text_of(check).lower()
    assert "never agreed" not in text_of(check)


@pytest.mark.parametrize(("unnegotiated", "noted"), [(100, True), (0, False)])
def test_audio_that_stopped_says_when_rtp_of_another_type_kept_coming(unnegotiated, noted):
    from dataclasses import replace

    stopped = replace(
        sample(received=(50, 0, 0.5), duration=3.0),
        received_stopped_at=1.0,
        received_unnegotiated=unnegotiated,
    )
    check = analyse_media(stopped, answered=True)
    assert check.diagnosis.id == "media.audio_stopped"
    assert ("RTP kept coming: 100 RTP packets" in check.diagnosis.explanation) is noted
