"""The dispatcher: sends the outbox in nonce order and follows each operation to its receipt.

One step: ask the node for the key's pending nonce; operations below it are on chain or in the
pool (a crash after sending and before recording it leaves them marked queued: they are marked
sent); operations at or above it are sent, in one batch, as the run of consecutive nonces that
starts there (an operation marked sent but above the pending nonce was dropped by the node and
is sent again, the same raw bytes). Then one batch reads the head and the key's mined nonce
("latest"): the sent operations below that nonce are mined and need their receipts; while there
are none, no receipt is asked for. Receipts are gathered per block: `eth_getBlockReceipts` for
each block after the last one gathered up to the head, in one batch, matched to the operations
by transaction hash. The mined operations not found that way are asked one
`eth_getTransactionReceipt` each, in one batch: all of them on the first step after a start (the
last block gathered is kept in memory only), after a pause of more than `batch` blocks, when a
reorganisation moved a transaction, and from then on once the node answered that it has no
`eth_getBlockReceipts`. Either way the head read becomes the last block gathered. That block
only saves requests: every operation below the mined nonce is asked for one way or the other,
so a wrong or lost one costs requests, never an outcome. The outcome is recorded: mined, or
failed with the contract's decoded error.

No database transaction is open while the node is asked: a node that mines on arrival (the
embedded chain) takes seconds over a batch, and on SQLite a transaction that writes holds the
database's only write lock, so the API's writes would time out behind it. Sending first and
recording after is safe: what was sent and not recorded is found below the pending nonce.

A transaction the node refuses outright (it can never be mined) is replaced by a signed no-op
with the same nonce, so that the operations after it are not stuck; the operation is failed with
the node's reason. Only the first refusal of a batch is taken as the operation's own: the
transactions after it were refused (or held) for the gap its nonce left, and are sent again
once the no-op fills it.
"""

from __future__ import annotations

import logging
import threading
import time
import typing
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from eth_utils.crypto import keccak
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, TxParams, Wei

from ledger.chain import Chain, Receipt
from ledger.errors import ContractError, LedgerError
from registry_api.db.models import OperationRow
from registry_api.faults import LoopFaults
from registry_api.relayer.outbox import OperationStatus, Outbox

log = logging.getLogger(__name__)

#: Node answers to a repeated send that mean "it is already there".
_ALREADY_SENT = ("already known", "known transaction", "already imported", "nonce too low")
#: JSON-RPC errors that mean the node does not serve a method, or not with the standard
#: parameters: method not found, invalid params.
_UNSERVED_CODES = (-32601, -32602)


@dataclass(frozen=True)
class DispatcherOptions:
    #: Operations sent, receipts read, and blocks whose receipts are read, per JSON-RPC batch.
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
        #: The last block whose receipts were gathered (the head read by the last step).
        self._gathered: int | None = None
        #: The node has no eth_getBlockReceipts: receipts are asked per transaction.
        self._per_transaction = False
        #: Failed steps, each lasting fault logged once.
        self.faults = LoopFaults(log, "relayer")

    def run(self, stop: threading.Event) -> None:
        """Step until `stop` is set; survive the node or the database going away."""
        while not stop.is_set():
            try:
                report = self.step()
            except Exception as exc:  # a node or database outage: wait and try again
                delay = min(
                    self.options.poll_seconds * 2 ** (self.faults.failures + 1),
                    self.options.max_backoff_seconds,
                )
                self.faults.failed(exc, delay)
                stop.wait(delay)
                continue
            self.faults.passed()
            if report.sent == 0 and report.finished == 0:
                stop.wait(self.options.poll_seconds)

    def step(self) -> StepReport:
        """Send what can be sent, record what finished."""
        w3 = self.chain.backend.w3
        pending = int(w3.eth.get_transaction_count(self.outbox.sender, "pending"))
        sent = self._send_from(pending)
        finished = self._record_receipts()
        if finished:
            with self.progress:
                self.progress.notify_all()
        return StepReport(sent=sent, finished=finished)

    def _send_from(self, pending: int) -> int:
        sender = self.outbox.sender
        with self.sessions.begin() as session:
            session.execute(
                update(OperationRow)
                .where(
                    OperationRow.sender == sender,
                    OperationRow.status == OperationStatus.QUEUED,
                    OperationRow.nonce < pending,
                )
                .values(status=OperationStatus.SENT, sent_at=time.time())
            )
            rows = session.execute(
                select(OperationRow.id, OperationRow.nonce, OperationRow.raw_transaction)
                .where(
                    OperationRow.sender == sender,
                    OperationRow.status.in_((OperationStatus.QUEUED, OperationStatus.SENT)),
                    OperationRow.nonce >= pending,
                )
                .order_by(OperationRow.nonce)
                .limit(self.options.batch)
            ).all()
        run = _consecutive([_Outgoing(*row) for row in rows], pending)
        if not run:
            return 0
        responses = self._batch(
            [("eth_sendRawTransaction", ["0x" + outgoing.raw.hex()]) for outgoing in run]
        )
        accepted = 0
        refused: tuple[_Outgoing, object] | None = None
        for outgoing, response in zip(run, responses, strict=True):
            error = response.get("error") if isinstance(response, dict) else None
            if error is not None and not _already_sent(error):
                refused = (outgoing, error)
                break  # the rest wait for this nonce's no-op: sent again next step
            accepted += 1
        with self.sessions.begin() as session:
            if accepted:
                session.execute(
                    update(OperationRow)
                    .where(
                        OperationRow.sender == sender,
                        OperationRow.nonce >= pending,
                        OperationRow.nonce < pending + accepted,
                    )
                    .values(status=OperationStatus.SENT, sent_at=time.time())
                )
            if refused is not None:
                self._void(session, *refused)
        return accepted

    def _void(self, session: Session, outgoing: _Outgoing, error: object) -> None:
        message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
        log.warning(
            "node refused operation %s (nonce %d): %s", outgoing.id, outgoing.nonce, message
        )
        row = session.get_one(OperationRow, outgoing.id)
        row.raw_transaction = self.outbox.void_transaction(row.nonce)
        row.transaction_hash = keccak(row.raw_transaction)
        row.error_code = "refused_by_node"
        row.error_message = f"the node refused the transaction: {message}"
        row.error_details = {"node_error": error if isinstance(error, dict) else message}
        # The no-op takes the operation's place: it is sent with the next step.
        row.status = OperationStatus.SENT

    def _record_receipts(self) -> int:
        sender = self.outbox.sender
        head_answer, nonce_answer = self._batch(
            [("eth_blockNumber", []), ("eth_getTransactionCount", [sender, "latest"])]
        )
        head, mined_nonce = _quantity(head_answer), _quantity(nonce_answer)
        with self.sessions() as session:
            rows = session.execute(
                select(
                    OperationRow.id,
                    OperationRow.transaction_hash,
                    OperationRow.error_code.is_not(None),
                )
                .where(
                    OperationRow.sender == sender,
                    OperationRow.status == OperationStatus.SENT,
                    OperationRow.nonce < mined_nonce,
                )
                .order_by(OperationRow.nonce)
                .limit(self.options.batch)
            ).all()
        mined = {
            bytes(tx_hash): _Mined(operation_id, voided) for operation_id, tx_hash, voided in rows
        }
        receipts = self._block_receipts(head, mined.keys()) if mined else {}
        unmatched = [tx_hash for tx_hash in mined if tx_hash not in receipts]
        if unmatched:
            receipts |= self._transaction_receipts(unmatched)
        # The head is gathered: a mined operation left without its receipt (beyond `batch`, not
        # answered, or mined between the two reads should the node answer them out of order)
        # is in no later block, and is asked alone next step.
        self._gathered = head
        if not receipts:
            return 0
        now = time.time()
        finished: list[dict[str, object]] = []
        reverted: list[tuple[str, Receipt]] = []
        for tx_hash, receipt in receipts.items():
            operation = mined[tx_hash]
            if receipt.status != 1 and not operation.voided:
                reverted.append((operation.id, receipt))
            finished.append(
                {
                    "id": operation.id,
                    "block_number": receipt.block_number,
                    "block_hash": receipt.block_hash,
                    "gas_used": receipt.gas_used,
                    "finished_at": now,
                    # A voided operation failed whatever its no-op did: its error is recorded.
                    "status": OperationStatus.MINED
                    if receipt.status == 1 and not operation.voided
                    else OperationStatus.FAILED,
                }
            )
        failures = [self._failure(operation_id, receipt) for operation_id, receipt in reverted]
        with self.sessions.begin() as session:
            session.execute(update(OperationRow), finished)
            if failures:
                session.execute(update(OperationRow), failures)
        return len(finished)

    def _block_receipts(self, head: int, wanted: Collection[bytes]) -> dict[bytes, Receipt]:
        """The receipts of `wanted` transactions in the blocks after the last one gathered.

        Empty when the blocks cannot be asked in one batch (none gathered since the start, more
        than `batch` of them, a head below the last one gathered) or the node has no
        eth_getBlockReceipts; geth, anvil, the embedded chain and Besu since 23.7.2
        (hyperledger/besu#5771) have it.
        """
        if self._per_transaction or self._gathered is None:
            return {}
        blocks = range(self._gathered + 1, head + 1)
        if not blocks or len(blocks) > self.options.batch:
            return {}
        try:
            answers = self._batch([("eth_getBlockReceipts", [hex(n)]) for n in blocks])
        except _BatchRefused as refused:  # some nodes refuse a batch for one unknown method
            if not self._note_unserved(refused.error):
                log.warning("%s; receipts per transaction this step", refused)
            return {}
        found: dict[bytes, Receipt] = {}
        for answer in answers:
            error = answer.get("error")
            result = answer.get("result")
            if error is not None:
                if self._note_unserved(error):
                    return {}
                continue  # a block gone since the head was read: its transactions are asked alone
            if not isinstance(result, list):
                continue  # null for a block the node does not have
            for raw in result:
                if isinstance(raw, dict):
                    tx_hash = bytes.fromhex(str(raw["transactionHash"])[2:])
                    if tx_hash in wanted:
                        found[tx_hash] = _receipt(raw)
        return found

    def _note_unserved(self, error: object) -> bool:
        """Remember that the node has no eth_getBlockReceipts, if `error` says so."""
        if not _unserved(error):
            return False
        log.info("the node has no eth_getBlockReceipts (%s): receipts per transaction", error)
        self._per_transaction = True
        return True

    def _transaction_receipts(self, hashes: Sequence[bytes]) -> dict[bytes, Receipt]:
        """The receipts of the mined ones of `hashes`, one request each, in one batch."""
        answers = self._batch(
            [("eth_getTransactionReceipt", ["0x" + tx_hash.hex()]) for tx_hash in hashes]
        )
        found: dict[bytes, Receipt] = {}
        for tx_hash, answer in zip(hashes, answers, strict=True):
            raw = answer.get("result")
            if isinstance(raw, dict):  # null until mined, or after a reorganisation dropped it
                found[tx_hash] = _receipt(raw)
        return found

    def _batch(self, calls: Sequence[tuple[str, Sequence[object]]]) -> list[dict[str, object]]:
        """One JSON-RPC batch; a response per call, in order."""
        provider = typing.cast(JSONBaseProvider, self.chain.backend.w3.provider)
        responses = provider.make_batch_request([(RPCEndpoint(m), list(p)) for m, p in calls])
        if isinstance(responses, dict):  # the node answered the whole batch with one error
            raise _BatchRefused(responses.get("error", responses))
        return typing.cast(list[dict[str, object]], list(responses))

    def _failure(self, operation_id: str, receipt: Receipt) -> dict[str, object]:
        """Why the operation's transaction reverted, as the columns that record it."""
        with self.sessions() as session:
            row = session.get_one(OperationRow, operation_id)
            call: TxParams = {
                "from": self.outbox.sender,
                "to": row.target,
                "data": row.calldata,
                "gas": row.gas,
                "gasPrice": Wei(0),
            }
        error = self.chain.failure(call, receipt)
        return {
            "id": operation_id,
            "error_code": type(error).__name__,
            "error_message": str(error),
            "error_details": error_details(error),
        }


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


class _BatchRefused(RuntimeError):
    """The node answered a whole JSON-RPC batch with one error."""

    def __init__(self, error: object) -> None:
        super().__init__(f"the node refused the batch: {error}")
        self.error = error


@dataclass(frozen=True)
class _Mined:
    """A sent operation whose nonce the chain has used: its receipt is due."""

    id: str
    #: Its transaction is the no-op sent in place of one the node refused.
    voided: bool


@dataclass(frozen=True)
class _Outgoing:
    """An operation's transaction as the dispatcher sends it."""

    id: str
    nonce: int
    raw: bytes


def _consecutive(rows: Sequence[_Outgoing], start: int) -> list[_Outgoing]:
    run: list[_Outgoing] = []
    for row in rows:
        if row.nonce != start + len(run):
            break
        run.append(row)
    return run


def _already_sent(error: object) -> bool:
    message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
    return any(marker in message.lower() for marker in _ALREADY_SENT)


def _unserved(error: object) -> bool:
    if not isinstance(error, dict):
        return "method not found" in str(error).lower()
    message = str(error.get("message", "")).lower()
    return error.get("code") in _UNSERVED_CODES or "method not found" in message


def _quantity(answer: dict[str, object]) -> int:
    """The number a JSON-RPC answer carries; the node's error raised."""
    result = answer.get("result")
    if not isinstance(result, str):
        raise RuntimeError(f"the node answered {answer.get('error', answer)}")
    return int(result, 16)


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
