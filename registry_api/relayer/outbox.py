"""The outbox: accepting a write stores it, signed and with its nonce, in the caller's transaction.

Nothing is sent here. The request that accepts an operation commits it before answering, so an
acknowledged write survives any crash; the dispatcher sends it later, and sends the same raw
bytes again after a crash, never a second signature. Nonces come from one allocator per key, a
row in the database: allocation and insertion commit or roll back together, so a gap in the
sequence exists only while a request is being accepted.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ledger.signer import Signer
from registry_api.db.models import OperationRow, RelayerAccount

#: Gas of the no-op (a zero-value transfer to itself) that takes a refused transaction's nonce.
VOID_GAS = 21_000


class OperationStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    MINED = "mined"
    FAILED = "failed"


@dataclass(frozen=True)
class Call:
    """A contract call the office will send: what it is, where, with what input and gas."""

    kind: str
    target: ChecksumAddress
    data: bytes
    gas: int
    #: What the operation is about, shown with its status (asset ids, an assignment id...).
    subject: Mapping[str, object]


class Outbox:
    """Accepts calls into the outbox, signed by the relayer's key."""

    def __init__(self, signer: Signer, chain_id: int) -> None:
        self.signer = signer
        self.chain_id = chain_id

    @property
    def sender(self) -> ChecksumAddress:
        return self.signer.address

    def open_account(self, session: Session, chain_nonce: int) -> None:
        """Start (or catch up) the nonce allocator at the key's nonce on chain.

        The chain can be ahead when the key sent transactions the outbox does not know of
        (a deployment, a manual fix): the allocator never hands out a nonce the chain has used.
        """
        account = session.get(RelayerAccount, self.sender)
        if account is None:
            session.add(RelayerAccount(address=self.sender, next_nonce=chain_nonce))
        elif account.next_nonce < chain_nonce:
            account.next_nonce = chain_nonce
        session.flush()

    def accept(
        self,
        session: Session,
        call: Call,
        *,
        requested_by: str | None,
        import_id: str | None = None,
    ) -> OperationRow:
        """Store `call` as an operation, signed with the next nonce; the caller commits."""
        return self.accept_many(session, [call], requested_by=requested_by, import_id=import_id)[0]

    def accept_many(
        self,
        session: Session,
        calls: Sequence[Call],
        *,
        requested_by: str | None,
        import_id: str | None = None,
    ) -> list[OperationRow]:
        """Store several calls with consecutive nonces, in order; the caller commits."""
        first = self._allocate(session, len(calls))
        now = time.time()
        rows = []
        for offset, call in enumerate(calls):
            raw = self._sign(first + offset, call.target, call.data, call.gas)
            rows.append(
                OperationRow(
                    id=str(uuid.uuid4()),
                    kind=call.kind,
                    sender=self.sender,
                    nonce=first + offset,
                    target=call.target,
                    calldata=call.data,
                    gas=call.gas,
                    raw_transaction=raw,
                    transaction_hash=keccak(raw),
                    status=OperationStatus.QUEUED,
                    subject=dict(call.subject),
                    requested_by=requested_by,
                    import_id=import_id,
                    created_at=now,
                )
            )
        session.add_all(rows)
        session.flush()
        return rows

    def void_transaction(self, nonce: int) -> bytes:
        """A signed no-op with `nonce`: sent in place of a transaction the node refused, so
        that the nonces after it are not stuck behind a gap."""
        return self._sign(nonce, self.sender, b"", VOID_GAS)

    def _allocate(self, session: Session, count: int) -> int:
        # The UPDATE takes the row's lock (PostgreSQL) or the database's write lock (SQLite)
        # until the caller's transaction ends: concurrent requests get consecutive nonces.
        statement = (
            update(RelayerAccount)
            .where(RelayerAccount.address == self.sender)
            .values(next_nonce=RelayerAccount.next_nonce + count)
            .returning(RelayerAccount.next_nonce)
        )
        next_nonce = session.execute(statement).scalar_one_or_none()
        if next_nonce is None:
            raise RuntimeError(f"no nonce allocator for {self.sender}: open_account() first")
        return int(next_nonce) - count

    def _sign(self, nonce: int, target: ChecksumAddress, data: bytes, gas: int) -> bytes:
        return self.signer.sign_transaction(
            {
                "chainId": self.chain_id,
                "nonce": nonce,
                "gas": gas,
                "gasPrice": 0,
                "to": target,
                "value": 0,
                "data": data,
            }
        )


def operation(session: Session, operation_id: str) -> OperationRow | None:
    return session.get(OperationRow, operation_id)


def operations_of_import(session: Session, import_id: str) -> Sequence[OperationRow]:
    statement = select(OperationRow).where(OperationRow.import_id == import_id)
    return session.scalars(statement.order_by(OperationRow.nonce)).all()


def queued_count(session: Session, sender: str) -> int:
    """Operations of `sender` not yet mined."""
    statement = select(func.count()).where(
        OperationRow.sender == sender,
        OperationRow.status.in_((OperationStatus.QUEUED, OperationStatus.SENT)),
    )
    return int(session.scalar(statement) or 0)
