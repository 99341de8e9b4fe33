"""What a person types, read one way for the command line and for scenario files.

The target (`USER@HOST[:PORT]`), a bare `HOST[:PORT]` (--domain, --outbound-proxy), the
number to dial, DTMF digits and a profile reference: the CLI and the scenario loader
both call these, so a value one accepts the other accepts too (tests/integration/
test_input_agreement.py runs one table of inputs through both). Every refusal is a
`UsageError` naming the bad token and saying what to type instead, raised before any
packet leaves; the scenario loader adds the file, line and key.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from siptest.errors import UsageError

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# RFC 3261 25.1: user = 1*( unreserved / escaped / user-unreserved )
_USER = re.compile(r"^[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+$")


@dataclass(frozen=True)
class Target:
    """Where to register: the account's user and the server's host and port."""

    user: str
    host: str
    """Host name or address; IPv6 without brackets."""
    port: int | None

    @property
    def hostport(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port else host

    def uri(self) -> str:
        return f"sip:{self.user}@{self.hostport}"


def parse_target(text: str) -> Target:
    """Parse `USER@HOST[:PORT]` (a leading `sip:` is accepted)."""
    raw = text.strip()
    if not raw:
        raise UsageError(
            "The target is empty. Give it as USER@HOST[:PORT], e.g. 1001@sip.example.com."
        )
    if raw.startswith("<") or raw.endswith(">"):
        raise UsageError(f"'{text}': drop the angle brackets. Give the target as USER@HOST[:PORT].")
    scheme, sep, rest = raw.partition(":")
    if sep and scheme.lower() in ("tel", "sips", "mailto", "http", "https"):
        hint = (
            "siptest checks TLS with --transport tls."
            if scheme.lower() == "sips"
            else "A registrar is a SIP server."
        )
        raise UsageError(
            f"'{text}': the scheme '{scheme}:' is not supported. {hint} "
            "Give the target as USER@HOST[:PORT]."
        )
    if sep and scheme.lower() == "sip":
        raw = rest
    user, at, hostport = raw.rpartition("@")
    # Without "@": "1001" is a user ID with no server, "sip.example.com" the reverse.
    if not at and not ("." in raw or ":" in raw or raw.lower() == "localhost"):
        raise UsageError(
            f"'{text}': the server is missing. Give the target as USER@HOST[:PORT], "
            f"e.g. {raw or '1001'}@sip.example.com."
        )
    if not at or not user:
        raise UsageError(
            f"'{text}': the user ID is missing. Give the target as USER@HOST[:PORT], "
            "e.g. 1001@sip.example.com."
        )
    if not _USER.match(user):
        raise UsageError(
            f"'{user}': the user ID contains characters SIP does not allow "
            "(spaces, '@', ':' or '<>'). Use the user ID exactly as your provider shows it."
        )
    host, port = _parse_hostport(hostport, text)
    return Target(user=user, host=host, port=port)


def _parse_hostport(hostport: str, original: str, lowest_port: int = 1) -> tuple[str, int | None]:
    hostport, semicolon, params = hostport.partition(";")
    if semicolon:
        hint = (
            " Use --transport instead of ';transport=...'."
            if "transport=" in params.lower()
            else ""
        )
        raise UsageError(f"'{original}': URI parameters (';{params}') are not taken here.{hint}")
    if not hostport:
        raise UsageError(f"'{original}': the server is missing after '@'.")
    port_text: str | None = None
    if hostport.startswith("["):
        inner, bracket, rest = hostport[1:].partition("]")
        if not bracket:
            raise UsageError(f"'{hostport}': the IPv6 address has no closing ']'.")
        host = inner
        if rest:
            if not rest.startswith(":"):
                raise UsageError(f"'{hostport}': expected ':PORT' after ']'.")
            port_text = rest[1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise UsageError(f"'{host}' is not a valid IPv6 address.") from None
    elif hostport.count(":") > 1:
        raise UsageError(
            f"'{hostport}': an IPv6 address must be written in brackets, "
            f"e.g. [{hostport}] or [{hostport}]:5060."
        )
    else:
        host, colon, port_text_raw = hostport.partition(":")
        port_text = port_text_raw if colon else None
        _check_host(host)
    port = None
    if port_text is not None:
        if not port_text.isdigit() or not lowest_port <= int(port_text) <= 65535:
            raise UsageError(
                f"'{port_text}' is not a valid port. Use a number from {lowest_port} to 65535"
                + (" (SIP usually uses 5060, or 5061 for TLS)." if lowest_port else ".")
            )
        port = int(port_text)
    return host, port


def _check_host(host: str) -> None:
    if not host:
        raise UsageError("The server host is empty. Give it as USER@HOST[:PORT].")
    try:
        ipaddress.IPv4Address(host)
        return
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise UsageError(
            f"'{host}' is not a valid host name or address. "
            "Check the server name in your provider's SIP settings."
        )
    if all(label.isdigit() for label in labels):
        raise UsageError(f"'{host}' is not a valid IPv4 address.")


def parse_hostport(text: str, what: str, lowest_port: int = 1) -> tuple[str, int | None]:
    """Parse a bare `HOST[:PORT]` (--outbound-proxy, --domain, --listen, --dns-server,
    an exporter module's servers): the one reader of a host and port a person types.
    `lowest_port` 0 lets a listener ask for any free port."""
    if "@" in text:
        raise UsageError(f"{what} '{text}' must be HOST[:PORT] without a user part.")
    return _parse_hostport(text.removeprefix("sip:"), text, lowest_port)


MAX_NUMBER = 256
"""Longest number or SIP URI siptest dials (pjsip signs a Request-URI up to 256 bytes)."""
DTMF_DIGITS = frozenset("0123456789*#ABCD")
MAX_DTMF = 32


def dial_number(number: str, transport: str | None) -> str:
    """The number or SIP URI to dial, stripped; refused when it cannot be dialled here.

    `transport` None: not chosen yet (DNS will), so a URI's `;transport=` is not judged."""
    text = number.strip()
    if not text:
        raise UsageError("The number is empty. Give the number to dial, e.g. 0321234567.")
    if len(text) > MAX_NUMBER or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise UsageError(
            f"'{text[:40]}{'...' if len(text) > 40 else ''}' is not a number or SIP URI one "
            f"could dial (control characters, or longer than {MAX_NUMBER} characters)."
        )
    lowered = text.lower()
    if lowered.startswith("sips:"):
        raise UsageError(f"'{text}': sips: URIs are not dialled here. Use sip: with transport tls.")
    if transport is not None and lowered.startswith("sip:") and ";transport=" in lowered:
        wanted = lowered.split(";transport=", 1)[1].split(";", 1)[0]
        if wanted != transport:
            raise UsageError(
                f"'{text}' asks for transport {wanted}, but siptest runs on {transport}. "
                f"Use transport {wanted}, or leave ';transport=' out of the URI."
            )
    return text


def dtmf_digits(digits: str) -> str:
    """DTMF digits to send, upper-cased: up to 32 of 0-9, *, # and A-D."""
    text = digits.strip().upper()
    if not text or not set(text) <= DTMF_DIGITS or len(text) > MAX_DTMF:
        raise UsageError(f"'{digits}': DTMF is 1 to {MAX_DTMF} of 0-9, *, # and A-D, e.g. 123#.")
    return text


def profile_reference(text: str, relative_to: Path | None = None) -> str | Path:
    """A bundled profile's name, or the path of a profile file (that must exist).

    A path is what ends in .yaml/.yml or contains a slash; a relative path is taken
    from `relative_to` (a scenario's folder) or the current folder. Names are checked
    when the profile is loaded (with a suggestion for a near miss).
    """
    name = text.strip()
    if not name:
        raise UsageError("The profile is empty. Give a bundled profile name or a profile file.")
    if not (name.endswith((".yaml", ".yml")) or "/" in name):
        return name
    path = Path(name).expanduser()
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    if not path.is_file():
        raise UsageError(f"Profile file {path} does not exist.")
    return path


def check_ca_file(path: Path, option: str) -> None:
    """A CA file siptest's stack can use: an existing file of PEM certificates."""
    import ssl

    if not path.is_file():
        raise UsageError(f"{option} {path}: no such file.")
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, ValueError, UnicodeDecodeError):
        raise UsageError(
            f"{option} {path}: not a file of PEM certificates (-----BEGIN CERTIFICATE-----). "
            "Give the certificate of the CA that signed the server's certificate, in PEM."
        ) from None
    except OSError as exc:
        raise UsageError(f"{option} {path}: {exc.strerror}.") from None
