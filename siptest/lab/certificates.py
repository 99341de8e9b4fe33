"""TLS material for the lab: a lab CA and a server certificate signed by it.

Made with the ``openssl`` command (the same commands docker-compose.yml runs), so the
lab needs no Python crypto library. A client verifies the lab's TLS port with the CA
file (``Lab.ca_file``); the server certificate names 127.0.0.1, ::1, localhost and
tls.test (a name of the test suite's DNS zone, for TLS found by SRV).
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from siptest.errors import CannotRunError

OPENSSL_CONFIG = Path(__file__).parent / "files" / "openssl.cnf"

_CA_DAYS = 3650
# 825 days: the longest validity Apple and browsers accept for a server certificate
_SERVER_DAYS = 825
_TIMEOUT = 30.0


@dataclass(frozen=True)
class TlsFiles:
    """Where the lab's TLS material is."""

    ca_file: Path
    """The lab CA certificate (PEM): what a client trusts."""
    certificate: Path
    """The server certificate (PEM), signed by the lab CA."""
    private_key: Path
    """The server's private key (PEM, unencrypted, mode 0600)."""

    def exist(self) -> bool:
        return all(path.is_file() for path in (self.ca_file, self.certificate, self.private_key))


def tls_files(directory: Path) -> TlsFiles:
    """The TLS file names the lab uses inside ``directory``."""
    return TlsFiles(
        ca_file=directory / "ca.crt",
        certificate=directory / "server.crt",
        private_key=directory / "server.key",
    )


def ensure_certificates(directory: Path) -> TlsFiles:
    """The lab CA and server certificate in ``directory``, made if any is missing.

    Existing material is kept, so a client that trusts the CA of a long-lived lab
    (``siptest lab up``) keeps trusting it across restarts.
    """
    files = tls_files(directory)
    if files.exist():
        return files
    if shutil.which("openssl") is None:
        raise CannotRunError("OpenSSL is not installed. Run: apt-get install openssl")
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = directory / "ca.key"
    request = directory / "server.csr"
    config = str(OPENSSL_CONFIG)
    _openssl("genpkey", "-quiet", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
             "-out", str(ca_key))  # fmt: skip
    _openssl("req", "-config", config, "-new", "-x509", "-key", str(ca_key),
             "-subj", "/CN=siptest lab CA", "-extensions", "lab_ca", "-days", str(_CA_DAYS),
             "-out", str(files.ca_file))  # fmt: skip
    _openssl("genpkey", "-quiet", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
             "-out", str(files.private_key))  # fmt: skip
    _openssl("req", "-config", config, "-new", "-key", str(files.private_key),
             "-subj", "/CN=127.0.0.1", "-out", str(request))  # fmt: skip
    # a random serial: a client that saw an earlier lab certificate must not find two
    # different certificates with the same issuer and serial
    _openssl("x509", "-req", "-in", str(request), "-CA", str(files.ca_file),
             "-CAkey", str(ca_key), "-set_serial", f"0x{secrets.token_hex(16)}",
             "-extfile", config, "-extensions", "lab_server", "-days", str(_SERVER_DAYS),
             "-out", str(files.certificate))  # fmt: skip
    request.unlink()
    return files


def _openssl(*arguments: str) -> None:
    try:
        subprocess.run(
            ["openssl", *arguments],
            check=True,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
        )
    except subprocess.CalledProcessError as error:
        detail = (error.stderr or "").strip().splitlines()
        raise CannotRunError(
            f"openssl {arguments[0]} failed while making the lab's TLS certificates: "
            f"{detail[-1] if detail else f'exit status {error.returncode}'}"
        ) from None
    except subprocess.TimeoutExpired:
        raise CannotRunError(
            f"openssl {arguments[0]} took longer than {_TIMEOUT:.0f} s while making the "
            "lab's TLS certificates."
        ) from None
