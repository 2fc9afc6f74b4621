"""JSON-RPC views of blocks, transactions, receipts and logs, field for field as geth gives them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, cast

from eth._utils.address import generate_contract_address
from eth.abc import BlockAPI, ReceiptAPI, SignedTransactionAPI
from eth.constants import BLANK_ROOT_HASH

from embedded_chain.logindex import IndexedLog
from embedded_chain.node import encoded_size

Json = dict[str, object]


class _Legacy(Protocol):
    """A legacy transaction's signature carries the chain id in `v` (EIP-155)."""

    v: int


def quantity(value: int) -> str:
    return hex(value)


def data(value: bytes) -> str:
    return "0x" + value.hex()


def _bloom(bloom: int) -> str:
    return data(bloom.to_bytes(256, "big"))


def block_json(block: BlockAPI, *, full_transactions: bool) -> Json:
    header = block.header
    transactions: list[object] = [
        transaction_json(block, index, tx) if full_transactions else data(tx.hash)
        for index, tx in enumerate(block.transactions)
    ]
    return {
        "number": quantity(header.block_number),
        "hash": data(header.hash),
        "parentHash": data(header.parent_hash),
        "nonce": data(header.nonce),
        "sha3Uncles": data(header.uncles_hash),
        "logsBloom": _bloom(header.bloom),
        "transactionsRoot": data(header.transaction_root),
        "stateRoot": data(header.state_root),
        "receiptsRoot": data(header.receipt_root),
        "miner": data(header.coinbase),
        "difficulty": quantity(header.difficulty),
        "totalDifficulty": quantity(0),
        "extraData": data(header.extra_data),
        "size": quantity(encoded_size(block)),
        "gasLimit": quantity(header.gas_limit),
        "gasUsed": quantity(header.gas_used),
        "timestamp": quantity(header.timestamp),
        "transactions": transactions,
        "uncles": [],
        "baseFeePerGas": quantity(header.base_fee_per_gas or 0),
        "mixHash": data(header.mix_hash),
        "withdrawals": [],
        "withdrawalsRoot": data(header.withdrawals_root or BLANK_ROOT_HASH),
    }


def transaction_json(block: BlockAPI, index: int, tx: SignedTransactionAPI) -> Json:
    type_id = tx.type_id
    view: Json = {
        "blockHash": data(block.hash),
        "blockNumber": quantity(block.number),
        "transactionIndex": quantity(index),
        "hash": data(tx.hash),
        "type": quantity(0 if type_id is None else type_id),
        "from": data(tx.sender),
        "to": data(tx.to) if tx.to else None,
        "nonce": quantity(tx.nonce),
        "gas": quantity(tx.gas),
        "gasPrice": quantity(_effective_gas_price(tx, block)),
        "value": quantity(tx.value),
        "input": data(tx.data),
        "chainId": quantity(tx.chain_id) if tx.chain_id is not None else None,
    }
    if type_id is None:
        view["v"] = quantity(cast(_Legacy, tx).v)
    else:
        view["accessList"] = [
            {"address": data(address), "storageKeys": [data(k.to_bytes(32, "big")) for k in keys]}
            for address, keys in tx.access_list
        ]
        view["v"] = view["yParity"] = quantity(tx.y_parity)
        if type_id == 2:
            view["maxFeePerGas"] = quantity(tx.max_fee_per_gas)
            view["maxPriorityFeePerGas"] = quantity(tx.max_priority_fee_per_gas)
    view["r"] = quantity(tx.r)
    view["s"] = quantity(tx.s)
    return view


def receipt_json(
    block: BlockAPI, index: int, receipts: Sequence[ReceiptAPI], logs: Sequence[IndexedLog]
) -> Json:
    """The receipt of the block's transaction `index`; `logs` are the whole block's."""
    tx = block.transactions[index]
    receipt = receipts[index]
    before = receipts[index - 1].gas_used if index else 0
    type_id = tx.type_id
    return {
        "transactionHash": data(tx.hash),
        "transactionIndex": quantity(index),
        "blockHash": data(block.hash),
        "blockNumber": quantity(block.number),
        "from": data(tx.sender),
        "to": data(tx.to) if tx.to else None,
        "cumulativeGasUsed": quantity(receipt.gas_used),
        "gasUsed": quantity(receipt.gas_used - before),
        "effectiveGasPrice": quantity(_effective_gas_price(tx, block)),
        "contractAddress": None if tx.to else data(_created_address(tx)),
        "logs": [log_json(log) for log in logs if log.transaction_index == index],
        "logsBloom": _bloom(receipt.bloom),
        "type": quantity(0 if type_id is None else type_id),
        "status": quantity(1 if receipt.state_root == b"\x01" else 0),
    }


def block_receipts_json(
    block: BlockAPI, receipts: Sequence[ReceiptAPI], logs: Sequence[IndexedLog]
) -> list[Json]:
    return [receipt_json(block, i, receipts, logs) for i in range(len(block.transactions))]


def log_json(log: IndexedLog) -> Json:
    return {
        "address": data(log.address),
        "topics": [data(topic) for topic in log.topics],
        "data": data(log.data),
        "blockNumber": quantity(log.block_number),
        "blockHash": data(log.block_hash),
        "transactionHash": data(log.transaction_hash),
        "transactionIndex": quantity(log.transaction_index),
        "logIndex": quantity(log.log_index),
        "removed": False,
    }


def _effective_gas_price(tx: SignedTransactionAPI, block: BlockAPI) -> int:
    fee = getattr(tx, "max_fee_per_gas", None)
    if fee is None:
        return int(tx.gas_price)
    return min(int(fee), int(tx.max_priority_fee_per_gas) + (block.header.base_fee_per_gas or 0))


def _created_address(tx: SignedTransactionAPI) -> bytes:
    return bytes(generate_contract_address(tx.sender, tx.nonce))
