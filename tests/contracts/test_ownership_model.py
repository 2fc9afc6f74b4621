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
from typing import ClassVar

import pytest
from eth_typing import ChecksumAddress
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
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
        terms = hashlib.sha256(f"deed {len(self.filed)} {assignor}->{assignee}".encode()).digest()
        return self.ledger.assets.build_assignment(
            self.ledger.participants,
            asset_id=right,
            assignor=assignor,
            assignee=assignee,
            share_bps=share_bps,
            terms_hash=terms,
            assignor_key=self.signers[assignor].address,
            deadline=self.parties.now() + 3600,
        )

    def _sign_all(
        self, domain: Domain, assignment: Assignment, signed_by: tuple[int, ...]
    ) -> list[SignedBy]:
        return [sign(self.signers[p], assignment, domain) for p in signed_by]

    def _file(self, domain: Domain, assignment: Assignment, signed_by: tuple[int, ...]) -> Filed:
        signatures = self._sign_all(domain, assignment, signed_by)
        event = self.ledger.assets.file_assignment(assignment, signatures).event
        assert event.assignment_id == assignment.digest(domain)
        assert event.signers == tuple(s.signer for s in signatures)
        assert (event.asset_id, event.assignor, event.assignee, event.share_bps) == (
            assignment.asset_id,
            assignment.assignor,
            assignment.assignee,
            assignment.share_bps,
        )
        # Filing uses up the assignor key's nonce, so that the signatures cannot be used again.
        key = self.signers[assignment.assignor].address
        assert self.ledger.participants.nonce_of(key) == assignment.nonce + 1
        filed = Filed(assignment, signed_by, event.signers, AssignmentStatus.FILED)
        self.filed[event.assignment_id] = filed
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

    def _transfer(self, a: Assignment) -> None:
        owners = self.model[a.asset_id]
        owners[a.assignor] -= a.share_bps
        if owners[a.assignor] == 0:
            del owners[a.assignor]
        owners[a.assignee] = owners.get(a.assignee, 0) + a.share_bps

    def _register(self, assignment_id: bytes, filed: Filed) -> None:
        event = self.ledger.assets.register_assignment(filed.assignment, filed.signers).event
        self._transfer(filed.assignment)
        filed.status = AssignmentStatus.REGISTERED
        assert event.assignment_id == assignment_id
        assert {s.participant_id: s.bps for s in event.owners} == self.model[
            filed.assignment.asset_id
        ]

    # ---- rules ----

    @rule(target=rights, owners=owner_shares(), kind=st.sampled_from(AssetKind))
    def register_right(self, owners: tuple[Share, ...], kind: AssetKind) -> bytes:
        self.numbers += 1
        number = f"10-2024-{self.numbers:07d}"
        now = self.parties.now()
        event = self.ledger.assets.register_asset(
            AssetInput(
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
        ).event
        assert event.asset_id == asset_id(b"KR", kind, number)
        assert event.owners == owners
        self.model[event.asset_id] = {s.participant_id: s.bps for s in owners}
        return event.asset_id

    @rule(right=rights, data=st.data())
    def assign_a_share(self, right: bytes, data: st.DataObject) -> None:
        """Assign part or all of an owner's share, with every consent, and register it."""
        owners = self.model[right]
        assignor = data.draw(st.sampled_from(sorted(owners)), label="assignor")
        assignee = data.draw(
            st.sampled_from([p for p in PARTICIPANTS if p != assignor]), label="assignee"
        )
        share = data.draw(st.integers(1, owners[assignor]), label="share_bps")
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
        assignor = data.draw(st.sampled_from(PARTICIPANTS), label="assignor")
        assignee = data.draw(
            st.sampled_from([p for p in PARTICIPANTS if p != assignor]), label="assignee"
        )
        held = owners.get(assignor, 0)
        shares = st.integers(1, TOTAL_BPS)
        if held:
            shares = st.integers(1, held) | st.integers(held, TOTAL_BPS)
        share = data.draw(shares, label="share_bps")
        co_owners = [p for p in sorted(owners) if p not in (assignor, assignee)]
        others = [p for p in (*PARTICIPANTS, OUTSIDER) if p not in (assignor, assignee)]
        consents = data.draw(
            st.permutations(co_owners) | st.lists(st.sampled_from(others), max_size=4),
            label="co-signers",
        )
        domain, assignment = self._build(right, assignor, assignee, share)
        self._file(domain, assignment, (assignor, assignee, *consents))

    @precondition(lambda self: self.filed)
    @rule(data=st.data())
    def register_a_filed_assignment(self, data: st.DataObject) -> None:
        """Registration passes exactly when the model says it should, and moves the share."""
        assignment_id = data.draw(st.sampled_from(sorted(self.filed)), label="assignment")
        filed = self.filed[assignment_id]
        as_filed = data.draw(st.booleans(), label="signers as filed")
        signers = filed.signers if as_filed else filed.signers[1:]
        if filed.status != AssignmentStatus.FILED:
            with pytest.raises(IPAssetRegistryAssignmentNotFiled) as not_filed:
                self.ledger.assets.register_assignment(filed.assignment, signers)
            assert not_filed.value.assignment_id == assignment_id
            assert not_filed.value.status == filed.status
            return
        if not as_filed:
            with pytest.raises(IPAssetRegistrySignersMismatch) as mismatch:
                self.ledger.assets.register_assignment(filed.assignment, signers)
            assert mismatch.value.assignment_id == assignment_id
            return
        refusal = self._examine(filed)
        if refusal is None:
            self._register(assignment_id, filed)
            return
        with pytest.raises(type(refusal)) as raised:
            self.ledger.assets.register_assignment(filed.assignment, signers)
        for name in refusal.field_names():
            if name == "co_owner":
                missing = set(self.model[filed.assignment.asset_id]) - {
                    filed.assignment.assignor,
                    filed.assignment.assignee,
                    *filed.signed_by[2:],
                }
                assert raised.value.co_owner in missing  # type: ignore[attr-defined]
            else:
                assert getattr(raised.value, name) == getattr(refusal, name)

    @precondition(lambda self: self.filed)
    @rule(data=st.data(), reason_code=st.integers(0, 2**16 - 1))
    def reject_a_filed_assignment(self, data: st.DataObject, reason_code: int) -> None:
        assignment_id = data.draw(st.sampled_from(sorted(self.filed)), label="assignment")
        filed = self.filed[assignment_id]
        if filed.status != AssignmentStatus.FILED:
            with pytest.raises(IPAssetRegistryAssignmentNotFiled):
                self.ledger.assets.reject_assignment(assignment_id, reason_code)
            return
        if reason_code == 0:
            with pytest.raises(IPAssetRegistryInvalidReason):
                self.ledger.assets.reject_assignment(assignment_id, reason_code)
            return
        event = self.ledger.assets.reject_assignment(assignment_id, reason_code).event
        assert (event.assignment_id, event.reason_code) == (assignment_id, reason_code)
        filed.status = AssignmentStatus.REJECTED

    @precondition(lambda self: self.filed)
    @rule(data=st.data())
    def file_an_assignment_again(self, data: st.DataObject) -> None:
        """An assignment is filed once, whatever became of it."""
        assignment_id = data.draw(st.sampled_from(sorted(self.filed)), label="assignment")
        filed = self.filed[assignment_id]
        domain = self.ledger.assets.domain()
        signatures = self._sign_all(domain, filed.assignment, filed.signed_by)
        with pytest.raises(IPAssetRegistryAssignmentAlreadyFiled) as raised:
            self.ledger.assets.file_assignment(filed.assignment, signatures)
        assert raised.value.assignment_id == assignment_id
        assert raised.value.status == filed.status

    # ---- invariants ----

    @invariant()
    def owners_on_chain_are_the_models(self) -> None:
        for right, owners in self.model.items():
            shares = self.ledger.assets.owners_of(right)
            on_chain = {s.participant_id: s.bps for s in shares}
            assert len(on_chain) == len(shares), f"an owner listed twice: {shares}"
            assert on_chain == owners
            assert all(s.bps > 0 for s in shares)
            assert sum(s.bps for s in shares) == TOTAL_BPS
            assert len(shares) <= MAX_OWNERS


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
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
