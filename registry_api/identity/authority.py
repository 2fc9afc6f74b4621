"""The office's certificate authority: a root key and certificate, and participant certificates.

The root is a P-256 key, stored encrypted (PKCS#8 PEM) beside its self-signed certificate in a
CA directory; every participant certificate the office issues is kept there too:

    CA_DIR/root.pem            the office root certificate (public: counterparties need it)
    CA_DIR/root-key.pem        the root key, encrypted under the CA password (mode 0600)
    CA_DIR/issued/ID-SERIAL.pem  every participant certificate issued (public)

The certificates follow the profile of ledger.certificates. There is no CRL: whether a
participant may act is the participant registry's status (suspended, revoked, certificate
expired), which every verifier reads from the chain; a certificate is renewed by issuing a new
one and recording its fingerprint with ParticipantRegistry.renewCertificate.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from eth_typing import ChecksumAddress

from ledger.certificates import (
    CertificateDirectory,
    CertificateError,
    ParticipantCertificate,
    ParticipantIdentity,
    address_of_public_key,
)

#: The root outlives the participant certificates it signs.
ROOT_VALID_YEARS = 20


class AuthorityError(ValueError):
    """The CA cannot be created, opened or asked to issue this certificate."""


class CertificateAuthority:
    """The office root key and certificate, in memory. Its repr never shows the key."""

    __slots__ = ("_key", "root")

    def __init__(self, root: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        if root.public_key() != key.public_key():
            raise AuthorityError("the root key does not belong to the root certificate")
        self.root = root
        self._key = key

    @classmethod
    def generate(
        cls,
        name: str,
        country: str,
        registration_number: str,
        *,
        now: datetime.datetime,
        valid_years: int = ROOT_VALID_YEARS,
    ) -> CertificateAuthority:
        """A fresh root key and its self-signed root certificate."""
        if len(country) != 2 or not country.isalpha() or not country.isupper():
            raise AuthorityError(f"country {country!r} is not an ISO 3166 alpha-2 code")
        if not name.strip() or not registration_number.strip():
            raise AuthorityError("the office needs a name and a registration number")
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, registration_number),
                x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            ]
        )
        public = key.public_key()
        root = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=365 * valid_years))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_ca_key_usage(), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(root, key)

    @property
    def office_name(self) -> str:
        return _attribute(self.root.subject, NameOID.COMMON_NAME)

    @property
    def office_country(self) -> str:
        return _attribute(self.root.subject, NameOID.COUNTRY_NAME)

    @property
    def office_registration_number(self) -> str:
        return _attribute(self.root.subject, NameOID.SERIAL_NUMBER)

    def issue(
        self,
        identity: ParticipantIdentity,
        public_key: bytes,
        *,
        not_before: datetime.datetime,
        not_after: datetime.datetime,
    ) -> ParticipantCertificate:
        """Issue a participant certificate over its primary key's public key.

        `public_key` is the uncompressed secp256k1 key (65 bytes, 0x04 || x || y; 64 without
        the prefix) whose address is identity.keys[0]: the office checks that it matches, so a
        certificate cannot name a key that its holder did not give.
        """
        subject_key = _secp256k1(public_key)
        address = address_of_public_key(subject_key)
        if address != identity.keys[0]:
            raise AuthorityError(
                f"the public key is the key of {address}, not of the first key {identity.keys[0]}"
            )
        if not not_before < not_after:
            raise AuthorityError("the validity period is empty")
        if not_after > self.root.not_valid_after_utc:
            raise AuthorityError(
                f"a certificate cannot outlive the office root ({self.root.not_valid_after_utc})"
            )
        builder = (
            x509.CertificateBuilder()
            .subject_name(identity.subject())
            .issuer_name(self.root.subject)
            .public_key(subject_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_participant_key_usage(), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
        )
        for extension in identity.extensions():
            builder = builder.add_extension(extension, critical=False)
        return ParticipantCertificate.of(builder.sign(self._key, hashes.SHA256()))

    def key_pem(self, password: bytes) -> bytes:
        """The root key as encrypted PKCS#8 PEM (a password is required)."""
        if not password:
            raise AuthorityError("the CA key is only ever written encrypted: give a password")
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password),
        )

    def __repr__(self) -> str:
        return f"CertificateAuthority({self.root.subject.rfc4514_string()})"


class CaDirectory:
    """Where a CA is kept: its root, its encrypted key, and every certificate it issued."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def root_path(self) -> Path:
        return self.path / "root.pem"

    @property
    def key_path(self) -> Path:
        return self.path / "root-key.pem"

    @property
    def issued_path(self) -> Path:
        return self.path / "issued"

    def exists(self) -> bool:
        return self.root_path.is_file() and self.key_path.is_file()

    def init(self, authority: CertificateAuthority, password: bytes) -> None:
        """Write a new CA; refuse to overwrite one (its certificates would lose their root)."""
        if self.root_path.exists() or self.key_path.exists():
            raise AuthorityError(f"a CA already exists in {self.path}")
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.issued_path.mkdir(exist_ok=True)
        _write(self.key_path, authority.key_pem(password), mode=0o600)
        _write(self.root_path, authority.root.public_bytes(serialization.Encoding.PEM))

    def root(self) -> x509.Certificate:
        """The root certificate (no password needed)."""
        if not self.root_path.is_file():
            raise AuthorityError(f"no CA in {self.path}: run `ipledger identity init-ca`")
        return x509.load_pem_x509_certificate(self.root_path.read_bytes())

    def open(self, password: bytes) -> CertificateAuthority:
        """The CA, its key decrypted with `password`."""
        root = self.root()
        try:
            key = serialization.load_pem_private_key(self.key_path.read_bytes(), password)
        except FileNotFoundError:
            raise AuthorityError(f"no CA key in {self.path}") from None
        except (ValueError, TypeError):
            raise AuthorityError(f"wrong password for the CA key in {self.path}") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise AuthorityError(f"{self.key_path} is not an EC key")
        return CertificateAuthority(root, key)

    def record(self, certificate: ParticipantCertificate) -> Path:
        """Keep an issued certificate; return its file."""
        path = self.issued_path / (
            f"{certificate.identity.participant_id}-{certificate.serial_number:x}.pem"
        )
        _write(path, certificate.pem().encode())
        return path

    def issued(self) -> CertificateDirectory:
        return CertificateDirectory(self.issued_path)


def primary_address(public_key: bytes) -> ChecksumAddress:
    """The ledger address of an uncompressed secp256k1 public key (65 or 64 bytes)."""
    address = address_of_public_key(_secp256k1(public_key))
    assert address is not None  # a secp256k1 key always has one
    return address


def _secp256k1(public_key: bytes) -> ec.EllipticCurvePublicKey:
    if len(public_key) == 64:
        public_key = b"\x04" + public_key
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), public_key)
    except ValueError:
        raise AuthorityError("not an uncompressed secp256k1 public key") from None


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _participant_key_usage() -> x509.KeyUsage:
    # The key signs approvals that bind its holder: signature and non-repudiation.
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = name.get_attributes_for_oid(oid)
    if not values:
        raise CertificateError(f"the office root has no {oid.dotted_string} attribute")
    value = values[0].value
    return value if isinstance(value, str) else value.decode()


def _write(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)
