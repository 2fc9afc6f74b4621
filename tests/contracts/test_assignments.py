"""IPAssetRegistry: assignment recordals, from the parties' signatures to registration."""

from __future__ import annotations

import dataclasses
import hashlib
import typing
from collections.abc import Sequence

import pytest
from eth_abi.abi import decode as abi_decode
from eth_typing import ChecksumAddress
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_canonical_address, to_checksum_address
from eth_utils.crypto import keccak
from web3.exceptions import ContractLogicError

from ledger.artifacts import ArtifactSet
from ledger.errors import (
    ApprovalExpired,
    ApprovalInvalidSignature,
    ApprovalWrongChain,
    ApprovalWrongContract,
    ErrorDecoder,
    IPAssetRegistryAssignmentAlreadyFiled,
    IPAssetRegistryAssignmentNotFiled,
    IPAssetRegistryInvalidOwnerCount,
    IPAssetRegistryInvalidReason,
    IPAssetRegistryInvalidShare,
    IPAssetRegistryMissingConsent,
    IPAssetRegistryMissingSignature,
    IPAssetRegistryNotOffice,
    IPAssetRegistryPartyNotActive,
    IPAssetRegistryRightNotInForce,
    IPAssetRegistrySameParty,
    IPAssetRegistryShareTooHigh,
    IPAssetRegistrySignersMismatch,
    IPAssetRegistryUnexpectedSigner,
    IPAssetRegistryUnknownAsset,
    IPAssetRegistryWrongSigner,
    ParticipantRegistryInvalidNonce,
)
from ledger.events import AssignmentFiled, AssignmentRegistered, AssignmentRejected
from ledger.typed_data import Assignment, Domain, sign
from ledger.types import (
    TOTAL_BPS,
    AssetInput,
    AssetKind,
    AssetStatus,
    AssignmentStatus,
    Role,
    Share,
    SignedBy,
)
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

DAY = 24 * 3600
DEED = hashlib.sha256(b"assignment deed between ACME and BETA").digest()
ACME_ALONE = (Share(ACME_ID, TOTAL_BPS),)
HALF_AND_HALF = (Share(ACME_ID, 5000), Share(UNIVERSITY_ID, 5000))
INCOMPLETE_DEED = 3


def key_of(world: Parties, participant_id: int) -> LocalSigner:
    """The key of one of the participants that the `world` fixture enrols."""
    return {
        ACME_ID: world.acme,
        BETA_ID: world.beta,
        UNIVERSITY_ID: world.university,
        BANK_ID: world.bank,
    }[participant_id]


def register_right(world: Parties, owners: tuple[Share, ...]) -> bytes:
    """Register a Korean patent in force until 2040 and return its id."""
    right = AssetInput(
        jurisdiction=b"KR",
        kind=AssetKind.PATENT,
        number="10-1234567",
        title="Battery electrode",
        document_hash=hashlib.sha256(b"specification of KR 10-1234567").digest(),
        filing_date=1_600_000_000,
        registration_date=1_650_000_000,
        expiry_date=2_231_000_000,
        owners=owners,
    )
    return world.ledger.assets.register_asset(right).event.asset_id


def draft(
    world: Parties,
    right_id: bytes,
    assignor: int,
    assignee: int,
    share_bps: int,
    *,
    deadline: int | None = None,
) -> tuple[Domain, Assignment]:
    """An assignment with the next nonce of the assignor's key, due in a day unless told."""
    return world.ledger.assets.build_assignment(
        world.ledger.participants,
        asset_id=right_id,
        assignor=assignor,
        assignee=assignee,
        share_bps=share_bps,
        terms_hash=DEED,
        assignor_key=key_of(world, assignor).address,
        deadline=world.now() + DAY if deadline is None else deadline,
    )


def signed_by(domain: Domain, assignment: Assignment, *signers: LocalSigner) -> list[SignedBy]:
    return [sign(signer, assignment, domain) for signer in signers]


def signed(
    world: Parties, right_id: bytes, assignor: int, assignee: int, share_bps: int, *consents: int
) -> tuple[Domain, Assignment, list[SignedBy]]:
    """An assignment signed by assignor, assignee and the co-owners named in `consents`."""
    domain, assignment = draft(world, right_id, assignor, assignee, share_bps)
    parties = (assignor, assignee, *consents)
    return domain, assignment, signed_by(domain, assignment, *(key_of(world, p) for p in parties))


def signers_hash(signers: Sequence[ChecksumAddress]) -> bytes:
    """The commitment the contract keeps: bytes26(keccak256(abi.encodePacked(signers))).

    encodePacked pads the elements of an array to 32 bytes, addresses included.
    """
    return keccak(b"".join(to_canonical_address(s).rjust(32, b"\0") for s in signers))[:26]


def enrol_participants(world: Parties, first_id: int, count: int) -> list[LocalSigner]:
    """Enrol `count` more participants with ids from `first_id`; return their keys."""
    keys = [LocalSigner.generate() for _ in range(count)]
    not_after = world.now() + YEAR
    for participant_id, key in enumerate(keys, start=first_id):
        world.ledger.participants.enrol(
            participant_id, Role.PARTICIPANT, fingerprint(key.address), not_after, [key.address]
        )
    return keys


# ---- the recordal ----


def test_a_whole_assignment_is_filed_then_registered(world: Parties) -> None:
    assets, participants = world.ledger.assets, world.ledger.participants
    right_id = register_right(world, ACME_ALONE)
    domain, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, TOTAL_BPS)
    assert assignment.nonce == 0

    filed = assets.file_assignment(assignment, signatures)

    assignment_id = assignment.digest(domain)
    signers = (world.acme.address, world.beta.address)
    assert assets.assignment_digest(assignment) == assignment_id
    assert filed.event == AssignmentFiled(
        assignment_id=assignment_id,
        asset_id=right_id,
        assignor=ACME_ID,
        assignee=BETA_ID,
        share_bps=TOTAL_BPS,
        terms_hash=DEED,
        nonce=0,
        deadline=assignment.deadline,
        signers=signers,
        filer=world.office.address,
    )
    record = assets.assignment(assignment_id)
    assert record.status == AssignmentStatus.FILED
    assert record.filed_at == world.now()
    assert record.signers_hash == signers_hash(signers)
    assert participants.nonce_of(world.acme.address) == 1
    assert participants.nonce_of(world.beta.address) == 0
    assert assets.owners_of(right_id) == ACME_ALONE  # filing moves nothing

    registered = assets.register_assignment(assignment, filed.event.signers)

    assert registered.event == AssignmentRegistered(
        assignment_id=assignment_id,
        asset_id=right_id,
        owners=(Share(BETA_ID, TOTAL_BPS),),
        office=world.office.address,
    )
    assert assets.assignment(assignment_id) == dataclasses.replace(
        record, status=AssignmentStatus.REGISTERED
    )
    assert assets.owners_of(right_id) == (Share(BETA_ID, TOTAL_BPS),)
    assert assets.share_of(right_id, ACME_ID) == 0
    assert assets.asset(right_id).status == AssetStatus.REGISTERED


@pytest.mark.parametrize("filer", ["outsider", "bank", "beta"])
def test_anyone_may_file_a_signed_assignment(world: Parties, filer: str) -> None:
    key: LocalSigner = getattr(world, filer)
    right_id = register_right(world, ACME_ALONE)
    domain, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, TOTAL_BPS)

    filed = world.ledger.assets.connect(key).file_assignment(assignment, signatures)

    assert filed.event.filer == key.address
    assert filed.event.assignment_id == assignment.digest(domain)
    assert world.ledger.assets.assignment(assignment.digest(domain)).status == (
        AssignmentStatus.FILED
    )


def test_a_co_owner_assigns_its_whole_share_with_the_other_co_owners_consent(
    world: Parties,
) -> None:
    assets = world.ledger.assets
    right_id = register_right(world, HALF_AND_HALF)
    _, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, 5000, UNIVERSITY_ID)
    filed = assets.file_assignment(assignment, signatures).event
    assert filed.signers == (world.acme.address, world.beta.address, world.university.address)

    registered = assets.register_assignment(assignment, filed.signers).event

    expected = {Share(BETA_ID, 5000), Share(UNIVERSITY_ID, 5000)}
    assert len(registered.owners) == 2
    assert set(registered.owners) == expected
    assert set(assets.owners_of(right_id)) == expected


def test_an_assignor_may_keep_part_of_its_share(world: Parties) -> None:
    assets = world.ledger.assets
    right_id = register_right(world, ACME_ALONE)
    _, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, 2500)
    filed = assets.file_assignment(assignment, signatures).event

    registered = assets.register_assignment(assignment, filed.signers).event

    expected = {Share(ACME_ID, 7500), Share(BETA_ID, 2500)}
    assert len(registered.owners) == 2
    assert set(registered.owners) == expected
    assert set(assets.owners_of(right_id)) == expected
    assert assets.share_of(right_id, ACME_ID) == 7500


def test_an_assignment_to_a_co_owner_merges_the_shares(world: Parties) -> None:
    assets = world.ledger.assets
    owners = (Share(ACME_ID, 5000), Share(UNIVERSITY_ID, 3000), Share(BANK_ID, 2000))
    right_id = register_right(world, owners)

    def record(assignor: int, assignee: int, share_bps: int, consent: int) -> set[Share]:
        _, assignment, signatures = signed(world, right_id, assignor, assignee, share_bps, consent)
        filed = assets.file_assignment(assignment, signatures).event
        after = assets.register_assignment(assignment, filed.signers).event.owners
        assert len(after) == len(set(after))
        assert set(assets.owners_of(right_id)) == set(after)
        return set(after)

    # Part of ACME's share joins the bank's; ACME stays an owner.
    assert record(ACME_ID, BANK_ID, 1000, UNIVERSITY_ID) == {
        Share(ACME_ID, 4000),
        Share(UNIVERSITY_ID, 3000),
        Share(BANK_ID, 3000),
    }
    # The rest of it: ACME leaves the list of owners.
    assert record(ACME_ID, BANK_ID, 4000, UNIVERSITY_ID) == {
        Share(UNIVERSITY_ID, 3000),
        Share(BANK_ID, 7000),
    }
    assert assets.share_of(right_id, ACME_ID) == 0
    # The shortened list grows again without a trace of ACME.
    assert record(UNIVERSITY_ID, BETA_ID, 1000, BANK_ID) == {
        Share(UNIVERSITY_ID, 2000),
        Share(BANK_ID, 7000),
        Share(BETA_ID, 1000),
    }


# ---- what filing refuses ----


def test_an_assignee_signature_by_another_participant_key_is_refused(world: Parties) -> None:
    right_id = register_right(world, ACME_ALONE)
    domain, assignment = draft(world, right_id, ACME_ID, BETA_ID, TOTAL_BPS)

    with pytest.raises(IPAssetRegistryWrongSigner) as refused:
        world.ledger.assets.file_assignment(
            assignment, signed_by(domain, assignment, world.acme, world.bank)
        )

    assert refused.value.signer == world.bank.address
    assert (refused.value.expected, refused.value.bound_to) == (BETA_ID, BANK_ID)
    assert world.ledger.participants.nonce_of(world.acme.address) == 0


def test_an_assignor_signature_by_the_assignee_key_is_refused(world: Parties) -> None:
    right_id = register_right(world, ACME_ALONE)
    domain, assignment = draft(world, right_id, ACME_ID, BETA_ID, TOTAL_BPS)

    with pytest.raises(IPAssetRegistryWrongSigner) as refused:
        world.ledger.assets.file_assignment(
            assignment, signed_by(domain, assignment, world.beta, world.acme)
        )

    assert refused.value.signer == world.beta.address
    assert (refused.value.expected, refused.value.bound_to) == (ACME_ID, BETA_ID)


def test_an_assignor_signature_by_a_key_bound_to_nobody_is_refused(world: Parties) -> None:
    right_id = register_right(world, ACME_ALONE)
    domain, assignment = draft(world, right_id, ACME_ID, BETA_ID, TOTAL_BPS)

    with pytest.raises(IPAssetRegistryWrongSigner) as refused:
        world.ledger.assets.file_assignment(
            assignment, signed_by(domain, assignment, world.outsider, world.beta)
        )

    assert refused.value.signer == world.outsider.address
    assert (refused.value.expected, refused.value.bound_to) == (ACME_ID, 0)


def test_an_assignment_to_someone_who_is_not_enrolled_is_refused(world: Parties) -> None:
    right_id = register_right(world, ACME_ALONE)
    domain, assignment = draft(world, right_id, ACME_ID, 99, TOTAL_BPS)

    with pytest.raises(IPAssetRegistryWrongSigner) as refused:
        world.ledger.assets.file_assignment(
            assignment, signed_by(domain, assignment, world.acme, world.outsider)
        )
    assert refused.value.signer == world.outsider.address
    assert (refused.value.expected, refused.value.bound_to) == (99, 0)

    # An unknown participant has no primary key: the zero address must not pass for it.
    zero = to_checksum_address(bytes(20))
    with pytest.raises(IPAssetRegistryWrongSigner) as refused:
        world.ledger.assets.check_assignment(assignment, [world.acme.address, zero])
    assert (refused.value.signer, refused.value.expected, refused.value.bound_to) == (zero, 99, 0)


@pytest.mark.parametrize("suspended", [ACME_ID, BETA_ID])
def test_a_suspended_party_cannot_file(world: Parties, suspended: int) -> None:
    right_id = register_right(world, ACME_ALONE)
    _, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, TOTAL_BPS)
    world.ledger.participants.suspend(suspended, 1)

    with pytest.raises(IPAssetRegistryPartyNotActive) as refused:
        world.ledger.assets.file_assignment(assignment, signatures)

    assert refused.value.participant_id == suspended


@pytest.mark.parametrize("share_bps", [0, TOTAL_BPS + 1])
def test_a_share_of_nothing_or_of_more_than_the_whole_is_refused(
    world: Parties, share_bps: int
) -> None:
    assets = world.ledger.assets
    right_id = register_right(world, ACME_ALONE)
    _, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, share_bps)

    with pytest.raises(IPAssetRegistryInvalidShare) as refused:
        assets.file_assignment(assignment, signatures)
    assert refused.value.share_bps == share_bps

    with pytest.raises(IPAssetRegistryInvalidShare):
        assets.check_assignment(assignment, [s.signer for s in signatures])


def test_an_assignment_to_oneself_is_refused(world: Parties) -> None:
    right_id = register_right(world, ACME_ALONE)
    domain, assignment = draft(world, right_id, ACME_ID, ACME_ID, 5000)

    with pytest.raises(IPAssetRegistrySameParty) as refused:
        world.ledger.assets.file_assignment(
            assignment, signed_by(domain, assignment, world.acme, world.acme)
        )

    assert refused.value.participant_id == ACME_ID


def test_fewer_than_two_signatures_are_refused(world: Parties) -> None:
    assets = world.ledger.assets
    right_id = register_right(world, ACME_ALONE)
    domain, assignment = draft(world, right_id, ACME_ID, BETA_ID, TOTAL_BPS)

    for signers in ([], [world.acme]):
        with pytest.raises(IPAssetRegistryMissingSignature) as refused:
            assets.file_assignment(assignment, signed_by(domain, assignment, *signers))
        assert refused.value.count == len(signers)

    with pytest.raises(IPAssetRegistryMissingSignature) as refused:
        assets.check_assignment(assignment, [world.acme.address])
    assert refused.value.count == 1


# ---- replay and the signature envelope ----


def test_the_same_signed_assignment_cannot_be_filed_twice(world: Parties) -> None:
    assets = world.ledger.assets
    right_id = register_right(world, ACME_ALONE)
    domain, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, TOTAL_BPS)
    filed = assets.file_assignment(assignment, signatures).event

    with pytest.raises(IPAssetRegistryAssignmentAlreadyFiled) as refused:
        assets.connect(world.beta).file_assignment(assignment, signatures)
    assert refused.value.assignment_id == assignment.digest(domain)
    assert refused.value.status == AssignmentStatus.FILED

    assets.register_assignment(assignment, filed.signers)
    with pytest.raises(IPAssetRegistryAssignmentAlreadyFiled) as refused:
        assets.file_assignment(assignment, signatures)
    assert refused.value.status == AssignmentStatus.REGISTERED
    assert assets.owners_of(right_id) == (Share(BETA_ID, TOTAL_BPS),)


def test_a_second_assignment_signed_with_a_used_nonce_is_refused(world: Parties) -> None:
    assets = world.ledger.assets
    right_id = register_right(world, ACME_ALONE)
    domain, to_beta = draft(world, right_id, ACME_ID, BETA_ID, 5000)
    to_bank = dataclasses.replace(to_beta, assignee=BANK_ID)
    assert to_bank.nonce == to_beta.nonce == 0
    assets.file_assignment(to_beta, signed_by(domain, to_beta, world.acme, world.beta))

    with pytest.raises(ParticipantRegistryInvalidNonce) as refused:
        assets.file_assignment(to_bank, signed_by(domain, to_bank, world.acme, world.bank))

    assert (refused.value.key, refused.value.current_nonce) == (world.acme.address, 1)
    assert assets.assignment(to_bank.digest(domain)).status == AssignmentStatus.NONE


def test_a_participant_registry_error_during_filing_decodes_with_the_combined_error_abi_alone(
    world: Parties, artifacts: ArtifactSet
) -> None:
    """The registry's revert bubbles up through fileAssignment, so the IP asset registry's own
    ABI does not declare it: a client decodes it from the one published error ABI."""
    assets = world.ledger.assets
    right_id = register_right(world, ACME_ALONE)
    domain, to_beta = draft(world, right_id, ACME_ID, BETA_ID, 5000)
    to_bank = dataclasses.replace(to_beta, assignee=BANK_ID)
    assets.file_assignment(to_beta, signed_by(domain, to_beta, world.acme, world.beta))
    replay = assets.call_data(
        "fileAssignment", to_bank, signed_by(domain, to_bank, world.acme, world.bank)
    )
    with pytest.raises(ContractLogicError) as reverted:
        world.ledger.chain.backend.w3.eth.call({"to": assets.address, "data": replay})
    assert isinstance(reverted.value.data, str)
    data = bytes.fromhex(reverted.value.data.removeprefix("0x"))

    # A client of another language: only the JSON ABI, a selector and eth_abi.
    (entry,) = [
        e
        for e in artifacts.error_abi
        if e["type"] == "error" and function_signature_to_4byte_selector(_signature(e)) == data[:4]
    ]
    inputs = typing.cast(list[dict[str, str]], entry["inputs"])
    assert entry["name"] == "ParticipantRegistryInvalidNonce"
    values = abi_decode([i["type"] for i in inputs], data[4:])
    assert dict(zip([i["name"] for i in inputs], values, strict=True)) == {
        "key": world.acme.address.lower(),
        "currentNonce": 1,
    }
    assert "ParticipantRegistryInvalidNonce" not in {
        e["name"] for e in artifacts.get("IPAssetRegistry").abi if e["type"] == "error"
    }
    # And the ledger's own decoder, given nothing but that ABI.
    decoded = ErrorDecoder([artifacts.error_abi]).decode(data)
    assert isinstance(decoded, ParticipantRegistryInvalidNonce)
    assert (decoded.key, decoded.current_nonce) == (world.acme.address, 1)


def _signature(entry: typing.Mapping[str, object]) -> str:
    inputs = typing.cast(list[dict[str, str]], entry["inputs"])
    return f"{entry['name']}({','.join(i['type'] for i in inputs)})"


def test_an_assignment_past_its_deadline_is_refused(world: Parties) -> None:
    right_id = register_right(world, ACME_ALONE)
    deadline = world.now() + 3600
    domain, assignment = draft(world, right_id, ACME_ID, BETA_ID, TOTAL_BPS, deadline=deadline)
    signatures = signed_by(domain, assignment, world.acme, world.beta)
    world.ledger.chain.backend.mine_at(deadline + 1)

    with pytest.raises(ApprovalExpired) as refused:
        world.ledger.assets.file_assignment(assignment, signatures)

    assert refused.value.deadline == deadline
    assert refused.value.timestamp > deadline


def test_an_assignment_filed_in_time_is_not_registered_after_its_deadline(
    world: Parties,
) -> None:
    # The signed deadline bounds registration too: the parties agreed to a transfer by then,
    # not at whatever later moment the office gets to it. After it, rejection alone is left.
    assets = world.ledger.assets
    right_id = register_right(world, ACME_ALONE)
    deadline = world.now() + 30 * DAY
    domain, assignment = draft(world, right_id, ACME_ID, BETA_ID, TOTAL_BPS, deadline=deadline)
    filed = assets.file_assignment(
        assignment, signed_by(domain, assignment, world.acme, world.beta)
    ).event
    world.ledger.chain.backend.mine_at(deadline - 60)
    assets.check_assignment(assignment, filed.signers)  # a minute before: still registrable
    world.ledger.chain.backend.mine_at(deadline + 90 * DAY)

    with pytest.raises(ApprovalExpired) as examined:
        assets.check_assignment(assignment, filed.signers)
    with pytest.raises(ApprovalExpired) as refused:
        assets.register_assignment(assignment, filed.signers)

    assert examined.value.deadline == refused.value.deadline == deadline
    assert refused.value.timestamp > deadline
    assert assets.owners_of(right_id) == ACME_ALONE
    assert assets.assignment(filed.assignment_id).status == AssignmentStatus.FILED
    rejected = assets.reject_assignment(filed.assignment_id, INCOMPLETE_DEED).event
    assert rejected.assignment_id == filed.assignment_id


def test_an_assignment_signed_for_another_chain_is_refused(world: Parties) -> None:
    right_id = register_right(world, ACME_ALONE)
    domain, assignment = draft(world, right_id, ACME_ID, BETA_ID, TOTAL_BPS)
    chain_id = world.ledger.chain.chain_id
    other_domain = dataclasses.replace(domain, chain_id=chain_id + 1)
    elsewhere = dataclasses.replace(assignment, chain_id=chain_id + 1)

    with pytest.raises(ApprovalWrongChain) as refused:
        world.ledger.assets.file_assignment(
            elsewhere, signed_by(other_domain, elsewhere, world.acme, world.beta)
        )

    assert (refused.value.signed_chain_id, refused.value.chain_id) == (chain_id + 1, chain_id)


def test_an_assignment_signed_for_another_contract_is_refused(world: Parties) -> None:
    participants = world.ledger.participants
    right_id = register_right(world, ACME_ALONE)
    _, assignment = draft(world, right_id, ACME_ID, BETA_ID, TOTAL_BPS)
    misdirected = dataclasses.replace(assignment, verifying_contract=participants.address)
    other_domain = participants.domain()

    with pytest.raises(ApprovalWrongContract) as refused:
        world.ledger.assets.file_assignment(
            misdirected, signed_by(other_domain, misdirected, world.acme, world.beta)
        )

    assert refused.value.signed_contract == participants.address
    assert refused.value.verifying_contract == world.ledger.assets.address


def test_a_signature_made_by_another_key_than_its_claimed_signer_is_refused(
    world: Parties,
) -> None:
    assets = world.ledger.assets
    right_id = register_right(world, HALF_AND_HALF)
    domain, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, 1000, UNIVERSITY_ID)
    forgery = sign(world.outsider, assignment, domain).signature

    for position in range(3):
        claimed = signatures[position].signer
        forged = list(signatures)
        forged[position] = SignedBy(claimed, forgery)
        with pytest.raises(ApprovalInvalidSignature) as refused:
            assets.file_assignment(assignment, forged)
        assert (refused.value.signer, refused.value.digest) == (claimed, assignment.digest(domain))
    assert world.ledger.participants.nonce_of(world.acme.address) == 0


def test_an_assignment_altered_after_signing_is_refused(world: Parties) -> None:
    right_id = register_right(world, ACME_ALONE)
    domain, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, 1000)
    altered = dataclasses.replace(assignment, share_bps=9000)

    with pytest.raises(ApprovalInvalidSignature) as refused:
        world.ledger.assets.file_assignment(altered, signatures)

    assert (refused.value.signer, refused.value.digest) == (
        world.acme.address,
        altered.digest(domain),
    )


# ---- what registration refuses ----


def test_an_assignment_without_co_owner_consent_is_refused(world: Parties) -> None:
    assets = world.ledger.assets
    right_id = register_right(world, HALF_AND_HALF)
    _, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, 5000)
    signers = [s.signer for s in signatures]

    with pytest.raises(IPAssetRegistryMissingConsent) as refused:
        assets.check_assignment(assignment, signers)
    assert (refused.value.asset_id, refused.value.co_owner) == (right_id, UNIVERSITY_ID)

    filed = assets.file_assignment(assignment, signatures).event  # filing is formal only
    with pytest.raises(IPAssetRegistryMissingConsent) as refused:
        assets.register_assignment(assignment, filed.signers)
    assert (refused.value.asset_id, refused.value.co_owner) == (right_id, UNIVERSITY_ID)
    assert assets.assignment(filed.assignment_id).status == AssignmentStatus.FILED
    assert assets.owners_of(right_id) == HALF_AND_HALF


def test_a_consent_by_someone_who_is_not_a_co_owner_is_refused(world: Parties) -> None:
    assets = world.ledger.assets
    right_id = register_right(world, ACME_ALONE)
    _, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, 5000, BANK_ID)
    filed = assets.file_assignment(assignment, signatures).event

    with pytest.raises(IPAssetRegistryUnexpectedSigner) as refused:
        assets.register_assignment(assignment, filed.signers)
    assert (refused.value.signer, refused.value.participant_id) == (world.bank.address, BANK_ID)

    parties = [world.acme.address, world.beta.address]
    for extra, bound_to in [(world.outsider, 0), (world.acme, ACME_ID), (world.beta, BETA_ID)]:
        with pytest.raises(IPAssetRegistryUnexpectedSigner) as refused:
            assets.check_assignment(assignment, [*parties, extra.address])
        assert (refused.value.signer, refused.value.participant_id) == (extra.address, bound_to)


def test_a_co_owner_cannot_consent_twice(world: Parties) -> None:
    right_id = register_right(world, HALF_AND_HALF)
    _, assignment = draft(world, right_id, ACME_ID, BETA_ID, 5000)
    signers = [world.acme.address, world.beta.address, *[world.university.address] * 2]

    with pytest.raises(IPAssetRegistryUnexpectedSigner) as refused:
        world.ledger.assets.check_assignment(assignment, signers)

    assert refused.value.signer == world.university.address
    assert refused.value.participant_id == UNIVERSITY_ID


def test_an_assignment_of_more_than_the_assignor_holds_is_refused(world: Parties) -> None:
    assets = world.ledger.assets
    owners = (Share(ACME_ID, 6000), Share(UNIVERSITY_ID, 4000))
    right_id = register_right(world, owners)
    _, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, 6001, UNIVERSITY_ID)
    filed = assets.file_assignment(assignment, signatures).event

    with pytest.raises(IPAssetRegistryShareTooHigh) as refused:
        assets.register_assignment(assignment, filed.signers)

    assert refused.value.asset_id == right_id
    assert (refused.value.held, refused.value.asked) == (6000, 6001)
    assert assets.owners_of(right_id) == owners


def test_an_assignor_who_holds_no_share_is_refused(world: Parties) -> None:
    right_id = register_right(world, ACME_ALONE)
    _, assignment = draft(world, right_id, BANK_ID, BETA_ID, 100)

    with pytest.raises(IPAssetRegistryShareTooHigh) as refused:
        world.ledger.assets.check_assignment(
            assignment, [world.bank.address, world.beta.address, world.acme.address]
        )

    assert (refused.value.asset_id, refused.value.held, refused.value.asked) == (right_id, 0, 100)


def test_an_assignment_of_an_unknown_right_is_filed_but_not_registered(world: Parties) -> None:
    assets = world.ledger.assets
    unknown = keccak(b"no such right")
    _, assignment, signatures = signed(world, unknown, ACME_ID, BETA_ID, TOTAL_BPS)

    filed = assets.file_assignment(assignment, signatures).event  # filing is formal only

    with pytest.raises(IPAssetRegistryUnknownAsset) as refused:
        assets.register_assignment(assignment, filed.signers)
    assert refused.value.asset_id == unknown
    with pytest.raises(IPAssetRegistryUnknownAsset):
        assets.check_assignment(assignment, filed.signers)


def test_an_assignment_of_a_lapsed_right_is_filed_but_not_registered(world: Parties) -> None:
    assets = world.ledger.assets
    right_id = register_right(world, ACME_ALONE)
    assets.set_asset_status(right_id, AssetStatus.LAPSED, 7)
    _, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, TOTAL_BPS)
    filed = assets.file_assignment(assignment, signatures).event

    with pytest.raises(IPAssetRegistryRightNotInForce) as refused:
        assets.register_assignment(assignment, filed.signers)

    assert (refused.value.asset_id, refused.value.status) == (right_id, AssetStatus.LAPSED)


@pytest.mark.parametrize("who", ["acme", "beta", "outsider"])
def test_only_the_office_registers_or_rejects_an_assignment(world: Parties, who: str) -> None:
    caller: LocalSigner = getattr(world, who)
    right_id = register_right(world, ACME_ALONE)
    _, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, TOTAL_BPS)
    filed = world.ledger.assets.file_assignment(assignment, signatures).event
    assets = world.ledger.assets.connect(caller)

    with pytest.raises(IPAssetRegistryNotOffice) as refused:
        assets.register_assignment(assignment, filed.signers)
    assert refused.value.caller == caller.address

    with pytest.raises(IPAssetRegistryNotOffice) as refused:
        assets.reject_assignment(filed.assignment_id, 1)
    assert refused.value.caller == caller.address
    assert assets.assignment(filed.assignment_id).status == AssignmentStatus.FILED


def test_only_a_filed_assignment_can_be_registered_or_rejected(world: Parties) -> None:
    assets = world.ledger.assets
    right_id = register_right(world, ACME_ALONE)
    domain, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, TOTAL_BPS)
    assignment_id = assignment.digest(domain)
    signers = [s.signer for s in signatures]

    def assert_not_filed(status: AssignmentStatus) -> None:
        with pytest.raises(IPAssetRegistryAssignmentNotFiled) as refused:
            assets.register_assignment(assignment, signers)
        assert (refused.value.assignment_id, refused.value.status) == (assignment_id, status)
        with pytest.raises(IPAssetRegistryAssignmentNotFiled) as refused:
            assets.reject_assignment(assignment_id, 1)
        assert (refused.value.assignment_id, refused.value.status) == (assignment_id, status)

    assert_not_filed(AssignmentStatus.NONE)
    assets.file_assignment(assignment, signatures)
    assets.register_assignment(assignment, signers)
    assert_not_filed(AssignmentStatus.REGISTERED)


def test_registration_with_other_signers_than_filed_is_refused(world: Parties) -> None:
    assets = world.ledger.assets
    right_id = register_right(world, HALF_AND_HALF)
    _, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, 5000, UNIVERSITY_ID)
    filed = assets.file_assignment(assignment, signatures).event
    acme, beta, university = filed.signers

    for signers in ([acme, university, beta], [acme, beta], [acme, beta, university, university]):
        with pytest.raises(IPAssetRegistrySignersMismatch) as refused:
            assets.register_assignment(assignment, signers)
        assert refused.value.assignment_id == filed.assignment_id
    assert assets.assignment(filed.assignment_id).status == AssignmentStatus.FILED


# ---- registration examines the state of its own moment ----


@pytest.mark.parametrize("suspended", [BETA_ID, ACME_ID, UNIVERSITY_ID])
def test_a_party_suspended_after_filing_stops_the_registration(
    world: Parties, suspended: int
) -> None:
    assets = world.ledger.assets
    right_id = register_right(world, HALF_AND_HALF)
    _, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, 2500, UNIVERSITY_ID)
    filed = assets.file_assignment(assignment, signatures).event
    world.ledger.participants.suspend(suspended, 1)

    with pytest.raises(IPAssetRegistryPartyNotActive) as refused:
        assets.register_assignment(assignment, filed.signers)

    assert refused.value.participant_id == suspended
    assert assets.owners_of(right_id) == HALF_AND_HALF


def test_an_assignee_whose_certificate_expires_after_filing_stops_the_registration(
    world: Parties,
) -> None:
    assets = world.ledger.assets
    not_after = world.now() + 10 * DAY
    newcomer = LocalSigner.generate()
    world.ledger.participants.enrol(
        20, Role.PARTICIPANT, fingerprint(newcomer.address), not_after, [newcomer.address]
    )
    right_id = register_right(world, ACME_ALONE)
    # Due after the certificate ends: registration is still within the signed deadline.
    deadline = not_after + DAY
    domain, assignment = draft(world, right_id, ACME_ID, 20, TOTAL_BPS, deadline=deadline)
    signatures = signed_by(domain, assignment, world.acme, newcomer)
    filed = assets.file_assignment(assignment, signatures).event
    world.ledger.chain.backend.mine_at(not_after + 1)

    with pytest.raises(IPAssetRegistryPartyNotActive) as refused:
        assets.register_assignment(assignment, filed.signers)

    assert refused.value.participant_id == 20
    assert assets.owners_of(right_id) == ACME_ALONE


def test_an_assignor_key_rotated_away_after_filing_stops_the_registration(
    world: Parties,
) -> None:
    assets, participants = world.ledger.assets, world.ledger.participants
    right_id = register_right(world, ACME_ALONE)
    _, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, TOTAL_BPS)
    filed = assets.file_assignment(assignment, signatures).event
    new_key = LocalSigner.generate()
    domain, rotation = participants.build_key_rotation(
        ACME_ID, world.acme.address, new_key.address, world.now() + DAY
    )
    participants.rotate_key(rotation, sign(world.acme, rotation, domain).signature)

    with pytest.raises(IPAssetRegistryWrongSigner) as refused:
        assets.register_assignment(assignment, filed.signers)

    assert refused.value.signer == world.acme.address
    assert (refused.value.expected, refused.value.bound_to) == (ACME_ID, 0)
    assert assets.owners_of(right_id) == ACME_ALONE


def test_a_right_that_lapses_after_filing_is_not_assigned(world: Parties) -> None:
    assets = world.ledger.assets
    right_id = register_right(world, ACME_ALONE)
    _, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, TOTAL_BPS)
    filed = assets.file_assignment(assignment, signatures).event
    assets.set_asset_status(right_id, AssetStatus.LAPSED, 7)

    with pytest.raises(IPAssetRegistryRightNotInForce) as refused:
        assets.register_assignment(assignment, filed.signers)

    assert (refused.value.asset_id, refused.value.status) == (right_id, AssetStatus.LAPSED)


def test_a_right_whose_term_ends_after_filing_is_not_assigned(world: Parties) -> None:
    assets = world.ledger.assets
    expiry = world.now() + 30 * DAY
    right = AssetInput(
        jurisdiction=b"KR",
        kind=AssetKind.TRADEMARK,
        number="40-1234567",
        title="ACME",
        document_hash=DEED,
        filing_date=1_600_000_000,
        registration_date=1_650_000_000,
        expiry_date=expiry,
        owners=ACME_ALONE,
    )
    right_id = assets.register_asset(right).event.asset_id
    # Due after the term ends: registration is still within the signed deadline.
    domain, assignment = draft(world, right_id, ACME_ID, BETA_ID, TOTAL_BPS, deadline=expiry + DAY)
    signatures = signed_by(domain, assignment, world.acme, world.beta)
    filed = assets.file_assignment(assignment, signatures).event
    world.ledger.chain.backend.mine_at(expiry + 60)

    with pytest.raises(IPAssetRegistryRightNotInForce) as refused:
        assets.register_assignment(assignment, filed.signers)

    # Still registered: the term ended by itself, before the office marked it expired.
    assert (refused.value.asset_id, refused.value.status) == (right_id, AssetStatus.REGISTERED)


def test_a_share_reduced_by_an_earlier_registration_is_not_assigned_again(
    world: Parties,
) -> None:
    assets = world.ledger.assets
    right_id = register_right(world, ACME_ALONE)
    _, first, first_signatures = signed(world, right_id, ACME_ID, BETA_ID, 6000)
    assets.file_assignment(first, first_signatures)
    _, second, second_signatures = signed(world, right_id, ACME_ID, BANK_ID, 6000)
    assert second.nonce == first.nonce + 1
    filed = assets.file_assignment(second, second_signatures).event
    assets.register_assignment(first, [s.signer for s in first_signatures])

    with pytest.raises(IPAssetRegistryShareTooHigh) as refused:
        assets.register_assignment(second, filed.signers)

    assert (refused.value.asset_id, refused.value.held, refused.value.asked) == (
        right_id,
        4000,
        6000,
    )


# ---- rejection ----


def test_a_rejected_assignment_is_closed(world: Parties) -> None:
    assets = world.ledger.assets
    right_id = register_right(world, ACME_ALONE)
    _, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, TOTAL_BPS)
    filed = assets.file_assignment(assignment, signatures).event
    filed_at = assets.assignment(filed.assignment_id).filed_at

    rejected = assets.reject_assignment(filed.assignment_id, INCOMPLETE_DEED)

    assert rejected.event == AssignmentRejected(
        filed.assignment_id, INCOMPLETE_DEED, world.office.address
    )
    record = assets.assignment(filed.assignment_id)
    assert (record.status, record.filed_at) == (AssignmentStatus.REJECTED, filed_at)
    with pytest.raises(IPAssetRegistryAssignmentNotFiled) as refused:
        assets.register_assignment(assignment, filed.signers)
    assert (refused.value.assignment_id, refused.value.status) == (
        filed.assignment_id,
        AssignmentStatus.REJECTED,
    )
    with pytest.raises(IPAssetRegistryAssignmentNotFiled) as refused:
        assets.reject_assignment(filed.assignment_id, INCOMPLETE_DEED)
    assert refused.value.status == AssignmentStatus.REJECTED
    with pytest.raises(IPAssetRegistryAssignmentAlreadyFiled) as replayed:
        assets.file_assignment(assignment, signatures)
    assert replayed.value.status == AssignmentStatus.REJECTED
    assert assets.owners_of(right_id) == ACME_ALONE


def test_a_rejection_without_reason_is_refused(world: Parties) -> None:
    assets = world.ledger.assets
    right_id = register_right(world, ACME_ALONE)
    _, assignment, signatures = signed(world, right_id, ACME_ID, BETA_ID, TOTAL_BPS)
    filed = assets.file_assignment(assignment, signatures).event

    with pytest.raises(IPAssetRegistryInvalidReason) as refused:
        assets.reject_assignment(filed.assignment_id, 0)

    assert refused.value.reason_code == 0
    assert assets.assignment(filed.assignment_id).status == AssignmentStatus.FILED


# ---- the owner limit ----


def test_an_assignment_that_would_make_a_seventeenth_owner_is_refused(world: Parties) -> None:
    assets = world.ledger.assets
    keys = enrol_participants(world, 100, 13)  # twelve more owners and a newcomer
    newcomer_id, newcomer = 112, keys[-1]
    other_ids = [BETA_ID, UNIVERSITY_ID, BANK_ID, *range(100, 112)]
    other_keys = [world.beta, world.university, world.bank, *keys[:-1]]
    owners = tuple(Share(p, TOTAL_BPS // 16) for p in [ACME_ID, *other_ids])
    right_id = register_right(world, owners)

    def file(share_bps: int) -> tuple[Assignment, AssignmentFiled]:
        domain, assignment = draft(world, right_id, ACME_ID, newcomer_id, share_bps)
        signatures = signed_by(domain, assignment, world.acme, newcomer, *other_keys)
        return assignment, assets.file_assignment(assignment, signatures).event

    part, filed = file(300)
    with pytest.raises(IPAssetRegistryInvalidOwnerCount) as refused:
        assets.register_assignment(part, filed.signers)
    assert refused.value.count == 17
    assert assets.owners_of(right_id) == owners

    # The whole share takes ACME's place: still sixteen owners.
    whole, filed = file(TOTAL_BPS // 16)
    after = assets.register_assignment(whole, filed.signers).event.owners
    assert set(after) == {Share(p, 625) for p in [newcomer_id, *other_ids]}
