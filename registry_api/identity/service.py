"""Counterparty identification: who a participant id or address is, and whether to trust it now.

`IdentityService.identify` is the one function behind `ipledger identity verify` and
`GET /v1/participants/{id-or-address}/identity`: it finds the participant's certificate, checks
it against the office root and the chain (ledger.certificates.verify), and returns a report
that names every check and its outcome.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Sequence
from typing import ClassVar

from cryptography import x509
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from pydantic import BaseModel, ConfigDict

from ledger.certificates import (
    CertificateError,
    CertificateSource,
    CheckName,
    KeyRecord,
    ParticipantCertificate,
    Verdict,
    read_chain,
    read_key,
    unreadable,
    verify,
)
from ledger.participants import ParticipantRegistryClient
from ledger.types import ParticipantStatus

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_PARTICIPANT_ID = re.compile(r"[1-9][0-9]{0,19}")


class IdentityError(Exception):
    """A request the service cannot answer; `http_status` is the status it maps to."""

    http_status: ClassVar[int] = 400


class InvalidReference(IdentityError):
    """Neither a participant id nor an address."""

    http_status = 400


class UnknownParticipant(IdentityError):
    """No participant of that id, and no participant bound to (or named with) that address."""

    http_status = 404


class CertificateView(BaseModel):
    """A participant certificate as shown to a counterparty."""

    model_config = ConfigDict(frozen=True)

    participant_id: int
    legal_name: str
    registration_number: str
    country: str
    roles: list[str]
    #: The keys bound when it was issued; which are bound now is the key check's business.
    keys: list[ChecksumAddress]
    serial_number: str
    issuer: str
    not_before: datetime.datetime
    not_after: datetime.datetime
    #: SHA-256 of the DER encoding, 0x-hex: what the chain stores.
    fingerprint: str
    pem: str

    @classmethod
    def of(cls, certificate: ParticipantCertificate) -> CertificateView:
        identity = certificate.identity
        return cls(
            participant_id=identity.participant_id,
            legal_name=identity.legal_name,
            registration_number=identity.registration_number,
            country=identity.country,
            roles=[
                role.name for role in type(identity.roles) if role in identity.roles and role.name
            ],
            keys=list(identity.keys),
            serial_number=f"{certificate.serial_number:x}",
            issuer=certificate.issuer,
            not_before=certificate.not_before,
            not_after=certificate.not_after,
            fingerprint="0x" + certificate.fingerprint.hex(),
            pem=certificate.pem(),
        )


class CheckView(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: CheckName
    outcome: str
    detail: str


class IdentityReport(BaseModel):
    """The answer to "who is this, and can I deal with them now?"."""

    model_config = ConfigDict(frozen=True)

    #: What was asked: a participant id or an address.
    query: str
    participant_id: int
    address: ChecksumAddress | None
    verified: bool
    #: Names of the checks that failed, in order.
    failed: list[CheckName]
    certificate: CertificateView | None
    checks: list[CheckView]

    @classmethod
    def of(
        cls,
        query: str,
        participant_id: int,
        address: ChecksumAddress | None,
        certificate: ParticipantCertificate | None,
        verdict: Verdict,
    ) -> IdentityReport:
        return cls(
            query=query,
            participant_id=participant_id,
            address=address,
            verified=verdict.verified,
            failed=[c.name for c in verdict.failures],
            certificate=CertificateView.of(certificate) if certificate else None,
            checks=[
                CheckView(name=c.name, outcome=c.outcome.value, detail=c.detail)
                for c in verdict.checks
            ],
        )

    def summary(self) -> str:
        """One line: verified, or which checks failed and why."""
        if self.verified:
            return f"identity verified: participant {self.participant_id}"
        failed = "; ".join(f"{c.name}: {c.detail}" for c in self.checks if c.outcome == "failed")
        return f"identity NOT verified: {failed or 'a check could not be made'}"


def parse_reference(reference: str) -> int | ChecksumAddress:
    """A participant id ("12") or an address ("0x..."); InvalidReference otherwise."""
    text = reference.strip()
    if _ADDRESS.fullmatch(text):
        return to_checksum_address(text)
    if _PARTICIPANT_ID.fullmatch(text) and int(text) < 2**64:
        return int(text)
    raise InvalidReference(f"{reference!r} is neither a participant id nor a 0x address")


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class IdentityService:
    """Identifies participants from certificates and the participant registry."""

    def __init__(
        self,
        participants: ParticipantRegistryClient,
        certificates: CertificateSource,
        office_root: x509.Certificate | None,
        clock: Callable[[], datetime.datetime] = _utcnow,
    ) -> None:
        self._participants = participants
        self._certificates = certificates
        self._root = office_root
        self._clock = clock

    def identify(self, reference: str) -> IdentityReport:
        """Check who `reference` (participant id or address) is; every check named."""
        parsed = parse_reference(reference)
        key: KeyRecord | None = None
        if isinstance(parsed, int):
            participant_id = parsed
        else:
            key = read_key(self._participants, parsed)
            participant_id = key.participant_id or self._named_in_certificate(parsed)
        address = key.address if key else None
        record = read_chain(self._participants, participant_id)
        try:
            candidates = self._certificates.certificates_of(participant_id)
        except CertificateError as exc:
            return IdentityReport.of(reference, participant_id, address, None, unreadable(str(exc)))
        if record.participant.status is ParticipantStatus.NONE and not candidates:
            raise UnknownParticipant(f"no participant {participant_id} on this ledger")
        certificate = _pick(candidates, record.participant.certificate_fingerprint)
        if certificate is None:
            verdict = unreadable(f"no certificate of participant {participant_id} is known")
        else:
            verdict = verify(
                certificate, root=self._root, record=record, key=key, now=self._clock()
            )
        return IdentityReport.of(reference, participant_id, address, certificate, verdict)

    def _named_in_certificate(self, address: ChecksumAddress) -> int:
        # A key that left its participant (rotated away) is bound to no one; a certificate
        # issued while it was bound still names it, and says whose it was.
        try:
            naming = self._certificates.certificates_naming(address)
        except CertificateError:
            naming = []
        if not naming:
            raise UnknownParticipant(
                f"{address} is not bound to any participant, and no certificate names it"
            )
        return max(naming, key=lambda c: c.not_before).identity.participant_id


def _pick(
    candidates: Sequence[ParticipantCertificate], on_chain: bytes
) -> ParticipantCertificate | None:
    """The certificate the chain has on record, else the most recent one (to say why not)."""
    for certificate in candidates:
        if certificate.fingerprint == on_chain:
            return certificate
    return max(candidates, key=lambda c: c.not_before, default=None)
