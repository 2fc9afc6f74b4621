"""Ethereum JSON-RPC over the node: methods, parameter checks, errors, batches and limits.

The same `JsonRpc` serves HTTP (`server`) and in-process callers (`provider`), so a web3 client
sees the same answers either way. Limits, as Besu sets them by default unless said otherwise:

- a request body of at most 5 MiB (`MAX_REQUEST_BYTES`, Besu's and geth's default), checked by
  the HTTP server before parsing;
- nesting at most `MAX_JSON_DEPTH` (32) levels deep, checked before parsing: json.loads recurses
  in C, and 200 KB of "[" would overflow the stack and kill the node;
- a batch of at most 1,024 requests (`MAX_BATCH`, Besu's `--rpc-http-max-batch-size`);
- `eth_getLogs` over at most 5,000 blocks (`MAX_LOG_BLOCK_RANGE`, Besu's `--rpc-max-logs-range`)
  and returning at most 10,000 logs (`MAX_LOGS`, the cap public providers use): the indexer reads
  in block ranges and narrows a range that is refused.
"""

from __future__ import annotations

import json
import logging
import platform
import re
from collections.abc import Callable
from importlib.metadata import version

from eth.abc import BlockHeaderAPI
from eth.constants import CREATE_CONTRACT_ADDRESS
from eth_utils.crypto import keccak

from embedded_chain import encoding
from embedded_chain.errors import (
    InternalError,
    InvalidParams,
    InvalidRequest,
    LimitExceeded,
    MethodNotFound,
    ParseError,
    RpcError,
)
from embedded_chain.logindex import LogFilter, TooManyLogs
from embedded_chain.nesting import JsonTooDeep, loads
from embedded_chain.node import Message, Node

MAX_REQUEST_BYTES = 5 * 1024 * 1024
MAX_BATCH = 1024
MAX_LOG_BLOCK_RANGE = 5_000
MAX_LOGS = 10_000
#: eth_feeHistory's cap on blocks, as geth's.
MAX_FEE_HISTORY = 1024

_HEX = re.compile(r"0x[0-9a-fA-F]*")
_HEAD_TAGS = frozenset({"latest", "pending", "safe", "finalized"})

log = logging.getLogger(__name__)

Params = list[object]
Method = Callable[[Params], object]


class UnknownBlock(RpcError):
    """State asked of a block the chain does not have (geth's "header not found")."""

    code = -32000


class JsonRpc:
    """Answers JSON-RPC requests (objects or batches) from the node, one request at a time."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.client_version = (
            f"ipledger-embedded/v{_version('ip-rights-ledger')}/py-evm-{_version('py-evm')}"
            f"/python-{platform.python_version()}"
        )
        self._methods: dict[str, Method] = {
            "web3_clientVersion": lambda p: self.client_version,
            "web3_sha3": lambda p: encoding.data(keccak(_data(_arg(p, 0, "data")))),
            "net_version": lambda p: str(self.node.chain_id),
            "net_listening": lambda p: True,
            "net_peerCount": lambda p: "0x0",
            "eth_chainId": lambda p: encoding.quantity(self.node.chain_id),
            "eth_syncing": lambda p: False,
            "eth_accounts": lambda p: [],
            "eth_coinbase": lambda p: self.node.config.validator.lower(),
            "eth_blockNumber": lambda p: encoding.quantity(self.node.head.block_number),
            "eth_gasPrice": lambda p: "0x0",
            "eth_maxPriorityFeePerGas": lambda p: "0x0",
            "eth_feeHistory": self._fee_history,
            "eth_getBlockByNumber": self._block_by_number,
            "eth_getBlockByHash": self._block_by_hash,
            "eth_getBlockTransactionCountByNumber": self._transaction_count_by_number,
            "eth_getBlockTransactionCountByHash": self._transaction_count_by_hash,
            "eth_getTransactionByHash": self._transaction_by_hash,
            "eth_getTransactionByBlockNumberAndIndex": self._transaction_by_number_and_index,
            "eth_getTransactionByBlockHashAndIndex": self._transaction_by_hash_and_index,
            "eth_getTransactionReceipt": self._receipt,
            "eth_getBlockReceipts": self._block_receipts,
            "eth_getTransactionCount": self._nonce,
            "eth_getBalance": self._balance,
            "eth_getCode": self._code,
            "eth_getStorageAt": self._storage,
            "eth_call": self._call,
            "eth_estimateGas": self._estimate_gas,
            "eth_sendRawTransaction": self._send_raw_transaction,
            "eth_getLogs": self._logs,
        }

    @property
    def methods(self) -> frozenset[str]:
        return frozenset(self._methods)

    # --- requests ---

    def handle_bytes(self, body: bytes) -> bytes:
        """Answer an HTTP body; empty when it held only notifications."""
        try:
            payload = loads(body)
        except JsonTooDeep as exc:
            answer: object = _error_response(None, LimitExceeded(f"request refused: {exc}"))
        except (ValueError, UnicodeDecodeError) as exc:
            answer = _error_response(None, ParseError(f"invalid JSON: {exc}"))
        else:
            answer = self.handle(payload)
        if answer is None:
            return b""
        return json.dumps(answer, separators=(",", ":")).encode()

    def handle(self, payload: object) -> object | None:
        """Answer one request or a batch; None when there is nothing to answer."""
        with self.node.lock:
            if isinstance(payload, list):
                return self._batch(payload)
            return self._one(payload)

    def _batch(self, requests: list[object]) -> object | None:
        if not requests:
            return _error_response(None, InvalidRequest("empty batch"))
        if len(requests) > MAX_BATCH:
            return _error_response(
                None, LimitExceeded(f"batch of {len(requests)} requests; at most {MAX_BATCH}")
            )
        answers: list[object] = []
        sends: list[tuple[object, bytes]] = []  # consecutive eth_sendRawTransaction: one group

        for request in requests:
            raw = _raw_transaction_of(request)
            if raw is not None:
                sends.append(raw)
                continue
            answers.extend(self._send_group(sends))
            sends = []
            answer = self._one(request)
            if answer is not None:
                answers.append(answer)
        answers.extend(self._send_group(sends))
        return answers or None

    def _send_group(self, sends: list[tuple[object, bytes]]) -> list[object]:
        """Mine a run of raw transactions from one batch together: one commit, one fsync."""
        if not sends:
            return []
        try:
            results = self.node.send_raw_transactions([raw for _, raw in sends])
        except Exception:
            log.exception("sending a batch of %d transactions failed", len(sends))
            failure = InternalError("internal error: the transactions were not mined")
            return [_error_response(request_id, failure) for request_id, _ in sends]
        return [
            _error_response(request_id, result)
            if isinstance(result, RpcError)
            else _result_response(request_id, encoding.data(result))
            for (request_id, _), result in zip(sends, results, strict=True)
        ]

    def _one(self, request: object) -> dict[str, object] | None:
        if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
            return _error_response(None, InvalidRequest("not a JSON-RPC 2.0 request object"))
        request_id = request.get("id")
        notification = "id" not in request
        method = request.get("method")
        params = request.get("params", [])
        try:
            if not isinstance(method, str):
                raise InvalidRequest("method must be a string")
            handler = self._methods.get(method)
            if handler is None:
                raise MethodNotFound(f"the method {method} does not exist/is not available")
            if params is None:
                params = []
            if not isinstance(params, list):
                raise InvalidParams("params must be an array")
            result = handler(params)
        except RpcError as error:
            return None if notification else _error_response(request_id, error)
        except Exception:
            log.exception("%s failed", method)
            return (
                None
                if notification
                else _error_response(request_id, InternalError("internal error"))
            )
        return None if notification else _result_response(request_id, result)

    # --- blocks ---

    def _header(self, value: object) -> BlockHeaderAPI | None:
        """The block a JSON-RPC block parameter names, None if the chain has no such block."""
        if isinstance(value, dict):  # EIP-1898
            if "blockHash" in value:
                return self.node.header_by_hash(_data(value["blockHash"], 32))
            if "blockNumber" in value:
                return self._header(value["blockNumber"])
            raise InvalidParams("block object needs blockHash or blockNumber")
        if value in _HEAD_TAGS:
            return self.node.head  # a single validator's blocks are final at once, as QBFT's
        if value == "earliest":
            return self.node.header_by_number(0)
        return self.node.header_by_number(_quantity(value))

    def _state_header(self, params: Params, index: int) -> BlockHeaderAPI:
        """The block a state query asks about ("latest" when not given)."""
        value = params[index] if len(params) > index else "latest"
        header = self._header(value)
        if header is None:
            raise UnknownBlock(f"header not found: {value}")
        return header

    def _block_by_number(self, params: Params) -> object:
        header = self._header(_arg(params, 0, "block"))
        return self._block_view(header, _flag(params, 1))

    def _block_by_hash(self, params: Params) -> object:
        header = self.node.header_by_hash(_data(_arg(params, 0, "block hash"), 32))
        return self._block_view(header, _flag(params, 1))

    def _block_view(self, header: BlockHeaderAPI | None, full: bool) -> object:
        if header is None:
            return None
        return encoding.block_json(self.node.block(header), full_transactions=full)

    def _transaction_count_by_number(self, params: Params) -> object:
        header = self._header(_arg(params, 0, "block"))
        return None if header is None else self._count(header)

    def _transaction_count_by_hash(self, params: Params) -> object:
        header = self.node.header_by_hash(_data(_arg(params, 0, "block hash"), 32))
        return None if header is None else self._count(header)

    def _count(self, header: BlockHeaderAPI) -> str:
        return encoding.quantity(len(self.node.block(header).transactions))

    def _fee_history(self, params: Params) -> object:
        count = min(_quantity(_arg(params, 0, "block count")), MAX_FEE_HISTORY)
        newest = self._state_header(params, 1)
        percentiles = params[2] if len(params) > 2 and params[2] is not None else None
        oldest = max(0, newest.block_number - count + 1)
        ratios = []
        for number in range(oldest, newest.block_number + 1):
            header = self.node.header_by_number(number)
            assert header is not None  # at or below the head
            ratios.append(header.gas_used / header.gas_limit)
        history: dict[str, object] = {
            "oldestBlock": encoding.quantity(oldest),
            "baseFeePerGas": ["0x0"] * (len(ratios) + 1),  # free gas: always zero
            "gasUsedRatio": ratios,
        }
        if isinstance(percentiles, list):
            history["reward"] = [["0x0"] * len(percentiles) for _ in ratios]
        return history

    # --- transactions and receipts ---

    def _transaction_by_hash(self, params: Params) -> object:
        found = self.node.locate(_data(_arg(params, 0, "transaction hash"), 32))
        if found is None:
            return None
        return encoding.transaction_json(found.block, found.index, found.transaction)

    def _transaction_by_number_and_index(self, params: Params) -> object:
        return self._transaction_at(self._header(_arg(params, 0, "block")), params)

    def _transaction_by_hash_and_index(self, params: Params) -> object:
        header = self.node.header_by_hash(_data(_arg(params, 0, "block hash"), 32))
        return self._transaction_at(header, params)

    def _transaction_at(self, header: BlockHeaderAPI | None, params: Params) -> object:
        index = _quantity(_arg(params, 1, "index"))
        if header is None:
            return None
        block = self.node.block(header)
        if index >= len(block.transactions):
            return None
        return encoding.transaction_json(block, index, block.transactions[index])

    def _receipt(self, params: Params) -> object:
        found = self.node.locate(_data(_arg(params, 0, "transaction hash"), 32))
        if found is None:
            return None
        receipts = self.node.receipts(found.block)
        logs = self.node.logs_of(found.block)
        return encoding.receipt_json(found.block, found.index, receipts, logs)

    def _block_receipts(self, params: Params) -> object:
        header = self._header(_arg(params, 0, "block"))
        if header is None:
            return None
        block = self.node.block(header)
        return encoding.block_receipts_json(
            block, self.node.receipts(block), self.node.logs_of(block)
        )

    def _send_raw_transaction(self, params: Params) -> object:
        raw = _data(_arg(params, 0, "raw transaction"))
        (result,) = self.node.send_raw_transactions([raw])
        if isinstance(result, RpcError):
            raise result
        return encoding.data(result)

    # --- state ---

    def _nonce(self, params: Params) -> object:
        address = _data(_arg(params, 0, "address"), 20)
        # "pending" is the head: there is no pool, accepted transactions are already mined.
        state = self.node.state_at(self._state_header(params, 1))
        return encoding.quantity(state.get_nonce(address))  # type: ignore[arg-type]

    def _balance(self, params: Params) -> object:
        address = _data(_arg(params, 0, "address"), 20)
        state = self.node.state_at(self._state_header(params, 1))
        return encoding.quantity(state.get_balance(address))  # type: ignore[arg-type]

    def _code(self, params: Params) -> object:
        address = _data(_arg(params, 0, "address"), 20)
        state = self.node.state_at(self._state_header(params, 1))
        return encoding.data(state.get_code(address))  # type: ignore[arg-type]

    def _storage(self, params: Params) -> object:
        address = _data(_arg(params, 0, "address"), 20)
        slot = _quantity(_arg(params, 1, "storage slot"))
        state = self.node.state_at(self._state_header(params, 2))
        value = state.get_storage(address, slot)  # type: ignore[arg-type]
        return encoding.data(value.to_bytes(32, "big"))

    def _call(self, params: Params) -> object:
        message = _message(_arg(params, 0, "call"))
        return encoding.data(self.node.call(message, self._state_header(params, 1)))

    def _estimate_gas(self, params: Params) -> object:
        message = _message(_arg(params, 0, "transaction"))
        return encoding.quantity(self.node.estimate_gas(message, self._state_header(params, 1)))

    # --- logs ---

    def _logs(self, params: Params) -> object:
        query = _arg(params, 0, "filter")
        if not isinstance(query, dict):
            raise InvalidParams("filter must be an object")
        head: int = self.node.head.block_number
        first: int
        last: int
        if query.get("blockHash") is not None:
            if query.get("fromBlock") is not None or query.get("toBlock") is not None:
                raise InvalidParams("blockHash excludes fromBlock and toBlock")
            header = self.node.header_by_hash(_data(query["blockHash"], 32))
            if header is None:
                raise UnknownBlock("unknown block")
            first = last = header.block_number
        else:
            first = self._log_bound(query.get("fromBlock"), head)
            last = min(self._log_bound(query.get("toBlock"), head), head)
            if first > last:
                if first > head:
                    return []
                raise InvalidParams(f"fromBlock {first} is after toBlock {last}")
            if last - first + 1 > MAX_LOG_BLOCK_RANGE:
                raise LimitExceeded(
                    f"eth_getLogs over {last - first + 1} blocks; at most {MAX_LOG_BLOCK_RANGE}"
                )
        address = query.get("address")
        addresses = tuple(
            _data(a, 20) for a in (address if isinstance(address, list) else [address]) if a
        )
        topics = query.get("topics") or []
        if not isinstance(topics, list):
            raise InvalidParams("topics must be an array")
        wanted = tuple(_topic_position(position) for position in topics)
        try:
            logs = self.node.logs(LogFilter(first, last, addresses, wanted), MAX_LOGS)
        except TooManyLogs as exc:
            raise LimitExceeded(
                f"query returned more than {exc.limit} results; narrow the block range "
                f"({first}-{last})"
            ) from None
        return [encoding.log_json(log) for log in logs]

    def _log_bound(self, value: object, head: int) -> int:
        if value is None or value in _HEAD_TAGS:
            return head
        if value == "earliest":
            return 0
        return _quantity(value)


# --- parameters ---


def _arg(params: Params, index: int, name: str) -> object:
    if len(params) <= index:
        raise InvalidParams(f"missing value for required argument {index} ({name})")
    return params[index]


def _flag(params: Params, index: int) -> bool:
    value = params[index] if len(params) > index else False
    if not isinstance(value, bool):
        raise InvalidParams(f"argument {index} must be a boolean")
    return value


def _quantity(value: object) -> int:
    if not isinstance(value, str) or not _HEX.fullmatch(value) or len(value) < 3:
        raise InvalidParams(f"expected a hex quantity (0x...), got {value!r}")
    return int(value, 16)


def _data(value: object, length: int | None = None) -> bytes:
    if not isinstance(value, str) or not _HEX.fullmatch(value) or len(value) % 2:
        raise InvalidParams(f"expected hex data (0x...), got {_short(value)}")
    raw = bytes.fromhex(value[2:])
    if length is not None and len(raw) != length:
        raise InvalidParams(f"expected {length} bytes, got {len(raw)}: {_short(value)}")
    return raw


def _topic_position(position: object) -> tuple[bytes, ...] | None:
    if position is None:
        return None
    if isinstance(position, list):
        return tuple(_data(t, 32) for t in position if t is not None) or None
    return (_data(position, 32),)


def _message(call: object) -> Message:
    if not isinstance(call, dict):
        raise InvalidParams("the call must be an object")
    to = call.get("to")
    payload = call.get("input", call.get("data"))
    gas = call.get("gas")
    value = call.get("value")
    sender = call.get("from")
    return Message(
        sender=_data(sender, 20) if sender is not None else bytes(20),
        to=_data(to, 20) if to is not None else CREATE_CONTRACT_ADDRESS,
        data=_data(payload) if payload is not None else b"",
        value=_quantity(value) if value is not None else 0,
        gas=_quantity(gas) if gas is not None else None,
    )


def _raw_transaction_of(request: object) -> tuple[object, bytes] | None:
    """(id, raw bytes) of a well-formed eth_sendRawTransaction request, else None."""
    if not (
        isinstance(request, dict)
        and request.get("jsonrpc") == "2.0"
        and request.get("method") == "eth_sendRawTransaction"
        and "id" in request
    ):
        return None
    params = request.get("params")
    if not isinstance(params, list) or len(params) != 1:
        return None
    try:
        return request["id"], _data(params[0])
    except InvalidParams:
        return None


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _result_response(request_id: object, result: object) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def _error_response(request_id: object, error: RpcError) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.as_json()}


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except Exception:
        return "unknown"
