"""The local signer: what it signs, how keys are loaded, and that keys never leak."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.signer import Signer
from wallets.signer import KeyFileError, LocalSigner

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")


def test_a_local_signer_is_a_signer_and_its_repr_shows_only_the_address() -> None:
    signer = LocalSigner(KEY)

    assert isinstance(signer, Signer)
    assert repr(signer) == f"LocalSigner({signer.address})"
    assert KEY.hex() not in repr(signer)
    assert KEY.hex() not in str(signer)


def test_signed_transactions_recover_to_the_signer() -> None:
    signer = LocalSigner(KEY)
    raw = signer.sign_transaction(
        {
            "chainId": 1337,
            "nonce": 0,
            "gas": 21_000,
            "gasPrice": 0,
            "to": signer.address,
            "value": 0,
            "data": b"",
        }
    )
    assert Account.recover_transaction(raw) == signer.address


def test_a_hex_key_file_loads_with_or_without_0x(tmp_path: Path) -> None:
    plain, prefixed = tmp_path / "plain", tmp_path / "prefixed"
    plain.write_text(KEY.hex() + "\n")
    prefixed.write_text("0x" + KEY.hex())

    assert LocalSigner.from_key_file(plain).address == LocalSigner(KEY).address
    assert LocalSigner.from_key_file(prefixed).address == LocalSigner(KEY).address


def test_a_keystore_unlocks_with_its_password(tmp_path: Path) -> None:
    keystore = tmp_path / "key.json"
    keystore.write_text(
        json.dumps(Account.encrypt(KEY, "correct horse", kdf="scrypt", iterations=2))
    )

    assert LocalSigner.from_key_file(keystore, "correct horse").address == LocalSigner(KEY).address


@pytest.mark.parametrize(
    ("content", "password", "message"),
    [
        ("keystore", None, "a password is needed"),
        ("keystore", "wrong", "wrong password or corrupt keystore"),
        ("{ not json", "any", "wrong password or corrupt keystore"),
        ("not a key", None, "neither a keystore nor a 32-byte hex key"),
        ("abcd", None, "neither a keystore nor a 32-byte hex key"),
    ],
)
def test_unreadable_key_files_are_refused_without_revealing_secrets(
    tmp_path: Path, content: str, password: str | None, message: str
) -> None:
    path = tmp_path / "key"
    if content == "keystore":
        content = json.dumps(Account.encrypt(KEY, "correct horse", kdf="scrypt", iterations=2))
    path.write_text(content)

    with pytest.raises(KeyFileError, match=message) as refused:
        LocalSigner.from_key_file(path, password)

    shown = str(refused.value) + repr(refused.value) + repr(refused.value.__cause__)
    assert KEY.hex() not in shown
    assert "correct horse" not in shown
    assert refused.value.__cause__ is None


_KEY = LocalSigner.generate()
_TARGET = LocalSigner.generate().address


@settings(max_examples=200, deadline=None)
@given(
    nonce=st.integers(0, 2**64 - 1),
    gas=st.integers(21_000, 2**63 - 1),
    gas_price=st.integers(0, 2**256 - 1),
    value=st.integers(0, 2**256 - 1),
    chain_id=st.integers(1, 2**53),
    data=st.binary(max_size=600),
)
def test_a_legacy_transaction_is_signed_to_the_same_bytes_as_eth_account_signs_it(
    nonce: int, gas: int, gas_price: int, value: int, chain_id: int, data: bytes
) -> None:
    transaction = {
        "chainId": chain_id,
        "nonce": nonce,
        "gas": gas,
        "gasPrice": gas_price,
        "to": _TARGET,
        "value": value,
        "data": data,
    }
    expected = Account.sign_transaction(transaction, _KEY._account.key).raw_transaction

    assert _KEY.sign_transaction(transaction) == bytes(expected)


def test_other_transactions_are_signed_and_checked_by_eth_account() -> None:
    dynamic = {
        "chainId": 1337,
        "nonce": 3,
        "gas": 50_000,
        "maxFeePerGas": 0,
        "maxPriorityFeePerGas": 0,
        "to": _TARGET,
        "value": 0,
        "data": b"\x01",
    }
    raw = _KEY.sign_transaction(dynamic)
    assert raw[0] == 2  # an EIP-1559 envelope
    assert Account.recover_transaction(raw) == _KEY.address
    bad_checksum = {**dynamic, "gasPrice": 0, "to": _TARGET.lower().replace("0x", "0X")}
    del bad_checksum["maxFeePerGas"], bad_checksum["maxPriorityFeePerGas"]
    with pytest.raises((TypeError, ValueError)):
        _KEY.sign_transaction(bad_checksum)
