"""siptest's own limits: what its SIP stack (the pjsua2 2.15.1 wheel) cannot do.

When siptest meets one, the report says it is siptest's limit, never the server's
or the user's fault. Nothing here imports pjsua2.
"""

from __future__ import annotations

from siptest.errors import CannotRunError
from siptest.hostport import split_hostport
from siptest.ua.addressing import is_ipv6

MAX_ACCOUNTS = 8
"""pjsua2's PJSUA_MAX_ACC in this wheel; the 9th account aborts the process."""

MAX_CALLS = 4
"""pjsua2's call limit in this wheel (PJSUA_MAX_CALLS); makeCall beyond it raises."""


def check_can_call(registrar: str, outbound_proxy: str | None = None) -> None:
    """Calls need audio, and this wheel has no IPv6 media (built without PJ_HAS_IPV6:
    pjsua refuses an account that asks for it). Registration over IPv6 works."""
    server = split_hostport(outbound_proxy)[0] if outbound_proxy else registrar
    if is_ipv6(server):
        raise CannotRunError(
            f"siptest cannot call through the IPv6 server {server}: its SIP stack (the "
            "pjsua2 wheel) carries audio over IPv4 only. This is a limit of siptest, not of "
            "the server. Registration over IPv6 works; to test calls, give the server's IPv4 "
            "address or a name with an A record."
        )
