"""Office-issued participant certificates: their profile, and checking one against the chain.

The office identifies a participant off chain (identity documents) and issues it an X.509
certificate: the subject is its legal identity (common name = legal name, serialNumber = its
registration number, C = its country), the subject public key is its primary ledger key
(secp256k1), and three extensions under the IP Rights Ledger arc bind it to the ledger:

    {arc}.1  participantId   INTEGER
    {arc}.2  roles           SEQUENCE OF UTF8String     ("OFFICE", "BANK", "PARTICIPANT"...)
    {arc}.3  keys            SEQUENCE OF OCTET STRING   (20-byte addresses; the first is the
                                                        subject public key's address)

The extensions are not critical, so that generic X.509 tools still check the signature chain;
this module requires them. Only the SHA-256 of the certificate's DER encoding goes on chain.

The arc is 1.3.6.1.4.1.32473.1: 32473 is the private enterprise number that IANA reserves for
documentation (RFC 5612). An office running this in production registers its own PEN with IANA
and sets LEDGER_ARC to it before it issues its first certificate.

A certificate says who a participant is; the chain says whether it may act now. Identifying a
counterparty therefore takes both: the checks in `verify` (named by `CheckName`).
The profile is in the core because both sides build on it: a wallet identifies its counterparty
before it signs, and the office's certificate authority (registry_api.identity) issues by it.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from ledger.participants import ParticipantRegistryClient
from ledger.types import Participant, ParticipantStatus, Role

LEDGER_ARC = "1.3.6.1.4.1.32473.1"
OID_PARTICIPANT_ID = x509.ObjectIdentifier(f"{LEDGER_ARC}.1")
OID_ROLES = x509.ObjectIdentifier(f"{LEDGER_ARC}.2")
OID_KEYS = x509.ObjectIdentifier(f"{LEDGER_ARC}.3")
#: At most as many keys as the participant registry binds at enrolment.
MAX_KEYS = 8
CERTIFICATE_SUFFIXES = (".pem", ".crt", ".cer", ".der")


class CertificateError(ValueError):
    """A certificate that cannot be read, or is not an office participant certificate."""


class IdentityNotVerified(Exception):
    """A counterparty's identity failed one or more checks; the message names each."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        failed = "; ".join(f"{c.name}: {c.detail}" for c in verdict.failures)
        super().__init__(f"identity not verified: {failed}")


# --- The profile ---


#: C0 and C1 control characters (as the registry's API refuses in every text field).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class ParticipantIdentity:
    """What a participant certificate binds: a legal identity to a participant id and keys."""

    participant_id: int
    legal_name: str
    registration_number: str
    #: ISO 3166-1 alpha-2.
    country: str
    roles: Role
    #: The keys bound when the certificate was issued, the primary key (the subject's) first.
    #: Keys rotate without a new certificate: the chain says which keys are bound now.
    keys: tuple[ChecksumAddress, ...]

    def __post_init__(self) -> None:
        if not 0 < self.participant_id < 2**64:
            raise CertificateError(f"participant id {self.participant_id} is out of range")
        if not self.legal_name.strip() or not self.registration_number.strip():
            raise CertificateError("a legal name and a registration number are required")
        for name, text in (
            ("legal name", self.legal_name),
            ("registration number", self.registration_number),
        ):
            # Read back into terminals, logs and pages by every counterparty: one printable line.
            found = _CONTROL.search(text)
            if found is not None:
                raise CertificateError(
                    f"the {name} holds control character U+{ord(found.group()):04X}: "
                    "it must be a single printable line"
                )
        if len(self.country) != 2 or not self.country.isalpha() or not self.country.isupper():
            raise CertificateError(f"country {self.country!r} is not an ISO 3166 alpha-2 code")
        if not self.roles or self.roles & ~_ALL_ROLES:
            raise CertificateError(f"invalid roles {int(self.roles)}")
        if not 0 < len(self.keys) <= MAX_KEYS or len(set(self.keys)) != len(self.keys):
            raise CertificateError(f"between 1 and {MAX_KEYS} distinct keys are needed")

    def subject(self) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, self.legal_name),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, self.registration_number),
                x509.NameAttribute(NameOID.COUNTRY_NAME, self.country),
            ]
        )

    def extensions(self) -> list[x509.UnrecognizedExtension]:
        roles = [role.name for role in Role if role in self.roles and role.name]
        return [
            x509.UnrecognizedExtension(OID_PARTICIPANT_ID, _der_integer(self.participant_id)),
            x509.UnrecognizedExtension(
                OID_ROLES, _der_sequence(_der_tlv(_UTF8, r.encode()) for r in roles)
            ),
            x509.UnrecognizedExtension(
                OID_KEYS,
                _der_sequence(_der_tlv(_OCTETS, bytes.fromhex(k[2:])) for k in self.keys),
            ),
        ]

    @classmethod
    def of(cls, certificate: x509.Certificate) -> ParticipantIdentity:
        """The identity a certificate binds; CertificateError if it is not of this profile."""
        try:
            participant_id = _der_parse_integer(_extension(certificate, OID_PARTICIPANT_ID))
            role_names = [
                _der_expect(item, _UTF8).decode()
                for item in _der_parse_sequence(_extension(certificate, OID_ROLES))
            ]
            keys = tuple(
                _address_of_octets(_der_expect(item, _OCTETS))
                for item in _der_parse_sequence(_extension(certificate, OID_KEYS))
            )
            roles = Role(0)
            for name in role_names:
                if name not in Role.__members__:
                    raise CertificateError(f"unknown role {name!r}")
                roles |= Role[name]
            return cls(
                participant_id=participant_id,
                legal_name=_name_attribute(certificate, NameOID.COMMON_NAME),
                registration_number=_name_attribute(certificate, NameOID.SERIAL_NUMBER),
                country=_name_attribute(certificate, NameOID.COUNTRY_NAME),
                roles=roles,
                keys=keys,
            )
        except (ValueError, UnicodeDecodeError) as exc:
            if isinstance(exc, CertificateError):
                raise
            raise CertificateError(f"malformed ledger extension: {exc}") from None


_ALL_ROLES = Role(sum(role.value for role in Role))


@dataclass(frozen=True)
class ParticipantCertificate:
    """A parsed office participant certificate, with its fingerprint as the chain stores it."""

    certificate: x509.Certificate = field(repr=False)
    identity: ParticipantIdentity
    fingerprint: bytes
    source: str = field(default="", compare=False)

    @classmethod
    def of(cls, certificate: x509.Certificate, source: str = "") -> ParticipantCertificate:
        return cls(
            certificate, ParticipantIdentity.of(certificate), fingerprint_of(certificate), source
        )

    @classmethod
    def parse(cls, data: bytes, source: str = "certificate") -> ParticipantCertificate:
        """A certificate from PEM or DER bytes; CertificateError names what is wrong."""
        try:
            if b"-----BEGIN CERTIFICATE-----" in data:
                certificate = x509.load_pem_x509_certificate(data)
            else:
                certificate = x509.load_der_x509_certificate(data)
        except ValueError as exc:
            raise CertificateError(f"{source} is not an X.509 certificate: {exc}") from None
        try:
            return cls.of(certificate, source)
        except CertificateError as exc:
            raise CertificateError(
                f"{source} is not an office participant certificate: {exc}"
            ) from None

    @classmethod
    def load(cls, path: Path) -> ParticipantCertificate:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CertificateError(f"cannot read {path}: {exc.strerror}") from None
        return cls.parse(data, str(path))

    @property
    def not_before(self) -> datetime.datetime:
        return self.certificate.not_valid_before_utc

    @property
    def not_after(self) -> datetime.datetime:
        return self.certificate.not_valid_after_utc

    @property
    def serial_number(self) -> int:
        return self.certificate.serial_number

    @property
    def issuer(self) -> str:
        return self.certificate.issuer.rfc4514_string()

    @property
    def key_address(self) -> ChecksumAddress | None:
        """The ledger address of the subject public key, if it is a secp256k1 key."""
        return address_of_public_key(self.certificate.public_key())

    def public_key_bytes(self) -> bytes:
        """The subject public key, SEC 1 uncompressed (what the office was given at issue)."""
        key = self.certificate.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise CertificateError("the subject key is not an elliptic-curve key")
        return key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()


def fingerprint_of(certificate: x509.Certificate) -> bytes:
    """SHA-256 of the DER encoding: what ParticipantRegistry stores as certificateFingerprint."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).digest()


def address_of_public_key(public_key: object) -> ChecksumAddress | None:
    """The ledger address (keccak of x || y) of a secp256k1 public key; None for other keys."""
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
        public_key.curve, ec.SECP256K1
    ):
        return None
    point = public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return to_checksum_address(keccak(point[1:])[-20:])


def load_root(path: Path) -> x509.Certificate:
    """The office's root certificate from a PEM or DER file."""
    try:
        data = path.read_bytes()
        if b"-----BEGIN CERTIFICATE-----" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except OSError as exc:
        raise CertificateError(f"cannot read the office root {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise CertificateError(f"{path} is not an X.509 certificate: {exc}") from None


# --- Where certificates come from ---


class CertificateSource(Protocol):
    """Participant certificates to pick from: a directory the office publishes, one file, an API."""

    def certificates_of(self, participant_id: int) -> Sequence[ParticipantCertificate]:
        """Every known certificate of the participant (renewals leave several)."""
        ...

    def certificates_naming(self, key: ChecksumAddress) -> Sequence[ParticipantCertificate]:
        """Every known certificate that lists `key` among the keys bound at issue."""
        ...


class CertificateList:
    """Certificates already in memory (a demo, a test, rows the service loaded)."""

    def __init__(self, certificates: Sequence[ParticipantCertificate]) -> None:
        self._certificates = list(certificates)

    def certificates_of(self, participant_id: int) -> list[ParticipantCertificate]:
        return [c for c in self._certificates if c.identity.participant_id == participant_id]

    def certificates_naming(self, key: ChecksumAddress) -> list[ParticipantCertificate]:
        return [c for c in self._certificates if key in c.identity.keys]


class CertificateDirectory:
    """Certificates in files under a directory (*.pem, *.crt, *.cer, *.der), or one file.

    Files that are not office participant certificates are skipped in a directory; a single
    file that is not one is an error, since it was named on purpose.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._loaded: list[ParticipantCertificate] | None = None

    def all(self) -> list[ParticipantCertificate]:
        if self._loaded is None:
            self._loaded = list(self._read())
        return self._loaded

    def _read(self) -> Iterator[ParticipantCertificate]:
        if self.path.is_file():
            yield ParticipantCertificate.load(self.path)
            return
        if not self.path.is_dir():
            raise CertificateError(f"no certificate file or directory at {self.path}")
        for path in sorted(self.path.rglob("*")):
            if path.suffix.lower() in CERTIFICATE_SUFFIXES and path.is_file():
                try:
                    yield ParticipantCertificate.load(path)
                except CertificateError:
                    continue

    def certificates_of(self, participant_id: int) -> list[ParticipantCertificate]:
        return [c for c in self.all() if c.identity.participant_id == participant_id]

    def certificates_naming(self, key: ChecksumAddress) -> list[ParticipantCertificate]:
        return [c for c in self.all() if key in c.identity.keys]


# --- What the chain says ---


@dataclass(frozen=True)
class ChainRecord:
    """A participant as the ParticipantRegistry holds it now."""

    participant_id: int
    participant: Participant
    #: Active and its certificate not expired, at the chain's time.
    active: bool


@dataclass(frozen=True)
class KeyRecord:
    """A key as the ParticipantRegistry holds it now."""

    address: ChecksumAddress
    #: The participant it is bound to, 0 if none.
    participant_id: int
    #: It left a participant (rotated away or replaced) and can never be bound again.
    retired: bool


def read_chain(participants: ParticipantRegistryClient, participant_id: int) -> ChainRecord:
    return ChainRecord(
        participant_id,
        participants.participant(participant_id),
        participants.is_active(participant_id),
    )


def read_key(participants: ParticipantRegistryClient, key: ChecksumAddress) -> KeyRecord:
    return KeyRecord(key, participants.participant_of(key), participants.is_retired(key))


# --- The checks ---


class CheckName(StrEnum):
    """The checks of a counterparty's identity, in the order they are made."""

    #: The file is an X.509 certificate of the office's participant profile.
    CERTIFICATE = "certificate"
    #: Signed by the office's root key, under the office's root name.
    CHAIN = "chain-to-root"
    #: Within its validity period now.
    VALIDITY = "validity"
    #: Its SHA-256 is the fingerprint the chain holds for its participant now.
    FINGERPRINT = "fingerprint"
    #: The address asked about is bound to the certificate's participant now.
    KEY = "key-binding"
    #: The participant is active on chain now (not suspended, revoked or expired).
    STATUS = "participant-status"


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Check:
    name: CheckName
    outcome: Outcome
    detail: str


@dataclass(frozen=True)
class Verdict:
    """The outcome of every check; verified only if all passed (the key check may be skipped
    when no address was asked about)."""

    checks: tuple[Check, ...]

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.outcome is Outcome.FAILED)

    @property
    def verified(self) -> bool:
        return all(
            c.outcome is Outcome.PASSED
            or (c.name is CheckName.KEY and c.outcome is Outcome.SKIPPED)
            for c in self.checks
        )

    def check(self, name: CheckName) -> Check:
        return next(c for c in self.checks if c.name is name)

    def require_verified(self) -> None:
        """Raise IdentityNotVerified naming each failed check."""
        if not self.verified:
            raise IdentityNotVerified(self)


def unreadable(detail: str) -> Verdict:
    """The verdict when there is no certificate to check: every other check skipped."""
    checks = [Check(CheckName.CERTIFICATE, Outcome.FAILED, detail)]
    checks += [
        Check(n, Outcome.SKIPPED, "no certificate")
        for n in CheckName
        if n is not CheckName.CERTIFICATE
    ]
    return Verdict(tuple(checks))


def verify(
    certificate: ParticipantCertificate,
    *,
    root: x509.Certificate | None,
    record: ChainRecord,
    key: KeyRecord | None,
    now: datetime.datetime,
) -> Verdict:
    """Check a participant certificate against the office root and the chain, each check named.

    Every check runs even after one fails, so that the answer says all that is wrong.
    """
    pid = certificate.identity.participant_id
    return Verdict(
        (
            Check(
                CheckName.CERTIFICATE,
                Outcome.PASSED,
                f"participant certificate of {certificate.identity.legal_name} "
                f"(participant {pid}, serial {certificate.serial_number:x})",
            ),
            _check_chain(certificate, root, now),
            _check_validity(certificate, now),
            _check_fingerprint(certificate, record),
            _check_key(pid, key, certificate.identity.keys),
            _check_status(record),
        )
    )


def _check_chain(
    certificate: ParticipantCertificate, root: x509.Certificate | None, now: datetime.datetime
) -> Check:
    def failed(detail: str) -> Check:
        return Check(CheckName.CHAIN, Outcome.FAILED, detail)

    if root is None:
        return Check(CheckName.CHAIN, Outcome.SKIPPED, "no office root certificate given")
    root_name = _common_name(root.subject)
    try:
        constraints = root.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return failed(f"the given root {root_name} is not a certificate authority")
    if not constraints.ca:
        return failed(f"the given root {root_name} is not a certificate authority")
    if not root.not_valid_before_utc <= now <= root.not_valid_after_utc:
        return failed(f"the office root {root_name} is not valid now")
    cert = certificate.certificate
    if cert.issuer != root.subject:
        return failed(f"issued by {_common_name(cert.issuer)}, not by the office root {root_name}")
    try:
        own = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if own.ca:
            return failed("the certificate is a CA certificate, not a participant's")
    except x509.ExtensionNotFound:
        pass
    try:
        cert.verify_directly_issued_by(root)
    except InvalidSignature:
        return failed(
            "the signature does not verify with the office root's key: the certificate was "
            "altered, or issued by another authority under the same name"
        )
    except (ValueError, TypeError) as exc:
        return failed(f"cannot be checked against the office root: {exc}")
    return Check(CheckName.CHAIN, Outcome.PASSED, f"signed by the office root {root_name}")


def _check_validity(certificate: ParticipantCertificate, now: datetime.datetime) -> Check:
    window = f"{_date(certificate.not_before)} to {_date(certificate.not_after)}"
    if now < certificate.not_before:
        return Check(CheckName.VALIDITY, Outcome.FAILED, f"not valid yet: valid {window}")
    if now > certificate.not_after:
        return Check(
            CheckName.VALIDITY,
            Outcome.FAILED,
            f"expired on {_date(certificate.not_after)} (valid {window})",
        )
    return Check(CheckName.VALIDITY, Outcome.PASSED, f"valid {window}")


def _check_fingerprint(certificate: ParticipantCertificate, record: ChainRecord) -> Check:
    pid = record.participant_id
    if record.participant.status is ParticipantStatus.NONE:
        return Check(
            CheckName.FINGERPRINT, Outcome.FAILED, f"participant {pid} is not enrolled on chain"
        )
    on_chain = record.participant.certificate_fingerprint
    if certificate.fingerprint != on_chain:
        return Check(
            CheckName.FINGERPRINT,
            Outcome.FAILED,
            f"SHA-256 0x{certificate.fingerprint.hex()} is not the fingerprint the chain holds "
            f"for participant {pid} (0x{on_chain.hex()}): another certificate is on record",
        )
    return Check(
        CheckName.FINGERPRINT,
        Outcome.PASSED,
        f"SHA-256 0x{on_chain.hex()[:16]}... is on chain for participant {pid}",
    )


def _check_key(pid: int, key: KeyRecord | None, issued: tuple[ChecksumAddress, ...]) -> Check:
    if key is None:
        return Check(CheckName.KEY, Outcome.SKIPPED, "no address asked about")
    if key.participant_id == pid:
        later = "" if key.address in issued else " (bound after the certificate was issued)"
        return Check(
            CheckName.KEY, Outcome.PASSED, f"{key.address} is bound to participant {pid} now{later}"
        )
    if key.retired:
        detail = (
            f"{key.address} is no longer bound to participant {pid}: it was rotated away or "
            "replaced, and is retired for good"
        )
    elif key.participant_id == 0:
        detail = f"{key.address} is not bound to any participant"
    else:
        detail = f"{key.address} is bound to participant {key.participant_id}, not {pid}"
    return Check(CheckName.KEY, Outcome.FAILED, detail)


def _check_status(record: ChainRecord) -> Check:
    pid, participant = record.participant_id, record.participant
    status = participant.status
    if status is ParticipantStatus.ACTIVE and record.active:
        return Check(CheckName.STATUS, Outcome.PASSED, f"participant {pid} is active")
    if status is ParticipantStatus.ACTIVE:
        detail = (
            f"participant {pid}'s certificate expired on chain "
            f"({_date(_utc(participant.certificate_not_after))}): it cannot act until renewed"
        )
    elif status is ParticipantStatus.NONE:
        detail = f"participant {pid} is not enrolled on chain"
    else:
        detail = f"participant {pid} is {status.name.lower()}"
    return Check(CheckName.STATUS, Outcome.FAILED, detail)


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not values:
        return name.rfc4514_string()
    value = values[0].value
    return repr(value if isinstance(value, str) else value.decode())


def _date(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _utc(timestamp: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC)


# --- DER, the four types the profile uses ---

_INTEGER, _OCTETS, _UTF8, _SEQUENCE = 0x02, 0x04, 0x0C, 0x30


def _der_tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        size = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(size)]) + size
    return bytes([tag]) + length + content


def _der_integer(value: int) -> bytes:
    return _der_tlv(_INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _der_sequence(items: Iterator[bytes] | Sequence[bytes]) -> bytes:
    return _der_tlv(_SEQUENCE, b"".join(items))


def _der_read(data: bytes, offset: int) -> tuple[int, bytes, int]:
    """(tag, content, next offset) of the element at `offset`; definite lengths only."""
    if offset + 2 > len(data):
        raise ValueError("truncated DER")
    tag, first = data[offset], data[offset + 1]
    offset += 2
    if first < 0x80:
        length = first
    else:
        size = first & 0x7F
        if size == 0 or size > 4 or offset + size > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[offset : offset + size], "big")
        offset += size
    if offset + length > len(data):
        raise ValueError("truncated DER")
    return tag, data[offset : offset + length], offset + length


def _der_expect(element: tuple[int, bytes], tag: int) -> bytes:
    if element[0] != tag:
        raise ValueError(f"expected DER tag 0x{tag:02x}, found 0x{element[0]:02x}")
    return element[1]


def _der_single(data: bytes, tag: int) -> bytes:
    found, content, end = _der_read(data, 0)
    if end != len(data):
        raise ValueError("trailing bytes after DER value")
    return _der_expect((found, content), tag)


def _der_parse_integer(data: bytes) -> int:
    content = _der_single(data, _INTEGER)
    if not content or content[0] & 0x80:
        raise ValueError("participant id must be a non-negative INTEGER")
    return int.from_bytes(content, "big")


def _der_parse_sequence(data: bytes) -> list[tuple[int, bytes]]:
    content = _der_single(data, _SEQUENCE)
    items, offset = [], 0
    while offset < len(content):
        tag, item, offset = _der_read(content, offset)
        items.append((tag, item))
    return items


def _address_of_octets(raw: bytes) -> ChecksumAddress:
    if len(raw) != 20:
        raise ValueError("a key is a 20-byte address")
    return to_checksum_address(raw)


def _extension(certificate: x509.Certificate, oid: x509.ObjectIdentifier) -> bytes:
    try:
        value = certificate.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        raise CertificateError(f"no {oid.dotted_string} extension") from None
    if not isinstance(value, x509.UnrecognizedExtension):
        raise CertificateError(f"unexpected {oid.dotted_string} extension")
    return value.value


def _name_attribute(certificate: x509.Certificate, oid: x509.ObjectIdentifier) -> str:
    values = certificate.subject.get_attributes_for_oid(oid)
    if len(values) != 1:
        raise CertificateError(f"the subject needs exactly one {oid.dotted_string} attribute")
    value = values[0].value
    return value if isinstance(value, str) else value.decode()
