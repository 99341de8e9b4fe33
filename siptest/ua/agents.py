"""Making a user agent: the one factory the register, call and scenario paths share.

Tests pass their own factory (a scripted agent); every path hands it an `AgentConfig`.
"""

from __future__ import annotations

from collections.abc import Callable

from siptest.ua.base import AgentConfig, UserAgent

AgentFactory = Callable[[AgentConfig], UserAgent]


def pjsua_agent(config: AgentConfig) -> UserAgent:
    """The real user agent: one pjsua2 stack (imported only now: it is slow to load)."""
    from siptest.ua.pjsua import PjsuaAgent

    return PjsuaAgent(config)
