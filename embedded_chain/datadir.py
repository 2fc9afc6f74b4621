"""The data directory of an embedded chain: what lives where, and one process at a time.

    D/chain.sqlite         the chain: blocks, state, receipts, log index (+ -wal, -shm files)
    D/LOCK                 held (flock) by the process that has the chain open; holds its pid
    D/keystore/office.json the office's key, Web3 Secret Storage (scrypt), written by `init`
    D/manifest.json        the office's deployment manifest (never read here: the node is given
                           the account-rules address it holds)
    D/office.pem           the office's certificate (and office-key.pem, its encrypted key)

Only one process may open the chain: two writers would each believe their head is the chain's.
The lock is an OS file lock, released by the kernel when the holder dies (even by kill -9), so a
crash never leaves a stale lock behind and a second opener gets a clear error, not a database
that two processes write into.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eth_typing import ChecksumAddress
from eth_utils.address import to_canonical_address

from embedded_chain.genesis import ChainConfig
from embedded_chain.node import Node
from embedded_chain.permissioning import AccountRulesContract, ValidatorOnly
from embedded_chain.store import ChainStore, StoreError


class DataDirError(Exception):
    """The data directory cannot be used as asked."""


class DataDirInUse(DataDirError):
    """Another process has the chain open."""


@dataclass(frozen=True)
class DataDir:
    """Where each file of one chain lives."""

    root: Path

    @property
    def database(self) -> Path:
        return self.root / "chain.sqlite"

    @property
    def lock(self) -> Path:
        return self.root / "LOCK"

    @property
    def keystore(self) -> Path:
        return self.root / "keystore" / "office.json"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    def holds_chain(self) -> bool:
        return self.database.exists()


class DirectoryLock:
    """An exclusive OS lock on the data directory, held until `release` or the process's end."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, path: Path) -> DirectoryLock:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DataDirInUse(
                f"{path.parent} is in use by another process (pid {holder}): "
                "stop it first, or read the chain through its JSON-RPC server"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(fd, path)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def create_node(data_dir: DataDir, config: ChainConfig) -> Node:
    """Create the chain's database with its genesis block; only the validator may send."""
    if data_dir.holds_chain():
        raise DataDirError(f"{data_dir.root} already holds a chain")
    data_dir.root.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = DirectoryLock.acquire(data_dir.lock)
    try:
        store = ChainStore.open(data_dir.database)
        return Node.create(
            store,
            config,
            permissioning=ValidatorOnly(to_canonical_address(config.validator)),
            on_close=lock.release,
        )
    except BaseException:
        lock.release()
        raise


def open_node(data_dir: DataDir, account_rules: ChecksumAddress | None) -> Node:
    """Open the chain at its head; `account_rules` (the contract Besu would ask, as the office
    deployed it) decides who may send, or the validator alone when there is none yet."""
    if not data_dir.holds_chain():
        raise DataDirError(f"no chain in {data_dir.root}: create one with `ipledger chain init`")
    lock = DirectoryLock.acquire(data_dir.lock)
    try:
        store = ChainStore.open(data_dir.database)
    except StoreError as exc:
        lock.release()
        raise DataDirError(str(exc)) from exc
    except BaseException:
        lock.release()
        raise
    try:
        node = Node.open(store, on_close=lock.release)
    except BaseException as exc:
        store.close()
        lock.release()
        if isinstance(exc, StoreError):
            raise DataDirError(str(exc)) from exc
        raise
    node.permissioning = (
        ValidatorOnly(to_canonical_address(node.config.validator))
        if account_rules is None
        else AccountRulesContract(to_canonical_address(account_rules))
    )
    return node


def initialize(root: Path, config: ChainConfig, populate: Callable[[Node, DataDir], None]) -> None:
    """Create a chain in `root`, all or nothing: genesis, then `populate` (keys, contracts).

    The directory is built beside `root` under a temporary name and renamed into place only once
    `populate` has succeeded, so a failed or interrupted `init` leaves no half-made chain.
    """
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise DataDirError(f"{root} exists and is not an empty directory")
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = DataDir(root.parent / f".{root.name}.init-{os.getpid()}")
    if staging.root.exists():
        shutil.rmtree(staging.root)
    try:
        node = create_node(staging, config)
        try:
            populate(node, staging)
        finally:
            node.close()
        if root.exists():
            root.rmdir()
        staging.root.rename(root)
    except BaseException:
        shutil.rmtree(staging.root, ignore_errors=True)
        raise


#: Suffixes of SQLite databases: copied through SQLite's online backup, never byte by byte.
_SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
#: A database's side files (its write-ahead log and shared memory): the backup API reads them.
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def backup(source: DataDir, target: DataDir) -> int:
    """Copy a data directory into a new one; return the head block number of the copy.

    The chain alone (a directory served by `ipledger chain serve`) is copied while it runs:
    SQLite's online backup copies a consistent snapshot of the database (the last committed
    head) even while the node writes. A directory that also holds other databases (the registry
    service's outbox and mirror beside its embedded chain) must be copied at one moment for all
    of them (an outbox older or newer than the chain would reuse or skip nonces), so it is
    copied only while no process has it open: the directory's lock is taken for the copy.
    Everything else (keystore, manifest, certificate authority, secrets) is copied as it is,
    modes kept.
    """
    if not source.holds_chain():
        raise DataDirError(f"no chain in {source.root}")
    if target.root.exists() and any(target.root.iterdir()):
        raise DataDirError(f"{target.root} exists and is not empty")
    files = sorted(path for path in source.root.rglob("*") if path.is_file())
    databases = [path for path in files if path.suffix in _SQLITE_SUFFIXES]
    lock = None
    if any(path != source.database for path in databases):
        try:
            lock = DirectoryLock.acquire(source.lock)
        except DataDirInUse as exc:
            raise DataDirInUse(
                f"{source.root} holds the registry service's databases beside the chain, and "
                f"a process has it open: stop the service, then back it up ({exc})"
            ) from None
    try:
        target.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        for path in files:
            relative = path.relative_to(source.root)
            if path == source.lock or path.name.endswith(_SQLITE_SIDE_FILES):
                continue
            copy = target.root / relative
            copy.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if path in databases:
                _copy_database(path, copy)
            else:
                shutil.copy2(path, copy)
    finally:
        if lock is not None:
            lock.release()
    node = open_node(target, account_rules=None)  # only read: nobody sends
    try:
        return node.head.block_number
    finally:
        node.close()


def _copy_database(source: Path, target: Path) -> None:
    """A consistent snapshot of an SQLite database, its write-ahead log included."""
    reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    writer = sqlite3.connect(target)
    try:
        reader.backup(writer)
    finally:
        writer.close()
        reader.close()
    target.chmod(source.stat().st_mode & 0o777)
