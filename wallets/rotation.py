"""Key rotation from a wallet: sign with the current key, have the office record it, switch.

The participant signs an EIP-712 `KeyRotation` with the key being replaced; only the office
may record it on chain (`ParticipantRegistry.rotateKey`). `RotationOffice` is how the signed
rotation reaches the office: `OfficeOnChain` records it directly with an office key (tests, and
an office on a single machine); the registry service's API is the other way in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from eth_typing import ChecksumAddress

from ledger.participants import ParticipantRegistryClient
from ledger.signer import Signer
from ledger.typed_data import Domain, KeyRotation
from wallets.keystore import WalletDirectory, WalletError


class RotationError(WalletError):
    """A rotation that cannot be made, or that the chain does not show as made."""


@dataclass(frozen=True)
class RotationRecorded:
    """A key rotation the office has recorded."""

    participant_id: int
    old_key: ChecksumAddress
    new_key: ChecksumAddress
    #: The transaction that recorded it, when the office says.
    transaction_hash: bytes | None


class RotationOffice(Protocol):
    """Where a signed key rotation goes to be recorded on chain."""

    def submit_rotation(self, rotation: KeyRotation, signature: bytes) -> RotationRecorded:
        """Record the rotation; return once it is on chain, or raise why it was refused."""
        ...


class OfficeOnChain:
    """The office recording rotations itself through ParticipantRegistry.rotateKey."""

    def __init__(self, participants: ParticipantRegistryClient) -> None:
        """`participants` must send with a key of the office."""
        self._participants = participants

    def submit_rotation(self, rotation: KeyRotation, signature: bytes) -> RotationRecorded:
        recorded = self._participants.rotate_key(rotation, signature)
        event = recorded.event
        return RotationRecorded(
            event.participant_id,
            event.old_key,
            event.new_key,
            recorded.receipt.transaction_hash,
        )


class KeyRegistry(Protocol):
    """What a rotation reads of the participant registry (a node's client, or the registry API)."""

    def participant_of(self, key: ChecksumAddress) -> int: ...

    def is_retired(self, key: ChecksumAddress) -> bool: ...

    def check_key(self, participant_id: int, key: ChecksumAddress) -> tuple[bool, bool]: ...

    def build_key_rotation(
        self,
        participant_id: int,
        current_key: ChecksumAddress,
        new_key: ChecksumAddress,
        deadline: int,
    ) -> tuple[Domain, KeyRotation]: ...


@dataclass(frozen=True)
class SignedRotation:
    domain: Domain
    rotation: KeyRotation
    signature: bytes


def sign_rotation(
    current: Signer,
    participant_id: int,
    new_key: ChecksumAddress,
    participants: KeyRegistry,
    deadline: int,
) -> SignedRotation:
    """The rotation from `current` to `new_key`, with the current key's nonce, signed by it."""
    domain, rotation = participants.build_key_rotation(
        participant_id, current.address, new_key, deadline
    )
    return SignedRotation(domain, rotation, current.sign_typed_data(rotation.typed_data(domain)))


@dataclass(frozen=True)
class PlannedRotation:
    """What `rotate_wallet` will do, for the holder to confirm."""

    participant_id: int
    current_key: ChecksumAddress
    new_key: ChecksumAddress
    #: The rotation is already on chain; only the wallet's switch is left to do.
    recorded: bool


def plan_rotation(
    wallets: WalletDirectory,
    name: str,
    password: str,
    participants: KeyRegistry,
) -> PlannedRotation:
    """Prepare the rotation of wallet `name`: its new key is created (or the pending one taken)
    and saved before anything is signed, under the same password."""
    entry = wallets.find(name)
    current = wallets.keystore(entry).unlock(password, f"wallet {entry.name!r}")
    new = wallets.begin_rotation(entry.name, password)
    participant_id = participants.participant_of(current.address)
    if participant_id == 0:
        # A rotation recorded before the wallet could switch (the process stopped in between).
        moved_to = participants.participant_of(new.address)
        if moved_to and participants.is_retired(current.address):
            return PlannedRotation(moved_to, current.address, new.address, recorded=True)
        raise RotationError(f"{current.address} is not bound to any participant: nothing to rotate")
    return PlannedRotation(participant_id, current.address, new.address, recorded=False)


def rotate_wallet(
    wallets: WalletDirectory,
    name: str,
    password: str,
    plan: PlannedRotation,
    participants: KeyRegistry,
    office: RotationOffice,
    deadline: int,
) -> RotationRecorded:
    """Sign the planned rotation with the current key, submit it, and switch the wallet once the
    chain binds the new key; on any failure the wallet keeps its current key and the pending
    new key, so that running it again resumes."""
    entry = wallets.find(name)
    if plan.recorded:
        recorded = RotationRecorded(plan.participant_id, plan.current_key, plan.new_key, None)
    else:
        current = wallets.keystore(entry).unlock(password, f"wallet {entry.name!r}")
        signed = sign_rotation(current, plan.participant_id, plan.new_key, participants, deadline)
        recorded = office.submit_rotation(signed.rotation, signed.signature)
    bound, _ = participants.check_key(plan.participant_id, plan.new_key)
    if not bound:
        raise RotationError(
            f"the chain does not bind {plan.new_key} to participant {plan.participant_id} yet; "
            "the wallet keeps its current key: run the rotation again to finish it"
        )
    wallets.complete_rotation(entry.name)
    return recorded
