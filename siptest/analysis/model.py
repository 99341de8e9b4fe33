"""What a run found, as data: checks and the report that holds them.

Renderers (text, JSON) read these; nothing here prints or talks to a network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from siptest.knowledge.model import Diagnosis
from siptest.ua.base import Response

if TYPE_CHECKING:  # only some checks carry them: a register check never imports them
    from siptest.analysis.details import MediaReport, NatEvidence, StepFacts

CheckKind = Literal["resolution", "register", "call", "unregister", "media", "preflight", "hangup"]


@dataclass(frozen=True)
class Binding:
    """What a registration says about the network: the NAT evidence other checks read.

    The REGISTER's own Contact and the interval asked for; the registrar's 2xx: our
    binding as it lists it (RFC 3261 10.3) and the interval granted; its top Via: where
    it saw us (`received`, `rport`: RFC 3261 18.2.1, RFC 3581).
    """

    contact: str | None = None
    registered_contact: str | None = None
    """Our binding as the 2xx lists it: the same, or rewritten; None when not listed."""
    expires_requested: int | None = None
    expires_granted: int | None = None
    via_received: str | None = None
    via_rport: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "expires_requested": self.expires_requested,
            "expires_granted": self.expires_granted,
            "contact": self.contact,
            "registered_contact": self.registered_contact,
            "via_received": self.via_received,
            "via_rport": self.via_rport,
        }


@dataclass(frozen=True)
class Check:
    """One thing siptest checked, its outcome, and what it means."""

    kind: CheckKind
    ok: bool
    diagnosis: Diagnosis | None
    target: str | None = None
    transport: str | None = None
    response: Response | None = None
    duration_ms: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    """Kind-specific facts for the report (requests sent, provisional codes...)."""
    binding: Binding | None = None
    """A `register` check's NAT evidence (typed: the media check and doctor read it)."""
    media: MediaReport | None = None
    """A `media` check's audio, and once measured the `call` check's too."""
    nat: NatEvidence | None = None
    """A NAT finding's evidence (such a finding is a passing `media` check)."""
    step: StepFacts | None = None
    """In a scenario: the step the check belongs to."""


@dataclass(frozen=True)
class Report:
    """Everything one command found, in the order it happened."""

    checks: tuple[Check, ...]
    profile: str = "generic"
    insecure: bool = False
    """TLS certificate checks were switched off (--tls-insecure)."""
    interrupted: bool = False
    """The run was cut short by a signal; the report is partial."""

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(check.ok for check in self.checks)
