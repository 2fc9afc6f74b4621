"""Keystores and the wallet directory: unlocking, refusing, and never showing the key."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address
from hypothesis import given
from hypothesis import strategies as st

from ledger.signer import Signer
from wallets.keystore import (
    CorruptKeystore,
    Keystore,
    KeystoreSigner,
    WalletDirectory,
    WalletError,
    WalletExists,
    WalletNotFound,
    WrongPassword,
    checksum_address,
    parse_private_key,
)
from wallets.passwords import PasswordUnavailable, password_from
from wallets.signer import LocalSigner

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
PASSWORD = "correct horse battery"
TYPED = {
    "types": {
        "EIP712Domain": [{"name": "name", "type": "string"}],
        "Note": [{"name": "text", "type": "string"}],
    },
    "primaryType": "Note",
    "domain": {"name": "test"},
    "message": {"text": "hello"},
}


def written_keystore(tmp_path: Path) -> Path:
    path = tmp_path / "key.json"
    Keystore.encrypt(KEY, PASSWORD).save(path)
    return path


def test_a_keystore_unlocks_with_its_password_to_its_address(tmp_path: Path) -> None:
    keystore = Keystore.load(written_keystore(tmp_path))

    signer = keystore.unlock(PASSWORD)

    assert signer.address == LocalSigner(KEY).address == keystore.address
    assert keystore.document["crypto"]["kdf"] == "scrypt"  # type: ignore[index]


def test_new_keystores_default_to_the_production_scrypt_cost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wallets import keystore

    assert keystore.SCRYPT_N == 2  # lowered for the tests by tests/wallets/conftest.py
    monkeypatch.undo()
    assert keystore.SCRYPT_N == 2**18
    assert keystore.MAX_SCRYPT_N >= keystore.SCRYPT_N


def test_a_wrong_password_is_refused_naming_the_keystore_not_the_secrets(tmp_path: Path) -> None:
    keystore = Keystore.load(written_keystore(tmp_path))

    with pytest.raises(WrongPassword, match="wrong password for wallet 'acme'") as refused:
        keystore.unlock("not the password", "wallet 'acme'")

    shown = str(refused.value) + repr(refused.value)
    assert KEY.hex() not in shown
    assert PASSWORD not in shown
    assert "not the password" not in shown
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__


def corrupt(document: dict[str, object], how: str) -> str:
    crypto = document["crypto"]
    assert isinstance(crypto, dict)
    if how == "not json":
        return "{ this is not"
    if how == "no crypto":
        del document["crypto"]
    elif how == "mac not hex":
        crypto["mac"] = "zz" * 32
    elif how == "unknown kdf":
        crypto["kdf"] = "argon2"
    elif how == "scrypt too costly":
        crypto["kdfparams"]["n"] = 2**30
    elif how == "address swapped":
        document["address"] = LocalSigner.generate().address[2:].lower()
    elif how == "truncated params":
        del crypto["kdfparams"]["salt"]
    return json.dumps(document)


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("not json", "is not JSON"),
        ("no crypto", "has no crypto section"),
        ("mac not hex", "crypto.mac is missing or not hex"),
        ("unknown kdf", "unsupported kdf 'argon2'"),
        ("scrypt too costly", "scrypt n must be a power of two up to 2\\*\\*20"),
        ("address swapped", "says it holds 0x.* but its key is"),
        ("truncated params", "cannot be decrypted: malformed parameters"),
    ],
)
def test_a_corrupted_keystore_is_refused_saying_what_is_wrong(
    tmp_path: Path, how: str, message: str
) -> None:
    path = written_keystore(tmp_path)
    path.write_text(corrupt(json.loads(path.read_text()), how))

    with pytest.raises(CorruptKeystore, match=message) as refused:
        Keystore.load(path).unlock(PASSWORD)

    assert KEY.hex() not in str(refused.value)
    assert PASSWORD not in str(refused.value)


def test_an_altered_ciphertext_fails_the_mac_check(tmp_path: Path) -> None:
    path = written_keystore(tmp_path)
    document = json.loads(path.read_text())
    ciphertext = document["crypto"]["ciphertext"]
    document["crypto"]["ciphertext"] = ("0" if ciphertext[0] != "0" else "1") + ciphertext[1:]
    path.write_text(json.dumps(document))

    with pytest.raises(WrongPassword, match="or its ciphertext was altered"):
        Keystore.load(path).unlock(PASSWORD)


def test_keystores_of_other_tools_unlock(tmp_path: Path) -> None:
    path = tmp_path / "geth.json"
    path.write_text(json.dumps(Account.encrypt(KEY, PASSWORD, kdf="pbkdf2", iterations=2)))

    assert Keystore.load(path).unlock(PASSWORD).address == LocalSigner(KEY).address


def test_a_keystore_signer_asks_for_the_password_only_when_it_signs(tmp_path: Path) -> None:
    asked: list[str] = []

    def password() -> str:
        asked.append("asked")
        return PASSWORD

    signer = KeystoreSigner(Keystore.load(written_keystore(tmp_path)), password, "acme")

    assert isinstance(signer, Signer)
    assert signer.address == LocalSigner(KEY).address
    assert asked == []
    signature = signer.sign_typed_data(TYPED)
    signer.sign_typed_data(TYPED)
    assert asked == ["asked"]
    assert signature == LocalSigner(KEY).sign_typed_data(TYPED)


def test_no_repr_shows_the_key_or_the_encrypted_document(tmp_path: Path) -> None:
    keystore = Keystore.load(written_keystore(tmp_path))
    signer = KeystoreSigner(keystore, lambda: PASSWORD, "acme")
    before = repr(signer)
    signer.unlock()
    shown = " ".join([repr(keystore), before, repr(signer), str(signer), repr(signer.unlock())])

    assert KEY.hex() not in shown
    assert str(keystore.document["crypto"]["ciphertext"]) not in shown  # type: ignore[index]
    assert "locked" in before
    assert "unlocked" in repr(signer)


def test_wallets_are_created_listed_and_found_by_name_or_address(tmp_path: Path) -> None:
    wallets = WalletDirectory(tmp_path / "wallets")
    acme = wallets.create("acme", PASSWORD)
    beta = wallets.import_key("beta", KEY, PASSWORD)

    assert [w.name for w in wallets.list()] == ["acme", "beta"]
    assert wallets.find("beta").address == LocalSigner(KEY).address == beta.address
    assert wallets.find(acme.address.lower()).name == "acme"
    with pytest.raises(WalletError, match=r"several wallets .* name one with --wallet"):
        wallets.find(None)
    with pytest.raises(WalletNotFound, match="no wallet 'gamma'"):
        wallets.find("gamma")


def test_keystore_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    wallets = WalletDirectory(tmp_path / "wallets")
    entry = wallets.create("acme", PASSWORD)

    assert stat.S_IMODE(entry.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(wallets.root.stat().st_mode) == 0o700


def test_a_key_or_name_is_imported_once(tmp_path: Path) -> None:
    wallets = WalletDirectory(tmp_path)
    wallets.import_key("acme", KEY, PASSWORD)

    with pytest.raises(WalletExists, match="'acme' already holds"):
        wallets.import_key("acme2", KEY, PASSWORD)
    with pytest.raises(WalletExists, match="named 'acme' already exists"):
        wallets.create("acme", PASSWORD)
    with pytest.raises(WalletError, match="invalid wallet name"):
        wallets.create("../escape", PASSWORD)


def test_an_existing_keystore_is_imported_only_with_its_password(tmp_path: Path) -> None:
    source = written_keystore(tmp_path)
    wallets = WalletDirectory(tmp_path / "wallets")

    with pytest.raises(WrongPassword):
        wallets.import_keystore("acme", source, "wrong password")
    assert wallets.list() == []
    entry = wallets.import_keystore("acme", source, PASSWORD)
    assert json.loads(entry.path.read_text()) == json.loads(source.read_text())


def test_a_private_key_is_parsed_without_echoing_it() -> None:
    assert parse_private_key("0x" + KEY.hex() + "\n") == KEY
    with pytest.raises(WalletError) as refused:
        parse_private_key(KEY.hex()[:-2])
    assert KEY.hex()[:-2] not in str(refused.value)


def test_a_password_comes_from_a_file_then_the_environment_then_a_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "password"
    file.write_text("from file\n")
    monkeypatch.setenv("TEST_PASSWORD", "from env")

    assert password_from(file, "TEST_PASSWORD", lambda: "typed", purpose="x") == "from file"
    assert password_from(None, "TEST_PASSWORD", lambda: "typed", purpose="x") == "from env"
    monkeypatch.delenv("TEST_PASSWORD")
    assert password_from(None, "TEST_PASSWORD", lambda: "typed", purpose="x") == "typed"
    with pytest.raises(PasswordUnavailable, match="a password is needed for the wallet"):
        password_from(None, "TEST_PASSWORD", None, purpose="the wallet")


def test_signatures_of_a_keystore_signer_recover_to_its_address(tmp_path: Path) -> None:
    wallets = WalletDirectory(tmp_path)
    wallets.create("acme", PASSWORD)
    signer = wallets.signer("acme", lambda: PASSWORD)
    raw = signer.sign_transaction(
        {"chainId": 1337, "nonce": 0, "gas": 21_000, "gasPrice": 0, "to": signer.address,
         "value": 0, "data": b""}
    )  # fmt: skip

    assert Account.recover_transaction(raw) == signer.address


@given(st.binary(min_size=20, max_size=20), st.booleans())
def test_the_checksummed_address_of_a_keystore_is_eth_utils_own(raw: bytes, upper: bool) -> None:
    digits = raw.hex().upper() if upper else raw.hex()

    assert checksum_address(digits) == to_checksum_address("0x" + digits)
