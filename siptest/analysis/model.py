"""What a run found, as data: checks and the report that holds them.

Renderers (text, JSON) read these; nothing here prints or talks to a network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from siptest.ua.base import Response

CheckKind = Literal["register", "call", "unregister", "media", "preflight", "hangup"]


@dataclass(frozen=True)
class Verdict:
    """A diagnosis as the report shows it (from the knowledge base or pre-flight)."""

    id: str
    category: str
    severity: str
    title: str
    explanation: str
    fix: str
    rfc: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category,
            "severity": self.severity,
            "title": self.title,
            "explanation": self.explanation,
            "fix": self.fix,
            "rfc": self.rfc,
        }


@dataclass(frozen=True)
class Check:
    """One thing siptest checked, its outcome, and what it means."""

    kind: CheckKind
    ok: bool
    diagnosis: Verdict | None
    target: str | None = None
    transport: str | None = None
    response: Response | None = None
    duration_ms: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    """Kind-specific facts (requests sent, expiry granted, NAT evidence...)."""


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
