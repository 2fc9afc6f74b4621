"""The Signer protocol and a signer over a private key held in memory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

#: An EIP-712 message as JSON: {"types": ..., "primaryType": ..., "domain": ..., "message": ...}.
TypedDataJSON = Mapping[str, object]
#: A transaction as eth-account signs it: every field given (nonce, gas, gasPrice, chainId...).
TransactionFields = Mapping[str, object]


@runtime_checkable
class Signer(Protocol):
    """Something that holds a key and signs with it: a keystore, a hardware or remote signer."""

    @property
    def address(self) -> ChecksumAddress: ...

    def sign_typed_data(self, typed_data: TypedDataJSON) -> bytes:
        """Sign an EIP-712 message; return the 65-byte signature (r, s, v)."""
        ...

    def sign_transaction(self, transaction: TransactionFields) -> bytes:
        """Sign a fully specified transaction; return the raw signed transaction."""
        ...


class LocalSigner:
    """A signer over a private key in this process's memory; the key never appears in reprs."""

    __slots__ = ("_account",)

    def __init__(self, private_key: bytes | str) -> None:
        self._account: LocalAccount = Account.from_key(private_key)

    @classmethod
    def generate(cls) -> LocalSigner:
        """Create a signer over a fresh random key."""
        return cls(Account.create().key)

    @property
    def address(self) -> ChecksumAddress:
        return self._account.address

    def sign_typed_data(self, typed_data: TypedDataJSON) -> bytes:
        signable = encode_typed_data(full_message=dict(typed_data))
        return bytes(self._account.sign_message(signable).signature)

    def sign_transaction(self, transaction: TransactionFields) -> bytes:
        return bytes(self._account.sign_transaction(dict(transaction)).raw_transaction)

    def __repr__(self) -> str:
        return f"LocalSigner({self.address})"
