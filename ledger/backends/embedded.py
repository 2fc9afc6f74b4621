"""An in-process chain: py-evm through eth-tester, on the Shanghai VM, with free gas."""

from __future__ import annotations

import ast
from typing import Any

from eth.abc import BlockHeaderAPI
from eth.vm.forks.london.blocks import LondonBlockHeader
from eth.vm.forks.shanghai import ShanghaiVM
from eth.vm.forks.shanghai.headers import create_shanghai_header_from_parent
from eth_abi.abi import encode as abi_encode
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionFailed
from eth_utils.abi import function_signature_to_4byte_selector
from web3 import EthereumTesterProvider, Web3
from web3.types import RPCEndpoint, RPCResponse

from ledger.backends.base import ChainBackend

#: Besu's default for a new network; big enough for a bulk registration of a few hundred rights.
GAS_LIMIT = 30_000_000


def _header_from_parent(parent: BlockHeaderAPI | None, **params: Any) -> BlockHeaderAPI:
    header: BlockHeaderAPI = create_shanghai_header_from_parent(parent, **params)
    return header.copy(base_fee_per_gas=0)


class FreeGasShanghaiVM(ShanghaiVM):
    """Shanghai with the base fee pinned at zero, as Besu's `zeroBaseFee` genesis option does.

    Without it, EIP-1559 raises the base fee to 1 wei after any block that is more than half
    full, and every zero-fee transaction after that is refused.
    """

    create_header_from_parent = staticmethod(_header_from_parent)

    @classmethod
    def validate_gas(cls, header: BlockHeaderAPI, parent_header: BlockHeaderAPI) -> None:
        if header.gas_limit != parent_header.gas_limit:
            raise ValueError(f"gas limit changed: {parent_header.gas_limit} -> {header.gas_limit}")
        if isinstance(header, LondonBlockHeader) and header.base_fee_per_gas != 0:
            raise ValueError(f"non-zero base fee {header.base_fee_per_gas} on a free-gas chain")


_REVERTED = "execution reverted: "
_ERROR_STRING = function_signature_to_4byte_selector("Error(string)")


def _revert_data(failure: TransactionFailed) -> bytes:
    """The revert payload that web3's eth-tester provider turned into a message.

    It raises `TransactionFailed("execution reverted: <reason>")`, where <reason> is either the
    `Error(string)` reason already decoded or the Python repr of the raw revert bytes.
    """
    message = str(failure.args[0]) if failure.args else ""
    reason = message.removeprefix(_REVERTED)
    if reason.startswith(("b'", 'b"')):
        data = ast.literal_eval(reason)
        if isinstance(data, bytes):
            return data
    return _ERROR_STRING + abi_encode(["string"], [reason])


class _EmbeddedProvider(EthereumTesterProvider):
    """eth-tester's provider, answering reverts as a JSON-RPC node does (code 3, with data)."""

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        try:
            return super().make_request(method, params)
        except TransactionFailed as failure:
            data = "0x" + _revert_data(failure).hex()
            return {
                "jsonrpc": "2.0",
                "id": 0,
                "error": {"code": 3, "message": "execution reverted", "data": data},
            }


class EmbeddedBackend(ChainBackend):
    """A chain in this process's memory; each transaction is mined in its own block."""

    def __init__(self) -> None:
        genesis = PyEVMBackend.generate_genesis_params(overrides={"gas_limit": GAS_LIMIT})
        genesis["base_fee_per_gas"] = 0
        backend = PyEVMBackend(
            genesis_parameters=genesis, vm_configuration=((0, FreeGasShanghaiVM),)
        )
        self._tester = EthereumTester(backend, auto_mine_transactions=True)
        self._w3 = Web3(_EmbeddedProvider(self._tester))

    @property
    def w3(self) -> Web3:
        return self._w3

    def snapshot(self) -> str:
        return str(self._tester.take_snapshot())

    def revert(self, snapshot: str) -> None:
        self._tester.revert_to_snapshot(int(snapshot))

    def mine_at(self, timestamp: int) -> None:
        # eth-tester's time_travel(t) mines its block at t - 1.
        self._tester.time_travel(timestamp + 1)
