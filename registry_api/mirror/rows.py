"""Pure mapping of decoded events to row changes: what each event does to the mirror's tables.

No I/O here. `changes_for` turns one event into an ordered list of `Insert`, `Update` and
`DeleteWhere` changes by column name; `registry_api.mirror.apply` executes them. A new kind of
record (licences, pledges...) adds its tables to the models, a migration, and one function per
event, dispatched from `_state_changes`.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from eth_typing import ChecksumAddress

from ledger.events import (
    AssetRegistered,
    AssetStatusChanged,
    AssignmentFiled,
    AssignmentRegistered,
    AssignmentRejected,
    CertificateRenewed,
    DecodedLog,
    Event,
    KeyRecovered,
    KeyRotated,
    Log,
    ParticipantEnrolled,
    ParticipantReinstated,
    ParticipantRevoked,
    ParticipantRolesChanged,
    ParticipantSuspended,
)
from ledger.types import AssetStatus, AssignmentStatus, ParticipantStatus, Share

Row: TypeAlias = Mapping[str, object]


@dataclass(frozen=True)
class Insert:
    """A new row; its primary key is new."""

    table: str
    row: Row


@dataclass(frozen=True)
class Update:
    """Set `values` on the row whose primary key is `key`."""

    table: str
    key: Row
    values: Row


@dataclass(frozen=True)
class DeleteWhere:
    """Delete every row whose columns equal `where`."""

    table: str
    where: Row


Change: TypeAlias = Insert | Update | DeleteWhere


@dataclass(frozen=True)
class EventRef:
    """Where an event sits on the chain: the key of its row in `chain_events`."""

    block_number: int
    log_index: int

    def created(self) -> dict[str, object]:
        block, index = self.block_number, self.log_index
        return {
            "created_block": block,
            "created_log_index": index,
            "updated_block": block,
            "updated_log_index": index,
        }

    def updated(self) -> dict[str, object]:
        return {"updated_block": self.block_number, "updated_log_index": self.log_index}

    def key(self) -> dict[str, object]:
        return {"block_number": self.block_number, "log_index": self.log_index}


JsonConverter: TypeAlias = Callable[[Any], object]


def json_value(value: object) -> object:
    """An event argument as JSON: bytes as 0x-hex, enums as integers, records as objects."""
    if isinstance(value, enum.Enum):  # before int: IntEnum and IntFlag are ints
        return int(value.value)
    if value is None or isinstance(value, int | str):
        return value
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, tuple | list):
        return [json_value(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: json_value(getattr(value, name)) for name, _ in _json_fields(type(value))}
    return value


@functools.cache
def _json_fields(cls: type) -> tuple[tuple[str, JsonConverter | None], ...]:
    """A record's fields with what turns each into JSON (None: it is JSON already), by type:
    `json_value`'s rules decided once per class, not once per value."""
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _json_converter(hints[f.name])) for f in dataclasses.fields(cls))


def _json_converter(annotation: object) -> JsonConverter | None:
    if annotation in (int, str, bool) or annotation is ChecksumAddress:
        return None
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return lambda value: int(value.value)
    if annotation is bytes:
        return lambda value: "0x" + value.hex()
    if typing.get_origin(annotation) is tuple:
        item = _json_converter(typing.get_args(annotation)[0])
        if item is None:
            return list
        return lambda values: [item(v) for v in values]
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        fields = _json_fields(annotation)
        return lambda value: _json_record(value, fields)
    return json_value


def _json_record(
    value: object, fields: tuple[tuple[str, JsonConverter | None], ...]
) -> dict[str, object]:
    return {
        name: getattr(value, name) if convert is None else convert(getattr(value, name))
        for name, convert in fields
    }


def event_arguments(event: Event) -> dict[str, object]:
    cls: type = type(event)
    return _json_record(event, _json_fields(cls))


def event_row(decoded: DecodedLog) -> dict[str, object]:
    """The raw event log's row for a decoded event."""
    log = decoded.log
    return {
        "block_number": log.block_number,
        "log_index": log.log_index,
        "block_hash": log.block_hash,
        "transaction_hash": log.transaction_hash,
        "contract": log.address,
        "event_name": type(decoded.event).__name__,
        "arguments": event_arguments(decoded.event),
    }


def undecodable_row(log: Log, reason: str) -> dict[str, object]:
    return {
        "block_number": log.block_number,
        "log_index": log.log_index,
        "block_hash": log.block_hash,
        "transaction_hash": log.transaction_hash,
        "contract": log.address,
        "topics": ["0x" + topic.hex() for topic in log.topics],
        "data": log.data,
        "reason": reason,
    }


def search_key(asset_id: bytes) -> int:
    """The first 8 bytes of an asset id as a signed 64-bit integer (SQLite full-text rowid)."""
    return int.from_bytes(asset_id[:8], "big", signed=True)


def changes_for(decoded: DecodedLog) -> list[Change]:
    """Every row change an event makes, the raw event log's row first."""
    ref = EventRef(decoded.log.block_number, decoded.log.log_index)
    return [Insert("chain_events", event_row(decoded)), *_state_changes(decoded.event, ref)]


# --- ParticipantRegistry ---


def _enrolled(event: ParticipantEnrolled, ref: EventRef) -> list[Change]:
    participant: Row = {
        "participant_id": event.participant_id,
        "status": int(ParticipantStatus.ACTIVE),
        "roles": int(event.roles),
        "certificate_fingerprint": event.certificate_fingerprint,
        "certificate_not_after": event.certificate_not_after,
        "reason_code": None,
        "enrolled_by": event.office,
        **ref.created(),
    }
    keys: list[Change] = [
        Insert("participant_keys", _key_row(address, event.participant_id, "enrolled", ref))
        for address in event.keys
    ]
    return [Insert("participants", participant), *keys]


def _key_row(address: str, participant_id: int, bound_by: str, ref: EventRef) -> Row:
    return {
        "address": address,
        "participant_id": participant_id,
        "bound_by": bound_by,
        "retired": False,
        "replaced_by": None,
        **ref.created(),
    }


def _participant_update(participant_id: int, ref: EventRef, **values: object) -> list[Change]:
    key = {"participant_id": participant_id}
    return [Update("participants", key, {**values, **ref.updated()})]


def _suspended(event: ParticipantSuspended, ref: EventRef) -> list[Change]:
    status = int(ParticipantStatus.SUSPENDED)
    return _participant_update(
        event.participant_id, ref, status=status, reason_code=event.reason_code
    )


def _reinstated(event: ParticipantReinstated, ref: EventRef) -> list[Change]:
    status = int(ParticipantStatus.ACTIVE)
    return _participant_update(event.participant_id, ref, status=status, reason_code=None)


def _revoked(event: ParticipantRevoked, ref: EventRef) -> list[Change]:
    status = int(ParticipantStatus.REVOKED)
    return _participant_update(
        event.participant_id, ref, status=status, reason_code=event.reason_code
    )


def _roles_changed(event: ParticipantRolesChanged, ref: EventRef) -> list[Change]:
    return _participant_update(event.participant_id, ref, roles=int(event.roles))


def _certificate_renewed(event: CertificateRenewed, ref: EventRef) -> list[Change]:
    return _participant_update(
        event.participant_id,
        ref,
        certificate_fingerprint=event.certificate_fingerprint,
        certificate_not_after=event.certificate_not_after,
    )


def _key_replaced(
    participant_id: int, old_key: str, new_key: str, bound_by: str, ref: EventRef
) -> list[Change]:
    return [
        Update(
            "participant_keys",
            {"address": old_key},
            {"retired": True, "replaced_by": new_key, **ref.updated()},
        ),
        Insert("participant_keys", _key_row(new_key, participant_id, bound_by, ref)),
    ]


def _key_rotated(event: KeyRotated, ref: EventRef) -> list[Change]:
    return _key_replaced(event.participant_id, event.old_key, event.new_key, "rotated", ref)


def _key_recovered(event: KeyRecovered, ref: EventRef) -> list[Change]:
    return _key_replaced(event.participant_id, event.lost_key, event.new_key, "recovered", ref)


# --- IPAssetRegistry ---


def _owner_rows(asset_id: bytes, owners: tuple[Share, ...], ref: EventRef) -> list[Change]:
    return [
        Insert(
            "owners",
            {
                "asset_id": asset_id,
                "participant_id": share.participant_id,
                "bps": share.bps,
                "position": position,
                **ref.created(),
            },
        )
        for position, share in enumerate(owners)
    ]


def _asset_registered(event: AssetRegistered, ref: EventRef) -> list[Change]:
    right: Row = {
        "asset_id": event.asset_id,
        "jurisdiction": event.jurisdiction.decode("ascii", errors="replace"),
        "kind": int(event.kind),
        "number": event.number,
        "title": event.title,
        "document_hash": event.document_hash,
        "filing_date": event.filing_date,
        "registration_date": event.registration_date,
        "expiry_date": event.expiry_date,
        "status": int(AssetStatus.REGISTERED),
        "status_reason": None,
        "registered_by": event.office,
        "search_key": search_key(event.asset_id),
        **ref.created(),
    }
    return [Insert("rights", right), *_owner_rows(event.asset_id, event.owners, ref)]


def _asset_status_changed(event: AssetStatusChanged, ref: EventRef) -> list[Change]:
    return [
        Update(
            "rights",
            {"asset_id": event.asset_id},
            {"status": int(event.status), "status_reason": event.reason_code, **ref.updated()},
        ),
        Insert(
            "right_status_changes",
            {
                **ref.key(),
                "asset_id": event.asset_id,
                "previous_status": int(event.previous_status),
                "status": int(event.status),
                "reason_code": event.reason_code,
                "office": event.office,
            },
        ),
    ]


def _assignment_step(
    assignment_id: bytes, status: AssignmentStatus, reason: int | None, actor: str, ref: EventRef
) -> Insert:
    return Insert(
        "assignment_status_changes",
        {
            **ref.key(),
            "assignment_id": assignment_id,
            "status": int(status),
            "reason_code": reason,
            "actor": actor,
        },
    )


def _assignment_filed(event: AssignmentFiled, ref: EventRef) -> list[Change]:
    assignment: Row = {
        "assignment_id": event.assignment_id,
        "asset_id": event.asset_id,
        "assignor": event.assignor,
        "assignee": event.assignee,
        "share_bps": event.share_bps,
        "terms_hash": event.terms_hash,
        "nonce": str(event.nonce),
        "deadline": str(event.deadline),
        "filer": event.filer,
        "status": int(AssignmentStatus.FILED),
        "reason_code": None,
        "decided_by": None,
        **ref.created(),
    }
    signers: list[Change] = [
        Insert(
            "assignment_signers",
            {
                "assignment_id": event.assignment_id,
                "position": position,
                "signer": signer,
                **ref.created(),
            },
        )
        for position, signer in enumerate(event.signers)
    ]
    step = _assignment_step(event.assignment_id, AssignmentStatus.FILED, None, event.filer, ref)
    return [Insert("assignments", assignment), *signers, step]


def _assignment_registered(event: AssignmentRegistered, ref: EventRef) -> list[Change]:
    status = AssignmentStatus.REGISTERED
    return [
        Update(
            "assignments",
            {"assignment_id": event.assignment_id},
            {"status": int(status), "decided_by": event.office, **ref.updated()},
        ),
        # The event carries the right's whole owner list after the change: replace it.
        DeleteWhere("owners", {"asset_id": event.asset_id}),
        *_owner_rows(event.asset_id, event.owners, ref),
        _assignment_step(event.assignment_id, status, None, event.office, ref),
    ]


def _assignment_rejected(event: AssignmentRejected, ref: EventRef) -> list[Change]:
    status = AssignmentStatus.REJECTED
    return [
        Update(
            "assignments",
            {"assignment_id": event.assignment_id},
            {
                "status": int(status),
                "reason_code": event.reason_code,
                "decided_by": event.office,
                **ref.updated(),
            },
        ),
        _assignment_step(event.assignment_id, status, event.reason_code, event.office, ref),
    ]


def _state_changes(event: Event, ref: EventRef) -> list[Change]:
    """The changes beyond the raw event log. AccessControl's role events and the EIP-712
    domain event are kept in `chain_events` only."""
    match event:
        case ParticipantEnrolled():
            return _enrolled(event, ref)
        case ParticipantSuspended():
            return _suspended(event, ref)
        case ParticipantReinstated():
            return _reinstated(event, ref)
        case ParticipantRevoked():
            return _revoked(event, ref)
        case ParticipantRolesChanged():
            return _roles_changed(event, ref)
        case CertificateRenewed():
            return _certificate_renewed(event, ref)
        case KeyRotated():
            return _key_rotated(event, ref)
        case KeyRecovered():
            return _key_recovered(event, ref)
        case AssetRegistered():
            return _asset_registered(event, ref)
        case AssetStatusChanged():
            return _asset_status_changed(event, ref)
        case AssignmentFiled():
            return _assignment_filed(event, ref)
        case AssignmentRegistered():
            return _assignment_registered(event, ref)
        case AssignmentRejected():
            return _assignment_rejected(event, ref)
        case _:
            return []
