"""One table of inputs through the command line and through a scenario file: both accept
it, or both refuse it as bad input (exit 2), because both read it with siptest/target.py.

"Accepted" means siptest went on to test (exit 0, 1 or 3); the targets point at a
loopback port where nothing listens, so an accepted row costs one refused packet.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass

import pytest

pytestmark = [pytest.mark.timeout(60)]


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PORT = closed_port()


@dataclass(frozen=True)
class Row:
    user: str = "1001"
    host: str = f"127.0.0.1:{PORT}"
    number: str = "7000"
    dtmf: str | None = None
    profile: str | None = None
    accepted: bool = True


TABLE = {
    "plain": Row(),
    "ipv6 server": Row(host=f"[::1]:{PORT}"),
    "bare ipv6 server": Row(host="::1", accepted=False),
    "host name": Row(host=f"localhost:{PORT}"),
    "bad ipv4": Row(host="999.1.1.1", accepted=False),
    "port 0": Row(host="127.0.0.1:0", accepted=False),
    "port 65536": Row(host="127.0.0.1:65536", accepted=False),
    "user with a space": Row(user="10 01", accepted=False),
    "sip uri number": Row(number="sip:7000@127.0.0.1"),
    "sips number": Row(number="sips:7000@127.0.0.1", accepted=False),
    "number for another transport": Row(number="sip:7000@127.0.0.1;transport=tcp", accepted=False),
    "number with a control character": Row(number="70\x0100", accepted=False),
    "number too long": Row(number="1" * 300, accepted=False),
    "dtmf lower case": Row(dtmf="12ab#"),
    "dtmf bad digit": Row(dtmf="12x", accepted=False),
    "dtmf too long": Row(dtmf="1" * 33, accepted=False),
    "bundled profile": Row(profile="sipcall"),
    "profile near miss": Row(profile="sipcal", accepted=False),
    "missing profile file": Row(profile="no-such-profile.yaml", accepted=False),
}


def cli(siptest, row: Row):
    args = ["call", f"{row.user}@{row.host}", row.number, "--no-register", "--json"]
    args += ["--ring-timeout", "1", "--timeout", "1"]
    args += ["--dtmf", row.dtmf] if row.dtmf is not None else []
    args += ["--profile", row.profile] if row.profile is not None else []
    return siptest(*args, password="agreement-pass")


def scenario(siptest, row: Row, tmp_path):
    call: dict[str, object] = {"number": row.number, "ring_timeout": 1}
    if row.dtmf is not None:
        call["dtmf"] = row.dtmf
    document: dict[str, object] = {
        "timeout": 1,
        "accounts": {"a": {"user": row.user, "host": row.host, "password_env": "AGREE_PW"}},
        "steps": [{"call": call}],
    }
    if row.profile is not None:
        document["profile"] = row.profile
    path = tmp_path / "agreement.sip.yaml"
    path.write_text(json.dumps(document))  # JSON is YAML; control characters escaped
    return siptest("run", str(path), "--json", env={"AGREE_PW": "agreement-pass"})


@pytest.mark.parametrize("name", sorted(TABLE))
def test_the_command_line_and_a_scenario_agree(siptest, tmp_path, name):
    row = TABLE[name]
    on_command_line = cli(siptest, row)
    in_scenario = scenario(siptest, row, tmp_path)
    refused = (on_command_line.status == 2, in_scenario.status == 2)
    assert refused == (not row.accepted, not row.accepted), (
        on_command_line.stdout + on_command_line.stderr,
        in_scenario.stdout + in_scenario.stderr,
    )
