"""The IPAssetRegistry's ownership of rights against a small Python model of who holds what.

A hypothesis state machine registers rights, files assignments (valid ones, ones that filing
must refuse, and ones whose fate only registration decides), registers and rejects them, and
after every step compares every right's owners on chain with the model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from dataclasses import dataclass
from typing import ClassVar, TypeVar

import pytest
from eth_typing import ChecksumAddress
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger.assets import asset_id
from ledger.backends.base import ChainBackend
from ledger.errors import (
    ApprovalExpired,
    ApprovalInvalidSignature,
    ApprovalWrongChain,
    ContractError,
    IPAssetRegistryAssignmentAlreadyFiled,
    IPAssetRegistryAssignmentNotFiled,
    IPAssetRegistryInvalidReason,
    IPAssetRegistryInvalidShare,
    IPAssetRegistryMissingConsent,
    IPAssetRegistryMissingSignature,
    IPAssetRegistrySameParty,
    IPAssetRegistryShareTooHigh,
    IPAssetRegistrySignersMismatch,
    IPAssetRegistryUnexpectedSigner,
    IPAssetRegistryWrongSigner,
    ParticipantRegistryInvalidNonce,
)
from ledger.events import AssetRegistered
from ledger.typed_data import Assignment, Domain, sign
from ledger.types import (
    MAX_OWNERS,
    TOTAL_BPS,
    AssetInput,
    AssetKind,
    AssignmentStatus,
    Share,
    SignedBy,
)
from tests.conftest import ACME_ID, BANK_ID, BETA_ID, UNIVERSITY_ID, YEAR, Parties
from wallets.signer import LocalSigner

T = TypeVar("T")

PARTICIPANTS = (ACME_ID, BETA_ID, UNIVERSITY_ID, BANK_ID)
#: Stands for the outsider's key (bound to nobody) in lists of who signed.
OUTSIDER = 0

FILING_REFUSALS = (
    "only the assignor signs",
    "an outsider signs for the assignee",
    "the assignee's signature is made by another key",
    "the nonce is not the assignor key's next one",
    "assignor and assignee are the same participant",
    "the share is zero",
    "the share is more than the whole right",
    "the deadline has passed",
    "the chain id is another chain's",
)


def mostly(usual: st.SearchStrategy[T], unusual: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """`usual` three times in four, `unusual` otherwise; shrinks towards `usual`."""
    return st.integers(0, 3).flatmap(lambda n: unusual if n == 3 else usual)


@st.composite
def owner_shares(draw: st.DrawFn) -> tuple[Share, ...]:
    """One to three of the enrolled participants, with positive shares summing to 10,000."""
    owners = draw(st.lists(st.sampled_from(PARTICIPANTS), min_size=1, max_size=3, unique=True))
    cuts = draw(
        st.lists(
            st.integers(1, TOTAL_BPS - 1),
            min_size=len(owners) - 1,
            max_size=len(owners) - 1,
            unique=True,
        )
    )
    bounds = [0, *sorted(cuts), TOTAL_BPS]
    return tuple(
        Share(owner, high - low)
        for owner, (low, high) in zip(owners, itertools.pairwise(bounds), strict=True)
    )


@dataclass
class Filed:
    """An assignment filed on chain, as the model knows it."""

    assignment: Assignment
    #: Participant ids of the signers in filing order (OUTSIDER for the outsider's key).
    signed_by: tuple[int, ...]
    signers: tuple[ChecksumAddress, ...]
    status: AssignmentStatus


class OwnershipMachine(RuleBasedStateMachine):
    """Drives the deployed ledger and keeps a model: right -> {participant: bps}."""

    parties: ClassVar[Parties]
    backend: ClassVar[ChainBackend]

    rights: Bundle[bytes] = Bundle("rights")

    def __init__(self) -> None:
        super().__init__()
        # Every example starts from the freshly deployed ledger.
        self.snapshot = self.backend.snapshot()
        self.ledger = self.parties.ledger
        # Read once: calls to the chain are where this test spends its time.
        self.domain = self.ledger.assets.domain()
        self.signers: dict[int, LocalSigner] = {
            ACME_ID: self.parties.acme,
            BETA_ID: self.parties.beta,
            UNIVERSITY_ID: self.parties.university,
            BANK_ID: self.parties.bank,
            OUTSIDER: self.parties.outsider,
        }
        self.model: dict[bytes, dict[int, int]] = {}
        self.filed: dict[bytes, Filed] = {}
        self.numbers = 0

    def teardown(self) -> None:
        self.backend.revert(self.snapshot)

    # ---- helpers ----

    def _build(
        self, right: bytes, assignor: int, assignee: int, share_bps: int
    ) -> tuple[Domain, Assignment]:
        """Build an assignment for the parties to sign, as `build_assignment` would."""
        terms = hashlib.sha256(f"deed {len(self.filed)} {assignor}->{assignee}".encode()).digest()
        assignment = Assignment(
            deadline=self.parties.now() + 3600,
            chain_id=self.domain.chain_id,
            verifying_contract=self.domain.verifying_contract,
            asset_id=right,
            assignor=assignor,
            assignee=assignee,
            share_bps=share_bps,
            terms_hash=terms,
            nonce=self.ledger.participants.nonce_of(self.signers[assignor].address),
        )
        return self.domain, assignment

    def _sign_all(
        self, domain: Domain, assignment: Assignment, signed_by: tuple[int, ...]
    ) -> list[SignedBy]:
        return [sign(self.signers[p], assignment, domain) for p in signed_by]

    def _file(self, domain: Domain, assignment: Assignment, signed_by: tuple[int, ...]) -> Filed:
        signatures = self._sign_all(domain, assignment, signed_by)
        filing = self.ledger.assets.file_assignment(assignment, signatures).event
        assert filing.assignment_id == assignment.digest(domain)
        assert filing.signers == tuple(s.signer for s in signatures)
        assert (filing.asset_id, filing.assignor, filing.assignee, filing.share_bps) == (
            assignment.asset_id,
            assignment.assignor,
            assignment.assignee,
            assignment.share_bps,
        )
        # Filing uses up the assignor key's nonce, so that the signatures cannot be used again.
        key = self.signers[assignment.assignor].address
        assert self.ledger.participants.nonce_of(key) == assignment.nonce + 1
        filed = Filed(assignment, signed_by, filing.signers, AssignmentStatus.FILED)
        self.filed[filing.assignment_id] = filed
        return filed

    def _examine(self, filed: Filed) -> ContractError | None:
        """The refusal the model expects from registering `filed` now, or None if it passes."""
        a = filed.assignment
        owners = self.model[a.asset_id]
        held = owners.get(a.assignor, 0)
        if held < a.share_bps:
            return IPAssetRegistryShareTooHigh(a.asset_id, held, a.share_bps)
        consented = {p for p in owners if p in (a.assignor, a.assignee)}
        for participant, key in zip(filed.signed_by[2:], filed.signers[2:], strict=True):
            if participant not in owners or participant in consented:
                return IPAssetRegistryUnexpectedSigner(key, participant)
            consented.add(participant)
        missing = set(owners) - consented
        if missing:
            # Which co-owner the contract names first depends on its storage order.
            return IPAssetRegistryMissingConsent(a.asset_id, min(missing))
        return None

    def _assert_refusal(self, raised: ContractError, expected: ContractError, filed: Filed) -> None:
        for name in expected.field_names():
            if name == "co_owner":
                a = filed.assignment
                missing = set(self.model[a.asset_id]) - {a.assignor, a.assignee}
                assert getattr(raised, name) in missing - set(filed.signed_by[2:])
            else:
                assert getattr(raised, name) == getattr(expected, name)

    def _transfer(self, a: Assignment) -> None:
        owners = self.model[a.asset_id]
        owners[a.assignor] -= a.share_bps
        if owners[a.assignor] == 0:
            del owners[a.assignor]
        owners[a.assignee] = owners.get(a.assignee, 0) + a.share_bps

    def _register(self, assignment_id: bytes, filed: Filed) -> None:
        registration = self.ledger.assets.register_assignment(filed.assignment, filed.signers).event
        self._transfer(filed.assignment)
        filed.status = AssignmentStatus.REGISTERED
        assert registration.assignment_id == assignment_id
        assert {s.participant_id: s.bps for s in registration.owners} == self.model[
            filed.assignment.asset_id
        ]

    def _new_right(self, owners: tuple[Share, ...], kind: AssetKind) -> AssetInput:
        self.numbers += 1
        number = f"10-2024-{self.numbers:07d}"
        now = self.parties.now()
        return AssetInput(
            jurisdiction=b"KR",
            kind=kind,
            number=number,
            title=f"Right {number}",
            document_hash=hashlib.sha256(number.encode()).digest(),
            filing_date=now - YEAR,
            registration_date=now - 1,
            expiry_date=now + 20 * YEAR,
            owners=owners,
        )

    def _registered(self, right: AssetInput, registered: AssetRegistered) -> bytes:
        assert registered.asset_id == asset_id(right.jurisdiction, right.kind, right.number)
        assert registered.owners == right.owners
        self.model[registered.asset_id] = {s.participant_id: s.bps for s in right.owners}
        return registered.asset_id

    # ---- rules ----

    # The first rights in one transaction (the batch path): transactions are this test's cost.
    @initialize(
        target=rights,
        new_rights=st.lists(
            st.tuples(owner_shares(), st.sampled_from(AssetKind)), min_size=1, max_size=2
        ),
    )
    def register_first_rights(
        self, new_rights: list[tuple[tuple[Share, ...], AssetKind]]
    ) -> MultipleResults[bytes]:
        inputs = [self._new_right(owners, kind) for owners, kind in new_rights]
        registered = self.ledger.assets.register_assets(inputs).event
        assert len(registered) == len(inputs)
        return multiple(*(self._registered(i, r) for i, r in zip(inputs, registered, strict=True)))

    # A few rights are enough to interleave recordals; more would only slow every step.
    @precondition(lambda self: len(self.model) < 3)
    @rule(target=rights, owners=owner_shares(), kind=st.sampled_from(AssetKind))
    def register_a_right(self, owners: tuple[Share, ...], kind: AssetKind) -> bytes:
        right = self._new_right(owners, kind)
        return self._registered(right, self.ledger.assets.register_asset(right).event)

    @rule(right=rights, data=st.data())
    def assign_a_share(self, right: bytes, data: st.DataObject) -> None:
        """Assign part or all of an owner's share, with every consent, and register it."""
        owners = self.model[right]
        assignor = data.draw(st.sampled_from(sorted(owners)), label="assignor")
        assignee = data.draw(
            st.sampled_from([p for p in PARTICIPANTS if p != assignor]), label="assignee"
        )
        # The whole holding half the time: the assignor then leaves the list of owners.
        held = owners[assignor]
        share = data.draw(st.just(held) | st.integers(1, held), label="share_bps")
        co_owners = [p for p in sorted(owners) if p not in (assignor, assignee)]
        consents = data.draw(st.permutations(co_owners), label="co-owners' order")
        domain, assignment = self._build(right, assignor, assignee, share)
        filed = self._file(domain, assignment, (assignor, assignee, *consents))
        assert self._examine(filed) is None
        self._register(assignment.digest(domain), filed)

    @rule(right=rights, data=st.data(), refusal=st.sampled_from(FILING_REFUSALS))
    def file_a_refused_assignment(self, right: bytes, data: st.DataObject, refusal: str) -> None:
        """Filing refuses a malformed or badly signed assignment and changes nothing."""
        owners = self.model[right]
        assignor = data.draw(st.sampled_from(sorted(owners)), label="assignor")
        assignee = data.draw(
            st.sampled_from([p for p in PARTICIPANTS if p != assignor]), label="assignee"
        )
        share = data.draw(st.integers(1, owners[assignor]), label="share_bps")
        domain, a = self._build(right, assignor, assignee, share)
        key = self.signers[assignor].address
        nonce = a.nonce
        co_owners = tuple(p for p in sorted(owners) if p not in (assignor, assignee))
        signed_by = (assignor, assignee, *co_owners)
        expected: ContractError
        if refusal == "only the assignor signs":
            signed_by = (assignor,)
            expected = IPAssetRegistryMissingSignature(1)
        elif refusal == "an outsider signs for the assignee":
            signed_by = (assignor, OUTSIDER, *co_owners)
            expected = IPAssetRegistryWrongSigner(self.signers[OUTSIDER].address, assignee, 0)
        elif refusal == "the nonce is not the assignor key's next one":
            a = dataclasses.replace(
                a,
                nonce=data.draw(
                    st.integers(0, 2**256 - 1).filter(lambda n: n != nonce), label="nonce"
                ),
            )
            expected = ParticipantRegistryInvalidNonce(key, nonce)
        elif refusal == "assignor and assignee are the same participant":
            a = dataclasses.replace(a, assignee=assignor)
            expected = IPAssetRegistrySameParty(assignor)
        elif refusal == "the share is zero":
            a = dataclasses.replace(a, share_bps=0)
            expected = IPAssetRegistryInvalidShare(0)
        elif refusal == "the share is more than the whole right":
            too_much = data.draw(st.integers(TOTAL_BPS + 1, 2**16 - 1), label="share_bps")
            a = dataclasses.replace(a, share_bps=too_much)
            expected = IPAssetRegistryInvalidShare(too_much)
        elif refusal == "the deadline has passed":
            a = dataclasses.replace(a, deadline=self.parties.now() - 1)
            expected = ApprovalExpired(a.deadline, 0)
        elif refusal == "the chain id is another chain's":
            a = dataclasses.replace(a, chain_id=a.chain_id + 1)
            expected = ApprovalWrongChain(a.chain_id, domain.chain_id)
        else:
            assert refusal == "the assignee's signature is made by another key"
            expected = ApprovalInvalidSignature(self.signers[assignee].address, a.digest(domain))
        signatures = self._sign_all(domain, a, signed_by)
        if refusal == "the assignee's signature is made by another key":
            forged = sign(self.signers[OUTSIDER], a, domain).signature
            signatures[1] = SignedBy(signatures[1].signer, forged)

        with pytest.raises(type(expected)) as raised:
            self.ledger.assets.file_assignment(a, signatures)
        # The block timestamp of the refused call is not the model's to know.
        checked = [n for n in expected.field_names() if n != "timestamp"]
        assert [getattr(raised.value, n) for n in checked] == [
            getattr(expected, n) for n in checked
        ]
        assert self.ledger.participants.nonce_of(key) == nonce
        assert self.ledger.assets.assignment(a.digest(domain)).status == AssignmentStatus.NONE

    @rule(right=rights, data=st.data())
    def file_an_assignment_for_examination(self, right: bytes, data: st.DataObject) -> None:
        """File a well-signed assignment that registration may or may not accept."""
        owners = self.model[right]
        assignor = data.draw(
            mostly(st.sampled_from(sorted(owners)), st.sampled_from(PARTICIPANTS)), label="assignor"
        )
        assignee = data.draw(
            st.sampled_from([p for p in PARTICIPANTS if p != assignor]), label="assignee"
        )
        held = owners.get(assignor, 0)
        shares = st.integers(1, TOTAL_BPS)
        if held:
            shares = mostly(st.just(held) | st.integers(1, held), st.integers(held, TOTAL_BPS))
        share = data.draw(shares, label="share_bps")
        co_owners = [p for p in sorted(owners) if p not in (assignor, assignee)]
        others = [p for p in (*PARTICIPANTS, OUTSIDER) if p not in (assignor, assignee)]
        consents = data.draw(
            mostly(st.permutations(co_owners), st.lists(st.sampled_from(others), max_size=4)),
            label="co-signers",
        )
        domain, assignment = self._build(right, assignor, assignee, share)
        filed = self._file(domain, assignment, (assignor, assignee, *consents))
        # checkAssignment runs registration's examination as a view: it must agree with the model.
        refusal = self._examine(filed)
        event(f"examination at filing: {type(refusal).__name__ if refusal else 'passes'}")
        if refusal is None:
            self.ledger.assets.check_assignment(assignment, filed.signers)
            return
        with pytest.raises(type(refusal)) as raised:
            self.ledger.assets.check_assignment(assignment, filed.signers)
        self._assert_refusal(raised.value, refusal, filed)

    # Assignments are drawn by their place in the order of filing, never by id: an id hashes the
    # deadline, which follows the chain's clock, so an order of ids would differ between runs
    # of the same example and hypothesis could not replay it.

    def _pending(self) -> list[bytes]:
        return [i for i, f in self.filed.items() if f.status == AssignmentStatus.FILED]

    @precondition(lambda self: self._pending())
    @rule(data=st.data())
    def register_a_filed_assignment(self, data: st.DataObject) -> None:
        """Registration passes exactly when the model says it should, and moves the share."""
        assignment_id = data.draw(st.sampled_from(self._pending()), label="assignment")
        filed = self.filed[assignment_id]
        refusal = self._examine(filed)
        event(f"registration: {type(refusal).__name__ if refusal else 'passes'}")
        if refusal is None:
            self._register(assignment_id, filed)
            return
        with pytest.raises(type(refusal)) as raised:
            self.ledger.assets.register_assignment(filed.assignment, filed.signers)
        self._assert_refusal(raised.value, refusal, filed)

    @precondition(lambda self: self._pending())
    @rule(data=st.data(), reason_code=st.integers(0, 2**16 - 1))
    def reject_a_filed_assignment(self, data: st.DataObject, reason_code: int) -> None:
        assignment_id = data.draw(st.sampled_from(self._pending()), label="assignment")
        if reason_code == 0:
            with pytest.raises(IPAssetRegistryInvalidReason):
                self.ledger.assets.reject_assignment(assignment_id, reason_code)
            return
        rejected = self.ledger.assets.reject_assignment(assignment_id, reason_code).event
        assert (rejected.assignment_id, rejected.reason_code) == (assignment_id, reason_code)
        self.filed[assignment_id].status = AssignmentStatus.REJECTED

    @precondition(lambda self: self.filed)
    @rule(data=st.data())
    def replay_a_filed_assignment(self, data: st.DataObject) -> None:
        """An assignment is filed once and decided once, with the signers committed at filing."""
        assignment_id = data.draw(st.sampled_from(list(self.filed)), label="assignment")
        filed = self.filed[assignment_id]
        signatures = self._sign_all(self.domain, filed.assignment, filed.signed_by)
        with pytest.raises(IPAssetRegistryAssignmentAlreadyFiled) as refiled:
            self.ledger.assets.file_assignment(filed.assignment, signatures)
        assert (refiled.value.assignment_id, refiled.value.status) == (assignment_id, filed.status)
        if filed.status == AssignmentStatus.FILED:
            # One signer fewer, at either end: never the list committed at filing.
            signers = data.draw(
                st.sampled_from([filed.signers[1:], filed.signers[:-1]]), label="other signers"
            )
            with pytest.raises(IPAssetRegistrySignersMismatch) as mismatch:
                self.ledger.assets.register_assignment(filed.assignment, signers)
            assert mismatch.value.assignment_id == assignment_id
            return
        with pytest.raises(IPAssetRegistryAssignmentNotFiled) as not_registered:
            self.ledger.assets.register_assignment(filed.assignment, filed.signers)
        reason_code = data.draw(st.integers(1, 2**16 - 1), label="reason_code")
        with pytest.raises(IPAssetRegistryAssignmentNotFiled) as not_rejected:
            self.ledger.assets.reject_assignment(assignment_id, reason_code)
        for raised in (not_registered.value, not_rejected.value):
            assert (raised.assignment_id, raised.status) == (assignment_id, filed.status)

    # ---- invariants ----

    @invariant()
    def owners_on_chain_are_the_models(self) -> None:
        """Every right has the model's owners: positive shares summing to the whole, <= 16."""
        for right, owners in self.model.items():
            shares = self.ledger.assets.owners_of(right)
            on_chain = {s.participant_id: s.bps for s in shares}
            assert len(on_chain) == len(shares), f"an owner listed twice: {shares}"
            assert on_chain == owners
            assert all(s.bps > 0 for s in shares)
            assert sum(s.bps for s in shares) == TOTAL_BPS
            assert len(shares) <= MAX_OWNERS


@pytest.mark.slow
def test_ownership_of_rights_follows_the_model_through_any_recordals(
    deployed: Parties, backend: ChainBackend
) -> None:
    OwnershipMachine.parties = deployed
    OwnershipMachine.backend = backend
    run_state_machine_as_test(
        OwnershipMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=12,
            deadline=None,
            # No explain phase: it traces every EVM step of every replay, and turns a 15 s
            # shrink into minutes.
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
