"""The dispatcher on the embedded chain with an SQLite outbox: what the node refuses, and what
the database allows while the node works."""

from __future__ import annotations

import sqlite3
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from web3.providers.base import JSONBaseProvider

from ledger.backends.embedded import EmbeddedBackend
from ledger.chain import Chain
from registry_api.db.models import OperationRow
from registry_api.db.session import open_database
from registry_api.relayer.dispatcher import Dispatcher
from registry_api.relayer.outbox import Call, Outbox, queued_count
from wallets.signer import LocalSigner

#: More gas than a block holds: the embedded node refuses such a transaction outright.
TOO_MUCH_GAS = 10**9


@dataclass
class Relayer:
    backend: EmbeddedBackend
    sessions: sessionmaker[Session]
    outbox: Outbox
    dispatcher: Dispatcher
    database: Path

    def accept(self, *gas: int) -> list[str]:
        """Accept one no-op call (a transfer to nobody in particular) per gas limit."""
        calls = [
            Call("noop", LocalSigner.generate().address, b"", limit, {"n": n})
            for n, limit in enumerate(gas)
        ]
        with self.sessions.begin() as session:
            return [row.id for row in self.outbox.accept_many(session, calls, requested_by=None)]

    def run_until_idle(self) -> None:
        for _ in range(20):
            self.dispatcher.step()
            with self.sessions() as session:
                if queued_count(session, self.outbox.sender) == 0:
                    return
        pytest.fail("operations still in flight after 20 steps")

    def statuses(self) -> dict[str, tuple[str, str | None]]:
        with self.sessions() as session:
            rows = session.scalars(select(OperationRow)).all()
            return {row.id: (row.status, row.error_code) for row in rows}


@pytest.fixture
def relayer(tmp_path: Path) -> Iterator[Relayer]:
    backend = EmbeddedBackend()
    database = tmp_path / "outbox.sqlite3"
    engine, sessions = open_database(f"sqlite:///{database}")
    office = LocalSigner.generate()
    outbox = Outbox(office, backend.chain_id)
    with sessions.begin() as session:
        outbox.open_account(session, 0)
    try:
        yield Relayer(
            backend, sessions, outbox, Dispatcher(sessions, Chain(backend, ()), outbox), database
        )
    finally:
        engine.dispose()
        backend.close()


def test_a_transaction_the_node_refuses_fails_alone_and_the_ones_after_it_are_mined(
    relayer: Relayer,
) -> None:
    # The node refuses the second outright; the three after it are refused for the gap its
    # nonce leaves until the no-op sent in its place fills it, and must then be mined.
    ids = relayer.accept(21_000, TOO_MUCH_GAS, 21_000, 21_000, 21_000)
    relayer.run_until_idle()
    statuses = relayer.statuses()
    assert [statuses[i] for i in ids] == [
        ("mined", None),
        ("failed", "refused_by_node"),
        ("mined", None),
        ("mined", None),
        ("mined", None),
    ]
    assert relayer.backend.w3.eth.get_transaction_count(relayer.outbox.sender) == 5


def test_the_database_takes_writes_while_the_node_mines_a_batch(relayer: Relayer) -> None:
    # The embedded node mines a batch as it receives it, which takes seconds for hundreds of
    # registrations: the relayer must not hold the database's write lock meanwhile, or the
    # API's writes time out behind it ("database is locked").
    provider = typing.cast(JSONBaseProvider, relayer.backend.w3.provider)
    send = provider.make_batch_request
    writes_during_sends: list[bool] = []

    def make_batch_request(requests: typing.Any) -> typing.Any:
        if any(method == "eth_sendRawTransaction" for method, _ in requests):
            other = sqlite3.connect(relayer.database, timeout=0.2, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("COMMIT")
                writes_during_sends.append(True)
            except sqlite3.OperationalError:  # database is locked
                writes_during_sends.append(False)
            finally:
                other.close()
        return send(requests)

    provider.make_batch_request = make_batch_request  # type: ignore[method-assign]
    relayer.accept(*[21_000] * 10)
    relayer.run_until_idle()
    assert writes_during_sends == [True]
