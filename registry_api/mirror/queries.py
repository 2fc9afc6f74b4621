"""Every read of the mirror: the register as people and services ask for it.

Functions take a session and return frozen dataclasses; none commits. Lists are paginated by
keyset: a page ends with the cursor of its last item (its position on the chain,
"block.log_index"), and the next page starts after it, so pages stay fast and stable however deep.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    JSON,
    CompoundSelect,
    Integer,
    LargeBinary,
    Row,
    Select,
    SmallInteger,
    bindparam,
    cast,
    column,
    func,
    literal_column,
    null,
    select,
    table,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ledger.types import AssetKind, AssetStatus, AssignmentStatus, ParticipantStatus, Role
from registry_api.db.models import (
    CONTENT_TABLES,
    AssignmentRow,
    AssignmentSigner,
    AssignmentStatusChange,
    Base,
    ChainEvent,
    Checkpoint,
    KeyRow,
    OwnerRow,
    ParticipantRow,
    RightRow,
    RightStatusChange,
    UndecodableLog,
)

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

_RIGHTS_SEARCH = table("rights_search", column("rowid"), column("title"))


@dataclass(frozen=True, order=True)
class Position:
    """Where an event sits on the chain; a keyset cursor is the position of a page's last item."""

    block_number: int
    log_index: int

    def cursor(self) -> str:
        return f"{self.block_number}.{self.log_index}"

    @classmethod
    def parse(cls, cursor: str) -> Position:
        """The position in a cursor; ValueError if it is not one."""
        block, _, index = cursor.partition(".")
        if not block.isdigit() or not index.isdigit():
            raise ValueError(f"not a cursor: {cursor!r}")
        return cls(int(block), int(index))


@dataclass(frozen=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    #: The cursor to pass for the next page; None on the last page.
    next_cursor: str | None


@dataclass(frozen=True)
class Owner:
    participant_id: int
    bps: int


@dataclass(frozen=True)
class Right:
    asset_id: bytes
    jurisdiction: str
    kind: AssetKind
    number: str
    title: str
    document_hash: bytes
    filing_date: int
    registration_date: int
    expiry_date: int
    status: AssetStatus
    status_reason: int | None
    registered_by: str
    registered_at: Position
    owners: tuple[Owner, ...]


@dataclass(frozen=True)
class Participant:
    participant_id: int
    status: ParticipantStatus
    roles: Role
    certificate_fingerprint: bytes
    certificate_not_after: int
    reason_code: int | None
    keys: tuple[str, ...]
    retired_keys: tuple[str, ...]


@dataclass(frozen=True)
class Assignment:
    assignment_id: bytes
    asset_id: bytes
    assignor: int
    assignee: int
    share_bps: int
    terms_hash: bytes
    nonce: int
    deadline: int
    status: AssignmentStatus
    reason_code: int | None
    filer: str
    decided_by: str | None
    signers: tuple[str, ...]
    filed_at: Position


@dataclass(frozen=True)
class Registration:
    """The right entered the register: who registered it, and its first owners."""

    position: Position
    transaction_hash: bytes
    office: str
    owners: tuple[Owner, ...]


@dataclass(frozen=True)
class Decision:
    """The office registered or rejected an assignment."""

    status: AssignmentStatus
    office: str
    reason_code: int | None
    position: Position
    transaction_hash: bytes
    #: The right's owners after a registered assignment.
    owners_after: tuple[Owner, ...]


@dataclass(frozen=True)
class AssignmentEntry:
    """An assignment of (a share of) the right: filed with its signatures, then decided."""

    position: Position
    transaction_hash: bytes
    assignment: Assignment
    decision: Decision | None


@dataclass(frozen=True)
class StatusEntry:
    position: Position
    transaction_hash: bytes
    previous_status: AssetStatus
    status: AssetStatus
    reason_code: int
    office: str


TitleEntry = Registration | AssignmentEntry | StatusEntry


@dataclass(frozen=True)
class NotAppliedLog:
    position: Position
    contract: str
    reason: str


@dataclass(frozen=True)
class MirrorStatus:
    block_number: int | None
    block_hash: bytes | None
    events: int
    not_applied: int


# --- rights ---


def right_by_id(session: Session, asset_id: bytes) -> Right | None:
    """A right and its owners, in one round trip."""
    rows = session.execute(
        select(RightRow.__table__, OwnerRow.participant_id, OwnerRow.bps)
        .outerjoin(OwnerRow, OwnerRow.asset_id == RightRow.asset_id)
        .where(RightRow.asset_id == asset_id)
        .order_by(OwnerRow.position)
    ).all()
    if not rows:
        return None
    owners = [Owner(r.participant_id, r.bps) for r in rows if r.participant_id is not None]
    return _right(rows[0], owners)


def rights_by_number(session: Session, jurisdiction: str, number: str) -> list[Right]:
    """The rights with this official number in this jurisdiction (one per kind at most)."""
    rows = session.scalars(
        select(RightRow)
        .where(RightRow.jurisdiction == jurisdiction, RightRow.number == number)
        .order_by(RightRow.kind)
    ).all()
    return _rights(session, rows)


def owners_of(session: Session, asset_id: bytes) -> list[Owner]:
    rows = session.execute(
        select(OwnerRow.participant_id, OwnerRow.bps)
        .where(OwnerRow.asset_id == asset_id)
        .order_by(OwnerRow.position)
    )
    return [Owner(pid, bps) for pid, bps in rows]


def rights_page(
    session: Session, after: str | None = None, limit: int = DEFAULT_PAGE_SIZE
) -> Page[Right]:
    """Every right, in the order they were registered."""
    return _right_page(session, select(RightRow), after, limit)


def rights_of(
    session: Session, participant_id: int, after: str | None = None, limit: int = DEFAULT_PAGE_SIZE
) -> Page[Right]:
    """The rights a participant owns a share of, in the order they were registered."""
    held = select(OwnerRow.asset_id).where(OwnerRow.participant_id == participant_id)
    return _right_page(session, select(RightRow).where(RightRow.asset_id.in_(held)), after, limit)


def search_rights(
    session: Session, text: str, after: str | None = None, limit: int = DEFAULT_PAGE_SIZE
) -> Page[Right]:
    """Rights whose title has every word of `text`, in the order they were registered."""
    words = [word for word in "".join(c if c.isalnum() else " " for c in text).split() if word]
    if not words:
        return Page((), None)
    query = select(RightRow)
    if session.get_bind().dialect.name == "postgresql":
        vector = func.to_tsvector(literal_column("'simple'"), RightRow.title)
        query = query.where(vector.bool_op("@@")(func.plainto_tsquery("simple", " ".join(words))))
    else:
        match = " ".join(f'"{word}"' for word in words)  # each word a phrase: no FTS5 syntax
        query = query.join(_RIGHTS_SEARCH, _RIGHTS_SEARCH.c.rowid == RightRow.search_key).where(
            literal_column("rights_search").bool_op("MATCH")(match)
        )
    return _right_page(session, query, after, limit)


def _right_page(
    session: Session, query: Select[RightRow], after: str | None, limit: int
) -> Page[Right]:
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    order = (RightRow.created_block, RightRow.created_log_index)
    if after is not None:
        position = Position.parse(after)
        query = query.where(tuple_(*order) > tuple_(position.block_number, position.log_index))
    rows = session.scalars(query.order_by(*order).limit(limit + 1)).all()
    items = _rights(session, rows[:limit])
    more = len(rows) > limit
    return Page(tuple(items), items[-1].registered_at.cursor() if more and items else None)


def _rights(session: Session, rows: Sequence[RightRow]) -> list[Right]:
    owners: dict[bytes, list[Owner]] = {row.asset_id: [] for row in rows}
    if owners:
        for asset_id, pid, bps in session.execute(
            select(OwnerRow.asset_id, OwnerRow.participant_id, OwnerRow.bps)
            .where(OwnerRow.asset_id.in_(list(owners)))
            .order_by(OwnerRow.asset_id, OwnerRow.position)
        ):
            owners[asset_id].append(Owner(pid, bps))
    return [_right(row, owners[row.asset_id]) for row in rows]


def _right(row: RightRow | Row[Any], owners: list[Owner]) -> Right:
    return Right(
        asset_id=row.asset_id,
        jurisdiction=row.jurisdiction,
        kind=AssetKind(row.kind),
        number=row.number,
        title=row.title,
        document_hash=row.document_hash,
        filing_date=row.filing_date,
        registration_date=row.registration_date,
        expiry_date=row.expiry_date,
        status=AssetStatus(row.status),
        status_reason=row.status_reason,
        registered_by=row.registered_by,
        registered_at=Position(row.created_block, row.created_log_index),
        owners=tuple(owners),
    )


# --- chain of title ---


#: What a row of the chain-of-title query is about.
_REGISTRATION, _ASSIGNMENT_STEP, _STATUS_CHANGE = 0, 1, 2


def chain_of_title(session: Session, asset_id: bytes) -> list[TitleEntry]:
    """Every registration, assignment and status change of a right, in chain order.

    One statement (one round trip): the registration, each step of each assignment (filed,
    then registered or rejected) and each status change, each with its event.
    """
    entries: dict[object, TitleEntry] = {}
    for row in session.execute(_chain_of_title_query(), {"asset_id": asset_id}):
        position = Position(row.block_number, row.log_index)
        if row.kind == _REGISTRATION:
            owners = _owners_json(row.arguments.get("owners"))
            entries[position] = Registration(position, row.transaction_hash, row.actor, owners)
        elif row.kind == _STATUS_CHANGE:
            entries[position] = StatusEntry(
                position,
                row.transaction_hash,
                AssetStatus(row.previous_status),
                AssetStatus(row.step_status),
                row.step_reason,
                row.actor,
            )
        elif row.step_status == AssignmentStatus.FILED:
            # The filing event names the signers, in the order they signed.
            signers = tuple(str(s) for s in row.arguments.get("signers", ()))
            entries[row.assignment_id] = AssignmentEntry(
                position, row.transaction_hash, _assignment(row, signers), None
            )
        elif isinstance(filed := entries.get(row.assignment_id), AssignmentEntry):
            decision = Decision(
                status=AssignmentStatus(row.step_status),
                office=row.actor,
                reason_code=row.step_reason,
                position=position,
                transaction_hash=row.transaction_hash,
                owners_after=_owners_json(row.arguments.get("owners")),
            )
            entries[row.assignment_id] = AssignmentEntry(
                filed.position, filed.transaction_hash, filed.assignment, decision
            )
    # Rows come in chain order; an assignment keeps the place of its filing.
    return list(entries.values())


@functools.cache
def _chain_of_title_query() -> CompoundSelect[Any]:
    """The chain of title of the right `:asset_id`, as one UNION ALL in chain order.

    A row: what it is (`kind`), its event (position, transaction, arguments), who acted, the
    status it set (`step_status`, `previous_status`) with the reason, and for the steps of an
    assignment the assignment's own columns (NULL in the other rows).
    """
    asset_id = bindparam("asset_id", type_=LargeBinary)
    event = ChainEvent.__table__
    right = RightRow.__table__
    assignment = AssignmentRow.__table__
    step = AssignmentStatusChange.__table__
    change = RightStatusChange.__table__

    def entry(
        kind: int,
        at: tuple[ColumnElement[int], ColumnElement[int]],
        actor: ColumnElement[str],
        *,
        arguments: bool = True,
        step_status: ColumnElement[int] | None = None,
        previous_status: ColumnElement[int] | None = None,
        step_reason: ColumnElement[int] | None = None,
        with_assignment: bool = False,
    ) -> Select[Any]:
        def nullable(value: ColumnElement[Any] | None, type_: Any) -> ColumnElement[Any]:
            return cast(null(), type_) if value is None else value

        return select(
            literal_column(str(kind), SmallInteger).label("kind"),
            event.c.block_number,
            event.c.log_index,
            event.c.transaction_hash,
            nullable(event.c.arguments if arguments else None, JSON).label("arguments"),
            actor.label("actor"),
            nullable(step_status, SmallInteger).label("step_status"),
            nullable(previous_status, SmallInteger).label("previous_status"),
            nullable(step_reason, Integer).label("step_reason"),
            *(c if with_assignment else cast(null(), c.type).label(c.name) for c in assignment.c),
        ).where(tuple_(event.c.block_number, event.c.log_index) == tuple_(*at))

    registration = entry(
        _REGISTRATION, (right.c.created_block, right.c.created_log_index), right.c.registered_by
    ).where(right.c.asset_id == asset_id)
    steps = (
        entry(
            _ASSIGNMENT_STEP,
            (step.c.block_number, step.c.log_index),
            step.c.actor,
            step_status=step.c.status,
            step_reason=step.c.reason_code,
            with_assignment=True,
        )
        .where(step.c.assignment_id == assignment.c.assignment_id)
        .where(assignment.c.asset_id == asset_id)
    )
    changes = entry(
        _STATUS_CHANGE,
        (change.c.block_number, change.c.log_index),
        change.c.office,
        arguments=False,
        step_status=change.c.status,
        previous_status=change.c.previous_status,
        step_reason=change.c.reason_code,
    ).where(change.c.asset_id == asset_id)
    return union_all(registration, steps, changes).order_by(
        literal_column("block_number"), literal_column("log_index")
    )


def _owners_json(value: object) -> tuple[Owner, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(Owner(int(v["participant_id"]), int(v["bps"])) for v in value)


# --- assignments and participants ---


def assignment_by_id(session: Session, assignment_id: bytes) -> Assignment | None:
    row = session.get(AssignmentRow, assignment_id)
    return None if row is None else _assignments(session, [row])[0]


def assignment_decision(session: Session, assignment: Assignment) -> Decision | None:
    """The office's decision on an assignment, from its right's chain of title; None while it
    is filed."""
    if assignment.status == AssignmentStatus.FILED:
        return None
    for entry in chain_of_title(session, assignment.asset_id):
        if (
            isinstance(entry, AssignmentEntry)
            and entry.assignment.assignment_id == assignment.assignment_id
        ):
            return entry.decision
    return None


def pending_assignments(
    session: Session, after: str | None = None, limit: int = DEFAULT_PAGE_SIZE
) -> Page[Assignment]:
    """Filed assignments awaiting the office's decision, oldest first: the office's queue."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    order = (AssignmentRow.created_block, AssignmentRow.created_log_index)
    query = select(AssignmentRow).where(AssignmentRow.status == int(AssignmentStatus.FILED))
    if after is not None:
        position = Position.parse(after)
        query = query.where(tuple_(*order) > tuple_(position.block_number, position.log_index))
    rows = session.scalars(query.order_by(*order).limit(limit + 1)).all()
    items = _assignments(session, rows[:limit])
    more = len(rows) > limit
    return Page(tuple(items), items[-1].filed_at.cursor() if more and items else None)


def _assignment(row: AssignmentRow | Row[Any], signers: tuple[str, ...]) -> Assignment:
    return Assignment(
        assignment_id=row.assignment_id,
        asset_id=row.asset_id,
        assignor=row.assignor,
        assignee=row.assignee,
        share_bps=row.share_bps,
        terms_hash=row.terms_hash,
        nonce=int(row.nonce),
        deadline=int(row.deadline),
        status=AssignmentStatus(row.status),
        reason_code=row.reason_code,
        filer=row.filer,
        decided_by=row.decided_by,
        signers=signers,
        filed_at=Position(row.created_block, row.created_log_index),
    )


def _assignments(session: Session, rows: Sequence[AssignmentRow]) -> list[Assignment]:
    signers: dict[bytes, list[str]] = {row.assignment_id: [] for row in rows}
    if signers:
        for assignment_id, signer in session.execute(
            select(AssignmentSigner.assignment_id, AssignmentSigner.signer)
            .where(AssignmentSigner.assignment_id.in_(list(signers)))
            .order_by(AssignmentSigner.assignment_id, AssignmentSigner.position)
        ):
            signers[assignment_id].append(signer)
    return [_assignment(row, tuple(signers[row.assignment_id])) for row in rows]


def participant_by_id(session: Session, participant_id: int) -> Participant | None:
    row = session.get(ParticipantRow, participant_id)
    if row is None:
        return None
    keys = session.execute(
        select(KeyRow.address, KeyRow.retired)
        .where(KeyRow.participant_id == participant_id)
        .order_by(KeyRow.created_block, KeyRow.created_log_index, KeyRow.address)
    ).all()
    return Participant(
        participant_id=row.participant_id,
        status=ParticipantStatus(row.status),
        roles=Role(row.roles),
        certificate_fingerprint=row.certificate_fingerprint,
        certificate_not_after=row.certificate_not_after,
        reason_code=row.reason_code,
        keys=tuple(address for address, retired in keys if not retired),
        retired_keys=tuple(address for address, retired in keys if retired),
    )


def participant_ids(session: Session) -> list[int]:
    return list(session.scalars(select(ParticipantRow.participant_id).order_by("participant_id")))


def assignment_ids(session: Session) -> list[bytes]:
    return list(session.scalars(select(AssignmentRow.assignment_id).order_by("assignment_id")))


# --- the mirror itself ---


def mirror_status(session: Session, chain_id: int) -> MirrorStatus:
    checkpoint = session.get(Checkpoint, chain_id)
    events = session.scalar(select(func.count()).select_from(ChainEvent)) or 0
    not_applied = session.scalar(select(func.count()).select_from(UndecodableLog)) or 0
    return MirrorStatus(
        checkpoint.block_number if checkpoint else None,
        checkpoint.block_hash if checkpoint else None,
        events,
        not_applied,
    )


def not_applied_logs(session: Session, limit: int = 100) -> list[NotAppliedLog]:
    rows = session.scalars(
        select(UndecodableLog)
        .order_by(UndecodableLog.block_number.desc(), UndecodableLog.log_index.desc())
        .limit(limit)
    )
    return [
        NotAppliedLog(Position(r.block_number, r.log_index), r.contract, r.reason) for r in rows
    ]


def table_digests(session: Session, chain_id: int) -> dict[str, str]:
    """A SHA-256 of every row of every content table, in key order, and of the checkpoint.

    Two mirrors with equal digests hold the same rows: a mirror built by any chunking, replay,
    crash or reorg can be compared with a fresh index of the same chain.
    """
    digests = {}
    for name in CONTENT_TABLES:
        model_table = Base.metadata.tables[name]
        rows = session.execute(select(model_table).order_by(*model_table.primary_key.columns)).all()
        digests[name] = _digest(rows)
    checkpoint = session.get(Checkpoint, chain_id)
    digests["checkpoint"] = _digest(
        [] if checkpoint is None else [(checkpoint.block_number, checkpoint.block_hash)]
    )
    return digests


def _digest(rows: Iterable[Row[tuple[object, ...]] | tuple[object, ...]]) -> str:
    digest = hashlib.sha256()
    count = 0
    for row in rows:
        count += 1
        values = [v.hex() if isinstance(v, bytes) else v for v in tuple(row)]
        digest.update(json.dumps(values, sort_keys=True, default=str).encode())
        digest.update(b"\n")
    return f"{count}:{digest.hexdigest()}"
