"""The dispatcher: sends the outbox in nonce order and follows each operation to its receipt.

One step: ask the node for the key's pending nonce; operations below it are on chain or in the
pool (a crash after sending and before recording it leaves them marked queued: they are marked
sent); operations at or above it are sent, in one batch, as the run of consecutive nonces that
starts there (an operation marked sent but above the pending nonce was dropped by the node and
is sent again, the same raw bytes). Then receipts of sent operations are read in one batch and
their outcome recorded: mined, or failed with the contract's decoded error.

A transaction the node refuses outright (it can never be mined) is replaced by a signed no-op
with the same nonce, so that the operations after it are not stuck; the operation is failed with
the node's reason.
"""

from __future__ import annotations

import logging
import threading
import time
import typing
from collections.abc import Sequence
from dataclasses import dataclass

from eth_utils.crypto import keccak
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, TxParams, Wei

from ledger.chain import Chain, Receipt
from ledger.errors import ContractError, LedgerError
from registry_api.db.models import OperationRow
from registry_api.relayer.outbox import OperationStatus, Outbox

log = logging.getLogger(__name__)

#: Node answers to a repeated send that mean "it is already there".
_ALREADY_SENT = ("already known", "known transaction", "already imported", "nonce too low")


@dataclass(frozen=True)
class DispatcherOptions:
    #: Operations sent, and receipts read, per JSON-RPC batch.
    batch: int = 500
    #: Wait between steps when there is nothing to do.
    poll_seconds: float = 0.02
    #: Longest wait after consecutive failures of the node or the database.
    max_backoff_seconds: float = 5.0


@dataclass(frozen=True)
class StepReport:
    sent: int = 0
    finished: int = 0


class Dispatcher:
    """Sends and follows the operations of one relayer key."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        chain: Chain,
        outbox: Outbox,
        options: DispatcherOptions | None = None,
    ) -> None:
        self.sessions = sessions
        self.chain = chain
        self.outbox = outbox
        self.options = options or DispatcherOptions()
        #: Set after every step that finished operations; waiters use it to wake up.
        self.progress = threading.Condition()

    def run(self, stop: threading.Event) -> None:
        """Step until `stop` is set; survive the node or the database going away."""
        failures = 0
        while not stop.is_set():
            try:
                report = self.step()
            except Exception as exc:  # a node or database outage: wait and try again
                failures += 1
                delay = min(
                    self.options.poll_seconds * 2**failures, self.options.max_backoff_seconds
                )
                log.warning("relayer step failed (%s); retrying in %.2fs", exc, delay)
                stop.wait(delay)
                continue
            failures = 0
            if report.sent == 0 and report.finished == 0:
                stop.wait(self.options.poll_seconds)

    def step(self) -> StepReport:
        """Send what can be sent, record what finished."""
        w3 = self.chain.backend.w3
        sender = self.outbox.sender
        pending = int(w3.eth.get_transaction_count(sender, "pending"))
        with self.sessions.begin() as session:
            self._mark_sent_below(session, pending)
            sent = self._send_from(session, pending)
        with self.sessions.begin() as session:
            finished = self._record_receipts(session)
        if finished:
            with self.progress:
                self.progress.notify_all()
        return StepReport(sent=sent, finished=finished)

    def _mark_sent_below(self, session: Session, pending: int) -> None:
        session.execute(
            update(OperationRow)
            .where(
                OperationRow.sender == self.outbox.sender,
                OperationRow.status == OperationStatus.QUEUED,
                OperationRow.nonce < pending,
            )
            .values(status=OperationStatus.SENT, sent_at=time.time())
        )

    def _send_from(self, session: Session, pending: int) -> int:
        rows = session.scalars(
            select(OperationRow)
            .where(
                OperationRow.sender == self.outbox.sender,
                OperationRow.status.in_((OperationStatus.QUEUED, OperationStatus.SENT)),
                OperationRow.nonce >= pending,
            )
            .order_by(OperationRow.nonce)
            .limit(self.options.batch)
        ).all()
        run = _consecutive(rows, pending)
        if not run:
            return 0
        responses = self._batch(
            [("eth_sendRawTransaction", "0x" + row.raw_transaction.hex()) for row in run]
        )
        now = time.time()
        for row, response in zip(run, responses, strict=True):
            error = response.get("error") if isinstance(response, dict) else None
            if error is not None and not _already_sent(error):
                self._void(row, error)
            row.status = OperationStatus.SENT
            row.sent_at = now
        return len(run)

    def _void(self, row: OperationRow, error: object) -> None:
        message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
        log.warning("node refused operation %s (nonce %d): %s", row.id, row.nonce, message)
        row.raw_transaction = self.outbox.void_transaction(row.nonce)
        row.transaction_hash = keccak(row.raw_transaction)
        row.error_code = "refused_by_node"
        row.error_message = f"the node refused the transaction: {message}"
        row.error_details = {"node_error": error if isinstance(error, dict) else message}
        # The no-op is sent now, in this batch's place; it is sent with the next step.
        row.status = OperationStatus.SENT

    def _record_receipts(self, session: Session) -> int:
        rows = session.scalars(
            select(OperationRow)
            .where(
                OperationRow.sender == self.outbox.sender,
                OperationRow.status == OperationStatus.SENT,
            )
            .order_by(OperationRow.nonce)
            .limit(self.options.batch)
        ).all()
        if not rows:
            return 0
        responses = self._batch(
            [("eth_getTransactionReceipt", "0x" + row.transaction_hash.hex()) for row in rows]
        )
        finished = 0
        now = time.time()
        for row, response in zip(rows, responses, strict=True):
            raw = response.get("result") if isinstance(response, dict) else None
            if not isinstance(raw, dict):
                continue  # not mined yet
            receipt = _receipt(raw)
            row.block_number = receipt.block_number
            row.block_hash = receipt.block_hash
            row.gas_used = receipt.gas_used
            row.finished_at = now
            finished += 1
            if row.error_code is not None:  # a voided operation: its no-op is what was mined
                row.status = OperationStatus.FAILED
            elif receipt.status == 1:
                row.status = OperationStatus.MINED
            else:
                row.status = OperationStatus.FAILED
                self._record_failure(row, receipt)
        return finished

    def _batch(self, calls: list[tuple[str, str]]) -> list[dict[str, object]]:
        """One JSON-RPC batch of single-parameter calls; a response per call, in order."""
        provider = typing.cast(JSONBaseProvider, self.chain.backend.w3.provider)
        responses = provider.make_batch_request([(RPCEndpoint(m), [p]) for m, p in calls])
        if isinstance(responses, dict):  # the node answered the whole batch with one error
            raise RuntimeError(f"the node refused the batch: {responses.get('error', responses)}")
        return typing.cast(list[dict[str, object]], list(responses))

    def _record_failure(self, row: OperationRow, receipt: Receipt) -> None:
        call: TxParams = {
            "from": self.outbox.sender,
            "to": row.target,
            "data": row.calldata,
            "gas": row.gas,
            "gasPrice": Wei(0),
        }
        error = self.chain.failure(call, receipt)
        row.error_code = type(error).__name__
        row.error_message = str(error)
        row.error_details = error_details(error)


def error_details(error: LedgerError) -> dict[str, object]:
    """A contract error's arguments, as JSON values."""
    if not isinstance(error, ContractError):
        return {}
    return {name: json_value(getattr(error, name)) for name in error.field_names()}


def json_value(value: object) -> object:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if hasattr(value, "name") and isinstance(value, int):  # IntEnum, IntFlag
        return str(getattr(value, "name", value))
    return value


def _consecutive(rows: Sequence[OperationRow], start: int) -> list[OperationRow]:
    run: list[OperationRow] = []
    for row in rows:
        if row.nonce != start + len(run):
            break
        run.append(row)
    return run


def _already_sent(error: object) -> bool:
    message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
    return any(marker in message.lower() for marker in _ALREADY_SENT)


def _receipt(raw: dict[str, object]) -> Receipt:
    return Receipt(
        transaction_hash=bytes.fromhex(str(raw["transactionHash"])[2:]),
        block_number=int(str(raw["blockNumber"]), 16),
        block_hash=bytes.fromhex(str(raw["blockHash"])[2:]),
        gas_used=int(str(raw["gasUsed"]), 16),
        status=int(str(raw["status"]), 16),
        contract_address=None,
        logs=(),
    )
