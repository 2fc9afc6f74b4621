"""The JSON-RPC backend against a fake node that answers like a Besu QBFT validator."""

from __future__ import annotations

from typing import Any

import pytest
import rlp
from web3 import Web3
from web3.exceptions import ExtraDataLengthError
from web3.providers.base import BaseProvider
from web3.types import RPCEndpoint, RPCResponse

from ledger.backends.rpc import RpcBackend

# QBFT extraData is RLP([32-byte vanity, [validators], vote, round, [seals]]): with four
# validators and no seals, as in a genesis block, it is 124 bytes.
QBFT_EXTRA_DATA = (
    "0x" + rlp.encode([bytes(32), [bytes([v]) * 20 for v in range(1, 5)], [], b"", []]).hex()
)


class QbftLikeNode(BaseProvider):
    """Answers chain id and blocks as a QBFT node does, and records what it was asked."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        self.calls.append(method)
        if method == "eth_chainId":
            return {"jsonrpc": "2.0", "id": 1, "result": "0x539"}
        if method == "eth_getBlockByNumber":
            return {"jsonrpc": "2.0", "id": 1, "result": _block()}
        raise NotImplementedError(method)


def _block() -> dict[str, object]:
    return {
        "number": "0x10",
        "hash": "0x" + "ab" * 32,
        "parentHash": "0x" + "cd" * 32,
        "nonce": "0x0000000000000000",
        "sha3Uncles": "0x" + "00" * 32,
        "logsBloom": "0x" + "00" * 256,
        "transactionsRoot": "0x" + "00" * 32,
        "stateRoot": "0x" + "00" * 32,
        "receiptsRoot": "0x" + "00" * 32,
        "miner": "0x" + "11" * 20,
        "difficulty": "0x1",
        "totalDifficulty": "0x10",
        "extraData": QBFT_EXTRA_DATA,
        "size": "0x200",
        "gasLimit": "0x1c9c380",
        "gasUsed": "0x0",
        "timestamp": "0x65000000",
        "transactions": [],
        "uncles": [],
        "baseFeePerGas": "0x0",
        "mixHash": "0x" + "63" * 32,
    }


def test_qbft_extra_data_is_longer_than_web3_accepts_by_default() -> None:
    assert len(bytes.fromhex(QBFT_EXTRA_DATA[2:])) == 124
    with pytest.raises(ExtraDataLengthError):
        Web3(QbftLikeNode()).eth.get_block("latest")


def test_rpc_backend_reads_qbft_blocks_through_the_poa_middleware() -> None:
    backend = RpcBackend.over(QbftLikeNode())

    block = backend.w3.eth.get_block("latest")

    assert block["number"] == 16
    assert bytes(block["proofOfAuthorityData"]) == bytes.fromhex(QBFT_EXTRA_DATA[2:])


def test_chain_id_is_asked_once_and_cached() -> None:
    node = QbftLikeNode()
    backend = RpcBackend.over(node)

    assert backend.chain_id == 1337
    assert backend.chain_id == 1337
    assert node.calls.count("eth_chainId") == 1
