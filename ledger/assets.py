"""Typed client of the IPAssetRegistry contract: rights, their status, assignment recordals."""

from __future__ import annotations

import re
import typing
from collections.abc import Sequence

from eth_abi.abi import encode as abi_encode
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak

from ledger.codec import converter, record_converter
from ledger.contract import ContractClient, Recorded
from ledger.events import (
    AssetRegistered,
    AssetStatusChanged,
    AssignmentFiled,
    AssignmentRegistered,
    AssignmentRejected,
    all_of,
    only,
)
from ledger.participants import ParticipantRegistryClient
from ledger.typed_data import Assignment, Domain
from ledger.types import (
    Asset,
    AssetInput,
    AssetKind,
    AssetStatus,
    AssignmentRecord,
    Share,
    SignedBy,
)

_asset = record_converter(Asset)
_assignment_record = record_converter(AssignmentRecord)
_shares = converter(tuple[Share, ...])
_NUMBER_NOISE = re.compile(r"[\s,]")


def asset_id(jurisdiction: bytes, kind: AssetKind, number: str) -> bytes:
    """The id of a right: keccak256(abi.encode(bytes2 jurisdiction, uint8 kind, string number))."""
    return keccak(abi_encode(["bytes2", "uint8", "string"], [jurisdiction, int(kind), number]))


def canonical_number(number: str) -> str:
    """An official number as the registry stores it: "us 11,234,567 b2" -> "US11234567B2"."""
    return _NUMBER_NOISE.sub("", number).upper()


class IPAssetRegistryClient(ContractClient):
    CONTRACT_NAME = "IPAssetRegistry"

    def register_asset(self, asset: AssetInput) -> Recorded[AssetRegistered]:
        receipt, events = self._send("registerAsset", asset)
        return Recorded(only(events, AssetRegistered), events, receipt)

    def register_assets(
        self, assets: Sequence[AssetInput]
    ) -> Recorded[tuple[AssetRegistered, ...]]:
        """Register many rights in one transaction, all or none."""
        receipt, events = self._send("registerAssets", list(assets))
        return Recorded(tuple(all_of(events, AssetRegistered)), events, receipt)

    def set_asset_status(
        self, asset_id: bytes, status: AssetStatus, reason_code: int
    ) -> Recorded[AssetStatusChanged]:
        receipt, events = self._send("setAssetStatus", asset_id, status, reason_code)
        return Recorded(only(events, AssetStatusChanged), events, receipt)

    def file_assignment(
        self, assignment: Assignment, signatures: Sequence[SignedBy]
    ) -> Recorded[AssignmentFiled]:
        """File a signed assignment: assignor's signature first, assignee's second, co-owners'."""
        receipt, events = self._send("fileAssignment", assignment, list(signatures))
        return Recorded(only(events, AssignmentFiled), events, receipt)

    def register_assignment(
        self, assignment: Assignment, signers: Sequence[ChecksumAddress]
    ) -> Recorded[AssignmentRegistered]:
        """Register a filed assignment; `signers` as filed (`AssignmentFiled.signers`)."""
        receipt, events = self._send("registerAssignment", assignment, list(signers))
        return Recorded(only(events, AssignmentRegistered), events, receipt)

    def reject_assignment(
        self, assignment_id: bytes, reason_code: int
    ) -> Recorded[AssignmentRejected]:
        receipt, events = self._send("rejectAssignment", assignment_id, reason_code)
        return Recorded(only(events, AssignmentRejected), events, receipt)

    def asset_id_of(self, jurisdiction: bytes, kind: AssetKind, number: str) -> bytes:
        return typing.cast(bytes, self._call("assetIdOf", jurisdiction, kind, number))

    def asset(self, asset_id: bytes) -> Asset:
        """The right's record; status NONE if there is no such right."""
        return typing.cast(Asset, _asset(self._call("asset", asset_id)))

    def owners_of(self, asset_id: bytes) -> tuple[Share, ...]:
        return typing.cast(tuple[Share, ...], _shares(self._call("ownersOf", asset_id)))

    def share_of(self, asset_id: bytes, participant_id: int) -> int:
        return typing.cast(int, self._call("shareOf", asset_id, participant_id))

    def is_in_force(self, asset_id: bytes) -> bool:
        return typing.cast(bool, self._call("isInForce", asset_id))

    def assignment(self, assignment_id: bytes) -> AssignmentRecord:
        """The record of an assignment; status NONE if it was never filed."""
        record = self._call("assignment", assignment_id)
        return typing.cast(AssignmentRecord, _assignment_record(record))

    def assignment_digest(self, assignment: Assignment) -> bytes:
        return typing.cast(bytes, self._call("assignmentDigest", assignment))

    def check_assignment(self, assignment: Assignment, signers: Sequence[ChecksumAddress]) -> None:
        """Examine an assignment as registration would now; raise the first refusal."""
        self._call("checkAssignment", assignment, list(signers))

    def build_assignment(
        self,
        participants: ParticipantRegistryClient,
        *,
        asset_id: bytes,
        assignor: int,
        assignee: int,
        share_bps: int,
        terms_hash: bytes,
        assignor_key: ChecksumAddress,
        deadline: int,
    ) -> tuple[Domain, Assignment]:
        """An assignment for the parties to sign, with the assignor key's next nonce."""
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
            nonce=participants.nonce_of(assignor_key),
        )
        return domain, assignment
