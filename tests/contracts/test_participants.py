"""ParticipantRegistry through its typed client: enrolment, status, keys, approvals."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from ledger.errors import (
    AccessControlUnauthorizedAccount,
    ApprovalExpired,
    ApprovalInvalidSignature,
    ApprovalWrongChain,
    ApprovalWrongContract,
    ParticipantRegistryAlreadyEnrolled,
    ParticipantRegistryCertificateExpired,
    ParticipantRegistryInvalidCertificate,
    ParticipantRegistryInvalidKey,
    ParticipantRegistryInvalidKeyCount,
    ParticipantRegistryInvalidNonce,
    ParticipantRegistryInvalidParticipantId,
    ParticipantRegistryInvalidReason,
    ParticipantRegistryInvalidRoles,
    ParticipantRegistryInvalidStatus,
    ParticipantRegistryKeyBound,
    ParticipantRegistryKeyNotBound,
    ParticipantRegistryKeyRetired,
    ParticipantRegistryNotOffice,
    ParticipantRegistrySelfAction,
    ParticipantRegistryUnknownParticipant,
)
from ledger.events import (
    CertificateRenewed,
    KeyRecovered,
    KeyRotated,
    ParticipantEnrolled,
    ParticipantReinstated,
    ParticipantRevoked,
    ParticipantRolesChanged,
    ParticipantSuspended,
)
from ledger.participants import NONCE_CONSUMER_ROLE, ParticipantRegistryClient
from ledger.typed_data import Domain, KeyRotation, sign
from ledger.types import Participant, ParticipantStatus, Role
from tests.conftest import (
    ACME_ID,
    BANK_ID,
    BETA_ID,
    OFFICE_ID,
    UNIVERSITY_ID,
    YEAR,
    Parties,
    fingerprint,
)
from wallets.signer import LocalSigner

NEW_ID = 20  # a participant enrolled by a test
UNKNOWN_ID = 99  # never enrolled
ZERO_ADDRESS = ChecksumAddress(to_checksum_address(b"\x00" * 20))
MAX_UINT256 = 2**256 - 1
FAR_FUTURE = 4_102_444_800  # 2100-01-01, a certificate expiry any test chain is before


def _address(label: str) -> ChecksumAddress:
    """A key address nobody holds, for keys that never sign."""
    return ChecksumAddress(to_checksum_address(keccak(text=label)[:20]))


def _enrol(
    world: Parties, participant_id: int, keys: list[ChecksumAddress], not_after: int | None = None
) -> ParticipantEnrolled:
    recorded = world.ledger.participants.enrol(
        participant_id,
        Role.PARTICIPANT,
        fingerprint(f"participant {participant_id}"),
        world.now() + YEAR if not_after is None else not_after,
        keys,
    )
    return recorded.event


def _signed_rotation(
    world: Parties,
    participant_id: int,
    signer: LocalSigner,
    new_key: ChecksumAddress,
    *,
    deadline: int | None = None,
) -> tuple[Domain, KeyRotation, bytes]:
    """A rotation of `signer`'s key, signed by it, valid for an hour unless told."""
    domain, rotation = world.ledger.participants.build_key_rotation(
        participant_id,
        signer.address,
        new_key,
        world.now() + 3600 if deadline is None else deadline,
    )
    return domain, rotation, sign(signer, rotation, domain).signature


# --- Enrolment ---


def test_enrolment_records_the_participant_and_binds_every_key(world: Parties) -> None:
    participants = world.ledger.participants
    keys = [_address("first key"), _address("second key")]
    roles = Role.VALUATOR | Role.REVIEWER
    not_after = world.now() + 2 * YEAR

    recorded = participants.enrol(NEW_ID, roles, fingerprint("new"), not_after, keys)

    assert recorded.event == ParticipantEnrolled(
        participant_id=NEW_ID,
        roles=roles,
        certificate_fingerprint=fingerprint("new"),
        certificate_not_after=not_after,
        keys=tuple(keys),
        office=world.office.address,
    )
    assert [log.event for log in recorded.events] == [recorded.event]
    assert participants.participant(NEW_ID) == Participant(
        status=ParticipantStatus.ACTIVE,
        roles=roles,
        certificate_not_after=not_after,
        primary_key=keys[0],
        certificate_fingerprint=fingerprint("new"),
    )
    assert participants.is_active(NEW_ID)
    assert not participants.is_office(keys[0])
    for key in keys:
        assert participants.key_status(key) == (NEW_ID, True)
        assert participants.participant_of(key) == NEW_ID
        assert participants.check_key(NEW_ID, key) == (True, True)
        assert participants.nonce_of(key) == 0
        assert not participants.is_retired(key)


@pytest.mark.parametrize("caller", ["acme", "outsider"])
def test_enrolment_by_a_key_that_is_not_an_office_key_is_refused(
    world: Parties, caller: str
) -> None:
    signer: LocalSigner = getattr(world, caller)
    with pytest.raises(ParticipantRegistryNotOffice) as refused:
        world.ledger.participants.connect(signer).enrol(
            NEW_ID, Role.PARTICIPANT, fingerprint("new"), world.now() + YEAR, [_address("k")]
        )
    assert refused.value.caller == signer.address


def test_enrolment_with_participant_id_zero_is_refused(world: Parties) -> None:
    with pytest.raises(ParticipantRegistryInvalidParticipantId) as refused:
        _enrol(world, 0, [_address("k")])
    assert refused.value.participant_id == 0


def test_enrolment_of_an_already_enrolled_participant_is_refused(world: Parties) -> None:
    with pytest.raises(ParticipantRegistryAlreadyEnrolled) as refused:
        _enrol(world, ACME_ID, [_address("another acme key")])
    assert refused.value.participant_id == ACME_ID


@pytest.mark.parametrize("roles", [0, 1 << 5, 1 << 7 | Role.PARTICIPANT])
def test_enrolment_with_roles_outside_the_five_roles_is_refused(world: Parties, roles: int) -> None:
    with pytest.raises(ParticipantRegistryInvalidRoles) as refused:
        world.ledger.participants.enrol(
            NEW_ID, Role(roles), fingerprint("new"), world.now() + YEAR, [_address("k")]
        )
    assert refused.value.roles == roles


@pytest.mark.parametrize("case", ["zero fingerprint", "not_after in the past"])
def test_enrolment_with_an_invalid_certificate_is_refused(world: Parties, case: str) -> None:
    if case == "zero fingerprint":
        certificate, not_after = b"\x00" * 32, world.now() + YEAR
    else:
        certificate, not_after = fingerprint("new"), world.now() - 1
    with pytest.raises(ParticipantRegistryInvalidCertificate) as refused:
        world.ledger.participants.enrol(
            NEW_ID, Role.PARTICIPANT, certificate, not_after, [_address("k")]
        )
    assert refused.value.fingerprint == certificate
    assert refused.value.not_after == not_after


@pytest.mark.parametrize("count", [0, 9])
def test_enrolment_with_no_key_or_more_than_eight_keys_is_refused(
    world: Parties, count: int
) -> None:
    keys = [_address(f"key {i}") for i in range(count)]
    with pytest.raises(ParticipantRegistryInvalidKeyCount) as refused:
        _enrol(world, NEW_ID, keys)
    assert refused.value.count == count


def test_enrolment_with_eight_keys_is_accepted(world: Parties) -> None:
    keys = [_address(f"key {i}") for i in range(8)]
    assert _enrol(world, NEW_ID, keys).keys == tuple(keys)
    assert all(world.ledger.participants.participant_of(key) == NEW_ID for key in keys)


def test_enrolment_with_the_zero_address_as_a_key_is_refused(world: Parties) -> None:
    with pytest.raises(ParticipantRegistryInvalidKey) as refused:
        _enrol(world, NEW_ID, [_address("k"), ZERO_ADDRESS])
    assert refused.value.key == ZERO_ADDRESS


def test_enrolment_with_a_key_bound_to_another_participant_is_refused(world: Parties) -> None:
    with pytest.raises(ParticipantRegistryKeyBound) as refused:
        _enrol(world, NEW_ID, [_address("k"), world.acme.address])
    assert refused.value.key == world.acme.address
    assert refused.value.participant_id == ACME_ID


def test_enrolment_with_the_same_key_twice_is_refused(world: Parties) -> None:
    key = _address("k")
    with pytest.raises(ParticipantRegistryKeyBound) as refused:
        _enrol(world, NEW_ID, [key, key])
    assert refused.value.key == key
    assert refused.value.participant_id == NEW_ID


def test_enrolment_with_a_key_retired_by_rotation_is_refused(world: Parties) -> None:
    _, rotation, signature = _signed_rotation(world, ACME_ID, world.acme, _address("acme new"))
    world.ledger.participants.rotate_key(rotation, signature)

    with pytest.raises(ParticipantRegistryKeyRetired) as refused:
        _enrol(world, NEW_ID, [world.acme.address])
    assert refused.value.key == world.acme.address


# --- Suspension, reinstatement, revocation ---


def test_suspended_participant_keys_stop_working_until_it_is_reinstated(world: Parties) -> None:
    participants = world.ledger.participants
    acme, target = world.acme.address, participants.address

    suspended = participants.suspend(ACME_ID, 7)

    assert suspended.event == ParticipantSuspended(ACME_ID, 7, world.office.address)
    assert [log.event for log in suspended.events] == [suspended.event]
    assert participants.participant(ACME_ID).status == ParticipantStatus.SUSPENDED
    assert not participants.is_active(ACME_ID)
    assert participants.key_status(acme) == (ACME_ID, False)
    assert participants.check_key(ACME_ID, acme) == (True, False)
    assert participants.transaction_allowed(acme, target) is False
    assert participants.transaction_allowed(world.beta.address, target) is True

    reinstated = participants.reinstate(ACME_ID)

    assert reinstated.event == ParticipantReinstated(ACME_ID, world.office.address)
    assert participants.participant(ACME_ID).status == ParticipantStatus.ACTIVE
    assert participants.is_active(ACME_ID)
    assert participants.key_status(acme) == (ACME_ID, True)
    assert participants.check_key(ACME_ID, acme) == (True, True)
    assert participants.transaction_allowed(acme, target) is True


def test_suspending_a_suspended_participant_is_refused(world: Parties) -> None:
    world.ledger.participants.suspend(ACME_ID, 7)
    with pytest.raises(ParticipantRegistryInvalidStatus) as refused:
        world.ledger.participants.suspend(ACME_ID, 7)
    assert refused.value.participant_id == ACME_ID
    assert refused.value.status == ParticipantStatus.SUSPENDED


def test_reinstating_an_active_participant_is_refused(world: Parties) -> None:
    with pytest.raises(ParticipantRegistryInvalidStatus) as refused:
        world.ledger.participants.reinstate(BETA_ID)
    assert refused.value.participant_id == BETA_ID
    assert refused.value.status == ParticipantStatus.ACTIVE


@pytest.mark.parametrize("action", ["suspend", "revoke"])
def test_reason_code_zero_is_refused(world: Parties, action: str) -> None:
    participants = world.ledger.participants
    with pytest.raises(ParticipantRegistryInvalidReason) as refused:
        participants.suspend(ACME_ID, 0) if action == "suspend" else participants.revoke(ACME_ID, 0)
    assert refused.value.reason_code == 0
    assert participants.participant(ACME_ID).status == ParticipantStatus.ACTIVE


Action = Callable[[ParticipantRegistryClient, int], object]

OFFICE_ACTIONS: dict[str, Action] = {
    "suspend": lambda p, pid: p.suspend(pid, 1),
    "reinstate": lambda p, pid: p.reinstate(pid),
    "revoke": lambda p, pid: p.revoke(pid, 1),
    "set_roles": lambda p, pid: p.set_roles(pid, Role.VALUATOR),
    "recover_key": lambda p, pid: p.recover_key(pid, _address("lost"), _address("new")),
}
# Renewal is not among the actions on others: an office renews its own certificate.
ALL_OFFICE_ACTIONS: dict[str, Action] = {
    **OFFICE_ACTIONS,
    "renew_certificate": lambda p, pid: p.renew_certificate(pid, fingerprint("x"), FAR_FUTURE),
}


@pytest.mark.parametrize("action", ALL_OFFICE_ACTIONS)
def test_acting_on_an_unknown_participant_is_refused(world: Parties, action: str) -> None:
    with pytest.raises(ParticipantRegistryUnknownParticipant) as refused:
        ALL_OFFICE_ACTIONS[action](world.ledger.participants, UNKNOWN_ID)
    assert refused.value.participant_id == UNKNOWN_ID


@pytest.mark.parametrize("action", OFFICE_ACTIONS)
def test_an_office_key_acting_on_its_own_participant_is_refused(
    world: Parties, action: str
) -> None:
    with pytest.raises(ParticipantRegistrySelfAction) as refused:
        OFFICE_ACTIONS[action](world.ledger.participants, OFFICE_ID)
    assert refused.value.participant_id == OFFICE_ID
    assert world.ledger.participants.is_office(world.office.address)


@pytest.mark.parametrize("action", ALL_OFFICE_ACTIONS)
def test_office_actions_by_a_participant_key_are_refused(world: Parties, action: str) -> None:
    with pytest.raises(ParticipantRegistryNotOffice) as refused:
        ALL_OFFICE_ACTIONS[action](world.ledger.participants.connect(world.bank), ACME_ID)
    assert refused.value.caller == world.bank.address


def test_another_office_can_suspend_the_founding_office_which_then_loses_its_powers(
    world: Parties,
) -> None:
    participants = world.ledger.participants
    second_office = LocalSigner.generate()
    participants.enrol(
        2, Role.OFFICE, fingerprint("office 2"), world.now() + YEAR, [second_office.address]
    )
    assert participants.is_office(second_office.address)

    suspended = participants.connect(second_office).suspend(OFFICE_ID, 3)

    assert suspended.event == ParticipantSuspended(OFFICE_ID, 3, second_office.address)
    assert not participants.is_office(world.office.address)
    assert participants.transaction_allowed(world.office.address, participants.address) is False
    with pytest.raises(ParticipantRegistryNotOffice) as refused:
        _enrol(world, NEW_ID, [_address("k")])
    assert refused.value.caller == world.office.address


def test_revocation_is_final(world: Parties) -> None:
    participants = world.ledger.participants

    revoked = participants.revoke(ACME_ID, 9)

    assert revoked.event == ParticipantRevoked(ACME_ID, 9, world.office.address)
    assert [log.event for log in revoked.events] == [revoked.event]
    assert participants.participant(ACME_ID).status == ParticipantStatus.REVOKED
    assert not participants.is_active(ACME_ID)
    for action in ALL_OFFICE_ACTIONS.values():
        with pytest.raises(ParticipantRegistryInvalidStatus) as refused:
            action(participants, ACME_ID)
        assert refused.value.participant_id == ACME_ID
        assert refused.value.status == ParticipantStatus.REVOKED


def test_revoked_participant_key_stays_bound_to_it_and_cannot_be_bound_elsewhere(
    world: Parties,
) -> None:
    participants = world.ledger.participants
    acme = world.acme.address
    participants.revoke(ACME_ID, 9)

    assert participants.participant_of(acme) == ACME_ID
    assert participants.key_status(acme) == (ACME_ID, False)
    assert participants.check_key(ACME_ID, acme) == (True, False)
    assert participants.transaction_allowed(acme, participants.address) is False
    with pytest.raises(ParticipantRegistryKeyBound) as refused:
        _enrol(world, NEW_ID, [acme])
    assert refused.value.key == acme
    assert refused.value.participant_id == ACME_ID


def test_a_suspended_participant_can_be_revoked(world: Parties) -> None:
    participants = world.ledger.participants
    participants.suspend(BANK_ID, 2)

    revoked = participants.revoke(BANK_ID, 4)

    assert revoked.event == ParticipantRevoked(BANK_ID, 4, world.office.address)
    assert participants.participant(BANK_ID).status == ParticipantStatus.REVOKED


# --- Roles and certificate ---


def test_set_roles_replaces_the_roles_and_setting_the_same_roles_emits_nothing(
    world: Parties,
) -> None:
    participants = world.ledger.participants
    roles = Role.VALUATOR | Role.PARTICIPANT

    changed = participants.set_roles(BETA_ID, roles)

    assert changed.event == ParticipantRolesChanged(BETA_ID, roles, world.office.address)
    assert [log.event for log in changed.events] == [changed.event]
    assert participants.participant(BETA_ID).roles == roles

    unchanged = participants.set_roles(BETA_ID, roles)

    assert unchanged.event is None
    assert unchanged.events == ()
    assert participants.participant(BETA_ID).roles == roles


@pytest.mark.parametrize("roles", [0, 1 << 6])
def test_set_roles_outside_the_five_roles_is_refused(world: Parties, roles: int) -> None:
    with pytest.raises(ParticipantRegistryInvalidRoles) as refused:
        world.ledger.participants.set_roles(BETA_ID, Role(roles))
    assert refused.value.roles == roles


def test_renewed_certificate_replaces_fingerprint_and_expiry(world: Parties) -> None:
    participants = world.ledger.participants
    before = participants.participant(UNIVERSITY_ID)
    not_after = world.now() + 7 * YEAR

    renewed = participants.renew_certificate(UNIVERSITY_ID, fingerprint("renewed"), not_after)

    assert renewed.event == CertificateRenewed(
        UNIVERSITY_ID, fingerprint("renewed"), not_after, world.office.address
    )
    assert [log.event for log in renewed.events] == [renewed.event]
    assert participants.participant(UNIVERSITY_ID) == dataclasses.replace(
        before, certificate_fingerprint=fingerprint("renewed"), certificate_not_after=not_after
    )


def test_renewal_with_an_invalid_certificate_is_refused(world: Parties) -> None:
    participants = world.ledger.participants
    past = world.now() - 1
    with pytest.raises(ParticipantRegistryInvalidCertificate) as refused:
        participants.renew_certificate(UNIVERSITY_ID, fingerprint("renewed"), past)
    assert refused.value.fingerprint == fingerprint("renewed")
    assert refused.value.not_after == past
    with pytest.raises(ParticipantRegistryInvalidCertificate) as refused:
        participants.renew_certificate(UNIVERSITY_ID, b"\x00" * 32, world.now() + YEAR)
    assert refused.value.fingerprint == b"\x00" * 32


def test_certificate_is_valid_through_its_not_after_second_and_not_after_it(
    world: Parties,
) -> None:
    participants = world.ledger.participants
    key = _address("key")
    not_after = world.now() + 1000
    _enrol(world, NEW_ID, [key], not_after=not_after)

    world.ledger.chain.backend.mine_at(not_after)

    assert world.now() == not_after, "mine_at did not mine a block at the timestamp asked"
    assert participants.is_active(NEW_ID)
    assert participants.transaction_allowed(key, participants.address) is True

    world.ledger.chain.backend.mine_at(not_after + 1)

    assert world.now() == not_after + 1, "mine_at did not mine a block at the timestamp asked"
    assert not participants.is_active(NEW_ID)
    assert participants.transaction_allowed(key, participants.address) is False


def test_expired_certificate_stops_the_participant_until_it_is_renewed(world: Parties) -> None:
    participants = world.ledger.participants
    key = LocalSigner.generate()
    not_after = world.now() + 1000
    _enrol(world, NEW_ID, [key.address], not_after=not_after)
    assert participants.is_active(NEW_ID)

    world.ledger.chain.backend.mine_at(not_after + 600)

    assert world.now() > not_after
    assert participants.participant(NEW_ID).status == ParticipantStatus.ACTIVE
    assert not participants.is_active(NEW_ID)
    assert participants.key_status(key.address) == (NEW_ID, False)
    assert participants.check_key(NEW_ID, key.address) == (True, False)
    assert participants.transaction_allowed(key.address, participants.address) is False
    # The status says Active: what stops the rotation is the expired certificate.
    _, rotation, signature = _signed_rotation(world, NEW_ID, key, _address("new"))
    with pytest.raises(ParticipantRegistryCertificateExpired) as refused:
        participants.rotate_key(rotation, signature)
    assert refused.value.participant_id == NEW_ID
    assert refused.value.not_after == not_after

    participants.renew_certificate(NEW_ID, fingerprint("renewed"), world.now() + YEAR)

    assert participants.is_active(NEW_ID)
    assert participants.key_status(key.address) == (NEW_ID, True)
    assert participants.transaction_allowed(key.address, participants.address) is True


# --- Key rotation ---


def test_python_key_rotation_digest_equals_the_contract_digest(world: Parties) -> None:
    domain, rotation = world.ledger.participants.build_key_rotation(
        ACME_ID, world.acme.address, _address("new"), world.now() + 3600
    )
    assert domain.verifying_contract == world.ledger.participants.address
    assert domain.chain_id == world.ledger.chain.backend.w3.eth.chain_id
    assert rotation.nonce == 0
    assert rotation.digest(domain) == world.ledger.participants.key_rotation_digest(rotation)


def test_rotation_signed_by_the_current_key_replaces_it(world: Parties) -> None:
    participants = world.ledger.participants
    acme, new_key, target = world.acme.address, _address("acme new"), participants.address
    _, rotation, signature = _signed_rotation(world, ACME_ID, world.acme, new_key)

    rotated = participants.rotate_key(rotation, signature)

    assert rotated.event == KeyRotated(ACME_ID, acme, new_key, world.office.address)
    assert [log.event for log in rotated.events] == [rotated.event]
    assert participants.is_retired(acme)
    assert participants.participant_of(acme) == 0
    assert participants.key_status(acme) == (0, False)
    assert participants.check_key(ACME_ID, acme) == (False, False)
    assert participants.nonce_of(acme) == 1
    assert participants.transaction_allowed(acme, target) is False
    assert participants.key_status(new_key) == (ACME_ID, True)
    assert participants.check_key(ACME_ID, new_key) == (True, True)
    assert participants.nonce_of(new_key) == 0
    assert participants.transaction_allowed(new_key, target) is True
    assert participants.participant(ACME_ID).primary_key == new_key


def test_rotating_a_secondary_key_keeps_the_primary_key(world: Parties) -> None:
    participants = world.ledger.participants
    primary, secondary, new_key = _address("primary"), LocalSigner.generate(), _address("new")
    _enrol(world, NEW_ID, [primary, secondary.address])
    _, rotation, signature = _signed_rotation(world, NEW_ID, secondary, new_key)

    participants.rotate_key(rotation, signature)

    assert participants.participant(NEW_ID).primary_key == primary
    assert participants.participant_of(primary) == NEW_ID
    assert participants.participant_of(new_key) == NEW_ID
    assert participants.is_retired(secondary.address)


def test_replayed_rotation_is_refused_because_the_old_key_has_left_the_participant(
    world: Parties,
) -> None:
    participants = world.ledger.participants
    acme = world.acme.address
    _, first, first_signature = _signed_rotation(world, ACME_ID, world.acme, _address("one"))
    _, second, second_signature = _signed_rotation(world, ACME_ID, world.acme, _address("two"))
    assert first.nonce == second.nonce == 0
    participants.rotate_key(first, first_signature)

    # The binding is checked before the nonce: a retired key is no longer the participant's.
    for rotation, signature in [(first, first_signature), (second, second_signature)]:
        with pytest.raises(ParticipantRegistryKeyNotBound) as refused:
            participants.rotate_key(rotation, signature)
        assert refused.value.key == acme
        assert refused.value.participant_id == ACME_ID
    assert participants.participant_of(_address("two")) == 0
    assert participants.nonce_of(acme) == 1


def test_rotation_naming_another_nonce_than_the_next_one_is_refused(world: Parties) -> None:
    domain, rotation = world.ledger.participants.build_key_rotation(
        ACME_ID, world.acme.address, _address("new"), world.now() + 3600
    )
    ahead = dataclasses.replace(rotation, nonce=1)
    with pytest.raises(ParticipantRegistryInvalidNonce) as refused:
        world.ledger.participants.rotate_key(ahead, sign(world.acme, ahead, domain).signature)
    assert refused.value.key == world.acme.address
    assert refused.value.current_nonce == 0


def test_rotation_voided_by_a_nonce_used_elsewhere_is_refused(world: Parties) -> None:
    participants = world.ledger.participants
    acme = world.acme.address
    _, rotation, signature = _signed_rotation(world, ACME_ID, world.acme, _address("new"))
    participants.grant_role(NONCE_CONSUMER_ROLE, world.outsider.address)

    participants.connect(world.outsider).use_nonce(acme, 0)

    assert participants.nonce_of(acme) == 1
    assert participants.participant_of(acme) == ACME_ID
    with pytest.raises(ParticipantRegistryInvalidNonce) as refused:
        participants.rotate_key(rotation, signature)
    assert refused.value.key == acme
    assert refused.value.current_nonce == 1


def test_rotation_past_its_deadline_is_refused(world: Parties) -> None:
    deadline = world.now() - 1
    _, rotation, signature = _signed_rotation(
        world, ACME_ID, world.acme, _address("new"), deadline=deadline
    )
    with pytest.raises(ApprovalExpired) as refused:
        world.ledger.participants.rotate_key(rotation, signature)
    assert refused.value.deadline == deadline
    assert refused.value.timestamp > deadline
    assert refused.value.timestamp >= world.now()


def test_rotation_signed_for_another_chain_is_refused(world: Parties) -> None:
    domain, rotation = world.ledger.participants.build_key_rotation(
        ACME_ID, world.acme.address, _address("new"), world.now() + 3600
    )
    other_domain = dataclasses.replace(domain, chain_id=domain.chain_id + 1)
    other = dataclasses.replace(rotation, chain_id=domain.chain_id + 1)
    with pytest.raises(ApprovalWrongChain) as refused:
        world.ledger.participants.rotate_key(other, sign(world.acme, other, other_domain).signature)
    assert refused.value.signed_chain_id == domain.chain_id + 1
    assert refused.value.chain_id == domain.chain_id


def test_rotation_signed_for_another_contract_is_refused(world: Parties) -> None:
    assets = world.ledger.assets.address
    domain, rotation = world.ledger.participants.build_key_rotation(
        ACME_ID, world.acme.address, _address("new"), world.now() + 3600
    )
    other_domain = dataclasses.replace(domain, verifying_contract=assets)
    other = dataclasses.replace(rotation, verifying_contract=assets)
    with pytest.raises(ApprovalWrongContract) as refused:
        world.ledger.participants.rotate_key(other, sign(world.acme, other, other_domain).signature)
    assert refused.value.signed_contract == assets
    assert refused.value.verifying_contract == world.ledger.participants.address


@pytest.mark.parametrize(
    "forgery",
    ["signed by another key", "signed in another chain's domain", "field changed", "empty"],
)
def test_rotation_with_a_forged_signature_is_refused(world: Parties, forgery: str) -> None:
    participants = world.ledger.participants
    domain, rotation = participants.build_key_rotation(
        ACME_ID, world.acme.address, _address("new"), world.now() + 3600
    )
    submitted = rotation
    if forgery == "signed by another key":
        signature = sign(world.beta, rotation, domain).signature
    elif forgery == "signed in another chain's domain":
        other_domain = dataclasses.replace(domain, chain_id=domain.chain_id + 1)
        signature = sign(world.acme, rotation, other_domain).signature
    elif forgery == "field changed":
        signature = sign(world.acme, rotation, domain).signature
        submitted = dataclasses.replace(rotation, new_key=_address("attacker"))
    else:
        signature = b""
    with pytest.raises(ApprovalInvalidSignature) as refused:
        participants.rotate_key(submitted, signature)
    assert refused.value.signer == world.acme.address
    assert refused.value.digest == submitted.digest(domain)
    assert participants.participant_of(world.acme.address) == ACME_ID


@pytest.mark.parametrize("signer", ["beta", "outsider"])
def test_rotation_of_a_key_not_bound_to_the_participant_is_refused(
    world: Parties, signer: str
) -> None:
    key: LocalSigner = getattr(world, signer)
    _, rotation, signature = _signed_rotation(world, ACME_ID, key, _address("new"))
    with pytest.raises(ParticipantRegistryKeyNotBound) as refused:
        world.ledger.participants.rotate_key(rotation, signature)
    assert refused.value.key == key.address
    assert refused.value.participant_id == ACME_ID


def test_suspended_participant_cannot_rotate_a_key(world: Parties) -> None:
    _, rotation, signature = _signed_rotation(world, ACME_ID, world.acme, _address("new"))
    world.ledger.participants.suspend(ACME_ID, 5)
    with pytest.raises(ParticipantRegistryInvalidStatus) as refused:
        world.ledger.participants.rotate_key(rotation, signature)
    assert refused.value.participant_id == ACME_ID
    assert refused.value.status == ParticipantStatus.SUSPENDED


def test_rotation_to_a_key_bound_to_another_participant_is_refused(world: Parties) -> None:
    _, rotation, signature = _signed_rotation(world, ACME_ID, world.acme, world.beta.address)
    with pytest.raises(ParticipantRegistryKeyBound) as refused:
        world.ledger.participants.rotate_key(rotation, signature)
    assert refused.value.key == world.beta.address
    assert refused.value.participant_id == BETA_ID
    assert world.ledger.participants.nonce_of(world.acme.address) == 0


def test_rotation_to_the_zero_address_is_refused(world: Parties) -> None:
    _, rotation, signature = _signed_rotation(world, ACME_ID, world.acme, ZERO_ADDRESS)
    with pytest.raises(ParticipantRegistryInvalidKey) as refused:
        world.ledger.participants.rotate_key(rotation, signature)
    assert refused.value.key == ZERO_ADDRESS


def test_rotation_submitted_by_the_participant_itself_is_refused(world: Parties) -> None:
    _, rotation, signature = _signed_rotation(world, ACME_ID, world.acme, _address("new"))
    with pytest.raises(ParticipantRegistryNotOffice) as refused:
        world.ledger.participants.connect(world.acme).rotate_key(rotation, signature)
    assert refused.value.caller == world.acme.address


# --- Key recovery ---


def test_office_recovers_a_lost_key_without_its_signature(world: Parties) -> None:
    participants = world.ledger.participants
    lost, new_key = world.beta.address, _address("beta new")

    recovered = participants.recover_key(BETA_ID, lost, new_key)

    assert recovered.event == KeyRecovered(BETA_ID, lost, new_key, world.office.address)
    assert [log.event for log in recovered.events] == [recovered.event]
    assert participants.is_retired(lost)
    assert participants.participant_of(lost) == 0
    assert participants.check_key(BETA_ID, lost) == (False, False)
    assert participants.transaction_allowed(lost, participants.address) is False
    assert participants.key_status(new_key) == (BETA_ID, True)
    assert participants.participant(BETA_ID).primary_key == new_key
    # Recovery uses no approval: the lost key's nonce is untouched.
    assert participants.nonce_of(lost) == 0


def test_recovery_for_a_revoked_participant_is_refused(world: Parties) -> None:
    world.ledger.participants.revoke(BETA_ID, 1)
    with pytest.raises(ParticipantRegistryInvalidStatus) as refused:
        world.ledger.participants.recover_key(BETA_ID, world.beta.address, _address("new"))
    assert refused.value.participant_id == BETA_ID
    assert refused.value.status == ParticipantStatus.REVOKED


def test_recovery_of_a_key_not_bound_to_the_participant_is_refused(world: Parties) -> None:
    with pytest.raises(ParticipantRegistryKeyNotBound) as refused:
        world.ledger.participants.recover_key(BETA_ID, world.acme.address, _address("new"))
    assert refused.value.key == world.acme.address
    assert refused.value.participant_id == BETA_ID


def test_recovery_of_the_office_own_key_is_refused(world: Parties) -> None:
    with pytest.raises(ParticipantRegistrySelfAction) as refused:
        world.ledger.participants.recover_key(OFFICE_ID, world.office.address, _address("new"))
    assert refused.value.participant_id == OFFICE_ID


def test_recovery_to_a_key_bound_to_another_participant_is_refused(world: Parties) -> None:
    with pytest.raises(ParticipantRegistryKeyBound) as refused:
        world.ledger.participants.recover_key(BETA_ID, world.beta.address, world.bank.address)
    assert refused.value.key == world.bank.address
    assert refused.value.participant_id == BANK_ID


# --- Key queries and permissioning ---


def test_check_key_is_true_only_for_keys_bound_to_that_participant(world: Parties) -> None:
    participants = world.ledger.participants
    assert participants.check_key(ACME_ID, world.acme.address) == (True, True)
    assert participants.check_key(ACME_ID, world.beta.address) == (False, False)
    assert participants.check_key(ACME_ID, world.outsider.address) == (False, False)
    assert participants.check_key(ACME_ID, ZERO_ADDRESS) == (False, False)
    assert participants.check_key(0, world.outsider.address) == (False, False)
    assert participants.check_key(UNKNOWN_ID, world.acme.address) == (False, False)
    assert participants.key_status(world.outsider.address) == (0, False)
    assert participants.key_status(ZERO_ADDRESS) == (0, False)


def test_zero_address_is_not_bound_to_an_unknown_participant(world: Parties) -> None:
    # An unknown participant's record has a zero primary key, which checkKey compares first.
    assert world.ledger.participants.check_key(UNKNOWN_ID, ZERO_ADDRESS) == (False, False)


def test_transaction_allowed_for_office_and_participant_keys_only(world: Parties) -> None:
    participants = world.ledger.participants
    target = participants.address
    for key in [world.office, world.acme, world.beta, world.university, world.bank]:
        assert participants.transaction_allowed(key.address, target) is True
    assert participants.transaction_allowed(world.outsider.address, target) is False
    assert participants.transaction_allowed(ZERO_ADDRESS, target) is False


@pytest.mark.parametrize("sender", ["office", "outsider"])
def test_transaction_allowed_never_reverts_on_odd_transactions(world: Parties, sender: str) -> None:
    key: LocalSigner = getattr(world, sender)
    allowed = world.ledger.participants.transaction_allowed(
        key.address,
        ZERO_ADDRESS,
        value=MAX_UINT256,
        gas_price=MAX_UINT256,
        gas_limit=MAX_UINT256,
        payload=bytes(range(256)) * 40,
    )
    assert allowed is (sender == "office")


# --- Nonces ---


def test_use_nonce_by_an_account_without_the_nonce_consumer_role_is_refused(
    world: Parties,
) -> None:
    participants = world.ledger.participants
    assert not participants.has_role(NONCE_CONSUMER_ROLE, world.office.address)
    with pytest.raises(AccessControlUnauthorizedAccount) as refused:
        participants.use_nonce(world.acme.address, 0)
    assert refused.value.account == world.office.address
    assert refused.value.needed_role == NONCE_CONSUMER_ROLE
    assert participants.nonce_of(world.acme.address) == 0


def test_nonce_consumer_must_name_the_next_nonce_and_unbound_keys_use_none(
    world: Parties,
) -> None:
    participants = world.ledger.participants
    participants.grant_role(NONCE_CONSUMER_ROLE, world.outsider.address)
    consumer = participants.connect(world.outsider)

    with pytest.raises(ParticipantRegistryInvalidNonce) as refused:
        consumer.use_nonce(world.acme.address, 1)
    assert refused.value.key == world.acme.address
    assert refused.value.current_nonce == 0

    consumer.use_nonce(world.outsider.address, 0)

    assert participants.nonce_of(world.outsider.address) == 0
