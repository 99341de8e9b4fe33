"""Where a scenario's accounts send their requests: a server given by name is found as
`siptest register` finds it (RFC 3263, `siptest.routing`), once per server.

One SIP stack serves a scenario, on one transport, so a server's SRV records for that
transport are read (NAPTR does not choose it), then its A/AAAA records. Each server's
lookup is a `resolution` check at the start of the report; a lookup that fails ends
the scenario before anything is sent. The first request to a server (a register step,
or a call from an account that has not registered) goes to its first target; on no
answer, a transport error or a 503 it moves on to the next (at most `MAX_TARGETS`), as
a phone does, and the accounts of that server then stay at the target that answered.

Over TLS the certificate must name the domain (RFC 5922), and siptest's stack checks
one name per scenario: a TLS scenario whose accounts are at a name found in DNS must
have them all at that one domain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from siptest.errors import CannotRunError
from siptest.routing import MAX_TARGETS, needs_dns
from siptest.ua.addressing import is_ipv6
from siptest.ua.base import AccountSpec, Transport

if TYPE_CHECKING:
    from siptest.resolution import DnsServer, Resolution, ResolvedTarget

ServerKey = tuple[str, int | None]
"""A server as the accounts name it: the host (lower case, no final dot) and the port."""

LookUp = Callable[[AccountSpec], "Resolution | None"]


@dataclass
class ServerRoute:
    """One server looked up in DNS, and the target its accounts use now."""

    resolution: Resolution
    targets: tuple[ResolvedTarget, ...]
    """The targets tried, in order (IPv6 left out when the scenario calls and an IPv4
    target remains: siptest's stack carries audio over IPv4 only)."""
    accounts: tuple[str, ...]
    """The scenario's accounts at this server, in the order of the file."""
    chosen: int = 0
    """The target in use (an index in `targets`)."""
    settled: bool = False
    """A first request (register or call) has found the target that answers: no more
    failover."""

    @property
    def target(self) -> ResolvedTarget:
        return self.targets[self.chosen]

    def untried(self) -> tuple[ResolvedTarget, ...]:
        """The targets the first request may still try, the current one first."""
        return self.targets[self.chosen :]

    def settle(self, target: ResolvedTarget) -> None:
        self.chosen = self.targets.index(target)
        self.settled = True


@dataclass
class Routes:
    """The servers of a scenario that siptest looked up; accounts at an address,
    `localhost` or behind an outbound proxy are not among them."""

    servers: dict[ServerKey, ServerRoute] = field(default_factory=dict)
    of_account: dict[str, ServerKey] = field(default_factory=dict)

    def route(self, account: str) -> ServerRoute | None:
        key = self.of_account.get(account)
        return self.servers[key] if key is not None else None

    def spec(self, account: str, spec: AccountSpec) -> AccountSpec:
        """The account as it sends now: to its server's current target, or as written."""
        route = self.route(account)
        return spec if route is None else at_target(spec, route.target)

    def tls_server_name(self) -> str | None:
        """The one domain a TLS scenario's certificates must name; None without DNS."""
        domains = {route.resolution.domain for route in self.servers.values()}
        return next(iter(domains)) if domains else None


def at_target(spec: AccountSpec, target: ResolvedTarget) -> AccountSpec:
    """The account sent to one target; its domain (the address of record, the name a TLS
    certificate must carry) stays as written."""
    return replace(spec, registrar=target.address, port=target.port, transport=target.transport)


def server_key(spec: AccountSpec) -> ServerKey | None:
    """The server siptest looks up for an account; None when it does not (an address,
    localhost, an outbound proxy that routes everything: `routing.look_up`)."""
    if spec.outbound_proxy or not needs_dns(spec.registrar):
        return None
    return spec.registrar.rstrip(".").lower(), spec.port


def look_up_servers(
    accounts: Mapping[str, AccountSpec],
    look_up: LookUp,
    *,
    calls: bool,
    stopped: Callable[[], bool] = lambda: False,
) -> tuple[Routes, list[tuple[str, Resolution]]]:
    """Look up each server once. Returns the routes of the servers that resolved, and
    every lookup made with the first account that names its server (for the checks).
    Once `stopped` (a signal), no further server is looked up: each lookup may last
    its whole DNS lifetime."""
    routes = Routes()
    lookups: list[tuple[str, Resolution]] = []
    members: dict[ServerKey, list[str]] = {}
    for name, spec in accounts.items():
        key = server_key(spec)
        if key is not None:
            members.setdefault(key, []).append(name)
    for key, names in members.items():
        if stopped():
            break
        resolution = look_up(accounts[names[0]])
        if resolution is None:  # pragma: no cover - server_key and look_up agree
            continue
        lookups.append((names[0], resolution))
        if not resolution.ok:
            continue
        targets = resolution.targets
        if calls and any(not is_ipv6(target.address) for target in targets):
            targets = tuple(target for target in targets if not is_ipv6(target.address))
        routes.servers[key] = ServerRoute(resolution, targets[:MAX_TARGETS], tuple(names))
        for name in names:
            routes.of_account[name] = key
    return routes, lookups


def check_tls_names(accounts: Mapping[str, AccountSpec], routes: Routes) -> None:
    """Over TLS, every account must be at the one domain found in DNS, or none may.

    siptest's stack checks one certificate name per scenario; with a domain found in
    DNS its probe checks that domain's name at each target address (RFC 5922), which
    would be the wrong name for an account at another server."""
    if not routes.servers:
        return
    domains = sorted({route.resolution.domain for route in routes.servers.values()})
    elsewhere = sorted(name for name in accounts if name not in routes.of_account)
    if len(domains) > 1 or elsewhere:
        where = (
            f"the domains {', '.join(domains)}"
            if len(domains) > 1
            else f"{domains[0]} (found in DNS) and accounts {', '.join(elsewhere)} elsewhere"
        )
        raise CannotRunError(
            f"This TLS scenario has accounts at {where}. siptest's SIP stack checks one "
            "certificate name per scenario: put the accounts of each server in a scenario "
            "file of its own. This is a limit of siptest, not of the servers."
        )


def resolver(
    transport: Transport, dns_server: DnsServer | None, timeout: float
) -> Callable[[AccountSpec], Resolution | None]:
    """`routing.look_up` for a scenario's transport (SRV for it only, no NAPTR choice)."""
    from siptest.routing import look_up

    def look(spec: AccountSpec) -> Resolution | None:
        return look_up(spec, transport=transport, dns_server=dns_server, timeout=timeout)

    return look
