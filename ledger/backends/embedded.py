"""The adapter to the embedded chain (`embedded_chain`): in memory for development and tests, or
on a data directory.

Both are the same node, reached through a web3 provider that calls its JSON-RPC layer directly:
the in-memory chain that the tests run on is the code that keeps the register, with a store that
lives in memory and snapshots allowed. The node knows nothing of the ledger: it is told which
contract answers Besu's account-rules question (the participant registry).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from eth_typing import ChecksumAddress
from web3 import Web3

from embedded_chain.datadir import DataDir, open_node
from embedded_chain.genesis import DEFAULT_CHAIN_ID, ChainConfig
from embedded_chain.jsonrpc import JsonRpc
from embedded_chain.node import DevelopmentOnly, Node
from embedded_chain.provider import NodeProvider
from embedded_chain.store import ChainStore
from ledger.backends.base import ChainBackend, DevelopmentFeatureUnavailable

#: In-memory chains have no office to seal their blocks: the zero address stands in.
_NO_VALIDATOR = ChecksumAddress("0x0000000000000000000000000000000000000000")  # type: ignore[arg-type]


def development_node(chain_id: int = DEFAULT_CHAIN_ID) -> Node:
    """A fresh chain in memory: anyone may send, snapshots and time travel allowed."""
    config = ChainConfig(
        chain_id=chain_id, validator=_NO_VALIDATOR, genesis_timestamp=int(time.time())
    )
    return Node.create(ChainStore.in_memory(), config, development=True)


class EmbeddedBackend(ChainBackend):
    """The embedded node in this process; each transaction is mined in its own block."""

    def __init__(self, node: Node | None = None) -> None:
        self.node = node if node is not None else development_node()
        self.rpc = JsonRpc(self.node)
        self._w3 = Web3(NodeProvider(self.rpc))

    @classmethod
    def open(cls, data_dir: Path, account_rules: ChecksumAddress | None) -> EmbeddedBackend:
        """The chain in `data_dir`, locked to this process until `close`.

        `account_rules` (`DeploymentManifest.account_rules`) decides who may send, as a Besu
        network's account-rules contract does; None before the contracts are deployed leaves
        the validator alone able to send.
        """
        return cls(open_node(DataDir(data_dir), account_rules))

    @property
    def w3(self) -> Web3:
        return self._w3

    def snapshot(self) -> str:
        with self.node.lock, _development():
            return "0x" + self.node.snapshot().hex()

    def revert(self, snapshot: str) -> None:
        with self.node.lock, _development():
            self.node.revert(bytes.fromhex(snapshot.removeprefix("0x")))

    def mine_at(self, timestamp: int) -> None:
        with self.node.lock, _development():
            self.node.mine_at(timestamp)

    def close(self) -> None:
        self.node.close()


@contextmanager
def _development() -> Iterator[None]:
    """Re-raise the node's refusal as the backend interface's."""
    try:
        yield
    except DevelopmentOnly as exc:
        raise DevelopmentFeatureUnavailable(str(exc)) from exc
