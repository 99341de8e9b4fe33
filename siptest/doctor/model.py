"""What each step of `siptest doctor` found, as data. Pure: nothing here talks to a network.

The verdict chain (verdict.py) reads these and names one cause; the renderers
(report.py) show them as the evidence under it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from siptest.analysis.model import Check
from siptest.knowledge.model import Diagnosis
from siptest.resolution import Resolution, Transport

StepName = Literal["dns", "udp", "tcp", "tls", "register", "nat", "call"]

ProbeOutcome = Literal[
    "answered",
    "connected",
    "port_unreachable",
    "refused",
    "silent",
    "dropped",
    "unreachable",
    "not_tls",
    "tls_version",
    "tls_certificate",
    "tls_failed",
]
"""What one probe of one target found:

``answered``         a SIP response came back (UDP or TCP OPTIONS), or the TLS handshake
                     succeeded and the certificate was valid
``connected``        TCP accepted the connection, but no SIP answer came to OPTIONS
``port_unreachable`` UDP: ICMP port unreachable came back (nothing listens)
``refused``          TCP (or the TCP under TLS): the connection was refused (nothing listens)
``silent``           UDP: no answer at all within the time (dropped on the way, or ignored)
``dropped``          TCP: the connection attempt got no answer (a firewall drops it)
``unreachable``      no route to the host or network (ICMP host/network unreachable)
``not_tls``          TLS: the port does not speak TLS
``tls_version``      TLS: the server accepts TLS 1.3 only (siptest's stack speaks 1.2)
``tls_certificate``  TLS: the certificate failed verification (name, expiry, chain)
``tls_failed``       TLS: the handshake failed otherwise
"""

REACHED: frozenset[str] = frozenset({"answered", "connected"})
NOTHING_LISTENS: frozenset[str] = frozenset({"port_unreachable", "refused"})
NO_ANSWER: frozenset[str] = frozenset({"silent", "dropped"})


@dataclass(frozen=True)
class Probe:
    """One target probed over one transport."""

    transport: Transport
    host: str
    """The name the target came from (an SRV target, the domain) or the address."""
    address: str
    port: int
    outcome: ProbeOutcome
    detail: str
    """What happened, in words (the response line, the OS error, the TLS error)."""
    tls: dict[str, Any] = field(default_factory=dict)
    """TLS only: version, certificate names and expiry, the name checked."""

    @property
    def reached(self) -> bool:
        return self.outcome in REACHED

    @property
    def hostport(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "host": self.host,
            "address": self.address,
            "port": self.port,
            "outcome": self.outcome,
            "detail": self.detail,
        }
        if self.tls:
            data["tls"] = dict(self.tls)
        return data


@dataclass(frozen=True)
class Reach:
    """Every target of one transport probed, in the order a phone tries them."""

    transport: Transport
    probes: tuple[Probe, ...]
    """Empty when DNS gave no target for this transport (it was not probed)."""

    @property
    def reached(self) -> Probe | None:
        """The first target that answered, or None."""
        return next((probe for probe in self.probes if probe.reached), None)

    @property
    def probed(self) -> bool:
        return bool(self.probes)


@dataclass(frozen=True)
class AlgSign:
    """A header the server echoed differently from what siptest sent."""

    header: str
    """``Via`` or ``Contact``."""
    sent: str
    """The address siptest wrote (host:port)."""
    seen: str
    """The address the server's answer carries for it."""


@dataclass(frozen=True)
class NatEvidence:
    """NAT and SIP ALG signs read from the registration's 2xx."""

    local: str | None
    """Where siptest sent from (address:port)."""
    via_received: str | None
    via_rport: int | None
    binding: str | None
    """Our Contact as the registrar lists it in its 2xx."""
    findings: tuple[Check, ...] = ()
    """siptest's NAT findings (nat.detected, nat.private_contact...)."""
    alg: tuple[AlgSign, ...] = ()

    @property
    def nat(self) -> bool:
        return any(
            check.diagnosis is not None and check.diagnosis.id == "nat.detected"
            for check in self.findings
        )


@dataclass(frozen=True)
class Findings:
    """Everything the doctor found, step by step; a step not run is None."""

    domain: str
    """The server as given (a name or an address)."""
    port: int | None
    """The port the user gave, None when DNS or the default decides."""
    transport: Transport
    """The transport the device uses (--transport, else the one DNS lists first)."""
    transport_given: bool
    dns: Resolution | None = None
    reach: tuple[Reach, ...] = ()
    register: Check | None = None
    """The REGISTER check (with its diagnosis), None when not run."""
    nat: NatEvidence | None = None
    call: Check | None = None
    """The call's failing check (or its passing call check); None when not run."""
    call_ok: bool | None = None

    def reach_of(self, transport: Transport) -> Reach | None:
        return next((reach for reach in self.reach if reach.transport == transport), None)


@dataclass(frozen=True)
class Choice:
    """The verdict the chain chose, before it is put in words.

    Either a named diagnosis (``id`` with ``facts``/``cases``/``notes``) or a
    diagnosis made by an earlier step (``given``: the REGISTER's own, say).
    """

    id: str
    ok: bool
    step: StepName | None
    """The step whose evidence decided it (None for "it works")."""
    facts: dict[str, object] = field(default_factory=dict)
    cases: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    given: Diagnosis | None = None
    situation_cause: str | None = None
    """For an existing matched diagnosis (tls.not_tls, siptest.tls_version): the local
    cause to diagnose with."""


@dataclass(frozen=True)
class Step:
    """One line of the doctor's report: a step, whether it passed, what it saw."""

    name: StepName
    ok: bool
    summary: str
    """The result in a few words, for the text report's line."""
    evidence: dict[str, Any]
    diagnosis: Diagnosis | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "summary": self.summary,
            "evidence": self.evidence,
            "diagnosis": self.diagnosis.as_json() if self.diagnosis else None,
        }


@dataclass(frozen=True)
class DoctorReport:
    """The steps run, in order, and the one verdict."""

    target: str
    steps: tuple[Step, ...]
    verdict: Diagnosis
    ok: bool
    decided_by: StepName | None
    insecure: bool = False
    interrupted: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "target": self.target,
            "steps": [step.as_json() for step in self.steps],
            "verdict": {**self.verdict.as_json(), "step": self.decided_by},
            "insecure": self.insecure,
            "interrupted": self.interrupted,
        }
