"""The interface every chain backend offers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import cached_property

from web3 import Web3


class DevelopmentFeatureUnavailable(Exception):
    """The chain does not offer snapshots or time travel (a production node)."""


class ChainBackend(ABC):
    """A chain to talk to through a `Web3` instance, with development hooks where supported."""

    @property
    @abstractmethod
    def w3(self) -> Web3:
        """The connection; send only fully specified, locally signed transactions through it."""

    @cached_property
    def chain_id(self) -> int:
        """The node's chain id, asked once: every signature and transaction must carry it."""
        return int(self.w3.eth.chain_id)

    @abstractmethod
    def snapshot(self) -> str:
        """Remember the current state; return a handle for `revert`."""

    @abstractmethod
    def revert(self, snapshot: str) -> None:
        """Go back to a state remembered by `snapshot` (the handle is used up)."""

    @abstractmethod
    def mine_at(self, timestamp: int) -> None:
        """Mine an empty block with the given timestamp (moves the chain's clock)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the connection or the in-process chain."""
