"""IPAssetRegistry: registering rights, one by one and in bulk, and moving them between statuses."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from ledger.assets import asset_id
from ledger.errors import (
    IPAssetRegistryAlreadyRegistered,
    IPAssetRegistryDuplicateOwner,
    IPAssetRegistryEmptyBatch,
    IPAssetRegistryInvalidDates,
    IPAssetRegistryInvalidIdentifier,
    IPAssetRegistryInvalidOwnerCount,
    IPAssetRegistryInvalidReason,
    IPAssetRegistryInvalidShares,
    IPAssetRegistryInvalidStatusTransition,
    IPAssetRegistryInvalidTitle,
    IPAssetRegistryNotOffice,
    IPAssetRegistryOwnerNotActive,
    IPAssetRegistryUnknownAsset,
    IPAssetRegistryZeroShare,
)
from ledger.events import AssetRegistered, AssetStatusChanged
from ledger.types import TOTAL_BPS, AssetInput, AssetKind, AssetStatus, Role, Share
from tests.conftest import (
    ACME_ID,
    BANK_ID,
    BETA_ID,
    UNIVERSITY_ID,
    YEAR,
    Parties,
    fingerprint,
)
from wallets.signer import LocalSigner

SPECIFICATION = hashlib.sha256(b"specification of KR 10-1234567").digest()
FILED_ON = 1_600_000_000  # 2020-09-13
GRANTED_ON = 1_650_000_000  # 2022-04-15
EXPIRES_ON = 2_231_000_000  # 2040-09-11: twenty years after filing
ACME_ALONE = (Share(ACME_ID, TOTAL_BPS),)
LAPSED_FOR_NON_PAYMENT = 7


def patent(number: str, owners: tuple[Share, ...] = ACME_ALONE) -> AssetInput:
    """A Korean patent granted in 2022 and in force until 2040."""
    return AssetInput(
        jurisdiction=b"KR",
        kind=AssetKind.PATENT,
        number=number,
        title=f"Battery electrode of patent {number}",
        document_hash=SPECIFICATION,
        filing_date=FILED_ON,
        registration_date=GRANTED_ON,
        expiry_date=EXPIRES_ON,
        owners=owners,
    )


def enrol_participants(world: Parties, first_id: int, count: int) -> list[int]:
    """Enrol `count` more participants with ids from `first_id`; return their ids."""
    ids = list(range(first_id, first_id + count))
    for participant_id in ids:
        key = LocalSigner.generate()
        world.ledger.participants.enrol(
            participant_id,
            Role.PARTICIPANT,
            fingerprint(key.address),
            world.now() + YEAR,
            [key.address],
        )
    return ids


# ---- registration ----


def test_a_registered_right_is_recorded_with_its_owner(world: Parties) -> None:
    assets = world.ledger.assets
    right = patent("10-1234567")

    registered = assets.register_asset(right)

    right_id = asset_id(b"KR", AssetKind.PATENT, "10-1234567")
    assert registered.event == AssetRegistered(
        asset_id=right_id,
        jurisdiction=b"KR",
        kind=AssetKind.PATENT,
        number="10-1234567",
        title="Battery electrode of patent 10-1234567",
        document_hash=SPECIFICATION,
        filing_date=FILED_ON,
        registration_date=GRANTED_ON,
        expiry_date=EXPIRES_ON,
        owners=ACME_ALONE,
        office=world.office.address,
    )
    assert [log.event for log in registered.events] == [registered.event]
    assert assets.asset_id_of(b"KR", AssetKind.PATENT, "10-1234567") == right_id
    record = assets.asset(right_id)
    assert record.kind == AssetKind.PATENT
    assert record.status == AssetStatus.REGISTERED
    assert (record.filing_date, record.registration_date, record.expiry_date) == (
        FILED_ON,
        GRANTED_ON,
        EXPIRES_ON,
    )
    assert record.document_hash == SPECIFICATION
    assert record.owners == ACME_ALONE
    assert assets.owners_of(right_id) == ACME_ALONE
    assert assets.share_of(right_id, ACME_ID) == TOTAL_BPS
    assert assets.share_of(right_id, BETA_ID) == 0
    assert assets.is_in_force(right_id)


def test_an_unknown_right_has_no_record_and_is_not_in_force(world: Parties) -> None:
    assets = world.ledger.assets
    unknown = asset_id(b"KR", AssetKind.PATENT, "10-0000001")

    assert assets.asset(unknown).status == AssetStatus.NONE
    assert assets.owners_of(unknown) == ()
    assert not assets.is_in_force(unknown)


def test_the_same_number_of_another_kind_or_office_is_another_right(world: Parties) -> None:
    assets = world.ledger.assets
    assets.register_asset(patent("10-1234567"))
    design = dataclasses.replace(patent("10-1234567"), kind=AssetKind.DESIGN)
    european = dataclasses.replace(patent("10-1234567"), jurisdiction=b"EP")

    registered = assets.register_assets([design, european]).event

    assert [e.asset_id for e in registered] == [
        asset_id(b"KR", AssetKind.DESIGN, "10-1234567"),
        asset_id(b"EP", AssetKind.PATENT, "10-1234567"),
    ]
    assert asset_id(b"KR", AssetKind.PATENT, "10-1234567") not in {e.asset_id for e in registered}


def test_a_co_owned_right_records_each_share(world: Parties) -> None:
    assets = world.ledger.assets
    owners = (Share(ACME_ID, 6000), Share(UNIVERSITY_ID, 4000))

    registered = assets.register_asset(patent("10-2000001", owners)).event

    assert registered.owners == owners
    assert assets.owners_of(registered.asset_id) == owners
    assert assets.asset(registered.asset_id).owners == owners
    assert assets.share_of(registered.asset_id, ACME_ID) == 6000
    assert assets.share_of(registered.asset_id, UNIVERSITY_ID) == 4000


def test_ten_rights_are_registered_in_one_transaction(world: Parties) -> None:
    assets = world.ledger.assets
    rights = [patent(f"10-300000{n}") for n in range(10)]

    registered = assets.register_assets(rights)

    expected_ids = [asset_id(b"KR", AssetKind.PATENT, r.number) for r in rights]
    assert [e.asset_id for e in registered.event] == expected_ids
    assert [e.number for e in registered.event] == [r.number for r in rights]
    assert all(e.office == world.office.address for e in registered.event)
    assert len(registered.events) == 10
    for right_id in expected_ids:
        assert assets.asset(right_id).status == AssetStatus.REGISTERED
        assert assets.owners_of(right_id) == ACME_ALONE


def test_a_batch_with_one_registered_right_registers_nothing(world: Parties) -> None:
    assets = world.ledger.assets
    assets.register_asset(patent("10-4000002"))
    batch = [patent("10-4000001"), patent("10-4000002"), patent("10-4000003")]

    with pytest.raises(IPAssetRegistryAlreadyRegistered) as refused:
        assets.register_assets(batch)

    assert refused.value.asset_id == asset_id(b"KR", AssetKind.PATENT, "10-4000002")
    for number in ("10-4000001", "10-4000003"):
        assert assets.asset(asset_id(b"KR", AssetKind.PATENT, number)).status == AssetStatus.NONE


def test_a_batch_that_names_one_right_twice_registers_nothing(world: Parties) -> None:
    assets = world.ledger.assets

    with pytest.raises(IPAssetRegistryAlreadyRegistered) as refused:
        assets.register_assets([patent("10-4000001"), patent("10-4000004"), patent("10-4000001")])

    assert refused.value.asset_id == asset_id(b"KR", AssetKind.PATENT, "10-4000001")
    assert assets.asset(refused.value.asset_id).status == AssetStatus.NONE
    assert assets.asset(asset_id(b"KR", AssetKind.PATENT, "10-4000004")).status == AssetStatus.NONE


def test_an_empty_batch_is_refused(world: Parties) -> None:
    with pytest.raises(IPAssetRegistryEmptyBatch):
        world.ledger.assets.register_assets([])


@pytest.mark.parametrize("who", ["acme", "bank", "outsider"])
def test_only_the_office_registers_rights(world: Parties, who: str) -> None:
    caller: LocalSigner = getattr(world, who)
    assets = world.ledger.assets.connect(caller)

    with pytest.raises(IPAssetRegistryNotOffice) as refused:
        assets.register_asset(patent("10-1234567"))
    assert refused.value.caller == caller.address

    with pytest.raises(IPAssetRegistryNotOffice) as refused:
        assets.register_assets([patent("10-1234567")])
    assert refused.value.caller == caller.address


def test_a_right_cannot_be_registered_twice(world: Parties) -> None:
    assets = world.ledger.assets
    first = assets.register_asset(patent("10-1234567")).event
    again = dataclasses.replace(
        patent("10-1234567", (Share(BETA_ID, TOTAL_BPS),)), title="Another title"
    )

    with pytest.raises(IPAssetRegistryAlreadyRegistered) as refused:
        assets.register_asset(again)

    assert refused.value.asset_id == first.asset_id
    assert assets.owners_of(first.asset_id) == ACME_ALONE


@pytest.mark.parametrize(
    ("jurisdiction", "number"),
    [
        pytest.param(b"kr", "10-1234567", id="lower-case jurisdiction"),
        pytest.param(b"K1", "10-1234567", id="digit in jurisdiction"),
        pytest.param(b"KR", "10 1234567", id="space in number"),
        pytest.param(b"KR", "10-1234567b", id="lower-case letter in number"),
        pytest.param(b"KR", "10_1234567", id="underscore in number"),
        pytest.param(b"KR", "", id="empty number"),
        pytest.param(b"KR", "1" * 33, id="33-character number"),
    ],
)
def test_a_right_with_a_non_canonical_identifier_is_refused(
    world: Parties, jurisdiction: bytes, number: str
) -> None:
    right = dataclasses.replace(patent("10-1234567"), jurisdiction=jurisdiction, number=number)

    with pytest.raises(IPAssetRegistryInvalidIdentifier) as refused:
        world.ledger.assets.register_asset(right)

    assert refused.value.jurisdiction == jurisdiction
    assert refused.value.number == number


def test_every_canonical_character_and_a_32_character_number_are_accepted(
    world: Parties,
) -> None:
    numbers = ["US-11/234.567B2", "9" * 32]

    registered = world.ledger.assets.register_assets([patent(n) for n in numbers]).event

    assert [e.number for e in registered] == numbers


@pytest.mark.parametrize(
    ("title", "length"),
    [
        pytest.param("", 0, id="empty"),
        pytest.param("x" * 1025, 1025, id="1025 bytes"),
        pytest.param("é" * 513, 1026, id="513 two-byte characters"),
    ],
)
def test_a_right_with_an_empty_or_overlong_title_is_refused(
    world: Parties, title: str, length: int
) -> None:
    right = dataclasses.replace(patent("10-1234567"), title=title)

    with pytest.raises(IPAssetRegistryInvalidTitle) as refused:
        world.ledger.assets.register_asset(right)

    assert refused.value.length == length


def test_a_title_of_1024_bytes_is_accepted(world: Parties) -> None:
    title = "é" * 511 + "xy"
    right = dataclasses.replace(patent("10-1234567"), title=title)

    assert world.ledger.assets.register_asset(right).event.title == title


@pytest.mark.parametrize(
    ("filing", "registration", "expiry"),
    [
        pytest.param(GRANTED_ON, FILED_ON, EXPIRES_ON, id="registered before filing"),
        pytest.param(FILED_ON, GRANTED_ON, GRANTED_ON, id="expires on registration"),
        pytest.param(FILED_ON, GRANTED_ON, FILED_ON + 1, id="expires before registration"),
        pytest.param(FILED_ON, 0, FILED_ON, id="pending, expires on filing"),
    ],
)
def test_a_right_with_inconsistent_dates_is_refused(
    world: Parties, filing: int, registration: int, expiry: int
) -> None:
    right = dataclasses.replace(
        patent("10-1234567"), filing_date=filing, registration_date=registration, expiry_date=expiry
    )

    with pytest.raises(IPAssetRegistryInvalidDates) as refused:
        world.ledger.assets.register_asset(right)

    assert (refused.value.filing_date, refused.value.registration_date) == (filing, registration)
    assert refused.value.expiry_date == expiry


def test_a_right_without_registration_date_or_term_is_accepted(world: Parties) -> None:
    assets = world.ledger.assets
    copyright_ = dataclasses.replace(
        patent("C-2024-001"), kind=AssetKind.COPYRIGHT, registration_date=0, expiry_date=0
    )

    registered = assets.register_asset(copyright_).event

    assert (registered.registration_date, registered.expiry_date) == (0, 0)
    assert assets.is_in_force(registered.asset_id)


@pytest.mark.parametrize("total", [TOTAL_BPS - 1, TOTAL_BPS + 1])
def test_shares_that_do_not_sum_to_the_whole_are_refused(world: Parties, total: int) -> None:
    owners = (Share(ACME_ID, 6000), Share(UNIVERSITY_ID, total - 6000))

    with pytest.raises(IPAssetRegistryInvalidShares) as refused:
        world.ledger.assets.register_asset(patent("10-1234567", owners))

    assert refused.value.total_bps == total


def test_a_zero_share_is_refused(world: Parties) -> None:
    owners = (Share(ACME_ID, TOTAL_BPS), Share(BETA_ID, 0))

    with pytest.raises(IPAssetRegistryZeroShare) as refused:
        world.ledger.assets.register_asset(patent("10-1234567", owners))

    assert refused.value.participant_id == BETA_ID


def test_an_owner_named_twice_is_refused(world: Parties) -> None:
    owners = (Share(ACME_ID, 5000), Share(BETA_ID, 2000), Share(ACME_ID, 3000))

    with pytest.raises(IPAssetRegistryDuplicateOwner) as refused:
        world.ledger.assets.register_asset(patent("10-1234567", owners))

    assert refused.value.participant_id == ACME_ID


@pytest.mark.parametrize("count", [0, 17])
def test_a_right_without_owners_or_with_more_than_sixteen_is_refused(
    world: Parties, count: int
) -> None:
    # The count is checked first: these owners need not exist.
    owners = tuple(Share(100 + n, 1) for n in range(count))

    with pytest.raises(IPAssetRegistryInvalidOwnerCount) as refused:
        world.ledger.assets.register_asset(patent("10-1234567", owners))

    assert refused.value.count == count


def test_a_right_with_sixteen_owners_is_accepted(world: Parties) -> None:
    assets = world.ledger.assets
    ids = [ACME_ID, BETA_ID, UNIVERSITY_ID, BANK_ID, *enrol_participants(world, 100, 12)]
    owners = tuple(Share(participant_id, TOTAL_BPS // 16) for participant_id in ids)

    registered = assets.register_asset(patent("10-1234567", owners)).event

    assert assets.owners_of(registered.asset_id) == owners
    assert assets.share_of(registered.asset_id, ids[-1]) == 625


def test_a_suspended_owner_is_refused(world: Parties) -> None:
    world.ledger.participants.suspend(UNIVERSITY_ID, 1)
    owners = (Share(ACME_ID, 5000), Share(UNIVERSITY_ID, 5000))

    with pytest.raises(IPAssetRegistryOwnerNotActive) as refused:
        world.ledger.assets.register_asset(patent("10-1234567", owners))

    assert refused.value.participant_id == UNIVERSITY_ID


def test_an_owner_who_is_not_enrolled_is_refused(world: Parties) -> None:
    owners = (Share(ACME_ID, 5000), Share(99, 5000))

    with pytest.raises(IPAssetRegistryOwnerNotActive) as refused:
        world.ledger.assets.register_asset(patent("10-1234567", owners))

    assert refused.value.participant_id == 99


# ---- status ----


def test_a_right_lapses_is_restored_expires_and_is_revoked(world: Parties) -> None:
    assets = world.ledger.assets
    right_id = assets.register_asset(patent("10-1234567")).event.asset_id
    steps = [
        (AssetStatus.REGISTERED, AssetStatus.LAPSED, LAPSED_FOR_NON_PAYMENT, False),
        (AssetStatus.LAPSED, AssetStatus.REGISTERED, 8, True),
        (AssetStatus.REGISTERED, AssetStatus.EXPIRED, 9, False),
        (AssetStatus.EXPIRED, AssetStatus.REVOKED, 10, False),
    ]

    for previous, status, reason_code, in_force in steps:
        changed = assets.set_asset_status(right_id, status, reason_code)

        assert changed.event == AssetStatusChanged(
            right_id, previous, status, reason_code, world.office.address
        )
        assert assets.asset(right_id).status == status
        assert assets.is_in_force(right_id) is in_force
    assert assets.owners_of(right_id) == ACME_ALONE


def test_a_right_may_also_be_revoked_or_expire_directly_or_after_lapsing(world: Parties) -> None:
    assets = world.ledger.assets
    rights = [patent(f"10-500000{n}") for n in range(4)]
    ids = [e.asset_id for e in assets.register_assets(rights).event]
    paths = [
        [AssetStatus.REVOKED],
        [AssetStatus.EXPIRED],
        [AssetStatus.LAPSED, AssetStatus.EXPIRED],
        [AssetStatus.LAPSED, AssetStatus.REVOKED],
    ]

    for right_id, path in zip(ids, paths, strict=True):
        previous = AssetStatus.REGISTERED
        for status in path:
            changed = assets.set_asset_status(right_id, status, 1).event
            assert (changed.previous_status, changed.status) == (previous, status)
            previous = status
        assert assets.asset(right_id).status == path[-1]


def test_every_other_status_transition_is_refused(world: Parties) -> None:
    assets = world.ledger.assets
    registered = assets.register_assets([patent(f"10-600000{n}") for n in range(4)]).event
    ids = [e.asset_id for e in registered]
    assets.set_asset_status(ids[1], AssetStatus.LAPSED, 1)
    assets.set_asset_status(ids[2], AssetStatus.EXPIRED, 1)
    assets.set_asset_status(ids[3], AssetStatus.REVOKED, 1)
    allowed = {
        AssetStatus.REGISTERED: {AssetStatus.LAPSED, AssetStatus.EXPIRED, AssetStatus.REVOKED},
        AssetStatus.LAPSED: {AssetStatus.REGISTERED, AssetStatus.EXPIRED, AssetStatus.REVOKED},
        AssetStatus.EXPIRED: {AssetStatus.REVOKED},
        AssetStatus.REVOKED: set(),
    }

    for right_id, previous in zip(ids, allowed, strict=True):
        for status in set(AssetStatus) - allowed[previous]:
            with pytest.raises(IPAssetRegistryInvalidStatusTransition) as refused:
                assets.set_asset_status(right_id, status, 1)
            assert (refused.value.asset_id, refused.value.previous_status) == (right_id, previous)
            assert refused.value.status == status
        assert assets.asset(right_id).status == previous


def test_a_status_change_without_reason_is_refused(world: Parties) -> None:
    assets = world.ledger.assets
    right_id = assets.register_asset(patent("10-1234567")).event.asset_id

    with pytest.raises(IPAssetRegistryInvalidReason) as refused:
        assets.set_asset_status(right_id, AssetStatus.LAPSED, 0)

    assert refused.value.reason_code == 0
    assert assets.asset(right_id).status == AssetStatus.REGISTERED


def test_the_status_of_an_unknown_right_cannot_change(world: Parties) -> None:
    unknown = asset_id(b"KR", AssetKind.PATENT, "10-1234567")

    with pytest.raises(IPAssetRegistryUnknownAsset) as refused:
        world.ledger.assets.set_asset_status(unknown, AssetStatus.LAPSED, 1)

    assert refused.value.asset_id == unknown


def test_only_the_office_changes_a_status(world: Parties) -> None:
    right_id = world.ledger.assets.register_asset(patent("10-1234567")).event.asset_id

    with pytest.raises(IPAssetRegistryNotOffice) as refused:
        world.ledger.assets.connect(world.acme).set_asset_status(right_id, AssetStatus.LAPSED, 1)

    assert refused.value.caller == world.acme.address
    assert world.ledger.assets.asset(right_id).status == AssetStatus.REGISTERED


def test_a_right_is_no_longer_in_force_once_its_term_has_ended(world: Parties) -> None:
    assets = world.ledger.assets
    expiry = world.now() + 30 * 24 * 3600
    right = dataclasses.replace(patent("10-1234567"), expiry_date=expiry)
    right_id = assets.register_asset(right).event.asset_id
    assert assets.is_in_force(right_id)

    world.ledger.chain.backend.mine_at(expiry + 60)

    assert not assets.is_in_force(right_id)
    assert assets.asset(right_id).status == AssetStatus.REGISTERED


def test_a_right_is_in_force_on_its_expiry_date_and_not_a_second_later(world: Parties) -> None:
    assets = world.ledger.assets
    chain = world.ledger.chain.backend
    expiry = world.now() + 30 * 24 * 3600
    right = dataclasses.replace(patent("10-1234567"), expiry_date=expiry)
    right_id = assets.register_asset(right).event.asset_id

    chain.mine_at(expiry)
    assert world.now() == expiry, "mine_at(t) must mine the latest block at t"
    assert assets.is_in_force(right_id)

    chain.mine_at(expiry + 1)
    assert world.now() == expiry + 1, "mine_at(t) must mine the latest block at t"
    assert not assets.is_in_force(right_id)
