"""The user agent backed by pjsua2: the only package that imports pjsua2 (lazily)."""

from siptest.ua.base import AgentConfig
from siptest.ua.pjsua.agent import DialledCall, PjsuaAgent
from siptest.ua.pjsua.config import (
    MAX_ACCOUNTS,
    MAX_CALLS,
    USER_AGENT,
    system_ca_bundle,
)

__all__ = [
    "MAX_ACCOUNTS",
    "MAX_CALLS",
    "USER_AGENT",
    "AgentConfig",
    "DialledCall",
    "PjsuaAgent",
    "system_ca_bundle",
]
