"""The bundled lab: a Kamailio "VoIP provider" emulator and a SIPp UAS, on loopback.

The configuration, users and SIPp scenario live in ``files/``; docker-compose.yml and
the test suite use the same files. Public API::

    Lab(workdir, *, host, sip_port, tls_port, uas_port, ring_ms, with_uas)
        .start(timeout) / .stop() / with Lab(...) as lab: ...
        .host .sip_port .tls_port .uas_port .ca_file .log_file .workdir
        .bindings(username) -> list[str]      .is_ready() -> bool
    Lab.up(state_dir, ...) / Lab.status(state_dir) / Lab.down(state_dir)
        a detached lab for `siptest lab up|status|down`
    LAB_USERS: tuple[LabUser, ...]            LabUser(username, password, active)
    send_options(host, port, transport=, timeout=) -> status code | None

Dial plan and responses: see the header of ``files/kamailio.cfg``.
"""

from __future__ import annotations

from siptest.lab.emulator import (
    DEFAULT_SIP_PORT,
    DEFAULT_TLS_PORT,
    DEFAULT_UAS_PORT,
    FILES_DIR,
    KAMAILIO_CONFIG,
    UAS_SCENARIO,
    Lab,
)
from siptest.lab.probe import send_options
from siptest.lab.state import LabProcess, LabRecord, LabStatus, default_state_dir
from siptest.lab.users import LAB_USERS, LabUser, find_user

__all__ = [
    "DEFAULT_SIP_PORT",
    "DEFAULT_TLS_PORT",
    "DEFAULT_UAS_PORT",
    "FILES_DIR",
    "KAMAILIO_CONFIG",
    "LAB_USERS",
    "UAS_SCENARIO",
    "Lab",
    "LabProcess",
    "LabRecord",
    "LabStatus",
    "LabUser",
    "default_state_dir",
    "find_user",
    "send_options",
]
