"""Sending and reading: fully specified, locally signed transactions; reverts as typed errors."""

from __future__ import annotations

import typing
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from eth_typing import ABI, ChecksumAddress, HexStr
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3.exceptions import ContractLogicError, TimeExhausted
from web3.types import LogReceipt, TxParams, TxReceipt, Wei

from ledger.backends.base import ChainBackend
from ledger.errors import ContractError, ErrorDecoder, LedgerError, TransactionFailed
from ledger.events import DecodedLog, EventDecoder, Log
from ledger.signer import Signer

#: Room over the estimate for state that changes between estimation and inclusion. Gas is free
#: on the permissioned chain, so the margin costs nothing but block space.
GAS_MARGIN_PERCENT = 25
RECEIPT_TIMEOUT_SECONDS = 120.0


class ReceiptTimeout(LedgerError):
    """A sent transaction was not mined in time; it may still be."""


@dataclass(frozen=True)
class Receipt:
    transaction_hash: bytes
    block_number: int
    block_hash: bytes
    gas_used: int
    status: int
    contract_address: ChecksumAddress | None
    logs: tuple[Log, ...]


class Chain:
    """A backend plus the ledger's ABIs: sends transactions, reads, decodes logs and reverts."""

    def __init__(self, backend: ChainBackend, abis: Iterable[ABI]) -> None:
        abis = list(abis)
        self.backend = backend
        self.errors = ErrorDecoder(abis)
        self.events = EventDecoder(abis)

    @property
    def chain_id(self) -> int:
        return self.backend.chain_id

    def transact(
        self, sender: Signer, to: ChecksumAddress | None, data: bytes, *, gas: int | None = None
    ) -> Receipt:
        """Sign and send a transaction, wait for its receipt; raise the contract's error if any.

        Every field is given (nonce, gas, zero gas price, chain id): web3 must not fill fees,
        which on a free-gas network it would get wrong.
        """
        w3 = self.backend.w3
        call: TxParams = {"from": sender.address, "data": HexBytes(data), "gasPrice": Wei(0)}
        if to is not None:
            call["to"] = to
        if gas is None:
            with self.reverts_as_errors():
                estimate = w3.eth.estimate_gas(call)
            gas = estimate + estimate * GAS_MARGIN_PERCENT // 100
        transaction: dict[str, object] = {
            "chainId": self.chain_id,
            "nonce": w3.eth.get_transaction_count(sender.address, "pending"),
            "gas": gas,
            "gasPrice": 0,
            "value": 0,
            "data": data,
        }
        if to is not None:
            transaction["to"] = to
        tx_hash = w3.eth.send_raw_transaction(sender.sign_transaction(transaction))
        try:
            raw = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_SECONDS)
        except TimeExhausted as exc:
            raise ReceiptTimeout(f"transaction {tx_hash.to_0x_hex()} not mined yet") from exc
        receipt = receipt_from_rpc(raw)
        if receipt.status != 1:
            raise self.failure(call, receipt)
        return receipt

    def decode_logs(self, receipt: Receipt) -> list[DecodedLog]:
        return list(self.events.decode_all(receipt.logs))

    @contextmanager
    def reverts_as_errors(self) -> Iterator[None]:
        """Turn web3's revert exceptions inside the block into the ledger's typed errors."""
        try:
            yield
        except ContractLogicError as exc:
            data = exc.data
            if isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
                raise self.errors.decode(bytes.fromhex(data[2:])) from None
            raise

    def failure(self, call: TxParams, receipt: Receipt) -> LedgerError:
        """Why a mined transaction failed: the contract's error, or TransactionFailed.

        The call is re-run on the parent block's state, then, if it passes there (its revert
        depended on an earlier transaction of the same block, such as another registration of
        the same right), on the block's own state, which holds that transaction's effects.
        """
        for block in (receipt.block_number - 1, receipt.block_number):
            try:
                with self.reverts_as_errors():
                    self.backend.w3.eth.call(call, block)
            except ContractError as error:
                return error
            except Exception:  # the fallback below reports the failure
                break
        return TransactionFailed(receipt.transaction_hash, receipt.gas_used)


def receipt_from_rpc(raw: TxReceipt) -> Receipt:
    contract = raw.get("contractAddress")
    return Receipt(
        transaction_hash=bytes(raw["transactionHash"]),
        block_number=int(raw["blockNumber"]),
        block_hash=bytes(raw["blockHash"]),
        gas_used=int(raw["gasUsed"]),
        status=int(raw["status"]),
        contract_address=to_checksum_address(contract) if contract else None,
        logs=tuple(log_from_rpc(log) for log in raw["logs"]),
    )


def log_from_rpc(raw: LogReceipt) -> Log:
    return Log(
        address=to_checksum_address(raw["address"]),
        topics=tuple(bytes(t) for t in raw["topics"]),
        data=bytes(HexBytes(typing.cast(HexStr, raw["data"]))),
        block_number=int(raw["blockNumber"]),
        block_hash=bytes(raw["blockHash"]),
        transaction_hash=bytes(raw["transactionHash"]),
        log_index=int(raw["logIndex"]),
    )
