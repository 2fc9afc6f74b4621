"""Key rotation from a wallet: signed by the current key, recorded by the office, switched."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.errors import ParticipantRegistryKeyNotBound
from ledger.typed_data import KeyRotation
from ledger.types import Role
from tests.conftest import YEAR, Parties, fingerprint
from wallets.keystore import Keystore, WalletDirectory
from wallets.rotation import (
    OfficeOnChain,
    RotationError,
    RotationRecorded,
    plan_rotation,
    rotate_wallet,
)

pytestmark = pytest.mark.parametrize("backend", ["embedded"], indirect=True)

PASSWORD = "correct horse battery"
GAMMA_ID = 20


@pytest.fixture
def wallets(world: Parties, tmp_path: Path) -> WalletDirectory:
    """A wallet 'gamma' whose key the office has enrolled as participant 20."""
    directory = WalletDirectory(tmp_path / "wallets")
    entry = directory.create("gamma", PASSWORD)
    world.ledger.participants.enrol(
        GAMMA_ID, Role.PARTICIPANT, fingerprint("gamma"), world.now() + YEAR, [entry.address]
    )
    return directory


class Refusing:
    """An office that is unreachable."""

    def submit_rotation(self, rotation: KeyRotation, signature: bytes) -> RotationRecorded:
        raise RotationError("the office did not answer")


class RecordsThenCrashes:
    """An office that records the rotation, after which the wallet's process dies."""

    def __init__(self, office: OfficeOnChain) -> None:
        self.office = office

    def submit_rotation(self, rotation: KeyRotation, signature: bytes) -> RotationRecorded:
        self.office.submit_rotation(rotation, signature)
        raise KeyboardInterrupt


def rotate(world: Parties, wallets: WalletDirectory, office: object) -> RotationRecorded:
    plan = plan_rotation(wallets, "gamma", PASSWORD, world.ledger.participants)
    return rotate_wallet(
        wallets, "gamma", PASSWORD, plan, world.ledger.participants, office,  # type: ignore[arg-type]
        world.now() + 3600,
    )  # fmt: skip


def test_a_rotation_binds_the_new_key_retires_the_old_and_switches_the_wallet(
    world: Parties, wallets: WalletDirectory
) -> None:
    old = wallets.find("gamma").address
    participants = world.ledger.participants

    recorded = rotate(world, wallets, OfficeOnChain(participants))

    new = wallets.find("gamma").address
    assert recorded.old_key == old
    assert recorded.new_key == new != old
    assert participants.check_key(GAMMA_ID, new) == (True, True)
    assert participants.is_retired(old)
    assert participants.participant_of(old) == 0
    assert wallets.find("gamma").pending_address is None
    kept = Keystore.load(wallets.root / "retired" / f"gamma.{old}.json")
    assert kept.unlock(PASSWORD).address == old  # data encrypted to the old key stays readable
    assert wallets.signer("gamma", lambda: PASSWORD).unlock().address == new


def test_an_office_that_refuses_leaves_the_wallet_on_its_key_with_the_new_one_pending(
    world: Parties, wallets: WalletDirectory
) -> None:
    old = wallets.find("gamma").address

    with pytest.raises(RotationError, match="did not answer"):
        rotate(world, wallets, Refusing())

    entry = wallets.find("gamma")
    assert entry.address == old
    assert entry.pending_address is not None
    recorded = rotate(world, wallets, OfficeOnChain(world.ledger.participants))
    assert recorded.new_key == entry.pending_address  # the same new key, saved before signing


def test_a_rotation_recorded_before_a_crash_is_finished_without_signing_again(
    world: Parties, wallets: WalletDirectory
) -> None:
    old = wallets.find("gamma").address
    with pytest.raises(KeyboardInterrupt):
        rotate(world, wallets, RecordsThenCrashes(OfficeOnChain(world.ledger.participants)))
    assert wallets.find("gamma").address == old  # on chain, but the wallet has not switched

    plan = plan_rotation(wallets, "gamma", PASSWORD, world.ledger.participants)
    recorded = rotate(world, wallets, Refusing())  # nothing is submitted again

    assert plan.recorded
    assert plan.participant_id == GAMMA_ID
    assert wallets.find("gamma").address == recorded.new_key == plan.new_key


def test_a_signed_rotation_cannot_be_used_again(world: Parties, wallets: WalletDirectory) -> None:
    seen: list[tuple[KeyRotation, bytes]] = []

    class Recording(OfficeOnChain):
        def submit_rotation(self, rotation: KeyRotation, signature: bytes) -> RotationRecorded:
            seen.append((rotation, signature))
            return super().submit_rotation(rotation, signature)

    rotate(world, wallets, Recording(world.ledger.participants))

    with pytest.raises(ParticipantRegistryKeyNotBound):
        world.ledger.participants.rotate_key(*seen[0])
