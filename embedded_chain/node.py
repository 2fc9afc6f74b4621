"""The embedded node: py-evm's chain over the store, one validator, blocks mined on arrival.

Mining policy. There is no transaction pool. `send_raw_transactions` checks each transaction
(decoding, signature, chain id, nonce, gas, the sender's permission), executes the accepted ones
into blocks at once, commits those blocks and their receipts and logs durably, and only then
returns their hashes: nothing is acknowledged that a crash could take back, and nothing refused
leaves a trace. A call with one transaction makes a block of one (as anvil's automine does); a
JSON-RPC batch of transactions makes as few blocks as the gas limit allows, with one fsync for
all of them. A transaction whose nonce is ahead of its sender's is refused rather than held:
with no pool and blocks made on arrival, nothing would ever fill the gap, and a sender is better
told at once than left waiting for a receipt that never comes.

Re-opening reads the canonical head from the database (a couple of key lookups): the history is
never replayed, so opening a chain of 50,000 transactions costs what opening one of 500 does.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import rlp
from eth.abc import (
    BlockAPI,
    BlockHeaderAPI,
    ComputationAPI,
    ReceiptAPI,
    SignedTransactionAPI,
    StateAPI,
)
from eth.chains.base import Chain
from eth.constants import CREATE_CONTRACT_ADDRESS
from eth.db.chain import ChainDB
from eth.db.schema import SchemaV1
from eth.exceptions import HeaderNotFound, Revert, TransactionNotFound
from eth.vm.message import Message as EvmMessage
from eth.vm.spoof import SpoofTransaction
from eth_utils.crypto import keccak
from eth_utils.exceptions import ValidationError
from lru import LRU

from embedded_chain import logindex
from embedded_chain.errors import (
    ExceedsBlockGasLimit,
    ExecutionFailed,
    ExecutionReverted,
    InsufficientBalance,
    IntrinsicGasTooLow,
    InvalidSignature,
    MalformedTransaction,
    NonceGap,
    NonceTooLow,
    RpcError,
    SenderNotAuthorized,
    TransactionRefused,
    WrongChainId,
)
from embedded_chain.genesis import (
    EXTRA_DATA,
    ChainConfig,
    FreeGasShanghaiVM,
    chain_class,
    genesis_parameters,
)
from embedded_chain.logindex import IndexedLog, LogFilter
from embedded_chain.permissioning import AnyoneMaySend, Permissioning
from embedded_chain.store import ChainStore, StoreError

_CONFIG_KEY = "chain_config"
_RECENT_BLOCKS = 64
_HEAD_KEY = SchemaV1.make_canonical_head_hash_lookup_key()


class DevelopmentOnly(Exception):
    """Rewinding or time travel asked of a chain that keeps a real register."""


@dataclass(frozen=True)
class Message:
    """A call or gas estimate: a transaction nobody signed."""

    sender: bytes = bytes(20)
    to: bytes = CREATE_CONTRACT_ADDRESS
    data: bytes = b""
    value: int = 0
    gas: int | None = None


@dataclass(frozen=True)
class Located:
    """A transaction on the canonical chain and where it sits."""

    block: BlockAPI
    index: int
    transaction: SignedTransactionAPI


class Node:
    """A single-validator chain in this process: execution, mining, durable storage, reads.

    Not thread-safe by itself: callers hold `lock` around each request (the JSON-RPC layer and
    the in-process backend do).
    """

    def __init__(
        self,
        store: ChainStore,
        config: ChainConfig,
        *,
        permissioning: Permissioning | None = None,
        development: bool = False,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.permissioning: Permissioning = permissioning or AnyoneMaySend()
        self.development = development
        self.lock = threading.RLock()
        self._on_close = on_close
        self._validator = bytes.fromhex(config.validator[2:])
        self._chain: Chain = chain_class(config)(store)
        self._chaindb: ChainDB = self._chain.chaindb  # type: ignore[assignment]
        self._head: BlockHeaderAPI = self._chain.get_canonical_head()
        # Decoded recent blocks, by hash (a block never changes): a client reading the receipts
        # of a block of 100 transactions one by one would otherwise decode all 100 each time.
        self._blocks: LRU[bytes, BlockAPI] = LRU(_RECENT_BLOCKS)
        self._receipts: LRU[bytes, tuple[ReceiptAPI, ...]] = LRU(_RECENT_BLOCKS)
        self._logs: LRU[bytes, tuple[IndexedLog, ...]] = LRU(_RECENT_BLOCKS)

    # --- opening ---

    @classmethod
    def create(
        cls,
        store: ChainStore,
        config: ChainConfig,
        *,
        permissioning: Permissioning | None = None,
        development: bool = False,
        on_close: Callable[[], None] | None = None,
    ) -> Node:
        """Write the genesis block and the chain's configuration into an empty store."""
        if store.meta(_CONFIG_KEY) is not None:
            raise StoreError("this database already holds a chain")
        chain_class(config).from_genesis(store, genesis_parameters(config), {})
        store.commit(
            also=lambda connection: ChainStore.write_meta(
                connection, _CONFIG_KEY, config.model_dump_json()
            )
        )
        return cls(
            store,
            config,
            permissioning=permissioning,
            development=development,
            on_close=on_close,
        )

    @classmethod
    def open(
        cls,
        store: ChainStore,
        *,
        permissioning: Permissioning | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> Node:
        """Open the chain in `store` at its canonical head (never a development chain)."""
        saved = store.meta(_CONFIG_KEY)
        if saved is None:
            raise StoreError("this database holds no chain (run `ipledger chain init`)")
        config = ChainConfig.model_validate_json(saved)
        return cls(store, config, permissioning=permissioning, on_close=on_close)

    def close(self) -> None:
        with self.lock:
            self.store.close()
            if self._on_close is not None:
                self._on_close()
                self._on_close = None

    # --- reads ---

    @property
    def chain_id(self) -> int:
        return self.config.chain_id

    @property
    def head(self) -> BlockHeaderAPI:
        return self._head

    def header_by_number(self, number: int) -> BlockHeaderAPI | None:
        # Numbers above the head may still map to blocks a development revert abandoned.
        if number < 0 or number > self._head.block_number:
            return None
        return self._chaindb.get_canonical_block_header_by_number(number)  # type: ignore[arg-type]

    def header_by_hash(self, block_hash: bytes) -> BlockHeaderAPI | None:
        try:
            header = self._chaindb.get_block_header_by_hash(block_hash)  # type: ignore[arg-type]
        except HeaderNotFound:
            return None
        canonical = self.header_by_number(header.block_number)
        return header if canonical is not None and canonical.hash == header.hash else None

    def block(self, header: BlockHeaderAPI) -> BlockAPI:
        block = self._blocks.get(header.hash)
        if block is None:
            block = self._blocks[header.hash] = self._chain.get_block_by_header(header)
        return block

    def receipts(self, block: BlockAPI) -> tuple[ReceiptAPI, ...]:
        receipts = self._receipts.get(block.hash)
        if receipts is None:
            receipts = self._receipts[block.hash] = block.get_receipts(self._chaindb)
        return receipts

    def logs_of(self, block: BlockAPI) -> tuple[IndexedLog, ...]:
        logs = self._logs.get(block.hash)
        if logs is None:
            logs = tuple(logindex.logs_of_block(block, self.receipts(block)))
            self._logs[block.hash] = logs
        return logs

    def locate(self, transaction_hash: bytes) -> Located | None:
        """The canonical transaction with this hash, if any."""
        try:
            number, index = self._chaindb.get_transaction_index(transaction_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None
        header = self.header_by_number(number)
        if header is None:
            return None
        block = self.block(header)
        if index >= len(block.transactions) or block.transactions[index].hash != transaction_hash:
            return None  # a lookup left by a block that a development revert abandoned
        return Located(block, index, block.transactions[index])

    def state_at(self, header: BlockHeaderAPI) -> StateAPI:
        return self._chain.get_vm(header).state

    def logs(self, query: LogFilter, limit: int) -> list[IndexedLog]:
        return logindex.select(self.store.connection, query, limit)

    # --- execution without a transaction ---

    def call(self, message: Message, header: BlockHeaderAPI) -> bytes:
        """The output of `message` run on the state after `header`, in that block's context."""
        computation = self._execute(self.state_at(header), message, message.gas or header.gas_limit)
        if computation.is_error:
            raise _execution_error(computation)
        return computation.output

    def estimate_gas(self, message: Message, header: BlockHeaderAPI) -> int:
        """The least gas (within 1.5%) with which `message` succeeds in the block after `header`.

        As geth does: one run at the cap gives the gas used and proves success; a run at the
        used gas plus the 63/64 reserve usually succeeds; a short binary search otherwise.
        (py-evm's own estimator bisects from the intrinsic gas up: a dozen runs.)
        """
        state_header = self._next_header(header)
        cap = message.gas or header.gas_limit

        def succeeds(gas: int) -> ComputationAPI:
            return self._execute(self._chain.get_vm(state_header).state, message, gas)

        first = succeeds(cap)
        if first.is_error:
            raise _execution_error(first)
        used = cap - first.get_gas_remaining()
        low, high = used - 1, cap
        optimistic = min(cap, (used + first.get_gas_refund() + 2_300) * 64 // 63)
        if optimistic < cap:
            if succeeds(optimistic).is_error:
                low = optimistic
            else:
                high = optimistic
        while high - low > max(1, high * 15 // 1000):
            middle = (low + high) // 2
            if succeeds(middle).is_error:
                low = middle
            else:
                high = middle
        return high

    def _execute(self, state: StateAPI, message: Message, gas: int) -> ComputationAPI:
        unsigned = FreeGasShanghaiVM.create_unsigned_transaction(
            nonce=state.get_nonce(message.sender),  # type: ignore[arg-type]
            gas_price=0,
            gas=gas,
            to=message.to,  # type: ignore[arg-type]
            value=message.value,
            data=message.data,
        )
        spoof = SpoofTransaction(unsigned, from_=message.sender)
        snapshot = state.snapshot()
        try:
            return state.apply_transaction(spoof)  # type: ignore[arg-type]
        except ValidationError as exc:
            raise ExecutionFailed(_validation_message(exc)) from None
        finally:
            state.revert(snapshot)

    def _next_header(self, parent: BlockHeaderAPI, timestamp: int | None = None) -> BlockHeaderAPI:
        """The header a block after `parent` would get now."""
        return self._chain.create_header_from_parent(
            parent,
            timestamp=max(int(time.time()), parent.timestamp) if timestamp is None else timestamp,
            gas_limit=parent.gas_limit,
            coinbase=self._validator,
            extra_data=EXTRA_DATA,
            # prevrandao: no randomness on a single-validator chain; derived, so reproducible.
            mix_hash=keccak(parent.hash),
        )

    # --- writes ---

    def send_raw_transactions(self, raws: Sequence[bytes]) -> list[bytes | RpcError]:
        """Check, execute, mine and durably commit; per transaction, its hash or the refusal.

        Refused transactions change nothing. Accepted ones are in committed blocks when this
        returns; if the commit itself fails, nothing is kept and the error propagates.
        """
        results: list[bytes | RpcError] = []
        sealed: list[_SealedBlock] = []
        block = _BlockBuilder(self._chain, self._next_header(self._head))
        try:
            for raw in raws:
                try:
                    transaction = self._admit(raw, block)
                except TransactionRefused as refusal:
                    results.append(refusal)
                    continue
                if isinstance(transaction, bytes):  # already on chain: acknowledged again
                    results.append(transaction)
                    continue
                if not block.has_room_for(transaction):
                    sealed.append(self._seal(block))
                    block = _BlockBuilder(self._chain, self._next_header(self._head))
                block.add(transaction)
                results.append(bytes(transaction.hash))
            if block.transactions:
                sealed.append(self._seal(block))
            if sealed:
                self._commit(sealed)
        except BaseException:
            self._abandon()
            raise
        return results

    def _admit(self, raw: bytes, block: _BlockBuilder) -> SignedTransactionAPI | bytes:
        """Decode and check a raw transaction against the block being built, or refuse it."""
        try:
            transaction = FreeGasShanghaiVM.get_transaction_builder().decode(raw)
        except Exception as exc:  # rlp and py-evm raise many kinds for bad bytes
            raise MalformedTransaction(f"invalid raw transaction: {exc}") from None
        try:
            # Field ranges, intrinsic gas and the signature (py-evm checks them again on apply).
            transaction.validate()
        except ValidationError as exc:
            message = _validation_message(exc)
            if "signature" in message.lower():
                raise InvalidSignature(f"Invalid signature: {message}") from None
            if message == "Insufficient gas":
                raise IntrinsicGasTooLow(
                    f"Intrinsic gas exceeds gas limit: the transaction needs "
                    f"{transaction.intrinsic_gas} gas before executing, it gives {transaction.gas}"
                ) from None
            raise MalformedTransaction(f"invalid transaction: {message}") from None
        except Exception as exc:  # eth-keys on out-of-range signature values
            raise InvalidSignature(f"Invalid signature: {exc}") from None
        sender = bytes(transaction.sender)
        chain_id = transaction.chain_id
        if chain_id is None:
            raise WrongChainId(
                "ChainId is required: sign with EIP-155 replay protection "
                f"for chain {self.chain_id}"
            )
        if chain_id != self.chain_id:
            raise WrongChainId(
                f"Wrong chainId: signed for chain {chain_id}, this is {self.chain_id}"
            )
        if self.locate(transaction.hash) is not None:
            return bytes(transaction.hash)
        if transaction.gas > self.config.gas_limit:
            raise ExceedsBlockGasLimit(
                "Transaction gas limit exceeds block gas limit: "
                f"{transaction.gas} > {self.config.gas_limit}"
            )
        state = block.state
        expected = state.get_nonce(sender)  # type: ignore[arg-type]
        if transaction.nonce < expected:
            raise NonceTooLow(
                f"Nonce too low: the sender's next nonce is {expected}, "
                f"the transaction's is {transaction.nonce}"
            )
        if transaction.nonce > expected:
            raise NonceGap(
                f"Nonce too high: the sender's next nonce is {expected}, the transaction's is "
                f"{transaction.nonce}; this node mines on arrival and holds no future transactions"
            )
        cost = transaction.value + transaction.gas * _max_gas_price(transaction)
        balance = state.get_balance(sender)  # type: ignore[arg-type]
        if cost > balance:
            raise InsufficientBalance(
                f"Upfront cost exceeds account balance: needs {cost}, has {balance}"
            )

        def view(to: bytes, data: bytes) -> bytes | None:
            # On the block's own state: a suspension earlier in the same block counts.
            return _static_call(state, sender, to, data, self.config.gas_limit)

        if not self.permissioning.allows(transaction, view):
            raise SenderNotAuthorized(
                "Sender account not authorized to send transactions", "0x" + sender.hex()
            )
        return transaction

    def _seal(self, block: _BlockBuilder) -> _SealedBlock:
        sealed = block.seal(self._chaindb)
        self._head = sealed.block.header
        return sealed

    def _commit(
        self, blocks: Sequence[_SealedBlock], *, truncate_logs_above: int | None = None
    ) -> None:
        rows = [log for sealed in blocks for log in logindex.logs_of_block(*sealed)]

        def also(connection: sqlite3.Connection) -> None:
            if truncate_logs_above is not None:
                logindex.delete_above(connection, truncate_logs_above)
            logindex.insert(connection, rows)

        self.store.commit(also=also)

    def _abandon(self) -> None:
        """Forget uncommitted blocks: back to the durable head."""
        self.store.discard()
        self._head = self._chain.get_canonical_head()

    # --- development: snapshots and time travel (in-memory chains only) ---

    def snapshot(self) -> bytes:
        self._require_development("snapshots")
        return bytes(self._head.hash)

    def revert(self, snapshot: bytes) -> None:
        """Make the snapshot's block the head again; its descendants leave the chain."""
        self._require_development("reverting")
        target = self.header_by_hash(snapshot)
        if target is None:
            raise ValueError(f"no canonical block 0x{snapshot.hex()} to revert to")
        # py-evm's lookups for abandoned blocks stay in the database, harmless: reads stop at
        # the head, and a transaction lookup is checked against the block it points to.
        self.store[_HEAD_KEY] = target.hash
        self._head = target
        self.store.commit(
            also=lambda connection: logindex.delete_above(connection, target.block_number)
        )

    def mine_at(self, timestamp: int) -> None:
        """Mine an empty block with this timestamp (not before the head's)."""
        self._require_development("time travel")
        if timestamp < self._head.timestamp:
            raise ValueError(f"timestamp {timestamp} is before the head's {self._head.timestamp}")
        try:
            self._commit(
                [self._seal(_BlockBuilder(self._chain, self._next_header(self._head, timestamp)))]
            )
        except BaseException:
            self._abandon()
            raise

    def _require_development(self, feature: str) -> None:
        if not self.development:
            raise DevelopmentOnly(f"{feature}: not on a chain that keeps a real register")


class _SealedBlock(NamedTuple):
    block: BlockAPI
    receipts: tuple[ReceiptAPI, ...]


class _BlockBuilder:
    """A block being built on one VM, whose state carries the block's transactions so far.

    py-evm's `MiningChain.apply_transaction` rebuilds the block (state root, transaction and
    receipt tries) after every transaction, which makes a block of n transactions cost n^2;
    here the state is persisted and the tries are built once, when the block is sealed.
    """

    def __init__(self, chain: Chain, header: BlockHeaderAPI) -> None:
        self._vm = chain.get_vm(header)
        self.header = header
        self.transactions: list[SignedTransactionAPI] = []
        self.receipts: list[ReceiptAPI] = []

    @property
    def state(self) -> StateAPI:
        return self._vm.state

    def has_room_for(self, transaction: SignedTransactionAPI) -> bool:
        return self.header.gas_used + transaction.gas <= self.header.gas_limit

    def add(self, transaction: SignedTransactionAPI) -> None:
        receipt, _ = self._vm.apply_transaction(self.header, transaction)
        self.header = self._vm.add_receipt_to_header(self.header, receipt)
        self.transactions.append(transaction)
        self.receipts.append(receipt)

    def seal(self, chaindb: ChainDB) -> _SealedBlock:
        """Finish the block (state root, tries), check it, and write it as the new head."""
        vm = self._vm
        filled = vm.set_block_transactions_and_withdrawals(
            vm.get_block(), self.header, self.transactions, self.receipts
        )
        block = vm.mine_block(filled).block  # persists the state; validates against the parent
        chaindb.persist_block(block)
        return _SealedBlock(block, tuple(self.receipts))


def _static_call(state: StateAPI, sender: bytes, to: bytes, data: bytes, gas: int) -> bytes | None:
    """Run a read-only message (STATICCALL semantics) on `state`; its output, None on failure.

    A bare message, without a transaction around it (no nonce, intrinsic gas or fee
    bookkeeping): the permission check runs before every transaction, and this is most of its
    cost. The snapshot takes back the warm-address marks the message leaves (EIP-2929).
    """
    message = EvmMessage(
        gas=gas,
        to=to,  # type: ignore[arg-type]
        sender=sender,  # type: ignore[arg-type]
        value=0,
        data=data,
        code=state.get_code(to),  # type: ignore[arg-type]
        is_static=True,
    )
    context = state.get_transaction_context_class()(gas_price=0, origin=sender)  # type: ignore[arg-type]
    snapshot = state.snapshot()
    try:
        computation = state.computation_class.apply_message(state, message, context)
    except Exception:  # a failing permission check refuses, it never breaks the node
        return None
    finally:
        state.revert(snapshot)
    return None if computation.is_error else computation.output


def _max_gas_price(transaction: SignedTransactionAPI) -> int:
    fee = getattr(transaction, "max_fee_per_gas", None)
    return int(transaction.gas_price if fee is None else fee)


def _execution_error(computation: ComputationAPI) -> RpcError:
    error = computation.error
    if isinstance(error, Revert):
        return ExecutionReverted(computation.output)
    return ExecutionFailed(f"execution failed: {type(error).__name__} {error}".strip())


def _validation_message(exc: ValidationError) -> str:
    return " ".join(str(arg) for arg in exc.args) or type(exc).__name__


def encoded_size(block: BlockAPI) -> int:
    """Bytes of the block's RLP encoding (JSON-RPC's `size`)."""
    return len(rlp.encode(block))
