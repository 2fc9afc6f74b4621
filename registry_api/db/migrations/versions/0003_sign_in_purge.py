"""Indexes for the purge of spent sign-in challenges and old idempotency records, and for the cap
on an address's outstanding challenges.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_sign_in_challenges_address"), "sign_in_challenges", ["address", "expires_at"]
    )
    op.create_index(op.f("ix_sign_in_challenges_expires_at"), "sign_in_challenges", ["expires_at"])
    op.create_index(
        op.f("ix_idempotency_records_created_at"), "idempotency_records", ["created_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_idempotency_records_created_at"), table_name="idempotency_records")
    op.drop_index(op.f("ix_sign_in_challenges_expires_at"), table_name="sign_in_challenges")
    op.drop_index(op.f("ix_sign_in_challenges_address"), table_name="sign_in_challenges")
