"""py-evm's key-value database on one SQLite file, plus the node's own tables.

Durability. The file is in WAL mode with `synchronous=FULL`: every commit appends the changed pages
to the write-ahead log and fsyncs it before `commit` returns, so a committed block survives a
kill -9 of the process *and* a power loss or kernel crash. (`NORMAL` would skip that fsync: still
safe against kill -9, since the WAL write is in the OS's hands, but a power loss could take back
the last blocks after their transactions were acknowledged.) A commit costs one fsync, under a
millisecond on this class of machine; the node makes one commit per group of blocks (see
`node.Node.send_raw_transactions`).

Atomicity. py-evm writes trie nodes, headers, receipts and lookups through many small batches
while it executes and mines. None of them reaches SQLite: they go to an in-memory overlay that
reads see first. `commit` then writes the overlay and the node's tables (log index, metadata) in
one SQLite transaction. A crash at any moment leaves the file at the last committed head, with its
receipts and logs, and nothing half-written; `discard` drops an overlay that must not be kept.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from eth.abc import AtomicWriteBatchAPI
from eth.db.atomic import AtomicDBWriteBatch
from eth.db.backends.base import BaseAtomicDB
from lru import LRU

#: Bumped when the tables change; a file of another version is refused, never guessed at.
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS logs (
    block_number INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    tx_index INTEGER NOT NULL,
    tx_hash BLOB NOT NULL,
    block_hash BLOB NOT NULL,
    address BLOB NOT NULL,
    topic0 BLOB,
    topic1 BLOB,
    topic2 BLOB,
    topic3 BLOB,
    data BLOB NOT NULL,
    PRIMARY KEY (block_number, log_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS logs_by_address ON logs (address, block_number);
CREATE INDEX IF NOT EXISTS logs_by_topic0 ON logs (topic0, block_number);
"""

#: SQLite's page cache for this connection (negative: KiB). Trie nodes near the root are read by
#: every transaction; 64 MiB keeps the hot part of a large state in memory.
_CACHE_KIB = 65_536

#: Committed entries kept in this process (an LRU in front of SQLite). py-evm builds a fresh
#: state, with cold caches, for every transaction and block; without this, every trie node on
#: the path to every account and slot touched is a SQL query again. ~200 bytes an entry.
_READ_CACHE_ENTRIES = 200_000

_DELETED = None


class StoreError(Exception):
    """The chain database cannot be used (another schema version, not a chain database)."""


class ChainStore(BaseAtomicDB):
    """py-evm's database over SQLite: reads see pending writes, `commit` makes them durable."""

    def __init__(self, connection: sqlite3.Connection, *, path: Path | None) -> None:
        self.connection = connection
        self.path = path
        #: Writes not committed yet; `None` marks a deletion.
        self._pending: dict[bytes, bytes | None] = {}
        self._cache: LRU[bytes, bytes] = LRU(_READ_CACHE_ENTRIES)
        #: Reads that reached SQLite (not the overlay or the cache): the restart test counts them.
        self.reads = 0

    @classmethod
    def open(cls, path: Path) -> ChainStore:
        """Open (or create) the database file at `path`."""
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise StoreError(f"{path}: cannot switch to WAL mode (got {mode})")
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
            store = cls(connection, path=path)
            store._create_schema()
        except sqlite3.DatabaseError as exc:
            connection.close()
            raise StoreError(f"{path} is not a chain database: {exc}") from exc
        except StoreError:
            connection.close()
            raise
        return store

    @classmethod
    def in_memory(cls) -> ChainStore:
        """A database that lives and dies with this process (development and tests)."""
        connection = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        store = cls(connection, path=None)
        store._create_schema()
        return store

    def _create_schema(self) -> None:
        self.connection.executescript(_SCHEMA)
        version = self.meta("schema_version")
        if version is None:
            self.connection.execute(
                "INSERT INTO meta (name, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        elif version != str(SCHEMA_VERSION):
            raise StoreError(
                f"chain database schema {version}, this version reads {SCHEMA_VERSION} only"
            )

    # --- py-evm's database interface ---

    def __getitem__(self, key: bytes) -> bytes:
        if key in self._pending:
            value = self._pending[key]
            if value is _DELETED:
                raise KeyError(key)
            return value
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        self.reads += 1
        row = self.connection.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        value = bytes(row[0])
        self._cache[key] = value
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._pending[key] = value

    def __delitem__(self, key: bytes) -> None:
        if not self._exists(key):
            raise KeyError(key)
        self._pending[key] = _DELETED

    def _exists(self, key: bytes) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    @contextmanager
    def atomic_batch(self) -> Iterator[AtomicWriteBatchAPI]:
        # py-evm's own batch: buffered, applied to the overlay on success, dropped on error.
        with AtomicDBWriteBatch._commit_unless_raises(self) as batch:
            yield batch

    # --- durability ---

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def commit(self, also: Callable[[sqlite3.Connection], None] | None = None) -> None:
        """Write the overlay, and whatever `also` writes, in one durable transaction."""
        connection = self.connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            upserts = [(k, v) for k, v in self._pending.items() if v is not _DELETED]
            deletes = [(k,) for k, v in self._pending.items() if v is _DELETED]
            connection.executemany(
                "INSERT INTO kv (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                upserts,
            )
            connection.executemany("DELETE FROM kv WHERE key = ?", deletes)
            if also is not None:
                also(connection)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        for key, value in self._pending.items():
            if value is _DELETED:
                self._cache.pop(key, None)
            else:
                self._cache[key] = value
        self._pending.clear()

    def discard(self) -> None:
        """Forget every write since the last commit."""
        self._pending.clear()

    # --- the node's metadata ---

    def meta(self, name: str) -> str | None:
        row = self.connection.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def write_meta(connection: sqlite3.Connection, name: str, value: str) -> None:
        """Set a metadata entry (call inside `commit(also=...)`)."""
        connection.execute(
            "INSERT INTO meta (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def size_bytes(self) -> int:
        """Bytes on disk: the database and its write-ahead log (0 in memory)."""
        if self.path is None:
            return 0
        return sum(
            p.stat().st_size
            for p in (self.path, self.path.with_name(self.path.name + "-wal"))
            if p.exists()
        )

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file (before measuring or copying it)."""
        self.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self._pending.clear()
        self.connection.close()
