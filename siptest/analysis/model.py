"""What a run found, as data: checks and the report that holds them.

Renderers (text, JSON) read these; nothing here prints or talks to a network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from siptest.knowledge.model import Diagnosis
from siptest.ua.base import Response

CheckKind = Literal["resolution", "register", "call", "unregister", "media", "preflight", "hangup"]


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
