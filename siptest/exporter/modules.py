"""The exporter's modules file: what each module checks and where its password is.

    modules:
      lab_register:
        check: register           # register (default) or call
        transport: udp            # udp (default), tcp, tls
        timeout: 5                # seconds per SIP transaction (siptest --timeout)
        password_env: LAB_PASSWORD   # or password_file: /etc/siptest/lab.pw (chmod 600)
        servers: [127.0.0.1:5070] # where a probe's target may be (required)
      lab_call:
        check: call
        number: "7000"
        talk: 2
        ring_timeout: 10
        expect: answered          # optional, as `siptest call --expect`
        password_env: LAB_PASSWORD
        servers: [127.0.0.1:5070, "[::1]:5070"]

The password is never in this file and never in a probe URL. A probe's target comes
from the URL, so anyone who can reach the exporter chooses it: `servers` lists the
only servers a module's checks (and so its password's digest) may go to.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from siptest.errors import UsageError

CHECKS = ("register", "call")
TRANSPORTS = ("udp", "tcp", "tls")
_KEYS = {
    "check",
    "transport",
    "timeout",
    "password_env",
    "password_file",
    "profile",
    "auth_user",
    "domain",
    "outbound_proxy",
    "tls_ca",
    "tls_insecure",
    "number",
    "talk",
    "ring_timeout",
    "expect",
    "servers",
}
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Server:
    """One entry of a module's `servers`: a host, with one port or any port.

    Matching is exact, no wildcards: the host compared case-insensitively (a trailing
    dot dropped; an IP address as an address, so [0:0::1] is [::1]); an entry without a
    port allows that host at any port and without one (resolved by DNS SRV, as a phone
    does), an entry with a port allows exactly that port.
    """

    host: str
    """Lower-case, without a trailing dot; an IP address in its compressed form."""
    port: int | None = None

    def matches(self, host: str, port: int | None) -> bool:
        return self.host == canonical_host(host) and self.port in (None, port)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"


def canonical_host(host: str) -> str:
    """A host in one spelling: lower-case, no trailing dot, an IP address compressed."""
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        return host.lower().rstrip(".")


@dataclass(frozen=True)
class Module:
    """One way to probe a target: the options of one `siptest register|call` run."""

    name: str
    check: str = "register"
    transport: str = "udp"
    timeout: float = 5.0
    password_env: str | None = None
    password_file: Path | None = None
    profile: str | None = None
    auth_user: str | None = None
    domain: str | None = None
    outbound_proxy: str | None = None
    tls_ca: Path | None = None
    tls_insecure: bool = False
    number: str | None = None
    talk: float | None = None
    ring_timeout: float | None = None
    expect: str | None = None
    servers: tuple[Server, ...] = ()
    """The only servers a target may name (none: every target is refused)."""

    def allows(self, target: str) -> bool:
        """The target (USER@HOST[:PORT], parsed as the child parses it) is at one of
        the module's servers."""
        from siptest.target import parse_target

        try:
            parsed = parse_target(target)
        except UsageError:
            return False
        return any(server.matches(parsed.host, parsed.port) for server in self.servers)

    def arguments(self) -> list[str]:
        """The command line options of this module's check (no target, no password)."""
        args = [self.check, "--json", "--transport", self.transport, "--timeout", str(self.timeout)]
        if self.password_file is not None:
            args += ["--password-file", str(self.password_file)]
        elif self.password_env is not None:
            args += ["--password-env", self.password_env]
        for option, value in (
            ("--profile", self.profile),
            ("--auth-user", self.auth_user),
            ("--domain", self.domain),
            ("--outbound-proxy", self.outbound_proxy),
            ("--tls-ca", self.tls_ca),
            ("--talk", self.talk),
            ("--ring-timeout", self.ring_timeout),
            ("--expect", self.expect),
        ):
            if value is not None:
                args += [option, str(value)]
        if self.tls_insecure:
            args.append("--tls-insecure")
        return args


def load_modules(path: Path) -> dict[str, Module]:
    """Every module of the file, validated; UsageError names the file, module and key."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"{path}: cannot read the modules file ({error.strerror}).") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: the modules file is not UTF-8 text.") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        # never quote the file: a mistyped secret could be in the snippet
        raise UsageError(f"{path}: not valid YAML. Check indentation, quotes and colons.") from None
    if not isinstance(data, dict) or not isinstance(data.get("modules"), dict):
        raise UsageError(f"{path}: expected a mapping 'modules:' of module names to settings.")
    if set(data) != {"modules"}:
        raise UsageError(
            f"{path}: unknown top-level key(s): {', '.join(sorted(set(data) - {'modules'}))}."
        )
    modules = {}
    for name, settings in data["modules"].items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise UsageError(f"{path}: module name {name!r}: use letters, digits, _ . - only.")
        modules[name] = _module(path, name, settings)
    if not modules:
        raise UsageError(f"{path}: no modules. Define at least one under 'modules:'.")
    return modules


def _module(path: Path, name: str, settings: Any) -> Module:
    where = f"{path}: module '{name}'"
    if not isinstance(settings, dict):
        raise UsageError(f"{where}: expected a mapping of settings.")
    if "password" in settings:
        raise UsageError(
            f"{where}: 'password' is refused: a password is never written in the modules "
            "file. Use password_env: VARIABLE or password_file: PATH (chmod 600)."
        )
    unknown = sorted(str(key) for key in settings if key not in _KEYS)
    if unknown:
        raise UsageError(
            f"{where}: unknown key(s) {', '.join(unknown)}. Known: {', '.join(sorted(_KEYS))}."
        )
    if ("password_env" in settings) == ("password_file" in settings):
        raise UsageError(
            f"{where}: give exactly one of password_env: VARIABLE or password_file: PATH."
        )
    check = _choice(where, settings, "check", CHECKS, "register")
    if check == "call" and not isinstance(settings.get("number"), str | int):
        raise UsageError(f'{where}: a call module needs number: "NUMBER" (quoted).')
    if check == "register":
        extra = sorted(k for k in ("number", "talk", "ring_timeout", "expect") if k in settings)
        if extra:
            raise UsageError(f"{where}: {', '.join(extra)} belong to check: call only.")
    env = settings.get("password_env")
    if env is not None and not (isinstance(env, str) and _ENV.fullmatch(env)):
        raise UsageError(
            f"{where}: password_env must name an environment variable, e.g. SIP_PASSWORD."
        )
    servers = _servers(where, settings.get("servers"))
    return Module(
        name=name,
        servers=servers,
        check=check,
        transport=_choice(where, settings, "transport", TRANSPORTS, "udp"),
        timeout=_number(where, settings, "timeout", 0.5, 64.0) or 5.0,
        password_env=env,
        password_file=_path(where, settings, "password_file"),
        profile=_text(where, settings, "profile"),
        auth_user=_text(where, settings, "auth_user"),
        domain=_text(where, settings, "domain"),
        outbound_proxy=_text(where, settings, "outbound_proxy"),
        tls_ca=_path(where, settings, "tls_ca"),
        tls_insecure=_flag(where, settings, "tls_insecure"),
        number=None if settings.get("number") is None else str(settings["number"]),
        talk=_number(where, settings, "talk", 0, 3600),
        ring_timeout=_number(where, settings, "ring_timeout", 0.5, 600),
        expect=_text(where, settings, "expect"),
    )


def _servers(where: str, value: Any) -> tuple[Server, ...]:
    from siptest.target import parse_hostport

    if value is None or value == []:
        raise UsageError(
            f"{where}: needs servers: a list of the SIP servers (HOST or HOST:PORT) its "
            "probes may check, e.g. servers: [sip.provider.example]. A probe URL names its "
            "target, and the check sends a digest of the module's password to that server: "
            "any other server is refused."
        )
    if not isinstance(value, list):
        raise UsageError(f"{where}: servers must be a list, e.g. servers: [sip.provider.example].")
    servers: list[Server] = []
    for entry in value:
        if not isinstance(entry, str) or not entry.strip():
            raise UsageError(
                f"{where}: each of servers is a text HOST or HOST:PORT (quote an IPv6 "
                f'address: "[2001:db8::1]:5060"), not {entry!r}.'
            )
        if "*" in entry or "?" in entry:
            raise UsageError(
                f"{where}: servers: '{entry}': no wildcards; list every server by its name "
                "or address."
            )
        try:
            host, port = parse_hostport(entry.strip(), "servers entry")
        except UsageError as error:
            raise UsageError(f"{where}: servers: {error}") from None
        servers.append(Server(canonical_host(host), port))
    return tuple(dict.fromkeys(servers))


def _choice(
    where: str, settings: dict[str, Any], key: str, allowed: tuple[str, ...], default: str
) -> str:
    value = settings.get(key, default)
    if value not in allowed:
        raise UsageError(f"{where}: {key} must be one of {', '.join(allowed)}.")
    return str(value)


def _number(
    where: str, settings: dict[str, Any], key: str, low: float, high: float
) -> float | None:
    value = settings.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise UsageError(f"{where}: {key} must be a number from {low:g} to {high:g}.")
    return float(value)


def _text(where: str, settings: dict[str, Any], key: str) -> str | None:
    value = settings.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int) or not str(value).strip() or str(value).startswith("-"):
        raise UsageError(f"{where}: {key} must be a non-empty text not starting with '-'.")
    return str(value)


def _path(where: str, settings: dict[str, Any], key: str) -> Path | None:
    value = _text(where, settings, key)
    return None if value is None else Path(value)


def _flag(where: str, settings: dict[str, Any], key: str) -> bool:
    value = settings.get(key, False)
    if not isinstance(value, bool):
        raise UsageError(f"{where}: {key} must be true or false.")
    return value
