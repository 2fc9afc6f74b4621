"""Typed client of the AssignmentRegistry contract."""

from __future__ import annotations

import typing
from collections.abc import Sequence

from eth_typing import ChecksumAddress

from ledger.codec import record_converter
from ledger.contract import ContractClient, Recorded
from ledger.events import AssignmentFiled, AssignmentRegistered, AssignmentRejected, only
from ledger.typed_data import Assignment, Domain
from ledger.types import AssignmentRecord, SignedBy

_record = record_converter(AssignmentRecord)


class AssignmentRegistryClient(ContractClient):
    CONTRACT_NAME = "AssignmentRegistry"

    def file_assignment(
        self, assignment: Assignment, signatures: Sequence[SignedBy]
    ) -> Recorded[AssignmentFiled]:
        """File a signed assignment: assignor's signature first, assignee's second, co-owners'."""
        receipt, events = self._send("fileAssignment", assignment, list(signatures))
        return Recorded(only(events, AssignmentFiled), events, receipt)

    def register_assignment(
        self, assignment: Assignment, signers: Sequence[ChecksumAddress]
    ) -> Recorded[AssignmentRegistered]:
        """Register a filed assignment; `signers` as filed (the `AssignmentFiled` event has them)."""
        receipt, events = self._send("registerAssignment", assignment, list(signers))
        return Recorded(only(events, AssignmentRegistered), events, receipt)

    def reject_assignment(
        self, assignment_id: bytes, reason_code: int
    ) -> Recorded[AssignmentRejected]:
        receipt, events = self._send("rejectAssignment", assignment_id, reason_code)
        return Recorded(only(events, AssignmentRejected), events, receipt)

    def assignment(self, assignment_id: bytes) -> AssignmentRecord:
        """The record of an assignment; status NONE if it was never filed."""
        return typing.cast(AssignmentRecord, _record(self._call("assignment", assignment_id)))

    def assignment_digest(self, assignment: Assignment) -> bytes:
        return typing.cast(bytes, self._call("assignmentDigest", assignment))

    def nonce_of(self, key: ChecksumAddress) -> int:
        return typing.cast(int, self._call("nonces", key))

    def build_assignment(
        self,
        *,
        asset_id: bytes,
        assignor: int,
        assignee: int,
        share_bps: int,
        terms_hash: bytes,
        assignor_key: ChecksumAddress,
        deadline: int,
    ) -> tuple[Domain, Assignment]:
        """An assignment for the parties to sign, with the assignor key's current nonce."""
        domain = self.domain()
        assignment = Assignment(
            deadline=deadline,
            chain_id=domain.chain_id,
            verifying_contract=domain.verifying_contract,
            asset_id=asset_id,
            assignor=assignor,
            assignee=assignee,
            share_bps=share_bps,
            terms_hash=terms_hash,
            nonce=self.nonce_of(assignor_key),
        )
        return domain, assignment
