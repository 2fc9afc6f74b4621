"""Encrypted keystores (Web3 Secret Storage, scrypt), a signer over one, and a wallet directory.

A wallet is a keystore file named after the wallet in a directory. The private key exists in
clear only in memory, after the keystore is unlocked with its password; it never appears in a
repr, a log line or an error message (errors name the file and the address only).
"""

from __future__ import annotations

import json
import os
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# eth-account (and the signer over it) takes a second to import, eth-utils and eth-typing a
# fraction each: they load where a key is made, read or unlocked, so that `ipledger --help` and
# listing wallets do not wait for them.
if typing.TYPE_CHECKING:
    from eth_typing import ChecksumAddress

    from ledger.signer import TransactionFields, TypedDataJSON
    from wallets.signer import LocalSigner

#: scrypt cost of new keystores: N = 2**18, r = 8, p = 1 (geth's "standard" parameters, about a
#: second and 256 MB to unlock). Tests lower it; production never should.
SCRYPT_N = 2**18
#: The most expensive keystore this code agrees to unlock (N = 2**20, 1 GB): a keystore with a
#: larger N would make unlocking it a denial of service.
MAX_SCRYPT_N = 2**20
#: Where wallets live unless --wallet-dir or IPLEDGER_WALLET_DIR says otherwise.
DEFAULT_WALLET_DIR = Path.home() / ".ipledger" / "wallets"
WALLET_DIR_ENV = "IPLEDGER_WALLET_DIR"

_WALLET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_HEX = re.compile(r"(0x)?[0-9a-fA-F]*")
_PENDING_SUFFIX = ".next.json"


class WalletError(ValueError):
    """A wallet or keystore that cannot be created, found or unlocked."""


class WrongPassword(WalletError):
    """The password does not unlock the keystore (its MAC does not match)."""


class CorruptKeystore(WalletError):
    """A file that is not a well-formed Web3 Secret Storage keystore, or whose parts disagree."""


class WalletNotFound(WalletError):
    """No wallet of that name or address in the directory."""


class WalletExists(WalletError):
    """A wallet of that name, or holding that key, already exists."""


@dataclass(frozen=True)
class Keystore:
    """A Web3 Secret Storage (version 3) keystore: the address in clear, the key encrypted."""

    address: ChecksumAddress
    document: dict[str, object] = field(repr=False)

    @classmethod
    def encrypt(cls, private_key: bytes, password: str, *, scrypt_n: int | None = None) -> Keystore:
        """Encrypt `private_key` under `password` with scrypt (cost SCRYPT_N unless given)."""
        from eth_account import Account

        n = scrypt_n if scrypt_n is not None else SCRYPT_N
        document = typing.cast(
            dict[str, object], Account.encrypt(private_key, password, kdf="scrypt", iterations=n)
        )
        return cls.parse(json.dumps(document))

    @classmethod
    def parse(cls, text: str, source: str = "keystore") -> Keystore:
        """Check that `text` is a version 3 keystore this code can unlock; do not decrypt it."""
        try:
            document = json.loads(text)
        except ValueError:
            raise CorruptKeystore(f"{source} is not JSON") from None
        if not isinstance(document, dict):
            raise CorruptKeystore(f"{source} is not a keystore object")
        if document.get("version") != 3:
            raise CorruptKeystore(f"{source}: only version 3 keystores are supported")
        crypto = document.get("crypto", document.get("Crypto"))
        if not isinstance(crypto, dict):
            raise CorruptKeystore(f"{source} has no crypto section")
        for name in ("ciphertext", "mac"):
            value = crypto.get(name)
            if not isinstance(value, str) or not value or not _HEX.fullmatch(value):
                raise CorruptKeystore(f"{source}: crypto.{name} is missing or not hex")
        if crypto.get("cipher") != "aes-128-ctr":
            raise CorruptKeystore(f"{source}: unsupported cipher {crypto.get('cipher')!r}")
        _check_kdf(crypto, source)
        address = document.get("address")
        if not isinstance(address, str) or not re.fullmatch(r"(0x)?[0-9a-fA-F]{40}", address):
            raise CorruptKeystore(f"{source} has no valid address field")
        return cls(checksum_address(address.removeprefix("0x")), document)

    @classmethod
    def load(cls, path: Path) -> Keystore:
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise WalletNotFound(f"no keystore at {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CorruptKeystore(f"cannot read {path}: {exc}") from None
        return cls.parse(text, str(path))

    def unlock(self, password: str, source: str = "the keystore") -> LocalSigner:
        """Decrypt the key; WrongPassword if the MAC does not match, CorruptKeystore otherwise."""
        from eth_account import Account

        from wallets.signer import LocalSigner

        try:
            key = Account.decrypt(self.document, password)
        except ValueError as exc:
            if "MAC mismatch" in str(exc):
                raise WrongPassword(
                    f"wrong password for {source} ({self.address}), or its ciphertext was altered"
                ) from None
            raise CorruptKeystore(f"{source} cannot be decrypted: malformed parameters") from None
        except (KeyError, TypeError, NotImplementedError):
            raise CorruptKeystore(f"{source} cannot be decrypted: malformed parameters") from None
        signer = LocalSigner(key)
        if signer.address != self.address:
            # The address field is not covered by the MAC: a swapped address would make a wallet
            # show one identity and sign with another.
            raise CorruptKeystore(
                f"{source} says it holds {self.address} but its key is {signer.address}"
            )
        return signer

    def save(self, path: Path) -> None:
        """Write the keystore readable by its owner only (mode 0600), atomically."""
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(self.document, indent=2) + "\n")
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)


def _check_kdf(crypto: dict[str, object], source: str) -> None:
    params = crypto.get("kdfparams")
    if not isinstance(params, dict):
        raise CorruptKeystore(f"{source} has no kdfparams")
    kdf = crypto.get("kdf")
    if kdf == "scrypt":
        n = params.get("n")
        if not isinstance(n, int) or n < 2 or n & (n - 1) or n > MAX_SCRYPT_N:
            raise CorruptKeystore(f"{source}: scrypt n must be a power of two up to 2**20")
    elif kdf != "pbkdf2":  # older keystores (and some tools) use PBKDF2; both are standard
        raise CorruptKeystore(f"{source}: unsupported kdf {kdf!r}")


class KeystoreSigner:
    """A Signer over a keystore: the address is known at once, the key only once unlocked.

    The password is asked for (through `password`) at the first signature, not before: a wallet
    can be shown, and what it is about to sign reviewed, without unlocking it.
    """

    __slots__ = ("_keystore", "_name", "_password", "_unlocked")

    def __init__(self, keystore: Keystore, password: Callable[[], str], name: str) -> None:
        self._keystore = keystore
        self._password = password
        self._name = name
        self._unlocked: LocalSigner | None = None

    @property
    def address(self) -> ChecksumAddress:
        return self._keystore.address

    @property
    def name(self) -> str:
        return self._name

    def unlock(self) -> LocalSigner:
        """The in-memory signer, asking for the password the first time."""
        if self._unlocked is None:
            self._unlocked = self._keystore.unlock(self._password(), f"wallet {self._name!r}")
        return self._unlocked

    def lock(self) -> None:
        """Forget the decrypted key."""
        self._unlocked = None

    @property
    def public_key(self) -> bytes:
        return self.unlock().public_key

    def sign_typed_data(self, typed_data: TypedDataJSON) -> bytes:
        return self.unlock().sign_typed_data(typed_data)

    def sign_transaction(self, transaction: TransactionFields) -> bytes:
        return self.unlock().sign_transaction(transaction)

    def sign_message(self, text: str) -> bytes:
        return self.unlock().sign_message(text)

    def __repr__(self) -> str:
        state = "unlocked" if self._unlocked is not None else "locked"
        return f"KeystoreSigner({self._name!r}, {self.address}, {state})"


@dataclass(frozen=True)
class WalletEntry:
    """A wallet in a directory: its name, its address, and a key rotation in progress if any."""

    name: str
    address: ChecksumAddress
    path: Path
    pending_address: ChecksumAddress | None = None


class WalletDirectory:
    """Wallets as keystore files in one directory (mode 0700).

    Layout: `NAME.json` is the wallet's current key; `NAME.next.json` the new key of a rotation
    not yet completed; `retired/NAME.ADDRESS.json` keys rotated away (kept: data encrypted to an
    old key can still be opened with it).
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def default(cls) -> WalletDirectory:
        """The directory from IPLEDGER_WALLET_DIR, else ~/.ipledger/wallets."""
        return cls(Path(os.environ.get(WALLET_DIR_ENV) or DEFAULT_WALLET_DIR))

    def path_of(self, name: str) -> Path:
        if not _WALLET_NAME.fullmatch(name):
            raise WalletError(
                f"invalid wallet name {name!r}: letters, digits, '-' and '_', at most 64"
            )
        return self.root / f"{name}.json"

    def pending_path_of(self, name: str) -> Path:
        return self.path_of(name).with_name(f"{name}{_PENDING_SUFFIX}")

    def list(self) -> list[WalletEntry]:
        """The wallets, by name; files that are not keystores are skipped."""
        if not self.root.is_dir():
            return []
        entries = []
        for path in sorted(self.root.glob("*.json")):
            name = path.name.removesuffix(".json")
            if path.name.endswith(_PENDING_SUFFIX) or not _WALLET_NAME.fullmatch(name):
                continue
            try:
                keystore = Keystore.load(path)
            except WalletError:
                continue
            entries.append(WalletEntry(name, keystore.address, path, self._pending(name)))
        return entries

    def find(self, name_or_address: str | None) -> WalletEntry:
        """A wallet by name or address; with None, the only wallet there is."""
        wallets = self.list()
        if name_or_address is None:
            if len(wallets) == 1:
                return wallets[0]
            if not wallets:
                raise WalletNotFound(f"no wallet in {self.root}: create one with `wallet new`")
            names = ", ".join(w.name for w in wallets)
            raise WalletError(f"several wallets in {self.root} ({names}): name one with --wallet")
        for wallet in wallets:
            if name_or_address in (wallet.name, wallet.address) or (
                name_or_address.lower() == wallet.address.lower()
            ):
                return wallet
        raise WalletNotFound(f"no wallet {name_or_address!r} in {self.root}")

    def keystore(self, entry: WalletEntry) -> Keystore:
        return Keystore.load(entry.path)

    def signer(self, name_or_address: str | None, password: Callable[[], str]) -> KeystoreSigner:
        """A signer over a wallet's key; the password is asked for at the first signature."""
        entry = self.find(name_or_address)
        return KeystoreSigner(self.keystore(entry), password, entry.name)

    def create(self, name: str, password: str, *, scrypt_n: int | None = None) -> WalletEntry:
        """A wallet over a fresh random key."""
        return self.add(name, Keystore.encrypt(_fresh_key(), password, scrypt_n=scrypt_n))

    def import_key(
        self, name: str, private_key: bytes, password: str, *, scrypt_n: int | None = None
    ) -> WalletEntry:
        """A wallet over an existing private key, encrypted under `password`."""
        if len(private_key) != 32:
            raise WalletError("a private key is 32 bytes")
        try:
            keystore = Keystore.encrypt(private_key, password, scrypt_n=scrypt_n)
        except (ValueError, TypeError):
            raise WalletError("not a valid secp256k1 private key") from None
        return self.add(name, keystore)

    def import_keystore(self, name: str, source: Path, password: str) -> WalletEntry:
        """Copy an existing keystore in, once its password is proven to unlock it."""
        keystore = Keystore.load(source)
        keystore.unlock(password, str(source))
        return self.add(name, keystore)

    def add(self, name: str, keystore: Keystore) -> WalletEntry:
        path = self.path_of(name)
        if path.exists():
            raise WalletExists(f"a wallet named {name!r} already exists in {self.root}")
        for wallet in self.list():
            if wallet.address == keystore.address:
                raise WalletExists(f"wallet {wallet.name!r} already holds {keystore.address}")
        keystore.save(path)
        return WalletEntry(name, keystore.address, path)

    def begin_rotation(self, name: str, password: str, *, scrypt_n: int | None = None) -> Keystore:
        """The new key of a rotation of wallet `name`: the pending one, else a fresh one.

        The new key is on disk before anything is signed, so that a rotation recorded on chain
        can never leave the wallet without the key it now needs.
        """
        pending = self.pending_path_of(name)
        if pending.exists():
            return Keystore.load(pending)
        keystore = Keystore.encrypt(_fresh_key(), password, scrypt_n=scrypt_n)
        keystore.save(pending)
        return keystore

    def complete_rotation(self, name: str) -> WalletEntry:
        """Make the pending key the wallet's key; keep the old one under retired/."""
        current, pending = self.path_of(name), self.pending_path_of(name)
        old, new = Keystore.load(current), Keystore.load(pending)
        retired = self.root / "retired" / f"{name}.{old.address}.json"
        old.save(retired)
        pending.replace(current)
        return WalletEntry(name, new.address, current)

    def _pending(self, name: str) -> ChecksumAddress | None:
        path = self.pending_path_of(name)
        if not path.exists():
            return None
        try:
            return Keystore.load(path).address
        except WalletError:
            return None


def _fresh_key() -> bytes:
    from eth_account import Account

    return bytes(Account.create().key)


def checksum_address(hex_digits: str) -> ChecksumAddress:
    """The EIP-55 form of an address given as 40 hex digits.

    eth-utils' `to_checksum_address` gives the same (a property test holds them equal) but
    importing eth-utils takes longer than listing the wallets does.
    """
    from eth_hash.auto import keccak

    lower = hex_digits.lower()
    digest = keccak(lower.encode("ascii")).hex()
    # EIP-55: a letter is upper case where the hash's nibble at its position is 8 or more.
    mixed = "".join(
        c.upper() if int(n, 16) >= 8 else c for c, n in zip(lower, digest, strict=False)
    )
    return typing.cast("ChecksumAddress", "0x" + mixed)


def parse_private_key(text: str) -> bytes:
    """A 32-byte private key from hex (with or without 0x); the text never enters the error."""
    cleaned = text.strip().removeprefix("0x")
    if len(cleaned) != 64 or not _HEX.fullmatch(cleaned):
        raise WalletError("a private key is 64 hex digits (32 bytes)")
    return bytes.fromhex(cleaned)
