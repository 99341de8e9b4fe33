"""NAT and SIP ALG signs in the registrar's answer, against the REGISTER siptest sent. Pure.

NAT: the server's Via `received`/`rport` against where siptest sent from, and our
binding as the registrar holds it (siptest.analysis.nat does the reading).

SIP ALG: a router's "SIP helper" rewrites the addresses inside SIP messages on the way
out. The server echoes the top Via exactly as it received it (RFC 3261 8.2.6.2, only
adding `received`/`rport`), so a Via sent-by that differs from the one in the bytes
siptest sent was rewritten on the way. The same holds for the Contact the 2xx lists
as our binding when it is neither ours nor the address the server saw (a registrar
that fixes NATed contacts writes `received:rport` there, which is not an ALG).
"""

from __future__ import annotations

from collections.abc import Sequence

from siptest.analysis.addresses import same_host
from siptest.analysis.model import Binding, Check
from siptest.analysis.nat import nat_findings
from siptest.doctor.model import AlgSign, NatEvidence
from siptest.hostport import split_hostport
from siptest.knowledge import Knowledge
from siptest.sipmessage import (
    SipMessage,
    contact_address,
    header_params,
    registered_binding,
    split_list,
)
from siptest.ua.events import Event, RequestSent, ResponseReceived


def _sent_by(via: str | None) -> str | None:
    """The host:port of a Via value's first entry (`SIP/2.0/UDP host:port;...`)."""
    if not via:
        return None
    first = split_list(via)[0] if split_list(via) else via
    words = first.split(";", 1)[0].split()
    return words[-1].lower() if len(words) >= 2 else None


def _hostport(address: str) -> str:
    """The host[:port] after the user part of a `contact_address`."""
    after = address.split("@", 1)[1] if "@" in address else address.split(":", 1)[-1]
    return after.lower()


def registered_exchange(
    events: Sequence[Event],
) -> tuple[RequestSent, ResponseReceived] | None:
    """The REGISTER that got a 2xx, and that 2xx (matched by Call-ID and CSeq)."""
    requests = {
        (e.message.header("call-id"), e.message.cseq): e
        for e in events
        if isinstance(e, RequestSent) and e.message.method == "REGISTER" and not e.blocked
    }
    for event in events:
        if not isinstance(event, ResponseReceived) or event.stray:
            continue
        message = event.message
        if message.method != "REGISTER" or not (200 <= (message.code or 0) < 300):
            continue
        sent = requests.get((message.header("call-id"), message.cseq))
        if sent is not None:
            return sent, event
    return None


def alg_signs(sent: SipMessage, answer: SipMessage) -> tuple[AlgSign, ...]:
    """Addresses the server's 2xx echoes differently from what siptest sent."""
    signs: list[AlgSign] = []
    ours, echoed = _sent_by(sent.header("via")), _sent_by(answer.header("via"))
    if ours and echoed and not _same_hostport(ours, echoed):
        signs.append(AlgSign("Via", ours, echoed))
    contact = sent.header("contact")
    if contact:
        bindings = [b for value in answer.all("contact") for b in split_list(value)]
        if len(bindings) == 1 and registered_binding(answer, contact) is None:
            signs.append(
                AlgSign(
                    "Contact",
                    _hostport(contact_address(contact)),
                    _hostport(contact_address(bindings[0])),
                )
            )
    return tuple(signs)


def _same_hostport(a: str, b: str) -> bool:
    host_a, port_a = split_hostport(a)
    host_b, port_b = split_hostport(b)
    return same_host(host_a, host_b) and (port_a or 5060) == (port_b or 5060)


def nat_evidence(
    register: Check,
    events: Sequence[Event],
    local_address: str | None,
    knowledge: Knowledge,
) -> NatEvidence | None:
    """NAT findings and ALG signs of a successful registration; None without one."""
    exchange = registered_exchange(events)
    if exchange is None:
        return None
    sent, answer = exchange
    local_host, local_port = split_hostport(sent.local)
    binding = register.binding or Binding()
    via = answer.message.header("via") or ""
    params = header_params(split_list(via)[0] if split_list(via) else via)
    rport_text = params.get("rport") or ""
    findings = nat_findings(
        knowledge,
        local_address=local_address or local_host,
        via_received=params.get("received") or None,
        via_rport=rport_text or None,
        local_port=local_port,
        contact=binding.registered_contact or binding.contact,
        expires_requested=binding.expires_requested,
        expires_granted=binding.expires_granted,
    )
    return NatEvidence(
        local=sent.local,
        via_received=params.get("received") or None,
        via_rport=int(rport_text) if rport_text.isdigit() else None,
        binding=binding.registered_contact,
        findings=tuple(findings),
        alg=alg_signs(sent.message, answer.message),
    )
