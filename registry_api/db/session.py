"""Engines and sessions for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_MS = 10_000
#: Execution option of connections that only read (see `read_session_factory`).
READ_ONLY = "ipledger_read_only"


def create_database_engine(url: str) -> Engine:
    """An engine for `url`, set up for the mirror: atomic, durable, readable while written."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # No pre-ping: it costs a round trip per session, a fifth of a lookup's time; a dropped
        # connection fails one unit of work, which the indexer retries and a request reports.
        return create_engine(url, pool_recycle=3600)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)

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
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # In WAL mode a transaction that reads and then writes cannot wait for the lock: if
        # another connection wrote in between, its write fails at once ("database is locked").
        # Writers (the indexer, the relayer, API writes) therefore take the write lock as they
        # begin; readers (API reads) begin deferred and never block or wait on writers.
        deferred = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

    return engine


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


def open_database(url: str) -> tuple[Engine, sessionmaker[Session]]:
    """An engine on `url` with its schema brought up to date, and a session factory over it."""
    from registry_api.db.migrate import upgrade  # Alembic loads only where a database opens

    engine = create_database_engine(url)
    upgrade(engine)
    return engine, session_factory(engine)
