"""TLS material for the secure local stack: a CA of its own and a broker certificate it
signed, as PEM files (the broker reads PEM directly, so no keytool or keystore is needed).

The broker certificate names `localhost` and the stack's host, so clients verify the
hostname as they would in production (librdkafka does by default).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 825  # the longest lifetime clients accept for a server certificate
_PEM = serialization.Encoding.PEM


@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # the CA certificate: clients' `ssl.ca.location`
    server: Path  # the broker's key, certificate and CA in one PEM: its keystore
    server_cert: Path
    server_key: Path


def ensure_tls(directory: Path, host: str) -> TlsFiles:
    """The CA and broker certificate in `directory`, made on first use and kept after."""
    files = TlsFiles(
        directory / "ca.pem", directory / "server.pem",
        directory / "server.crt", directory / "server.key",
    )  # fmt: skip
    if all(path.exists() for path in (files.ca, files.server, files.server_cert, files.server_key)):
        return files
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hivebus local stack CA")])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    server = (
        _builder(server_name, ca_name, server_key.public_key())
        .add_extension(x509.SubjectAlternativeName(_names(host)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = server_key.private_bytes(
        _PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write(files.server_key, key_pem, private=True)
    _write(files.server, key_pem + server.public_bytes(_PEM) + ca.public_bytes(_PEM), private=True)
    _write(files.server_cert, server.public_bytes(_PEM))
    _write(files.ca, ca.public_bytes(_PEM))  # last: its presence says the set is complete
    return files


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, key_cert_sign=cert_sign, crl_sign=cert_sign,
        content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, encipher_only=False, decipher_only=False,
    )  # fmt: skip


def _names(host: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    for each in {host, "127.0.0.1"}:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(each)))
        except ValueError:
            names.append(x509.DNSName(each))
    return names


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    path.write_bytes(data)
    if private:
        os.chmod(path, 0o600)
