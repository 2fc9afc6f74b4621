"""The SQL mirror: raw event log, participants, keys, rights, owners, assignments, indexer state.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

#: Full-text search over titles. SQLite: an FTS5 table kept by triggers, its rowid the right's
#: `search_key`. PostgreSQL: a GIN index on the title's tsvector. The 'simple' configuration
#: (no stemming, no stop words): titles come from many jurisdictions and languages.
SQLITE_SEARCH = (
    "CREATE INDEX ix_rights_search_key ON rights (search_key)",
    "CREATE VIRTUAL TABLE rights_search"
    " USING fts5(title, tokenize = 'unicode61 remove_diacritics 2')",
    """CREATE TRIGGER rights_search_insert AFTER INSERT ON rights BEGIN
        INSERT INTO rights_search(rowid, title) VALUES (new.search_key, new.title);
    END""",
    """CREATE TRIGGER rights_search_delete AFTER DELETE ON rights BEGIN
        DELETE FROM rights_search WHERE rowid = old.search_key;
    END""",
    """CREATE TRIGGER rights_search_update AFTER UPDATE OF title, search_key ON rights BEGIN
        DELETE FROM rights_search WHERE rowid = old.search_key;
        INSERT INTO rights_search(rowid, title) VALUES (new.search_key, new.title);
    END""",
)
POSTGRESQL_SEARCH = (
    "CREATE INDEX ix_rights_title_search ON rights USING gin (to_tsvector('simple', title))",
)


def upgrade() -> None:
    op.create_table(
        "chain_events",
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("block_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("transaction_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("event_name", sa.String(length=64), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_chain_events")),
    )
    with op.batch_alter_table("chain_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chain_events_transaction_hash"), ["transaction_hash"], unique=False
        )

    op.create_table(
        "mirror_blocks",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("block_number", name=op.f("pk_mirror_blocks")),
    )
    op.create_table(
        "mirror_checkpoint",
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("final_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", name=op.f("pk_mirror_checkpoint")),
    )
    op.create_table(
        "mirror_undo",
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("key", sa.JSON(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("block_number", "log_index", "step", name=op.f("pk_mirror_undo")),
    )
    op.create_table(
        "undecodable_logs",
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("block_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("transaction_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_undecodable_logs")),
    )
    op.create_table(
        "participant_keys",
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("participant_id", sa.BigInteger(), nullable=False),
        sa.Column("bound_by", sa.String(length=16), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("replaced_by", sa.String(length=42), nullable=True),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.Column("created_log_index", sa.Integer(), nullable=False),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.Column("updated_log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_participant_keys")),
    )
    with op.batch_alter_table("participant_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_participant_keys_created_block"),
            ["created_block", "created_log_index"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_participant_keys_participant_id"), ["participant_id"], unique=False
        )

    op.create_table(
        "participants",
        sa.Column("participant_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("roles", sa.SmallInteger(), nullable=False),
        sa.Column("certificate_fingerprint", sa.LargeBinary(length=32), nullable=False),
        sa.Column("certificate_not_after", sa.BigInteger(), nullable=False),
        sa.Column("reason_code", sa.Integer(), nullable=True),
        sa.Column("enrolled_by", sa.String(length=42), nullable=False),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.Column("created_log_index", sa.Integer(), nullable=False),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.Column("updated_log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("participant_id", name=op.f("pk_participants")),
    )
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_participants_created_block"),
            ["created_block", "created_log_index"],
            unique=False,
        )

    op.create_table(
        "rights",
        sa.Column("asset_id", sa.LargeBinary(length=32), nullable=False),
        sa.Column("jurisdiction", sa.String(length=2), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("document_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("filing_date", sa.BigInteger(), nullable=False),
        sa.Column("registration_date", sa.BigInteger(), nullable=False),
        sa.Column("expiry_date", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("status_reason", sa.Integer(), nullable=True),
        sa.Column("registered_by", sa.String(length=42), nullable=False),
        sa.Column("search_key", sa.BigInteger(), nullable=False),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.Column("created_log_index", sa.Integer(), nullable=False),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.Column("updated_log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("asset_id", name=op.f("pk_rights")),
        sa.UniqueConstraint(
            "jurisdiction", "number", "kind", name=op.f("uq_rights_jurisdiction_number_kind")
        ),
    )
    with op.batch_alter_table("rights", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rights_created_block"),
            ["created_block", "created_log_index"],
            unique=False,
        )

    op.create_table(
        "assignments",
        sa.Column("assignment_id", sa.LargeBinary(length=32), nullable=False),
        sa.Column("asset_id", sa.LargeBinary(length=32), nullable=False),
        sa.Column("assignor", sa.BigInteger(), nullable=False),
        sa.Column("assignee", sa.BigInteger(), nullable=False),
        sa.Column("share_bps", sa.Integer(), nullable=False),
        sa.Column("terms_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("nonce", sa.String(length=78), nullable=False),
        sa.Column("deadline", sa.String(length=78), nullable=False),
        sa.Column("filer", sa.String(length=42), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("reason_code", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=42), nullable=True),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.Column("created_log_index", sa.Integer(), nullable=False),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.Column("updated_log_index", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["rights.asset_id"], name=op.f("fk_assignments_rights")
        ),
        sa.PrimaryKeyConstraint("assignment_id", name=op.f("pk_assignments")),
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assignments_asset_id"),
            ["asset_id", "created_block", "created_log_index"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_assignments_created_block"),
            ["created_block", "created_log_index"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_assignments_status"),
            ["status", "created_block", "created_log_index"],
            unique=False,
        )

    op.create_table(
        "owners",
        sa.Column("asset_id", sa.LargeBinary(length=32), nullable=False),
        sa.Column("participant_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("bps", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.Column("created_log_index", sa.Integer(), nullable=False),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.Column("updated_log_index", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["asset_id"], ["rights.asset_id"], name=op.f("fk_owners_rights")),
        sa.PrimaryKeyConstraint("asset_id", "participant_id", name=op.f("pk_owners")),
    )
    with op.batch_alter_table("owners", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_owners_created_block"),
            ["created_block", "created_log_index"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_owners_participant_id"), ["participant_id", "asset_id"], unique=False
        )

    op.create_table(
        "right_status_changes",
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.LargeBinary(length=32), nullable=False),
        sa.Column("previous_status", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("reason_code", sa.Integer(), nullable=False),
        sa.Column("office", sa.String(length=42), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["rights.asset_id"], name=op.f("fk_right_status_changes_rights")
        ),
        sa.ForeignKeyConstraint(
            ["block_number", "log_index"],
            ["chain_events.block_number", "chain_events.log_index"],
            name=op.f("fk_right_status_changes_chain_events"),
        ),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_right_status_changes")),
    )
    with op.batch_alter_table("right_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_right_status_changes_asset_id"),
            ["asset_id", "block_number", "log_index"],
            unique=False,
        )

    op.create_table(
        "assignment_signers",
        sa.Column("assignment_id", sa.LargeBinary(length=32), nullable=False),
        sa.Column("position", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("signer", sa.String(length=42), nullable=False),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.Column("created_log_index", sa.Integer(), nullable=False),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.Column("updated_log_index", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.assignment_id"],
            name=op.f("fk_assignment_signers_assignments"),
        ),
        sa.PrimaryKeyConstraint("assignment_id", "position", name=op.f("pk_assignment_signers")),
    )
    with op.batch_alter_table("assignment_signers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assignment_signers_created_block"),
            ["created_block", "created_log_index"],
            unique=False,
        )

    op.create_table(
        "assignment_status_changes",
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.LargeBinary(length=32), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("reason_code", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=42), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignments.assignment_id"],
            name=op.f("fk_assignment_status_changes_assignments"),
        ),
        sa.ForeignKeyConstraint(
            ["block_number", "log_index"],
            ["chain_events.block_number", "chain_events.log_index"],
            name=op.f("fk_assignment_status_changes_chain_events"),
        ),
        sa.PrimaryKeyConstraint(
            "block_number", "log_index", name=op.f("pk_assignment_status_changes")
        ),
    )
    with op.batch_alter_table("assignment_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assignment_status_changes_assignment_id"),
            ["assignment_id", "block_number", "log_index"],
            unique=False,
        )

    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_SEARCH, "postgresql": POSTGRESQL_SEARCH}.get(dialect, ()):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER rights_search_{trigger}")
        op.execute("DROP TABLE rights_search")
        op.execute("DROP INDEX ix_rights_search_key")
    elif dialect == "postgresql":
        op.execute("DROP INDEX ix_rights_title_search")
    with op.batch_alter_table("assignment_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignment_status_changes_assignment_id"))

    op.drop_table("assignment_status_changes")
    with op.batch_alter_table("assignment_signers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignment_signers_created_block"))

    op.drop_table("assignment_signers")
    with op.batch_alter_table("right_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_right_status_changes_asset_id"))

    op.drop_table("right_status_changes")
    with op.batch_alter_table("owners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_owners_participant_id"))
        batch_op.drop_index(batch_op.f("ix_owners_created_block"))

    op.drop_table("owners")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignments_status"))
        batch_op.drop_index(batch_op.f("ix_assignments_created_block"))
        batch_op.drop_index(batch_op.f("ix_assignments_asset_id"))

    op.drop_table("assignments")
    with op.batch_alter_table("rights", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rights_created_block"))

    op.drop_table("rights")
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participants_created_block"))

    op.drop_table("participants")
    with op.batch_alter_table("participant_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participant_keys_participant_id"))
        batch_op.drop_index(batch_op.f("ix_participant_keys_created_block"))

    op.drop_table("participant_keys")
    op.drop_table("undecodable_logs")
    op.drop_table("mirror_undo")
    op.drop_table("mirror_checkpoint")
    op.drop_table("mirror_blocks")
    with op.batch_alter_table("chain_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chain_events_transaction_hash"))

    op.drop_table("chain_events")
