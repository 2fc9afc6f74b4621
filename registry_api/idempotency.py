"""Idempotent writes: the first answer to an Idempotency-Key is kept and replayed.

A client that did not hear the answer sends the same request with the same key again; it gets
the first answer and nothing is sent twice. The same key with another request is refused: the
client has a bug, and guessing which request it meant would be worse. Answers are kept for a
retention period (a day by default), then purged by the service.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from registry_api.db.models import IdempotencyRecord
from registry_api.errors import IdempotencyKeyReused

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: dict[str, object]


def replay(session: Session, principal: str, key: str, request_hash: bytes) -> Replay | None:
    """The first answer to this key, if there was one; refused if it was another request."""
    record = session.get(IdempotencyRecord, (principal, key))
    if record is None:
        return None
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used for another request: use a new key for a new request",
            {"idempotency_key": key},
        )
    return Replay(record.status_code, dict(record.response))


def operation_ids(answer: dict[str, object]) -> list[str]:
    """The operations a write's answer names: an operation, or an import's operations."""
    operations = answer.get("operations")
    if isinstance(operations, list):
        return [str(operation["id"]) for operation in operations]
    return [str(answer["id"])]


def remember(
    session: Session,
    principal: str,
    key: str,
    request_hash: bytes,
    status_code: int,
    body: dict[str, object],
) -> None:
    """Keep the answer, in the transaction that accepts the write; the caller commits."""
    session.add(
        IdempotencyRecord(
            principal=principal,
            key=key,
            request_hash=request_hash,
            status_code=status_code,
            response=body,
            created_at=time.time(),
        )
    )


def purge(session: Session, before: float, batch: int) -> int:
    """Delete up to `batch` records kept since before `before`; how many. The caller commits.

    A retry after its record is gone is a new request: the retention must outlast any client's
    retries (IPLEDGER_IDEMPOTENCY_RETENTION_SECONDS).
    """
    old = (
        select(IdempotencyRecord.principal, IdempotencyRecord.key)
        .where(IdempotencyRecord.created_at < before)
        .limit(batch)
    )
    keys = tuple_(IdempotencyRecord.principal, IdempotencyRecord.key)
    deleted = session.execute(delete(IdempotencyRecord).where(keys.in_(old)))
    return int(deleted.rowcount)  # type: ignore[attr-defined]
