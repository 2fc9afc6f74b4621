"""Engines and sessions for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

#: Wait for SQLite's write lock unless told (the service: `Settings.database_timeout_seconds`).
SQLITE_BUSY_TIMEOUT_SECONDS = 10.0
#: Execution option of connections that only read (see `read_session_factory`).
READ_ONLY = "ipledger_read_only"


class DatabaseFileGone(Exception):
    """The SQLite file was deleted or replaced while the service had it open."""

    def __init__(self, path: Path, *, replaced: bool) -> None:
        #: What happened, without the path (answers to the public say no more).
        self.words = "the database file was deleted" + (" and replaced" if replaced else "")
        super().__init__(f"{self.words}: {path}")


def create_database_engine(
    url: str, *, busy_timeout_seconds: float = SQLITE_BUSY_TIMEOUT_SECONDS
) -> Engine:
    """An engine for `url`, set up for the mirror: atomic, durable, readable while written."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # No pre-ping: it costs a round trip per session, a fifth of a lookup's time; a dropped
        # connection fails one unit of work, which the indexer retries and a request reports.
        return create_engine(url, pool_recycle=3600)
    path = Path(parsed.database) if parsed.database and parsed.database != ":memory:" else None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    #: The file (device, inode) that the first connection opened.
    opened: list[tuple[int, int]] = []

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: object, _record: ConnectionPoolEntry) -> None:
        # pysqlite's own transaction handling skips BEGIN before DDL and defers it; take it
        # over so that a batch (or a migration) is one real transaction.
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        # WAL: readers see the last commit while the indexer writes; a killed process loses
        # only its open transaction. NORMAL sync is durable against process crashes.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_seconds * 1000)}")
        cursor.close()
        if path is not None and not opened:
            found = path.stat()
            opened.append((found.st_dev, found.st_ino))

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # In WAL mode a transaction that reads and then writes cannot wait for the lock: if
        # another connection wrote in between, its write fails at once ("database is locked").
        # Writers (the indexer, the relayer, API writes) therefore take the write lock as they
        # begin; readers (API reads) begin deferred and never block or wait on writers.
        if path is not None and opened:
            _still_there(path, opened[0])
        deferred = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

    return engine


def _still_there(path: Path, opened: tuple[int, int]) -> None:
    """Refuse to begin on a database file that was deleted or replaced.

    An open SQLite connection goes on reading and writing a deleted file's inode: everything
    written from then on is lost when the process ends, and a new connection would open an
    empty file in its place. One stat per transaction (microseconds) turns that into a fault.
    """
    try:
        found = os.stat(path)
    except FileNotFoundError:
        raise DatabaseFileGone(path, replaced=False) from None
    if (found.st_dev, found.st_ino) != opened:
        raise DatabaseFileGone(path, replaced=True)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions over `engine`; the caller that owns the unit of work commits it."""
    return sessionmaker(engine, expire_on_commit=False)


def read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that only read: on SQLite they never take the write lock; on PostgreSQL they
    run each statement on its own (autocommit)."""
    options: dict[str, object] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        # At READ COMMITTED every statement sees its own snapshot, in a transaction or not:
        # a transaction only adds a BEGIN and a ROLLBACK round trip to each request, two of a
        # lookup's three (a third of a chain of title's time on a busy machine).
        options["isolation_level"] = "AUTOCOMMIT"
    return sessionmaker(engine.execution_options(**options), expire_on_commit=False)


def open_database(
    url: str, *, busy_timeout_seconds: float = SQLITE_BUSY_TIMEOUT_SECONDS
) -> tuple[Engine, sessionmaker[Session]]:
    """An engine on `url` with its schema brought up to date, and a session factory over it."""
    from registry_api.db.migrate import upgrade  # Alembic loads only where a database opens

    engine = create_database_engine(url, busy_timeout_seconds=busy_timeout_seconds)
    upgrade(engine)
    return engine, session_factory(engine)
