"""X.509 certificates: what the participant registry stores is the SHA-256 of one.

Participant certificates come from the office CA (authority.py). `self_signed` remains for one
case only: `contracts deploy` before the office has a CA, as a clearly labelled stand-in.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ledger.certificates import CertificateError, fingerprint_of

__all__ = ["CertificateError", "CertificateFacts", "read_certificate", "self_signed"]


@dataclass(frozen=True)
class CertificateFacts:
    """What the chain records of a certificate."""

    fingerprint: bytes
    not_after: int

    @classmethod
    def of(cls, certificate: x509.Certificate) -> CertificateFacts:
        return cls(
            fingerprint=fingerprint_of(certificate),
            not_after=int(certificate.not_valid_after_utc.timestamp()),
        )


@dataclass(frozen=True)
class SelfSignedCertificate:
    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey

    @property
    def facts(self) -> CertificateFacts:
        return CertificateFacts.of(self.certificate)

    def write(self, certificate_path: Path, key_path: Path, password: bytes | None) -> None:
        """Write the certificate (PEM) and its key (PEM, mode 0600; encrypted if `password`)."""
        certificate_path.parent.mkdir(parents=True, exist_ok=True)
        certificate_path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        key_pem = self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        key_path.touch(mode=0o600, exist_ok=True)
        key_path.write_bytes(key_pem)

    def __repr__(self) -> str:
        return f"SelfSignedCertificate({self.certificate.subject.rfc4514_string()})"


def self_signed(
    common_name: str, *, valid_days: int, now: datetime.datetime
) -> SelfSignedCertificate:
    """A fresh P-256 key and a self-signed certificate for it, valid from `now`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return SelfSignedCertificate(certificate, key)


def read_certificate(path: Path) -> CertificateFacts:
    """The fingerprint and end of validity of a PEM or DER certificate file."""
    data = path.read_bytes()
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            certificate = x509.load_pem_x509_certificate(data)
        else:
            certificate = x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise CertificateError(f"{path} is not an X.509 certificate: {exc}") from exc
    return CertificateFacts.of(certificate)
