"""The Signer protocol: what the core needs of whoever holds a key (wallets implement it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

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

    def sign_message(self, text: str) -> bytes:
        """Sign a text message (EIP-191 `personal_sign`), as a sign-in challenge is signed."""
        ...
