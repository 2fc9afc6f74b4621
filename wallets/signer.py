"""The Signer protocol and a signer over a private key held in memory."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress

#: An EIP-712 message as JSON: {"types": ..., "primaryType": ..., "domain": ..., "message": ...}.
TypedDataJSON = Mapping[str, object]
#: A transaction as eth-account signs it: every field given (nonce, gas, gasPrice, chainId...).
TransactionFields = Mapping[str, object]


class KeyFileError(ValueError):
    """A key file that cannot be read or unlocked."""


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


class LocalSigner:
    """A signer over a private key in this process's memory; the key never appears in reprs."""

    __slots__ = ("_account",)

    def __init__(self, private_key: bytes | str) -> None:
        self._account: LocalAccount = Account.from_key(private_key)

    @classmethod
    def generate(cls) -> LocalSigner:
        """Create a signer over a fresh random key."""
        return cls(Account.create().key)

    @classmethod
    def from_key_file(cls, path: Path, password: str | None = None) -> LocalSigner:
        """A signer over the key in `path`: a Web3 Secret Storage keystore, or a hex key.

        A keystore needs `password`; the key and the password never appear in errors.
        """
        text = path.read_text().strip()
        if text.startswith("{"):
            if password is None:
                raise KeyFileError(f"{path} is an encrypted keystore: a password is needed")
            try:
                return cls(Account.decrypt(json.loads(text), password))
            except ValueError:
                raise KeyFileError(
                    f"cannot unlock {path}: wrong password or corrupt keystore"
                ) from None
        try:
            return cls(bytes.fromhex(text.removeprefix("0x")))
        except ValueError:
            raise KeyFileError(f"{path} holds neither a keystore nor a 32-byte hex key") from None

    @property
    def address(self) -> ChecksumAddress:
        return self._account.address

    @property
    def public_key(self) -> bytes:
        """The uncompressed secp256k1 public key, SEC 1 encoded (0x04 || x || y, 65 bytes)."""
        return b"\x04" + self._account._key_obj.public_key.to_bytes()

    def sign_typed_data(self, typed_data: TypedDataJSON) -> bytes:
        signable = encode_typed_data(full_message=dict(typed_data))
        return bytes(self._account.sign_message(signable).signature)

    def sign_message(self, text: str) -> bytes:
        return bytes(self._account.sign_message(encode_defunct(text=text)).signature)

    def sign_transaction(self, transaction: TransactionFields) -> bytes:
        fields: dict[str, Any] = dict(transaction)  # eth-account's own TypedDict is stricter
        return bytes(self._account.sign_transaction(fields).raw_transaction)

    def __repr__(self) -> str:
        return f"LocalSigner({self.address})"
