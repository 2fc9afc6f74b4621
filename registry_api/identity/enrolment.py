"""Enrolment and renewal: the office issues a certificate and records its fingerprint on chain.

Before either, the office has identified the participant off chain (identity documents,
registration extract, authority of the person acting); what reaches the chain is the
certificate's SHA-256, its end of validity, the roles and the keys, never personal data.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass

from eth_typing import ChecksumAddress
from web3.types import FilterParams

from ledger.certificates import ParticipantCertificate, ParticipantIdentity, read_chain
from ledger.chain import log_from_rpc
from ledger.deploy import Ledger
from ledger.events import KeyRecovered, KeyRotated, ParticipantEnrolled, UndecodableLog
from ledger.types import ParticipantStatus
from registry_api.identity.authority import AuthorityError, CaDirectory, CertificateAuthority


@dataclass(frozen=True)
class Certified:
    """A certificate issued and recorded on chain (enrolment or renewal)."""

    certificate: ParticipantCertificate
    transaction_hash: bytes


def enrol(
    ledger: Ledger,
    authority: CertificateAuthority,
    store: CaDirectory | None,
    identity: ParticipantIdentity,
    public_key: bytes,
    *,
    not_before: datetime.datetime,
    not_after: datetime.datetime,
) -> Certified:
    """Issue the participant's certificate and enrol it (`ledger` sends as the office)."""
    existing = ledger.participants.participant(identity.participant_id)
    if existing.status is not ParticipantStatus.NONE:
        raise AuthorityError(
            f"participant {identity.participant_id} is already enrolled "
            f"({existing.status.name.lower()}): renew its certificate instead"
        )
    certificate = authority.issue(identity, public_key, not_before=not_before, not_after=not_after)
    if store is not None:
        store.record(certificate)
    recorded = ledger.participants.enrol(
        identity.participant_id,
        identity.roles,
        certificate.fingerprint,
        int(certificate.not_after.timestamp()),
        list(identity.keys),
    )
    return Certified(certificate, recorded.receipt.transaction_hash)


def renew(
    ledger: Ledger,
    authority: CertificateAuthority,
    store: CaDirectory,
    participant_id: int,
    *,
    public_key: bytes | None,
    not_before: datetime.datetime,
    not_after: datetime.datetime,
    legal_name: str | None = None,
    registration_number: str | None = None,
    country: str | None = None,
) -> Certified:
    """Issue a new certificate for an enrolled participant and record it on chain.

    The identity is the certificate on record's, with the roles and keys the chain holds now
    (keys rotate between certificates) and any corrected legal details. The subject key is the
    current primary key: its public key must be given if it changed since the last certificate.
    A revoked participant gets no new certificate.
    """
    record = read_chain(ledger.participants, participant_id)
    status = record.participant.status
    if status in (ParticipantStatus.NONE, ParticipantStatus.REVOKED):
        raise AuthorityError(
            f"participant {participant_id} is {status.name.lower().replace('none', 'not enrolled')}"
            ": no certificate is renewed"
        )
    on_record = [
        c
        for c in store.issued().certificates_of(participant_id)
        if c.fingerprint == record.participant.certificate_fingerprint
    ]
    if not on_record:
        raise AuthorityError(
            f"the certificate on chain for participant {participant_id} is not in {store.path}"
        )
    previous = on_record[0]
    primary = record.participant.primary_key
    if public_key is None:
        if previous.key_address != primary:
            raise AuthorityError(
                f"the primary key is now {primary} (rotated since the last certificate): "
                "give its public key"
            )
        public_key = previous.public_key_bytes()
    keys = bound_keys(ledger, participant_id)
    identity = dataclasses.replace(
        previous.identity,
        legal_name=legal_name or previous.identity.legal_name,
        registration_number=registration_number or previous.identity.registration_number,
        country=country or previous.identity.country,
        roles=record.participant.roles,
        keys=(primary, *(k for k in keys if k != primary)),
    )
    certificate = authority.issue(identity, public_key, not_before=not_before, not_after=not_after)
    store.record(certificate)
    recorded = ledger.participants.renew_certificate(
        participant_id, certificate.fingerprint, int(certificate.not_after.timestamp())
    )
    return Certified(certificate, recorded.receipt.transaction_hash)


def bound_keys(ledger: Ledger, participant_id: int) -> tuple[ChecksumAddress, ...]:
    """The keys bound to a participant now, replayed from its enrolment, rotation and recovery
    events (the registry keeps no list of them)."""
    chain = ledger.chain
    query: FilterParams = {
        "address": ledger.participants.address,
        "fromBlock": ledger.manifest.block_number,
        "toBlock": "latest",
        "topics": [None, "0x" + participant_id.to_bytes(32, "big").hex()],
    }
    keys: list[ChecksumAddress] = []
    for raw in chain.backend.w3.eth.get_logs(query):
        try:
            event = chain.events.decode(log_from_rpc(raw)).event
        except UndecodableLog:
            continue
        if isinstance(event, ParticipantEnrolled) and event.participant_id == participant_id:
            keys = list(event.keys)
        elif isinstance(event, KeyRotated) and event.participant_id == participant_id:
            keys = [event.new_key if k == event.old_key else k for k in keys]
        elif isinstance(event, KeyRecovered) and event.participant_id == participant_id:
            keys = [event.new_key if k == event.lost_key else k for k in keys]
    return tuple(keys)
