"""`siptest doctor` against the lab, a real DNS server (Knot) and scripted peers, on loopback."""

from __future__ import annotations

import socket

import pytest
from sippeer import always, fields_of, message, ok, raw

from siptest.lab.ports import free_port

pytestmark = pytest.mark.timeout(60)

PASSWORD = "lab-1001-pass"


def doctor(siptest, *args, password=PASSWORD, timeout="1"):
    result = siptest("doctor", *args, "--json", "--timeout", timeout, password=password)
    assert "Traceback" not in result.stderr, result.stderr
    assert password not in result.stdout + result.stderr
    return result


def steps(report):
    return {step["name"]: step for step in report["steps"]}


def test_the_lab_account_works_over_every_transport(siptest, lab):
    result = doctor(
        siptest,
        f"1001@127.0.0.1:{lab.sip_port}",
        "--tls-port",
        str(lab.tls_port),
        "--tls-ca",
        str(lab.ca_file),
    )
    report = result.json
    assert result.status == 0, result.stdout
    assert report["ok"] is True
    assert report["verdict"]["id"] == "doctor.works"
    assert [s["name"] for s in report["steps"]] == ["dns", "udp", "tcp", "tls", "register", "nat"]
    assert all(step["ok"] for step in report["steps"])
    tls = steps(report)["tls"]["evidence"]["targets"][0]
    assert tls["outcome"] == "answered"
    assert tls["tls"]["version"] == "TLSv1.2"
    assert "127.0.0.1" in tls["tls"]["certificate_names"]


def test_wrong_password_is_the_credentials_verdict_after_one_try(siptest, lab, lab_log):
    result = doctor(siptest, f"1001@127.0.0.1:{lab.sip_port}", password="not-the-password")
    report = result.json
    assert result.status == 1
    assert report["verdict"]["id"] == "credentials.password_invalid"
    assert report["verdict"]["category"] == "credentials"
    register = steps(report)["register"]
    assert register["evidence"]["requests_sent"] == 2  # the first REGISTER and one answer
    assert register["evidence"]["stopped_after_rejection"] is True
    assert "nat" not in steps(report)


def test_nothing_listening_on_udp_or_tcp(siptest, lab):
    port = free_port("127.0.0.1", udp=True, tcp=True, exclude={lab.sip_port, lab.tls_port})
    result = doctor(siptest, f"1001@127.0.0.1:{port}")
    report = result.json
    assert result.status == 1
    assert report["verdict"]["id"] == "doctor.nothing_listens"
    assert report["verdict"]["title"] == f"Nothing listens on port {port} at 127.0.0.1"
    found = steps(report)
    assert found["udp"]["evidence"]["targets"][0]["outcome"] == "port_unreachable"
    assert found["tcp"]["evidence"]["targets"][0]["outcome"] == "refused"
    assert "register" not in found  # stopped: the cause was clear, no password sent


def swallowing_udp(sip_peer, script):
    """A TCP peer, and a UDP socket on its port that takes every datagram and answers
    none. The peer's port is free for TCP only: another test's UDP socket may hold it,
    so a few peers are tried (each on a port of the kernel's choosing)."""
    for _ in range(10):
        peer = sip_peer("tcp", script)
        swallower = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            swallower.bind(("127.0.0.1", peer.port))
        except OSError:
            swallower.close()
            peer.stop()
            continue
        return peer, swallower
    pytest.fail("no port free for both TCP and UDP in 10 tries")


def test_udp_swallowed_but_tcp_answering_says_set_transport_to_tcp(siptest, sip_peer):
    peer, swallower = swallowing_udp(sip_peer, always(ok()))
    try:
        result = doctor(siptest, f"1001@127.0.0.1:{peer.port}")
    finally:
        swallower.close()
    report = result.json
    assert result.status == 1
    assert report["verdict"]["id"] == "doctor.use_other_transport"
    assert report["verdict"]["title"] == f"UDP to {peer.port} gets no answer but TCP does"
    assert "Set the device's transport to TCP" in report["verdict"]["fix"]
    found = steps(report)
    assert found["udp"]["evidence"]["targets"][0]["outcome"] == "silent"
    assert found["tcp"]["evidence"]["targets"][0]["outcome"] == "answered"
    # no REGISTER: only the OPTIONS probe reached the peer
    assert [r.method for r in peer.requests] == ["OPTIONS"]


def test_a_tcp_port_that_accepts_but_never_answers_sip_is_not_recommended(siptest):
    # The hostile twin of the test above: UDP is swallowed and TCP accepts connections
    # but never answers (a firewall, a load balancer, another service). Telling the user
    # to switch to TCP would send them to a port where SIP gets no answer either.
    port = free_port("127.0.0.1", udp=True, tcp=True)
    swallower = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        swallower.bind(("127.0.0.1", port))
        silent.bind(("127.0.0.1", port))
        silent.listen(8)  # the kernel accepts; nobody ever reads or answers
        result = doctor(siptest, f"1001@127.0.0.1:{port}")
    finally:
        swallower.close()
        silent.close()
    report = result.json
    assert result.status == 1, result.stdout
    assert report["verdict"]["id"] == "doctor.unreachable", result.stdout
    assert "accepted the connection, but sent no SIP answer" in report["verdict"]["explanation"]
    assert "transport to TCP" not in report["verdict"]["fix"]


def test_twin_udp_answering_with_tcp_refused_registers_over_udp(siptest, sip_peer):
    peer = sip_peer("udp", always(ok()))
    result = doctor(siptest, f"1001@127.0.0.1:{peer.port}")
    report = result.json
    # the peer answers UDP; nothing listens for TCP there: UDP is the device's, it works
    assert report["verdict"]["id"] == "doctor.works", result.stdout
    assert steps(report)["tcp"]["ok"] is False
    assert result.status == 0


def doctor_tls_by_dns(siptest, lab, dns_lab, target: str):
    """doctor over TLS, the server found in the test zone, the lab's CA trusted."""
    return doctor(
        siptest, target, "--transport", "tls", "--dns-server", str(dns_lab.server),
        "--tls-ca", str(lab.ca_file),
    )  # fmt: skip


def test_tls_certificate_for_another_name(siptest, lab, dns_lab):
    # failover.test's TLS SRV points at the lab; its certificate names 127.0.0.1, ::1,
    # localhost and tls.test, not failover.test (RFC 5922: the domain is the name checked)
    result = doctor_tls_by_dns(siptest, lab, dns_lab, "1001@failover.test")
    report = result.json
    assert result.status == 1, result.stdout
    assert report["verdict"]["id"] == "doctor.tls_certificate"
    assert report["verdict"]["title"] == (
        "The server's TLS certificate is for another name than failover.test"
    )
    tls = steps(report)["tls"]["evidence"]["targets"][0]
    assert (tls["port"], tls["tls"]["problem"]) == (dns_lab.ports.tls, "name")
    assert "register" not in steps(report)


def test_tls_certificate_for_the_domain_found_by_srv(siptest, lab, dns_lab):
    # The twin: the lab's certificate names tls.test, whose TLS SRV leads to the lab.
    result = doctor_tls_by_dns(siptest, lab, dns_lab, "1001@tls.test")
    report = result.json
    assert result.status == 0, result.stdout
    assert report["verdict"]["id"] == "doctor.works", result.stdout
    tls = steps(report)["tls"]
    assert tls["ok"] is True
    assert tls["evidence"]["targets"][0]["port"] == lab.tls_port
    assert steps(report)["register"]["ok"] is True


def test_srv_target_without_address_fails_over_to_the_good_target(siptest, dns_lab):
    result = doctor(siptest, "1001@halfbroken.test", "--dns-server", str(dns_lab.server))
    report = result.json
    assert result.status == 0, result.stdout
    assert report["ok"] is True
    verdict = report["verdict"]
    assert (verdict["id"], verdict["severity"]) == ("doctor.srv_target_unusable", "warning")
    assert "noaddr.halfbroken.test" in verdict["explanation"]
    assert "lab.halfbroken.test" in verdict["fix"]
    assert steps(report)["register"]["ok"] is True


def test_a_dead_first_srv_target_is_named_and_the_second_used(siptest, dns_lab):
    result = doctor(siptest, "1001@failover.test", "--dns-server", str(dns_lab.server))
    report = result.json
    assert result.status == 0, result.stdout
    assert report["verdict"]["id"] == "doctor.srv_target_unusable"
    udp = steps(report)["udp"]["evidence"]["targets"]
    assert [(t["host"], t["outcome"]) for t in udp] == [
        ("dead.failover.test", "port_unreachable"),
        ("lab.failover.test", "answered"),
    ]


def test_a_name_that_does_not_exist_is_its_own_dns_verdict(siptest, dns_lab):
    result = doctor(siptest, "1001@nosuchname.test", "--dns-server", str(dns_lab.server))
    report = result.json
    assert result.status == 1
    assert report["verdict"]["id"] == "doctor.dns_no_such_name"
    assert [s["name"] for s in report["steps"]] == ["dns"]


def _answer_as_seen_behind(via_host: str | None, received: str, rport: int):
    """200 OK echoing the Via with received/rport set (and, with via_host, a rewritten
    sent-by, as a router's SIP ALG leaves it), binding the Contact asked for."""

    def reply(request):
        fields = fields_of(request)
        via = fields["via"].replace(";rport;", f";rport={rport};").replace(";rport\r", "")
        if via_host is not None:
            sent_by = via.split(";", 1)[0].split()[-1]
            via = via.replace(sent_by, via_host, 1)
        via += f";received={received}"
        contact = (request.header("contact") or "").split(";expires")[0]
        head = (
            f"SIP/2.0 200 OK\r\nVia: {via}\r\nFrom: {fields['from']}\r\n"
            f"To: {fields['to']};tag={fields['tag']}\r\nCall-ID: {fields['call_id']}\r\n"
            f"CSeq: {fields['cseq']}\r\nContact: {contact};expires=300\r\nExpires: 300"
        )
        return message(head)

    return reply


def test_nat_signs_from_via_received_and_rport(siptest, sip_peer):
    peer = sip_peer("udp", always(raw(_answer_as_seen_behind(None, "203.0.113.7", 40000))))
    result = doctor(siptest, f"1001@127.0.0.1:{peer.port}")
    report = result.json
    assert result.status == 0, result.stdout
    assert report["verdict"]["id"] == "doctor.works"
    assert report["verdict"]["title"] == "The account works (behind a NAT)"
    nat = steps(report)["nat"]
    assert (nat["evidence"]["via_received"], nat["evidence"]["via_rport"]) == ("203.0.113.7", 40000)
    assert "nat.detected" in nat["evidence"]["findings"]
    assert nat["evidence"]["alg"] == []


def test_alg_rewritten_via_is_the_verdict(siptest, sip_peer):
    answer = _answer_as_seen_behind("203.0.113.7:40000", "203.0.113.7", 40000)
    peer = sip_peer("udp", always(raw(answer)))
    result = doctor(siptest, f"1001@127.0.0.1:{peer.port}")
    report = result.json
    assert result.status == 1, result.stdout
    assert report["verdict"]["id"] == "doctor.sip_alg"
    alg = steps(report)["nat"]["evidence"]["alg"]
    assert alg[0]["header"] == "Via" and alg[0]["seen"] == "203.0.113.7:40000"


def test_text_report_has_a_line_per_step_and_the_verdict(siptest, lab):
    port = free_port("127.0.0.1", udp=True, tcp=True, exclude={lab.sip_port, lab.tls_port})
    result = siptest("doctor", f"1001@127.0.0.1:{port}", "--timeout", "1", password=PASSWORD)
    lines = result.stdout.splitlines()
    assert lines[0] == f"siptest doctor 1001@127.0.0.1:{port}"
    assert lines[1].startswith("[OK  ] DNS")
    assert lines[2].startswith("[FAIL] UDP")
    assert f"Verdict: Nothing listens on port {port} at 127.0.0.1" in lines
    assert lines[-1] == "FAIL: the cause is in the verdict above."
    assert result.status == 1


def test_password_on_the_command_line_is_refused(siptest, lab):
    result = siptest("doctor", f"1001@127.0.0.1:{lab.sip_port}", "--password", "x")
    assert result.status == 2
    assert "Traceback" not in result.stderr


def test_no_password_anywhere_is_a_usage_error_before_any_packet(siptest, lab, lab_log):
    result = siptest("doctor", f"1001@127.0.0.1:{lab.sip_port}")
    assert result.status == 2
    assert "password" in result.stderr.lower()
    assert lab_log.requests("OPTIONS") == []


def test_the_lab_account_works_over_ipv6(siptest, lab):
    if lab.host6 is None:
        pytest.fail("the lab does not listen on ::1 here", pytrace=False)
    result = doctor(siptest, f"1001@[::1]:{lab.sip_port}")
    report = result.json
    assert result.status == 0, result.stdout
    assert report["verdict"]["id"] == "doctor.works"
    assert steps(report)["udp"]["evidence"]["targets"][0]["address"] == "::1"


def lab_doctor_call(siptest, lab, number):
    return doctor(
        siptest, f"1001@127.0.0.1:{lab.sip_port}", "--tls-port", str(lab.tls_port),
        "--tls-ca", str(lab.ca_file), "--call", number,
    )  # fmt: skip


def test_doctor_call_to_the_echo_works_with_audio_both_ways(siptest, lab):
    result = lab_doctor_call(siptest, lab, "7000")
    report = result.json
    assert result.status == 0, result.stdout
    assert report["ok"] is True and report["verdict"]["id"] == "doctor.works"
    assert [s["name"] for s in report["steps"]][-2:] == ["nat", "call"]
    call = steps(report)["call"]
    assert call["ok"] is True and call["evidence"]["answered"] is True
    media = call["evidence"]["media"]
    assert media["codec"] == "PCMA"
    assert media["sent"]["packets"] > 0 and media["received"]["packets"] > 0
    assert media["sent"]["lost"] == 0 and media["received"]["lost"] == 0


def test_doctor_call_that_rings_without_answer_is_the_callee_verdict(siptest, lab):
    # 7001 rings until the lab's own ring time ends it (408 after 180 Ringing)
    result = lab_doctor_call(siptest, lab, "7001")
    report = result.json
    assert result.status == 1, result.stdout
    assert report["ok"] is False and report["verdict"]["step"] == "call"
    assert report["verdict"]["category"] == "callee"
    assert report["verdict"]["id"] == "callee.no_answer"
    call = steps(report)["call"]
    assert call["ok"] is False and call["evidence"]["answered"] is False
    assert 180 in call["evidence"]["provisional"]
    # everything before the call worked: the verdict is the callee's, not the account's
    assert all(step["ok"] for step in report["steps"] if step["name"] != "call")


def test_doctor_call_to_a_number_the_lab_refuses_names_that_refusal(siptest, lab):
    result = lab_doctor_call(siptest, lab, "0900123456")
    report = result.json
    assert result.status == 1, result.stdout
    assert report["verdict"]["step"] == "call"
    assert report["verdict"]["id"] == "tariff.not_covered"
    assert report["verdict"]["category"] == "tariff"
    call = steps(report)["call"]
    assert call["ok"] is False and call["evidence"]["answered"] is False
    assert steps(report)["register"]["ok"] is True
