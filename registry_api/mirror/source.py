"""Reading the chain for the mirror: block headers and logs over JSON-RPC, with adaptive ranges.

The mirror reads events only, never contract storage. It talks JSON-RPC through a `Web3`
instance's request manager (any node: anvil, Besu, the embedded one) and turns the raw answers
into `ledger.events.Log` values itself, skipping web3's per-log formatting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.providers import JSONBaseProvider
from web3.types import RPCEndpoint

from ledger.codec import checksum_address
from ledger.events import Log


class NodeError(RuntimeError):
    """The node answered a request with an error (a range too big, too many results...)."""


@dataclass(frozen=True)
class BlockHeader:
    number: int
    hash: bytes
    parent_hash: bytes


class ChainSource(Protocol):
    """What the indexer needs of a node."""

    def head(self) -> int:
        """The number of the newest block."""
        ...

    def block(self, number: int) -> BlockHeader | None:
        """The canonical block at `number`, or None if the chain is not that long."""
        ...

    def blocks(self, first: int, last: int) -> list[BlockHeader | None]:
        """The canonical blocks `first..last` (None past the head), in as few requests as it can."""
        ...

    def logs(self, first: int, last: int) -> list[Log]:
        """Every log of the ledger's contracts in blocks `first..last`, in chain order."""
        ...


class RpcSource:
    """A `ChainSource` over JSON-RPC: one `eth_getLogs` per range, all addresses and topics."""

    def __init__(
        self, w3: Web3, addresses: Sequence[ChecksumAddress], topics: Sequence[bytes]
    ) -> None:
        self._w3 = w3
        self._addresses = list(addresses)
        self._topics = ["0x" + topic.hex() for topic in topics]

    def _request(self, method: str, params: list[object]) -> object:
        provider = self._w3.provider
        if not isinstance(provider, JSONBaseProvider):
            # An in-process provider formats requests in web3's middleware: go through it.
            return cast(object, self._w3.manager.request_blocking(RPCEndpoint(method), params))
        # A JSON-RPC node: the raw answer, without web3's formatting of every log.
        response = provider.make_request(RPCEndpoint(method), params)
        if "error" in response:
            raise NodeError(f"{method} failed: {response['error']}")
        return response.get("result")

    def head(self) -> int:
        return _int(self._request("eth_blockNumber", []))

    def block(self, number: int) -> BlockHeader | None:
        return _header(self._request("eth_getBlockByNumber", [hex(number), False]))

    def blocks(self, first: int, last: int) -> list[BlockHeader | None]:
        provider = self._w3.provider
        if not isinstance(provider, JSONBaseProvider) or last - first < 1:
            return [self.block(n) for n in range(first, last + 1)]
        # One JSON-RPC batch: the reorg window's headers cost one round trip, not 64.
        requests = [
            (RPCEndpoint("eth_getBlockByNumber"), [hex(n), False]) for n in range(first, last + 1)
        ]
        responses = provider.make_batch_request(requests)
        if not isinstance(responses, list):
            raise NodeError(f"eth_getBlockByNumber batch failed: {responses.get('error')}")
        headers = []
        for response in responses:
            if "error" in response:
                raise NodeError(f"eth_getBlockByNumber failed: {response['error']}")
            headers.append(_header(response.get("result")))
        return headers

    def logs(self, first: int, last: int) -> list[Log]:
        raw = self._request(
            "eth_getLogs",
            [
                {
                    "fromBlock": hex(first),
                    "toBlock": hex(last),
                    "address": self._addresses,
                    "topics": [self._topics],
                }
            ],
        )
        entries = cast(list[dict[str, object]], raw)
        if isinstance(self._w3.provider, JSONBaseProvider):
            return [_json_log(entry) for entry in entries if not entry.get("removed")]
        return [_log(entry) for entry in entries if not entry.get("removed")]


def _header(raw: object) -> BlockHeader | None:
    if not raw:
        return None
    block = cast(dict[str, object], raw)
    return BlockHeader(
        number=_int(block["number"]),
        hash=_bytes(block["hash"]),
        parent_hash=_bytes(block["parentHash"]),
    )


def _json_log(raw: dict[str, Any]) -> Log:
    """A log as a JSON-RPC node answers it: quantities and data as 0x-hex text.

    The backfill's hot path: one per log, so no generic conversions.
    """
    return Log(
        address=checksum_address(raw["address"]),
        topics=tuple([bytes.fromhex(topic[2:]) for topic in raw["topics"]]),
        data=bytes.fromhex(raw["data"][2:]),
        block_number=int(raw["blockNumber"], 16),
        block_hash=bytes.fromhex(raw["blockHash"][2:]),
        transaction_hash=bytes.fromhex(raw["transactionHash"][2:]),
        log_index=int(raw["logIndex"], 16),
    )


def _log(raw: dict[str, object]) -> Log:
    """A log as an in-process provider gives it, through web3's formatters."""
    return Log(
        address=checksum_address(cast(str, raw["address"])),
        topics=tuple(_bytes(topic) for topic in cast(list[object], raw["topics"])),
        data=_bytes(raw["data"]),
        block_number=_int(raw["blockNumber"]),
        block_hash=_bytes(raw["blockHash"]),
        transaction_hash=_bytes(raw["transactionHash"]),
        log_index=_int(raw["logIndex"]),
    )


def _int(value: object) -> int:
    """A quantity as nodes give it: 0x-hex text, or already an integer (in-process providers)."""
    if isinstance(value, int):
        return value
    return int(cast(str, value), 16)


def _bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return bytes(value)
    return bytes.fromhex(cast(str, value).removeprefix("0x"))


@dataclass
class RangeSizer:
    """How many blocks the next `eth_getLogs` asks for.

    Halves on a provider error (many nodes refuse big ranges or too many results) and when a
    response holds more logs than the target; doubles while responses stay under half of it.
    """

    span: int
    max_span: int
    target_logs: int

    def __post_init__(self) -> None:
        self.span = max(1, min(self.span, self.max_span))

    def shrink(self) -> bool:
        """Halve the range after a provider error; False if it is one block already."""
        if self.span == 1:
            return False
        self.span = max(1, self.span // 2)
        return True

    def observe(self, blocks: int, logs: int) -> None:
        """Adapt to a successful response of `logs` logs for a range of `blocks` blocks."""
        if logs > self.target_logs:
            self.span = max(1, self.span // 2)
        elif logs * 2 < self.target_logs and blocks >= self.span:
            self.span = min(self.max_span, self.span * 2)
