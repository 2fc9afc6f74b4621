"""The office's desk: what each API write does, from a checked request to an accepted operation.

A write is refused at once (4xx) when the chain would refuse it now, found by running the call
(`eth_call`) as the office; a filing must also pass the examination that registration would make
(`checkAssignment`). When operations are still on their way to the chain, a refusal may depend on
them, so the write is accepted and its operation reports the outcome. Gas limits are
bounds per kind of call rather than estimates: an estimate made before earlier operations are
mined can be too low, and gas is free on the permissioned chain.
"""

from __future__ import annotations

import datetime
import hashlib
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy.orm import Session
from web3.types import TxParams, Wei

from ledger.assets import asset_id as compute_asset_id
from ledger.certificates import ParticipantIdentity
from ledger.typed_data import Assignment, Domain, KeyRotation, TypedDataError, TypedStruct
from ledger.types import AssetInput, AssetStatus, Role, Share, SignedBy
from registry_api import schemas
from registry_api.auth import Principal
from registry_api.db.models import ImportRow, OperationRow
from registry_api.errors import Conflict, Forbidden, NotFound, ServiceUnavailable, Unprocessable
from registry_api.mirror import queries
from registry_api.registry import Registry
from registry_api.relayer.outbox import Call, OperationStatus, queued_count

S = TypeVar("S", bound=TypedStruct)

#: Upper bounds of gas per call, about twice what bench.gas measures for the largest case.
GAS = {
    "enrol": 400_000,
    "participant_status": 150_000,
    "recover_key": 200_000,
    "rotate_key": 200_000,
    "register_right": 600_000,
    "right_status": 150_000,
    "file_assignment": 600_000,
    "register_assignment": 600_000,
    "reject_assignment": 150_000,
}
BULK_BASE_GAS = 200_000
BULK_GAS_PER_RIGHT = 200_000


class Desk:
    """Accepts the API's writes into the outbox, and answers where they are."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.ledger = registry.ledger

    # --- participants ---

    def enrol(
        self, session: Session, principal: Principal, request: schemas.EnrolRequest
    ) -> OperationRow:
        """Issue the participant's certificate (office CA) and enrol it on chain.

        Only the founding office (the participant the relayer's key is bound to) enrols a
        participant with the OFFICE role: through the API every office participant acts with
        the relayer's key, so another office participant could otherwise make offices of its
        own and act through them on itself, out of reach of the contract's rule.
        """
        if Role.OFFICE in schemas.roles_of(request.roles):
            founding = self.ledger.participants.participant_of(self.registry.outbox.sender)
            if principal.participant_id != founding:
                raise Forbidden(
                    f"only the founding office (participant {founding}) may enrol a participant "
                    "with the OFFICE role",
                    {"participant_id": request.participant_id, "founding_office": founding},
                )
        authority, ca = self.registry.authority, self.registry.ca
        if authority is None or ca is None:
            raise ServiceUnavailable(
                "the office CA is not open here: certificates cannot be issued"
            )
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        try:
            identity = ParticipantIdentity(
                participant_id=request.participant_id,
                legal_name=request.legal_name,
                registration_number=request.registration_number,
                country=request.country,
                roles=schemas.roles_of(request.roles),
                keys=tuple(request.keys),
            )
            certificate = authority.issue(
                identity,
                request.public_key,
                not_before=now,
                not_after=now + datetime.timedelta(days=request.valid_days),
            )
        except ValueError as exc:  # repeated keys; the public key not the first key's...
            raise Unprocessable(str(exc)) from exc
        participants = self.ledger.participants
        call = Call(
            kind="enrol",
            target=participants.address,
            data=participants.call_data(
                "enrol",
                identity.participant_id,
                identity.roles,
                certificate.fingerprint,
                int(certificate.not_after.timestamp()),
                list(identity.keys),
            ),
            gas=GAS["enrol"],
            subject={"participant_id": identity.participant_id},
        )
        operation = self.relay(session, principal, [call])[0]
        ca.record(certificate)  # kept once accepted; a failed enrolment leaves it unused
        return operation

    def participant_status(
        self, session: Session, principal: Principal, participant_id: int, action: str, reason: int
    ) -> OperationRow:
        _refuse_self_action(principal, participant_id)
        participants = self.ledger.participants
        args: tuple[object, ...] = (
            (participant_id,) if action == "reinstate" else (participant_id, reason)
        )
        call = Call(
            kind=action,
            target=participants.address,
            data=participants.call_data(action, *args),
            gas=GAS["participant_status"],
            subject={"participant_id": participant_id},
        )
        return self.relay(session, principal, [call])[0]

    def recover_key(
        self,
        session: Session,
        principal: Principal,
        participant_id: int,
        request: schemas.RecoverKeyRequest,
    ) -> OperationRow:
        _refuse_self_action(principal, participant_id)
        participants = self.ledger.participants
        call = Call(
            kind="recover_key",
            target=participants.address,
            data=participants.call_data(
                "recoverKey", participant_id, request.lost_key, request.new_key
            ),
            gas=GAS["recover_key"],
            subject={"participant_id": participant_id, "new_key": request.new_key},
        )
        return self.relay(session, principal, [call])[0]

    def key_rotation_draft(self, request: schemas.KeyRotationDraftRequest) -> schemas.TypedDataView:
        deadline = int(time.time()) + request.valid_seconds
        domain, rotation = self.ledger.participants.build_key_rotation(
            request.participant_id, request.current_key, request.new_key, deadline
        )
        return schemas.TypedDataView(
            typed_data=rotation.typed_data(domain),
            digest=rotation.digest(domain),
            signers=[
                schemas.SignerNeeded(participant_id=request.participant_id, role="key_holder")
            ],
        )

    def rotate_key(
        self, session: Session, principal: Principal, request: schemas.KeyRotationSubmission
    ) -> OperationRow:
        participants = self.ledger.participants
        domain, rotation = _parse(KeyRotation, request.typed_data)
        if domain != participants.domain():
            raise Unprocessable("the rotation was signed for another chain or contract")
        call = Call(
            kind="rotate_key",
            target=participants.address,
            data=participants.call_data("rotateKey", rotation, request.signature),
            gas=GAS["rotate_key"],
            subject={"participant_id": rotation.participant_id, "new_key": rotation.new_key},
        )
        return self.relay(session, principal, [call])[0]

    # --- rights ---

    def register_rights(
        self,
        session: Session,
        principal: Principal,
        rights: Sequence[schemas.RightInput],
    ) -> tuple[ImportRow | None, list[OperationRow]]:
        """One right as one operation; many as an import of batches, each one transaction."""
        inputs = [_asset_input(right) for right in rights]
        _refuse_duplicates(inputs)
        assets = self.ledger.assets
        if len(inputs) == 1:
            call = Call(
                kind="register_right",
                target=assets.address,
                data=assets.call_data("registerAsset", inputs[0]),
                gas=GAS["register_right"],
                subject={"asset_ids": [_hex(_id(inputs[0]))]},
            )
            return None, self.relay(session, principal, [call])
        size = self.registry.settings.import_batch
        batches = [inputs[i : i + size] for i in range(0, len(inputs), size)]
        calls = [
            Call(
                kind="register_rights",
                target=assets.address,
                data=assets.call_data("registerAssets", batch),
                gas=BULK_BASE_GAS + BULK_GAS_PER_RIGHT * len(batch),
                subject={"asset_ids": [_hex(_id(right)) for right in batch]},
            )
            for batch in batches
        ]
        imported = ImportRow(
            id=str(uuid.uuid4()),
            rights=len(inputs),
            batches=len(batches),
            requested_by=principal.address,
            created_at=time.time(),
        )
        session.add(imported)
        return imported, self.relay(session, principal, calls, import_id=imported.id)

    def right_status(
        self,
        session: Session,
        principal: Principal,
        asset_id: bytes,
        request: schemas.RightStatusRequest,
    ) -> OperationRow:
        assets = self.ledger.assets
        status = AssetStatus[request.status.upper()]
        call = Call(
            kind="right_status",
            target=assets.address,
            data=assets.call_data("setAssetStatus", asset_id, status, request.reason_code),
            gas=GAS["right_status"],
            subject={"asset_id": _hex(asset_id), "status": request.status},
        )
        return self.relay(session, principal, [call])[0]

    # --- assignments ---

    def assignment_draft(
        self, session: Session, request: schemas.AssignmentDraftRequest
    ) -> schemas.TypedDataView:
        """The assignment for the parties to sign, and who must sign it."""
        right = queries.right_by_id(session, request.asset_id)
        if right is None:
            raise NotFound(f"no right {_hex(request.asset_id)} in the register")
        domain, assignment = self.ledger.assets.build_assignment(
            self.ledger.participants,
            asset_id=request.asset_id,
            assignor=request.assignor,
            assignee=request.assignee,
            share_bps=request.share_bps,
            terms_hash=request.terms_hash,
            assignor_key=request.assignor_key,
            deadline=int(time.time()) + request.valid_seconds,
        )
        signers = [
            schemas.SignerNeeded(participant_id=request.assignor, role="assignor"),
            schemas.SignerNeeded(participant_id=request.assignee, role="assignee"),
        ] + [
            schemas.SignerNeeded(participant_id=owner.participant_id, role="co_owner")
            for owner in right.owners
            if owner.participant_id not in (request.assignor, request.assignee)
        ]
        return schemas.TypedDataView(
            typed_data=assignment.typed_data(domain),
            digest=assignment.digest(domain),
            signers=signers,
        )

    def file_assignment(
        self, session: Session, principal: Principal, request: schemas.AssignmentSubmission
    ) -> OperationRow:
        assets = self.ledger.assets
        domain, assignment = _parse(Assignment, request.typed_data)
        if domain != assets.domain():
            raise Unprocessable("the assignment was signed for another chain or contract")
        signatures = [SignedBy(s.signer, s.signature) for s in request.signatures]

        def examine() -> None:
            # Filing checks only the formalities, and it uses up the assignor's nonce: a filing
            # that registration would refuse now (share not held, consent missing...) is refused
            # here, before the parties' signatures are spent on it.
            assets.check_assignment(assignment, [s.signer for s in signatures])

        call = Call(
            kind="file_assignment",
            target=assets.address,
            data=assets.call_data("fileAssignment", assignment, signatures),
            gas=GAS["file_assignment"],
            subject={
                "assignment_id": _hex(assignment.digest(domain)),
                "asset_id": _hex(assignment.asset_id),
            },
        )
        return self.relay(session, principal, [call], examine=examine)[0]

    def register_assignment(
        self, session: Session, principal: Principal, assignment_id: bytes
    ) -> OperationRow:
        with self.registry.read_sessions() as reading:  # not `session`: see `relay`
            filed = queries.assignment_by_id(reading, assignment_id)
        if filed is None:
            raise NotFound(f"no filed assignment {_hex(assignment_id)} in the register")
        assets = self.ledger.assets
        domain = assets.domain()
        assignment = Assignment(
            deadline=filed.deadline,
            chain_id=domain.chain_id,
            verifying_contract=domain.verifying_contract,
            asset_id=filed.asset_id,
            assignor=filed.assignor,
            assignee=filed.assignee,
            share_bps=filed.share_bps,
            terms_hash=filed.terms_hash,
            nonce=filed.nonce,
        )
        call = Call(
            kind="register_assignment",
            target=assets.address,
            data=assets.call_data("registerAssignment", assignment, list(filed.signers)),
            gas=GAS["register_assignment"],
            subject={"assignment_id": _hex(assignment_id), "asset_id": _hex(filed.asset_id)},
        )
        return self.relay(session, principal, [call])[0]

    def reject_assignment(
        self, session: Session, principal: Principal, assignment_id: bytes, reason: int
    ) -> OperationRow:
        assets = self.ledger.assets
        call = Call(
            kind="reject_assignment",
            target=assets.address,
            data=assets.call_data("rejectAssignment", assignment_id, reason),
            gas=GAS["reject_assignment"],
            subject={"assignment_id": _hex(assignment_id)},
        )
        return self.relay(session, principal, [call])[0]

    # --- relaying and answering ---

    def relay(
        self,
        session: Session,
        principal: Principal,
        calls: Sequence[Call],
        *,
        import_id: str | None = None,
        examine: Callable[[], None] | None = None,
    ) -> list[OperationRow]:
        """Check the calls against the chain (unless operations are in flight) and accept them.

        The chain is asked before `session` (the request's write transaction) touches the
        database: on SQLite that transaction holds the only write lock, and a node that is slow
        or hung would hold every other writer behind it. The count of operations in flight is
        read apart, in a read session; one accepted by another request in between is not in
        it, which is the same as that request coming a moment later.

        `examine`, if given, runs after the calls' own checks: a further view that must pass.
        """
        if not self._in_flight():
            for call in calls:
                self._precheck(call)
            if examine is not None:
                examine()
        return self.registry.outbox.accept_many(
            session, calls, requested_by=principal.address, import_id=import_id
        )

    def _in_flight(self) -> bool:
        with self.registry.read_sessions() as reading:
            return queued_count(reading, self.registry.outbox.sender) > 0

    def _precheck(self, call: Call) -> None:
        transaction: TxParams = {
            "from": self.registry.outbox.sender,
            "to": call.target,
            "data": call.data,
            "gas": call.gas,
            "gasPrice": Wei(0),
        }
        with self.ledger.chain.reverts_as_errors():
            self.ledger.chain.backend.w3.eth.call(transaction)

    def view(self, session: Session, row: OperationRow) -> schemas.OperationView:
        """The operation as the API shows it: `applied` once the mirror has its block."""
        status = row.status
        if status == OperationStatus.MINED and row.block_number is not None:
            mirrored = queries.mirror_status(session, self.registry.chain_id).block_number
            if mirrored is not None and mirrored >= row.block_number:
                status = "applied"
        error = None
        if row.error_code is not None:
            error = schemas.ErrorView(
                code=row.error_code,
                message=row.error_message or "",
                details=dict(row.error_details or {}),
            )
        return schemas.OperationView(
            id=row.id,
            kind=row.kind,
            status=status,  # type: ignore[arg-type]
            nonce=row.nonce,
            transaction_hash=row.transaction_hash,
            block_number=row.block_number,
            subject=dict(row.subject),
            error=error,
            created_at=_moment(row.created_at),
            finished_at=None if row.finished_at is None else _moment(row.finished_at),
        )

    def wait(self, operation_ids: Sequence[str], timeout: float) -> None:
        """Wait until every operation is applied to the mirror or failed, or `timeout` passes."""
        deadline = time.monotonic() + timeout
        pending = set(operation_ids)
        progress = self.registry.dispatcher.progress
        while pending and time.monotonic() < deadline:
            with self.registry.read_sessions() as session:
                for operation_id in list(pending):
                    row = session.get(OperationRow, operation_id)
                    if row is None or self.view(session, row).status in ("applied", "failed"):
                        pending.discard(operation_id)
            if pending:
                with progress:
                    progress.wait(min(0.05, max(0.0, deadline - time.monotonic())))


def _refuse_self_action(principal: Principal, participant_id: int) -> None:
    """Forbidden if an office participant would act on its own participant.

    The contract refuses an office key acting on its own participant (a stolen key could not
    suspend its holder out of reach, nor recover its keys), but through the API every office
    participant acts with the relayer's key, so the contract sees only the relayer's
    participant: the rule is checked here on the caller.
    """
    if principal.participant_id == participant_id:
        raise Forbidden(
            f"an office participant cannot act on its own participant ({participant_id}): "
            "another office participant must do it",
            {"participant_id": participant_id},
        )


def _parse(kind: type[S], typed_data: dict[str, object]) -> tuple[Domain, S]:
    try:
        return kind.from_typed_data(typed_data)
    except TypedDataError:
        raise
    except (TypeError, ValueError, AttributeError) as exc:  # a field of the wrong JSON shape
        raise TypedDataError(f"malformed typed data: {exc}") from exc


def _asset_input(right: schemas.RightInput) -> AssetInput:
    return AssetInput(
        jurisdiction=right.jurisdiction.encode(),
        kind=schemas.kind_of(right.kind),
        number=right.number,
        title=right.title,
        document_hash=right.document_hash,
        filing_date=schemas.date_seconds(right.filing_date),
        registration_date=schemas.date_seconds(right.registration_date),
        expiry_date=schemas.date_seconds(right.expiry_date),
        owners=tuple(Share(o.participant_id, o.bps) for o in right.owners),
    )


def _refuse_duplicates(inputs: Sequence[AssetInput]) -> None:
    seen: dict[bytes, int] = {}
    for index, right in enumerate(inputs):
        right_id = _id(right)
        if right_id in seen:
            raise Conflict(
                f"rights {seen[right_id]} and {index} of the request are the same right",
                {"asset_id": _hex(right_id), "positions": [seen[right_id], index]},
            )
        seen[right_id] = index


def _id(right: AssetInput) -> bytes:
    return compute_asset_id(right.jurisdiction, right.kind, right.number)


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _moment(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC)


def request_hash(*parts: bytes) -> bytes:
    """What identifies a request for idempotency: method, path and body."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()
