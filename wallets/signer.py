"""A signer over a private key held in memory (`ledger.signer.Signer`)."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import rlp
from coincurve import PrivateKey
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils.address import is_checksum_address
from eth_utils.crypto import keccak

from ledger.signer import TransactionFields, TypedDataJSON

#: The fields of a legacy EIP-155 transaction, as the ledger sends every transaction.
_LEGACY_FIELDS = frozenset({"chainId", "nonce", "gas", "gasPrice", "to", "value", "data"})


class KeyFileError(ValueError):
    """A key file that cannot be read or unlocked."""


class LocalSigner:
    """A signer over a private key in this process's memory; the key never appears in reprs."""

    __slots__ = ("_account", "_secp256k1")

    def __init__(self, private_key: bytes | str) -> None:
        self._account: LocalAccount = Account.from_key(private_key)
        self._secp256k1 = PrivateKey(bytes(self._account.key))

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
        legacy = self._sign_legacy(transaction)
        if legacy is not None:
            return legacy
        fields: dict[str, Any] = dict(transaction)  # eth-account's own TypedDict is stricter
        return bytes(self._account.sign_transaction(fields).raw_transaction)

    def _sign_legacy(self, transaction: TransactionFields) -> bytes | None:
        """A legacy EIP-155 transaction signed directly: the same bytes as eth-account's (both
        sign with libsecp256k1, RFC 6979 nonces, low s) at a tenth of the cost, which is most
        of what the relayer spends accepting a write. None for anything else: eth-account
        signs it, and validates it."""
        if transaction.keys() != _LEGACY_FIELDS:
            return None
        numbers = [transaction[name] for name in ("nonce", "gasPrice", "gas", "value", "chainId")]
        if not all(type(n) is int and 0 <= n < 2**256 for n in numbers):
            return None
        nonce, gas_price, gas, value, chain_id = typing.cast(list[int], numbers)
        to, data = transaction["to"], transaction["data"]
        if not (isinstance(to, str) and is_checksum_address(to) and type(data) is bytes):
            return None
        target = bytes.fromhex(to[2:])
        unsigned = rlp.encode([nonce, gas_price, gas, target, value, data, chain_id, 0, 0])
        signature = self._secp256k1.sign_recoverable(keccak(unsigned), hasher=None)
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:64], "big")
        v = signature[64] + 35 + 2 * chain_id
        return bytes(rlp.encode([nonce, gas_price, gas, target, value, data, v, r, s]))

    def __repr__(self) -> str:
        return f"LocalSigner({self.address})"
