"""The SQL mirror of the ledger: one table per kind of record, each row traced to its event.

Every row of a ledger table names the event that created it (`created_block`,
`created_log_index`, a foreign key into `chain_events`, the raw event log) and the last event
that changed it (`updated_block`, `updated_log_index`). History tables are keyed by their event.
Keys are the chain's own (participant ids, asset ids, assignment ids, addresses), never
surrogates, so that a mirror built in any chunking, or rolled back and re-applied, has exactly
the rows of a fresh index.

Values keep the chain's types: hashes and ids as 32 raw bytes, addresses in checksum form,
enums as their integer values (`ledger.types`), uint256 values as decimal text (exact on SQLite).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Double,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Hash32 = LargeBinary(32)
Address = String(42)
#: A uint256 as decimal text: exact on SQLite, whose integers stop at 2**63.
Uint256Text = String(78)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# --- The raw event log, and what could not be decoded or applied ---


class ChainEvent(Base):
    """Every decoded event of the ledger's contracts, in chain order: the source of every row."""

    __tablename__ = "chain_events"

    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    block_hash: Mapped[bytes] = mapped_column(Hash32)
    transaction_hash: Mapped[bytes] = mapped_column(Hash32, index=True)
    contract: Mapped[str] = mapped_column(Address)
    event_name: Mapped[str] = mapped_column(String(64))
    #: The event's arguments by their Python names; bytes as 0x-hex, enums as integers.
    arguments: Mapped[dict[str, object]] = mapped_column(JSON)


class UndecodableLog(Base):
    """A log that was fetched but not applied: unknown contract, bad payload, or refused rows."""

    __tablename__ = "undecodable_logs"

    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    block_hash: Mapped[bytes] = mapped_column(Hash32)
    transaction_hash: Mapped[bytes] = mapped_column(Hash32)
    contract: Mapped[str] = mapped_column(Address)
    #: Topics as 0x-hex strings.
    topics: Mapped[list[str]] = mapped_column(JSON)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(Text)


class Traced:
    """Columns naming the event that created a row and the last one that changed it.

    Not foreign keys: checking one per row halves the backfill rate on PostgreSQL, and the
    indexer writes a row only with its event, in the same transaction (tests check the links).
    """

    created_block: Mapped[int] = mapped_column(BigInteger)
    created_log_index: Mapped[int] = mapped_column(Integer)
    updated_block: Mapped[int] = mapped_column(BigInteger)
    updated_log_index: Mapped[int] = mapped_column(Integer)

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[object, ...]:
        return (
            # Ordering by registration, keyset pagination, rollback of what a reorg removed.
            Index(None, "created_block", "created_log_index"),
            *getattr(cls, "extra_table_args", ()),
        )


# --- ParticipantRegistry ---


class ParticipantRow(Traced, Base):
    __tablename__ = "participants"

    participant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    #: ledger.types.ParticipantStatus
    status: Mapped[int] = mapped_column(SmallInteger)
    #: ledger.types.Role flags
    roles: Mapped[int] = mapped_column(SmallInteger)
    certificate_fingerprint: Mapped[bytes] = mapped_column(Hash32)
    certificate_not_after: Mapped[int] = mapped_column(BigInteger)
    #: The reason code of the current suspension or revocation.
    reason_code: Mapped[int | None] = mapped_column(Integer)
    enrolled_by: Mapped[str] = mapped_column(Address)


class KeyRow(Traced, Base):
    """A key bound to a participant; a retired key stays, marked, and is never bound again."""

    __tablename__ = "participant_keys"
    extra_table_args = (Index(None, "participant_id"),)

    address: Mapped[str] = mapped_column(Address, primary_key=True)
    participant_id: Mapped[int] = mapped_column(BigInteger)
    #: How the key was bound: "enrolled", "rotated" (signed by the old key) or "recovered".
    bound_by: Mapped[str] = mapped_column(String(16))
    retired: Mapped[bool] = mapped_column(Boolean)
    replaced_by: Mapped[str | None] = mapped_column(Address)


# --- IPAssetRegistry ---


class RightRow(Traced, Base):
    __tablename__ = "rights"
    extra_table_args = (UniqueConstraint("jurisdiction", "number", "kind"),)

    asset_id: Mapped[bytes] = mapped_column(Hash32, primary_key=True)
    jurisdiction: Mapped[str] = mapped_column(String(2))
    #: ledger.types.AssetKind
    kind: Mapped[int] = mapped_column(SmallInteger)
    number: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text)
    document_hash: Mapped[bytes] = mapped_column(Hash32)
    filing_date: Mapped[int] = mapped_column(BigInteger)
    registration_date: Mapped[int] = mapped_column(BigInteger)
    expiry_date: Mapped[int] = mapped_column(BigInteger)
    #: ledger.types.AssetStatus
    status: Mapped[int] = mapped_column(SmallInteger)
    #: The reason code of the last status change.
    status_reason: Mapped[int | None] = mapped_column(Integer)
    registered_by: Mapped[str] = mapped_column(Address)
    #: The first 8 bytes of the id as a signed integer: the rowid of SQLite's full-text index
    #: (indexed on SQLite only; see the migration).
    search_key: Mapped[int] = mapped_column(BigInteger)


class OwnerRow(Traced, Base):
    """An owner's share of a right now; replaced whole by each registered assignment."""

    __tablename__ = "owners"
    extra_table_args = (
        ForeignKeyConstraint(["asset_id"], ["rights.asset_id"]),
        Index(None, "participant_id", "asset_id"),
    )

    asset_id: Mapped[bytes] = mapped_column(Hash32, primary_key=True)
    participant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    bps: Mapped[int] = mapped_column(Integer)
    #: Place in the owners list as the contract reports it.
    position: Mapped[int] = mapped_column(SmallInteger)


class RightStatusChange(Base):
    __tablename__ = "right_status_changes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["block_number", "log_index"], ["chain_events.block_number", "chain_events.log_index"]
        ),
        ForeignKeyConstraint(["asset_id"], ["rights.asset_id"]),
        Index(None, "asset_id", "block_number", "log_index"),
    )

    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[bytes] = mapped_column(Hash32)
    previous_status: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[int] = mapped_column(SmallInteger)
    reason_code: Mapped[int] = mapped_column(Integer)
    office: Mapped[str] = mapped_column(Address)


class AssignmentRow(Traced, Base):
    """An assignment recordal request: filed, then registered or rejected by the office."""

    __tablename__ = "assignments"
    extra_table_args = (
        ForeignKeyConstraint(["asset_id"], ["rights.asset_id"]),
        Index(None, "asset_id", "created_block", "created_log_index"),
        Index(None, "status", "created_block", "created_log_index"),
    )

    assignment_id: Mapped[bytes] = mapped_column(Hash32, primary_key=True)
    asset_id: Mapped[bytes] = mapped_column(Hash32)
    assignor: Mapped[int] = mapped_column(BigInteger)
    assignee: Mapped[int] = mapped_column(BigInteger)
    share_bps: Mapped[int] = mapped_column(Integer)
    terms_hash: Mapped[bytes] = mapped_column(Hash32)
    nonce: Mapped[str] = mapped_column(Uint256Text)
    deadline: Mapped[str] = mapped_column(Uint256Text)
    filer: Mapped[str] = mapped_column(Address)
    #: ledger.types.AssignmentStatus
    status: Mapped[int] = mapped_column(SmallInteger)
    #: The office's reason code when rejected.
    reason_code: Mapped[int | None] = mapped_column(Integer)
    decided_by: Mapped[str | None] = mapped_column(Address)


class AssignmentSigner(Traced, Base):
    __tablename__ = "assignment_signers"
    extra_table_args = (ForeignKeyConstraint(["assignment_id"], ["assignments.assignment_id"]),)

    assignment_id: Mapped[bytes] = mapped_column(Hash32, primary_key=True)
    #: 0 the assignor's key, 1 the assignee's, then the co-owners' in the order filed.
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    signer: Mapped[str] = mapped_column(Address)


class AssignmentStatusChange(Base):
    """Each step of an assignment: filed (by the filer), registered or rejected (by the office)."""

    __tablename__ = "assignment_status_changes"
    __table_args__ = (
        ForeignKeyConstraint(
            ["block_number", "log_index"], ["chain_events.block_number", "chain_events.log_index"]
        ),
        ForeignKeyConstraint(["assignment_id"], ["assignments.assignment_id"]),
        Index(None, "assignment_id", "block_number", "log_index"),
    )

    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[bytes] = mapped_column(Hash32)
    #: ledger.types.AssignmentStatus
    status: Mapped[int] = mapped_column(SmallInteger)
    reason_code: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(Address)


# --- The indexer's own state ---


class Checkpoint(Base):
    """The last block whose logs are all applied; written in the same transaction as they are."""

    __tablename__ = "mirror_checkpoint"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[bytes] = mapped_column(Hash32)
    #: Blocks up to this one were applied without an undo journal (deeper than the reorg
    #: window below the head when they were applied): the mirror cannot roll back below it.
    final_block: Mapped[int] = mapped_column(BigInteger)


class RecentBlock(Base):
    """Hashes of recently indexed blocks, to find the common ancestor after a reorg."""

    __tablename__ = "mirror_blocks"

    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    block_hash: Mapped[bytes] = mapped_column(Hash32)


class UndoEntry(Base):
    """How to undo an update or delete made by an event of a block that may still be reorganised.

    `before` is the row as it was; undone newest first. (Rows an event created carry its
    position, `created_block` or `block_number`: a rollback deletes them by it.)
    """

    __tablename__ = "mirror_undo"

    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    table_name: Mapped[str] = mapped_column(String(64))
    key: Mapped[dict[str, object]] = mapped_column(JSON)
    before: Mapped[dict[str, object]] = mapped_column(JSON)


#: Tables that hold the mirror's content (not the indexer's bookkeeping), in dependency order.
CONTENT_TABLES = (
    "chain_events",
    "undecodable_logs",
    "participants",
    "participant_keys",
    "rights",
    "owners",
    "right_status_changes",
    "assignments",
    "assignment_signers",
    "assignment_status_changes",
)


# --- The registry service's own state: the relayer's outbox, sign-in, idempotency ---


class RelayerAccount(Base):
    """The next nonce of a key the relayer sends with: one allocator per key, in the database."""

    __tablename__ = "relayer_accounts"

    address: Mapped[str] = mapped_column(Address, primary_key=True)
    next_nonce: Mapped[int] = mapped_column(BigInteger)


class OperationRow(Base):
    """A write the office accepted: stored, signed and given its nonce before it is answered,
    then sent, then followed to its receipt. The raw transaction is kept so that after a crash
    the same bytes are sent again, never a second signature."""

    __tablename__ = "operations"
    __table_args__ = (
        UniqueConstraint("sender", "nonce"),
        Index("ix_operations_status_nonce", "status", "nonce"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    sender: Mapped[str] = mapped_column(Address)
    nonce: Mapped[int] = mapped_column(BigInteger)
    target: Mapped[str] = mapped_column(Address)
    calldata: Mapped[bytes] = mapped_column(LargeBinary)
    gas: Mapped[int] = mapped_column(BigInteger)
    raw_transaction: Mapped[bytes] = mapped_column(LargeBinary)
    transaction_hash: Mapped[bytes] = mapped_column(Hash32, unique=True)
    #: queued, sent, mined or failed ("applied" is mined and indexed by the mirror).
    status: Mapped[str] = mapped_column(String(10))
    #: What the operation is about (asset ids, an assignment id...), for its status page.
    subject: Mapped[dict[str, object]] = mapped_column(JSON)
    requested_by: Mapped[str | None] = mapped_column(Address, nullable=True)
    import_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    error_code: Mapped[str | None] = mapped_column(String(80), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_details: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    block_hash: Mapped[bytes | None] = mapped_column(Hash32, nullable=True)
    gas_used: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: Unix times, in seconds.
    created_at: Mapped[float] = mapped_column(Double)
    sent_at: Mapped[float | None] = mapped_column(Double, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Double, nullable=True)


class ImportRow(Base):
    """A bulk registration of rights, sent as batches (one operation each)."""

    __tablename__ = "imports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    rights: Mapped[int] = mapped_column(Integer)
    batches: Mapped[int] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(Address)
    created_at: Mapped[float] = mapped_column(Double)


class SignInChallenge(Base):
    """A sign-in message the service issued (EIP-4361 style): signed once, before it expires."""

    __tablename__ = "sign_in_challenges"
    __table_args__ = (
        # The outstanding challenges of an address (capped at each new one) and the purge's
        # expired ones (a used challenge expires as it is used).
        Index(None, "address", "expires_at"),
        Index(None, "expires_at"),
    )

    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    address: Mapped[str] = mapped_column(Address)
    message: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[float] = mapped_column(Double)
    used: Mapped[bool] = mapped_column(Boolean)


class IdempotencyRecord(Base):
    """The first answer to a write with an Idempotency-Key, replayed for the same request."""

    __tablename__ = "idempotency_records"

    principal: Mapped[str] = mapped_column(Address, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[bytes] = mapped_column(Hash32)
    status_code: Mapped[int] = mapped_column(SmallInteger)
    response: Mapped[dict[str, object]] = mapped_column(JSON)
    #: Indexed for the purge of records past their retention.
    created_at: Mapped[float] = mapped_column(Double, index=True)
