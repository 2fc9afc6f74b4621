"""Typed client of the ParticipantRegistry contract."""

from __future__ import annotations

import typing
from collections.abc import Sequence

from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak

from ledger.codec import record_converter
from ledger.contract import AccessControlled, Recorded
from ledger.events import (
    CertificateRenewed,
    KeyRecovered,
    KeyRotated,
    ParticipantEnrolled,
    ParticipantReinstated,
    ParticipantRevoked,
    ParticipantRolesChanged,
    ParticipantSuspended,
    all_of,
    only,
)
from ledger.typed_data import Domain, KeyRotation
from ledger.types import Participant, Role

_participant = record_converter(Participant)

NONCE_CONSUMER_ROLE = keccak(text="NONCE_CONSUMER_ROLE")


class ParticipantRegistryClient(AccessControlled):
    CONTRACT_NAME = "ParticipantRegistry"

    def enrol(
        self,
        participant_id: int,
        roles: Role,
        certificate_fingerprint: bytes,
        certificate_not_after: int,
        keys: Sequence[ChecksumAddress],
    ) -> Recorded[ParticipantEnrolled]:
        receipt, events = self._send(
            "enrol", participant_id, roles, certificate_fingerprint, certificate_not_after, keys
        )
        return Recorded(only(events, ParticipantEnrolled), events, receipt)

    def suspend(self, participant_id: int, reason_code: int) -> Recorded[ParticipantSuspended]:
        receipt, events = self._send("suspend", participant_id, reason_code)
        return Recorded(only(events, ParticipantSuspended), events, receipt)

    def reinstate(self, participant_id: int) -> Recorded[ParticipantReinstated]:
        receipt, events = self._send("reinstate", participant_id)
        return Recorded(only(events, ParticipantReinstated), events, receipt)

    def revoke(self, participant_id: int, reason_code: int) -> Recorded[ParticipantRevoked]:
        receipt, events = self._send("revoke", participant_id, reason_code)
        return Recorded(only(events, ParticipantRevoked), events, receipt)

    def set_roles(
        self, participant_id: int, roles: Role
    ) -> Recorded[ParticipantRolesChanged | None]:
        """Replace the roles; the event is None when they were already these."""
        receipt, events = self._send("setRoles", participant_id, roles)
        changed = all_of(events, ParticipantRolesChanged)
        return Recorded(changed[0] if changed else None, events, receipt)

    def renew_certificate(
        self, participant_id: int, certificate_fingerprint: bytes, not_after: int
    ) -> Recorded[CertificateRenewed]:
        receipt, events = self._send(
            "renewCertificate", participant_id, certificate_fingerprint, not_after
        )
        return Recorded(only(events, CertificateRenewed), events, receipt)

    def rotate_key(self, rotation: KeyRotation, signature: bytes) -> Recorded[KeyRotated]:
        receipt, events = self._send("rotateKey", rotation, signature)
        return Recorded(only(events, KeyRotated), events, receipt)

    def recover_key(
        self, participant_id: int, lost_key: ChecksumAddress, new_key: ChecksumAddress
    ) -> Recorded[KeyRecovered]:
        receipt, events = self._send("recoverKey", participant_id, lost_key, new_key)
        return Recorded(only(events, KeyRecovered), events, receipt)

    def participant(self, participant_id: int) -> Participant:
        return typing.cast(Participant, _participant(self._call("participant", participant_id)))

    def participant_of(self, key: ChecksumAddress) -> int:
        return typing.cast(int, self._call("participantOf", key))

    def key_status(self, key: ChecksumAddress) -> tuple[int, bool]:
        """The participant a key is bound to (0 if none) and whether that participant is active."""
        participant_id, active = typing.cast(tuple[int, bool], self._call("keyStatus", key))
        return participant_id, active

    def check_key(self, participant_id: int, key: ChecksumAddress) -> tuple[bool, bool]:
        """Whether `key` is bound to the participant now, and whether it is active."""
        bound, active = typing.cast(tuple[bool, bool], self._call("checkKey", participant_id, key))
        return bound, active

    def is_retired(self, key: ChecksumAddress) -> bool:
        return typing.cast(bool, self._call("isRetired", key))

    def is_active(self, participant_id: int) -> bool:
        return typing.cast(bool, self._call("isActive", participant_id))

    def is_office(self, account: ChecksumAddress) -> bool:
        return typing.cast(bool, self._call("isOffice", account))

    def key_rotation_digest(self, rotation: KeyRotation) -> bytes:
        return typing.cast(bytes, self._call("keyRotationDigest", rotation))

    def nonce_of(self, key: ChecksumAddress) -> int:
        """The key's next approval nonce, used up by every typed approval it signs."""
        return typing.cast(int, self._call("nonces", key))

    def use_nonce(self, key: ChecksumAddress, nonce: int) -> Recorded[None]:
        """Use up a key's nonce directly (nonce consumer contracts only: refused for others)."""
        receipt, events = self._send("useNonce", key, nonce)
        return Recorded(None, events, receipt)

    def transaction_allowed(
        self,
        sender: ChecksumAddress,
        target: ChecksumAddress,
        value: int = 0,
        gas_price: int = 0,
        gas_limit: int = 0,
        payload: bytes = b"",
    ) -> bool:
        return typing.cast(
            bool,
            self._call("transactionAllowed", sender, target, value, gas_price, gas_limit, payload),
        )

    def build_key_rotation(
        self,
        participant_id: int,
        current_key: ChecksumAddress,
        new_key: ChecksumAddress,
        deadline: int,
    ) -> tuple[Domain, KeyRotation]:
        """The rotation for `current_key` to sign, with its current nonce, and its domain."""
        domain = self.domain()
        rotation = KeyRotation(
            deadline=deadline,
            chain_id=domain.chain_id,
            verifying_contract=domain.verifying_contract,
            participant_id=participant_id,
            current_key=current_key,
            new_key=new_key,
            nonce=self.nonce_of(current_key),
        )
        return domain, rotation
