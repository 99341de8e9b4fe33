"""Reading SIP messages as text: start line, headers, and redaction for traces.

Pure functions, no I/O. The user agent hands us the raw text of every message it
sent or received; we pull out what the analyser needs and blank out what must
never be written down (digest credentials, the password itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from siptest.hostport import split_hostport

# RFC 3261 7.3.3: compact header forms.
_COMPACT = {
    "i": "call-id",
    "m": "contact",
    "e": "content-encoding",
    "l": "content-length",
    "c": "content-type",
    "f": "from",
    "k": "supported",
    "s": "subject",
    "t": "to",
    "v": "via",
    "o": "event",
    "r": "refer-to",
    "u": "allow-events",
}

# RFC 3261 7.1: the version is case-insensitive (pjsip reads "sip/2.0" too).
_STATUS_LINE = re.compile(r"^SIP/2\.0\s+(\d{1,10})(?:\s+(.*))?$", re.IGNORECASE)
_REQUEST_LINE = re.compile(r"^([A-Za-z]+)\s+(\S+)\s+SIP/2\.0$", re.IGNORECASE)


@dataclass(frozen=True)
class SipMessage:
    """One parsed SIP message (request or response)."""

    start_line: str
    """The first line, as received."""
    headers: tuple[tuple[str, str], ...] = field(default=())
    """(lower-case full header name, value) in message order; folded lines joined."""
    method: str | None = None
    """The request method, or the CSeq method for a response."""
    code: int | None = None
    """Status code for a response, None for a request."""
    reason: str = ""
    """Reason phrase for a response (may be empty: RFC 3261 allows it)."""
    cseq: int | None = None
    """The CSeq number, when the CSeq header could be read."""

    @property
    def is_response(self) -> bool:
        return self.code is not None

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive, compact forms accepted)."""
        wanted = _canonical(name)
        for key, value in self.headers:
            if key == wanted:
                return value
        return None

    def all(self, name: str) -> list[str]:
        """Every value of a header, comma-separated values kept together per line."""
        wanted = _canonical(name)
        return [value for key, value in self.headers if key == wanted]


def _canonical(name: str) -> str:
    lowered = name.strip().lower()
    return _COMPACT.get(lowered, lowered)


def show_bytes(data: bytes) -> str:
    """Bytes from the wire as safe text: UTF-8 where valid (RFC 3261 25.1), every
    other byte and every control character but CR, LF and TAB (C0, DEL and C1: U+009B
    is a CSI to a terminal, as ESC [ is) as `\\xNN`.

    Never raises, and what it returns always encodes as UTF-8 and prints on a
    terminal without moving the cursor (a reason phrase is the server's text).
    """
    text = data.decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def parse_message(raw: bytes | str) -> SipMessage | None:
    """Parse the head of a SIP message; None when the first line is not SIP.

    Tolerant by design: servers in the field send odd but usable messages, and
    a tester must read them rather than give up (RFC 4475 torture cases). Bytes
    are read with `show_bytes`: what it returns is safe to print and to put in JSON.
    """
    text = show_bytes(raw) if isinstance(raw, bytes) else raw
    head = text.replace("\r\n", "\n").split("\n\n", 1)[0]
    lines = head.split("\n")
    if not lines:
        return None
    start = lines[0].strip()
    code: int | None = None
    reason = ""
    method: str | None = None
    status = _STATUS_LINE.match(start)
    if status:
        code = int(status.group(1))
        reason = (status.group(2) or "").strip()
    else:
        request = _REQUEST_LINE.match(start)
        if not request:
            return None
        method = request.group(1).upper()
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            # RFC 3261 7.3.1: header folding (continuation line).
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            continue
        headers.append((_canonical(name), value.strip()))
    cseq_number: int | None = None
    for key, value in headers:
        if key == "cseq":
            parts = value.split()
            if parts and parts[0].isdigit():
                cseq_number = int(parts[0])
            if len(parts) > 1 and method is None:
                method = parts[1].upper()
            break
    return SipMessage(
        start_line=start,
        headers=tuple(headers),
        method=method,
        code=code,
        reason=reason,
        cseq=cseq_number,
    )


# RFC 3261 25.1: EQUAL = SWS "=" SWS, so `rport = 5060` is legal.
# An unquoted value never holds a quote or "=": a kept parameter left empty
# (`username= response="..."`) must not swallow the next one into a trace.
_PARAM = re.compile(r'[;,\s]([A-Za-z][\w.-]*)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s"=]*))?')


def header_params(value: str) -> dict[str, str]:
    """Parameters of a header value: `;name=value` and `, name="value"` alike.

    Used for Via (`received`, `rport`), Contact (`expires`) and digest
    challenges (`stale`, `realm`). Keys are lower-case, quotes removed.
    """
    params: dict[str, str] = {}
    for match in _PARAM.finditer(" " + value):
        key = match.group(1).lower()
        raw = match.group(2) or ""
        params.setdefault(key, raw[1:-1] if raw.startswith('"') else raw)
    return params


MAX_DELTA_SECONDS = 2**32 - 1
"""RFC 3261 20.19 / 25.1: delta-seconds run from 0 to 2**32-1."""
_DELTA_SECONDS = re.compile(r"\s*([0-9]+)")


def split_list(value: str) -> list[str]:
    """The elements of a comma-separated header value (RFC 3261 7.3.1), leaving
    commas inside quotes and angle brackets alone."""
    parts: list[str] = []
    current: list[str] = []
    quoted = bracketed = escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char in "<>":
            bracketed = char == "<"
        elif char == "," and not quoted and not bracketed:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def contact_address(contact: str) -> str:
    """A Contact's address for comparing bindings: scheme, user, host and port,
    lower-case, without display name or parameters."""
    inside = re.search(r"<([^>]*)>", contact)
    uri = inside.group(1) if inside else contact.split(";", 1)[0]
    return uri.split(";", 1)[0].split("?", 1)[0].strip().lower()


def delta_seconds(value: str | None) -> int | None:
    """The delta-seconds that start a header value or parameter (RFC 3261 20.33 allows
    `120(comment)` and `120;duration=60`), capped at 2**32-1 (25.1); None if no digits."""
    match = _DELTA_SECONDS.match(value or "")
    if not match:
        return None
    digits = match.group(1).lstrip("0") or "0"
    # Python refuses to convert very long digit strings; no need to, past ten.
    return MAX_DELTA_SECONDS if len(digits) > 10 else min(int(digits), MAX_DELTA_SECONDS)


def _after_user(address: str) -> str:
    """The host[:port] of a `contact_address` ("sip:user@host:port" or "sip:host")."""
    return address.split("@", 1)[1] if "@" in address else address.split(":", 1)[-1]


def registered_binding(response: SipMessage, contact: str) -> str | None:
    """Our binding as the registrar lists it in its 2xx to REGISTER (RFC 3261 10.3).

    The one whose address is the Contact we sent; else, when the registrar
    rewrote it (servers that fix NATed contacts), the one at the address and port
    its Via says it saw us at (`received` and `rport`, RFC 3581). None when none
    of them can be told to be ours.
    """
    bindings = [b for value in response.all("contact") for b in split_list(value)]
    ours = contact_address(contact)
    for binding in bindings:
        if contact_address(binding) == ours:
            return binding
    via = response.header("via") or ""
    params = header_params(via)
    sent_by = (via.split(";", 1)[0].split() or [""])[-1]
    host = (params.get("received") or split_hostport(sent_by)[0]).strip("[]").lower()
    # Only address and NAT port together tell our binding from another device's
    # behind the same router.
    rport = params.get("rport") or ""
    if host and rport.isdigit():
        for binding in bindings:
            seen_host, seen_port = split_hostport(_after_user(contact_address(binding)))
            if (seen_host.lower(), seen_port) == (host, int(rport)):
                return binding
    return None


def granted_expiry(response: SipMessage, contact: str, binding_only: bool = False) -> int | None:
    """Seconds the registrar granted our Contact in its 2xx to REGISTER.

    RFC 3261 10.2.4: the 2xx lists every binding of the address of record; the
    `expires` parameter of ours (`registered_binding`) wins over the Expires
    header (not read with `binding_only`). Values are capped at 2**32-1 (pjsip
    wraps bigger ones around). None when the response does not say.
    """
    binding = registered_binding(response, contact)
    if binding is not None:
        expires = delta_seconds(header_params(binding.split(">", 1)[-1]).get("expires"))
        if expires is not None:
            return expires
    return None if binding_only else delta_seconds(response.header("expires"))


_CREDENTIAL_HEADER = re.compile(
    r"^(Authorization|Proxy-Authorization)[ \t]*:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*",
    re.IGNORECASE | re.MULTILINE,
)
_KEEP_PARAMS = ("username", "realm", "uri", "algorithm", "qop")


def _redact_credentials(match: re.Match[str]) -> str:
    name = match.group(1)
    value = match.group(0).split(":", 1)[1]
    params = header_params(value)
    kept = ", ".join(f'{key}="{params[key]}"' for key in _KEEP_PARAMS if key in params)
    scheme = value.strip().split(None, 1)[0] if value.strip() else "Digest"
    return f"{name}: {scheme} {kept}, <credentials redacted>".replace(" , ", " ")


def redact(text: str) -> str:
    """Remove the credentials of Authorization and Proxy-Authorization headers.

    Structural, by header: they keep who/where (username, realm, uri, algorithm,
    qop) so a trace stays useful, and lose response, cnonce, nonce, nc and any
    other parameter. Nothing else is touched: masking the password's text
    wherever it appears would tell a reader what the password is (digest
    authentication never puts it on the wire).
    """
    return _CREDENTIAL_HEADER.sub(_redact_credentials, text)
