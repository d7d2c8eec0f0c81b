"""A self-signed certificate for LAN use, made once and kept in the data directory.

Phones reaching the server on a LAN address need HTTPS for a secure context (WebCrypto,
service workers). The fingerprint is printed so people can check what their browser
shows before trusting it.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def ensure_self_signed(
    directory: Path, *, now: datetime.datetime | None = None, hosts: tuple[str, ...] = ()
) -> tuple[Path, Path]:
    """Return (cert, key) paths, creating them on first use (valid for 825 days). The
    certificate names this machine's names and addresses, and ``hosts`` (DNS names or
    addresses, e.g. the public host of a deployment)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    now = now or datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "peerlane (self-signed)")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(_names(hosts)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def _names(hosts: tuple[str, ...] = ()) -> list[x509.GeneralName]:
    dns = ["localhost"]
    hostname = socket.gethostname()
    if hostname and hostname != "localhost":
        dns.append(hostname)
    addresses = {"127.0.0.1", "::1", *local_addresses()}
    for host in hosts:
        try:
            addresses.add(str(ipaddress.ip_address(host)))
        except ValueError:
            if host not in dns:
                dns.append(host)
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns]
    for address in sorted(addresses):
        names.append(x509.IPAddress(ipaddress.ip_address(address)))
    return names


def local_addresses() -> list[str]:
    """This host's own IPv4 addresses (not loopback): the one its default route leaves
    from, then those name resolution gives. No packet is sent: connecting a UDP socket
    only picks the route."""
    found: list[str] = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1 (RFC 5737): never answered
            found.append(probe.getsockname()[0])
    except OSError:
        pass  # no route at all
    try:
        _, _, addresses = socket.gethostbyname_ex(socket.gethostname())
        found += addresses
    except OSError:
        pass
    return [a for a in dict.fromkeys(found) if not a.startswith(("127.", "0."))]


def fingerprint(cert_path: Path) -> str:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    digest = cert.fingerprint(hashes.SHA256())
    return ":".join(f"{b:02X}" for b in digest)
