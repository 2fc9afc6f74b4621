"""Which database errors are the database being unavailable (503), and which are bugs (500)."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from registry_api.faults import database_fault


def _wrapped(message: str) -> OperationalError:
    """As SQLAlchemy raises what psycopg raised while connecting or running a statement."""
    return OperationalError("SELECT 1", {}, psycopg.OperationalError(message))


@pytest.mark.parametrize(
    "message",
    [
        # PostgreSQL recovering after a crash, starting, stopping, or not there at all.
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  the '
        "database system is not yet accepting connections\nDETAIL:  Consistent recovery state "
        "has not been yet reached.",
        "connection failed: FATAL:  the database system is starting up",
        "connection failed: FATAL:  the database system is shutting down",
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: Connection '
        "refused",
        "consuming input failed: server closed the connection unexpectedly",
        # SQLite
        "database is locked",
        "database or disk is full",
    ],
)
def test_a_database_that_cannot_answer_is_a_fault_said_in_words(message: str) -> None:
    words = database_fault(_wrapped(message))

    assert words is not None
    assert "\n" not in words
    assert words.startswith("the database")


def test_a_refused_constraint_is_a_bug_not_a_fault() -> None:
    error = IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("duplicate key value"))

    assert database_fault(error) is None
