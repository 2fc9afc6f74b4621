"""Errors the node answers with, each with the JSON-RPC code that real nodes use for it.

Codes: JSON-RPC 2.0 for the protocol (-32700, -32600, -32601, -32602, -32603), EIP-1474 for
limits (-32005), geth and Besu for execution (3 with the revert data, -32000), and Besu's for
refused transactions (-32001 nonce too low, -32003 intrinsic gas, -32004 balance, -32006 nonce,
-32007 sender not authorized), so that clients written against Besu read ours the same way.
"""

from __future__ import annotations

from typing import ClassVar

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.abi import function_signature_to_4byte_selector

_ERROR_STRING = function_signature_to_4byte_selector("Error(string)")


class RpcError(Exception):
    """An error answered to the caller (never a traceback)."""

    code: ClassVar[int] = -32603

    def __init__(self, message: str, data: str | None = None) -> None:
        self.message = message
        self.data = data
        super().__init__(message)

    def as_json(self) -> dict[str, object]:
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class ParseError(RpcError):
    code = -32700


class InvalidRequest(RpcError):
    code = -32600


class MethodNotFound(RpcError):
    code = -32601


class InvalidParams(RpcError):
    code = -32602


class InternalError(RpcError):
    code = -32603


class LimitExceeded(RpcError):
    code = -32005


class ResourceNotFound(RpcError):
    """A block that the chain does not have (geth: "header not found")."""

    code = -32001


class ExecutionReverted(RpcError):
    """A call or estimate reverted: code 3 with the revert payload, as geth and Besu answer.

    web3 turns this into `ContractCustomError` (or `ContractLogicError` for a string reason),
    which `ledger.chain.Chain` decodes into the ledger's typed errors.
    """

    code = 3

    def __init__(self, payload: bytes) -> None:
        reason = _reason(payload)
        message = "execution reverted" if reason is None else f"execution reverted: {reason}"
        super().__init__(message, "0x" + payload.hex())
        self.payload = payload


class ExecutionFailed(RpcError):
    """A call or estimate failed without a revert (out of gas, invalid opcode...)."""

    code = -32000


class TransactionRefused(RpcError):
    """A raw transaction that did not enter a block; the chain is unchanged by it."""

    code = -32000


class MalformedTransaction(TransactionRefused):
    code = -32602


class InvalidSignature(TransactionRefused):
    code = -32002


class WrongChainId(TransactionRefused):
    code = -32000


class NonceTooLow(TransactionRefused):
    code = -32001


class NonceGap(TransactionRefused):
    code = -32006


class IntrinsicGasTooLow(TransactionRefused):
    code = -32003


class InsufficientBalance(TransactionRefused):
    code = -32004


class ExceedsBlockGasLimit(TransactionRefused):
    code = -32005


class SenderNotAuthorized(TransactionRefused):
    """Besu's TX_SENDER_NOT_AUTHORIZED: account permissioning refused the sender."""

    code = -32007


def _reason(payload: bytes) -> str | None:
    """The text of an `Error(string)` revert, if it is one."""
    if payload[:4] != _ERROR_STRING:
        return None
    try:
        (reason,) = abi_decode(["string"], payload[4:])
    except DecodingError:
        return None
    return str(reason)
