"""Faults of the node and of the database: recognised, said in words, and logged once.

A fault is not a bug: the node is down or hung, the database is locked, unreachable or gone.
The API answers it 503 with a code (`errors.py`); the relayer's and the mirror's loops retry it,
and log a lasting fault once (then its end) instead of a line, or a traceback, at every retry.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import httpx
import requests
from sqlalchemy.exc import DBAPIError
from web3.exceptions import ProviderConnectionError

from registry_api.db.session import DatabaseFileGone

#: Words in a database driver's message that mean "unavailable", not "a bug of ours": SQLite's
#: lock, full disk and missing file; PostgreSQL's refused, dropped or ended connection.
_DATABASE_DOWN = {
    "database is locked": "the database is busy: another writer holds it too long",
    "database table is locked": "the database is busy: another writer holds it too long",
    "database or disk is full": "the database's disk is full",
    "disk i/o error": "the database's disk failed to read or write",
    "unable to open database file": "the database file cannot be opened",
    "readonly database": "the database file cannot be written",
    "connection refused": "the database server refuses connections",
    # psycopg's words when no connection could be made at all (the server is down, starting up
    # or recovering), which carry no SQLSTATE of their own.
    "connection failed": "the database server is not accepting connections",
    "not yet accepting connections": "the database server is not accepting connections",
    "the database system is starting up": "the database server is not accepting connections",
    "the database system is shutting down": "the database server is not accepting connections",
    "could not connect": "the database server cannot be reached",
    "server closed the connection": "the database server closed the connection",
    "terminating connection": "the database server ended the connection",
    "the connection is closed": "the connection to the database server is closed",
    "connection timeout": "the database server did not answer in time",
    "timeout expired": "the database server did not answer in time",
}


def node_fault(error: BaseException) -> str | None:
    """Words for `error` if it is the node being unreachable or too slow, else None."""
    for cause in _causes(error):
        if isinstance(cause, requests.Timeout | httpx.TimeoutException):
            return "the chain's node did not answer in time"
        if isinstance(
            cause, requests.ConnectionError | httpx.TransportError | ProviderConnectionError
        ):
            return "the chain's node cannot be reached"
    return None


def database_fault(error: BaseException) -> str | None:
    """Words for `error` if it is the database being locked, unreachable or gone, else None."""
    for cause in _causes(error):
        if isinstance(cause, DatabaseFileGone):
            return cause.words
        if isinstance(cause, DBAPIError):
            if cause.connection_invalidated:
                return "the connection to the database was lost"
            sqlstate = getattr(cause.orig, "sqlstate", None) or ""
            # SQLSTATE class 08 (connection exception) and 57P0x (the server shutting down,
            # starting up, or recovering after a crash: "not yet accepting connections").
            if sqlstate.startswith(("08", "57P0")):
                return "the database server is not accepting connections"
            message = str(cause.orig).lower()
            for marker, words in _DATABASE_DOWN.items():
                if marker in message:
                    return words
    return None


def describe(error: BaseException) -> str:
    """`error` in one line: a fault's words, or the exception's type and first line."""
    known = node_fault(error) or database_fault(error)
    if known is not None:
        return known
    first = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {first[:200]}"


def _causes(error: BaseException) -> Iterator[BaseException]:
    """`error` and what it was raised from, or while handling (web3 and SQLAlchemy wrap)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


class LoopFaults:
    """A background loop's faults: the first of a run of the same fault is logged, in one
    line, and so is the recovery; a retry that fails the same way logs nothing.

    An unknown error is a bug: its traceback is logged, once per run of it.
    """

    def __init__(self, logger: logging.Logger, loop: str) -> None:
        self._log = logger
        self._loop = loop
        self._last: str | None = None
        self._changed = threading.Condition()
        #: Consecutive failed steps.
        self.failures = 0

    def failed(self, error: Exception, retry_in: float) -> None:
        what = describe(error)
        with self._changed:
            self.failures += 1
            self._changed.notify_all()
        if what == self._last:
            return
        self._last = what
        known = node_fault(error) is not None or database_fault(error) is not None
        self._log.warning(
            "%s: %s; retrying (first in %.2fs), logged again when it changes",
            self._loop,
            what,
            retry_in,
            exc_info=None if known else error,
        )

    def passed(self) -> None:
        if self._last is not None:
            self._log.warning("%s: working again after %d failed steps", self._loop, self.failures)
        with self._changed:
            self.failures = 0
        self._last = None

    def wait_failures(self, count: int, timeout: float) -> bool:
        """Whether `count` consecutive steps have failed (waiting up to `timeout`)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.failures >= count, timeout)
