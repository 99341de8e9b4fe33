"""NAT evidence from one run, reported as findings (checks that pass). Pure.

Via `received`/`rport` against our own address, private addresses in our
Contact or the far end's SDP, and the registration interval the server
granted. A finding explains a failure; it is not one by itself.
"""

from __future__ import annotations

from siptest.analysis.addresses import (
    UNREACHABLE_KINDS,
    address_kind,
    reachable_from,
    same_host,
    uri_host,
)
from siptest.analysis.details import NatEvidence
from siptest.analysis.model import Check
from siptest.knowledge import Knowledge

KEEPALIVE_RISK_S = 120
"""RFC 4787 REQ-5 asks NATs to keep idle UDP mappings 2 minutes; many keep them less."""


def _finding(
    knowledge: Knowledge,
    id_: str,
    facts: dict[str, object],
    evidence: NatEvidence,
    notes: tuple[str, ...] = (),
) -> Check:
    return Check(
        kind="media", ok=True, diagnosis=knowledge.named(id_, facts, notes=notes), nat=evidence
    )


def _port(value: str | int | None) -> int | None:
    if isinstance(value, int):
        return value
    if value and value.strip().isdigit():
        return int(value.strip())
    return None


def nat_findings(
    knowledge: Knowledge,
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
    evidence = NatEvidence(
        local_address=local_address,
        local_port=local_port,
        via_received=via_received,
        via_rport=rport,
        contact=contact,
        remote_sdp_address=remote_sdp_address,
        expires_requested=expires_requested,
        expires_granted=expires_granted,
    )
    findings: list[Check] = []

    address_changed = bool(
        via_received and local_address and not same_host(via_received, local_address)
    )
    port_changed = rport is not None and local_port is not None and rport != local_port
    nat_detected = address_changed or port_changed
    if nat_detected:
        notes: tuple[str, ...] = ()
        if address_kind(via_received) == "shared" or address_kind(local_address) == "shared":
            notes = ("carrier_grade",)
        elif not address_changed:
            notes = ("port_only",)
        facts: dict[str, object] = {
            "seen_at": f"{via_received or local_address}:{rport if rport is not None else '?'}",
            "sent_from": f"{local_address or '?'}:{local_port if local_port is not None else '?'}",
        }
        findings.append(_finding(knowledge, "nat.detected", facts, evidence, notes))

    contact_host = uri_host(contact)
    if (
        nat_detected
        and contact_host
        and address_kind(contact_host) in UNREACHABLE_KINDS
        and not same_host(contact_host, via_received)
    ):
        facts = {"contact": contact, "seen_at": f"{via_received}:{rport}"}
        findings.append(_finding(knowledge, "nat.private_contact", facts, evidence))

    if (
        remote_sdp_address
        and address_kind(remote_sdp_address) in UNREACHABLE_KINDS
        and not reachable_from(remote_sdp_address, local_address)
    ):
        facts = {"remote_sdp_address": remote_sdp_address}
        findings.append(_finding(knowledge, "nat.remote_sdp_private", facts, evidence))

    if expires_granted is not None and expires_requested is not None:
        facts = {"expires_asked": expires_requested, "expires_granted": expires_granted}
        if expires_granted < expires_requested:
            findings.append(_finding(knowledge, "nat.expiry_shortened", facts, evidence))
        elif expires_granted > expires_requested:
            findings.append(_finding(knowledge, "nat.expiry_lengthened", facts, evidence))

    interval = expires_granted if expires_granted is not None else expires_requested
    if nat_detected and interval is not None and interval > KEEPALIVE_RISK_S:
        findings.append(_finding(knowledge, "nat.keepalive", {"interval": interval}, evidence))
    return findings
