"""NAT evidence from one run, reported as findings (checks that pass). Pure.

Via `received`/`rport` against our own address, private addresses in our
Contact or the far end's SDP, and the registration interval the server
granted. A finding explains a failure; it is not one by itself.
"""

from __future__ import annotations

from typing import Any

from siptest.analysis.addresses import (
    UNREACHABLE_KINDS,
    address_kind,
    reachable_from,
    same_host,
    uri_host,
)
from siptest.analysis.model import Check, Verdict

KEEPALIVE_RISK_S = 120
"""RFC 4787 REQ-5 asks NATs to keep idle UDP mappings 2 minutes; many keep them less."""

SIP_ALG = (
    "switch off the router's SIP ALG (also called 'SIP helper', 'SIP passthrough' or 'SIP fixup')"
)


def _finding(
    id_: str,
    severity: str,
    title: str,
    explanation: str,
    fix: str,
    rfc: str | None,
    evidence: dict[str, Any],
) -> Check:
    return Check(
        kind="media",
        ok=True,
        diagnosis=Verdict(
            id=id_,
            category="network",
            severity=severity,
            title=title,
            explanation=explanation,
            fix=fix,
            rfc=rfc,
        ),
        details={"finding": "nat", "nat": evidence},
    )


def _port(value: str | int | None) -> int | None:
    if isinstance(value, int):
        return value
    if value and value.strip().isdigit():
        return int(value.strip())
    return None


def nat_findings(
    *,
    local_address: str | None = None,
    via_received: str | None = None,
    via_rport: str | int | None = None,
    local_port: int | None = None,
    contact: str | None = None,
    remote_sdp_address: str | None = None,
    expires_requested: int | None = None,
    expires_granted: int | None = None,
) -> list[Check]:
    """NAT evidence of one run as findings (checks that pass, category `network`).

    `via_received`/`via_rport` are what the server saw us at (RFC 3261 18.2.1,
    RFC 3581), `local_address`/`local_port` where siptest sent from, `contact` the
    Contact the registrar holds for us, `remote_sdp_address` the c= address of the
    far end's SDP.
    """
    rport = _port(via_rport)
    evidence: dict[str, Any] = {
        "local_address": local_address,
        "local_port": local_port,
        "via_received": via_received,
        "via_rport": rport,
        "contact": contact,
        "remote_sdp_address": remote_sdp_address,
        "expires_requested": expires_requested,
        "expires_granted": expires_granted,
    }
    findings: list[Check] = []

    address_changed = bool(
        via_received and local_address and not same_host(via_received, local_address)
    )
    port_changed = rport is not None and local_port is not None and rport != local_port
    nat_detected = address_changed or port_changed
    if nat_detected:
        seen = f"{via_received or local_address}:{rport if rport is not None else '?'}"
        sent_from = f"{local_address or '?'}:{local_port if local_port is not None else '?'}"
        explanation = (
            f"The server saw siptest's requests coming from {seen}; siptest sent them "
            f"from {sent_from}. A NAT router sits between you and the server."
        )
        if address_kind(via_received) == "shared" or address_kind(local_address) == "shared":
            explanation += (
                " The shared address range 100.64.0.0/10 shows a carrier-grade NAT: the "
                "internet provider shares one public address among customers, so port "
                "forwarding cannot help and audio depends on the SIP provider relaying it."
            )
        elif not address_changed:
            explanation += " Only the port changed: the router translates ports too."
        findings.append(
            _finding(
                "nat.detected",
                "info",
                "siptest is behind a NAT",
                explanation,
                "Nothing to fix by itself. It matters for audio and incoming calls: keep "
                "the SIP ALG off, let the device send keep-alives, and prefer a provider "
                "that answers to the address it sees (rport, symmetric RTP) or relays media.",
                "RFC 3581",
                evidence,
            )
        )

    contact_host = uri_host(contact)
    if (
        nat_detected
        and contact_host
        and address_kind(contact_host) in UNREACHABLE_KINDS
        and not same_host(contact_host, via_received)
    ):
        findings.append(
            _finding(
                "nat.private_contact",
                "warning",
                "The registrar holds a private address for you",
                f"The server registered siptest's contact as {contact}, a private address "
                "it cannot reach. Incoming calls and audio reach you only if the server "
                f"uses the address it saw ({via_received}:{rport}) instead - most providers "
                "do, some do not.",
                "Enable NAT traversal on the device (STUN, 'NAT keep-alive' or 'use "
                f"rport'), and {SIP_ALG} if it is the one rewriting the Contact.",
                "RFC 5626",
                evidence,
            )
        )

    if (
        remote_sdp_address
        and address_kind(remote_sdp_address) in UNREACHABLE_KINDS
        and not reachable_from(remote_sdp_address, local_address)
    ):
        findings.append(
            _finding(
                "nat.remote_sdp_private",
                "warning",
                "The far end asks for audio at a private address",
                f"The far end's SDP (c= line) names {remote_sdp_address}, an address "
                "siptest cannot reach: audio sent there is lost unless the far end's side "
                "answers to where the packets come from (symmetric RTP).",
                "On the far end's network, switch off the SIP ALG or enable STUN / NAT "
                "traversal on that device; through a provider, ask for media relay.",
                "RFC 4566 section 5.7",
                evidence,
            )
        )

    if expires_granted is not None and expires_requested is not None:
        if expires_granted < expires_requested:
            findings.append(
                _finding(
                    "nat.expiry_shortened",
                    "info",
                    "The server shortened the registration interval",
                    f"siptest asked for {expires_requested} s and the server granted "
                    f"{expires_granted} s. Providers often do this on purpose: frequent "
                    "re-registration keeps the router's NAT mapping open so incoming "
                    "calls get through.",
                    f"Nothing to fix: a standard device re-registers within the "
                    f"{expires_granted} s the server granted.",
                    "RFC 3261 section 10.3",
                    evidence,
                )
            )
        elif expires_granted > expires_requested:
            findings.append(
                _finding(
                    "nat.expiry_lengthened",
                    "info",
                    "The server granted a longer registration than asked for",
                    f"siptest asked for {expires_requested} s and the server granted "
                    f"{expires_granted} s; RFC 3261 lets a registrar only shorten it.",
                    "Nothing to fix on your side; the device re-registers in time either way.",
                    "RFC 3261 section 10.3",
                    evidence,
                )
            )

    interval = expires_granted if expires_granted is not None else expires_requested
    if nat_detected and interval is not None and interval > KEEPALIVE_RISK_S:
        findings.append(
            _finding(
                "nat.keepalive",
                "info",
                "Behind this NAT, keep-alives keep incoming calls working",
                f"Many routers forget an idle UDP mapping after 30-120 s. With {interval} s "
                "between registrations and no keep-alives, incoming calls and audio can "
                "stop reaching the device until it registers again.",
                "Enable keep-alives on the device ('NAT keep-alive' every 15-30 s, or "
                "CRLF/OPTIONS keep-alives) or set the registration interval to 60 s.",
                "RFC 4787 section 4.3; RFC 5626 section 4.4",
                evidence,
            )
        )
    return findings
