"""Fixtures of the mirror's tests: databases (SQLite and PostgreSQL) and recorded chains.

Every mirror test runs on SQLite and on PostgreSQL. PostgreSQL databases are throwaway ones,
`ipledger_test_<random>_<n>`, copied from a migrated template and dropped at the end of the
session. Where PostgreSQL is not reachable the PostgreSQL runs are skipped with the reason;
under CI=true they fail instead.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_typing import ChecksumAddress
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from ledger.artifacts import ArtifactSet
from ledger.backends.base import ChainBackend
from ledger.backends.embedded import EmbeddedBackend
from ledger.deploy import Ledger, OfficeBootstrap, deploy_ledger
from ledger.events import Log
from ledger.typed_data import Assignment, sign
from ledger.types import AssetInput, AssetKind, AssetStatus, Role, Share
from registry_api.db.migrate import upgrade
from registry_api.db.session import create_database_engine, session_factory
from registry_api.mirror import queries
from registry_api.mirror.indexer import Indexer, IndexerOptions, ledger_contracts
from registry_api.mirror.source import BlockHeader, ChainSource, NodeError
from tests.conftest import IN_CI, fingerprint
from wallets.signer import LocalSigner

#: A PostgreSQL server to create throwaway databases on (a maintenance database URL).
POSTGRES_URL_ENV = "IPLEDGER_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass
class Database:
    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


class PostgresServer:
    """Creates migrated throwaway databases from one template; drops them all at the end."""

    def __init__(self, url: str) -> None:
        self._admin = create_engine(url, isolation_level="AUTOCOMMIT")
        self._url = make_url(url)
        self._prefix = f"ipledger_test_{secrets.token_hex(4)}"
        self._template = f"{self._prefix}_template"
        self._created: list[str] = []
        self._execute(f'CREATE DATABASE "{self._template}"')
        self._created.append(self._template)
        template = create_database_engine(self.url_of(self._template))
        upgrade(template)
        template.dispose()

    def url_of(self, name: str) -> str:
        return self._url.set(database=name).render_as_string(hide_password=False)

    def new_database(self) -> str:
        name = f"{self._prefix}_{len(self._created)}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
        self._created.append(name)
        return self.url_of(name)

    def drop_all(self) -> None:
        for name in reversed(self._created):
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._admin.dispose()

    def _execute(self, statement: str) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(statement))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    url = os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)
    try:
        server = PostgresServer(url)
    except Exception as exc:
        if IN_CI:  # CI must run the PostgreSQL suite, never skip it
            raise
        pytest.skip(f"PostgreSQL not reachable at {url}: {exc}")
    try:
        yield server
    finally:
        server.drop_all()


class Databases:
    """Makes empty, migrated mirror databases of one kind."""

    def __init__(self, kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
        self.kind = kind
        self._tmp_path = tmp_path
        self._request = request
        self._opened: list[Database] = []

    def new(self) -> Database:
        if self.kind == "postgresql":
            server: PostgresServer = self._request.getfixturevalue("postgres")
            url = server.new_database()
            engine = create_database_engine(url)
        else:
            url = f"sqlite:///{self._tmp_path / f'mirror-{len(self._opened)}.sqlite3'}"
            engine = create_database_engine(url)
            upgrade(engine)
        database = Database(url, engine, session_factory(engine))
        self._opened.append(database)
        return database

    def close(self) -> None:
        for database in self._opened:
            database.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    factory = Databases(str(request.param), tmp_path, request)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def database(databases: Databases) -> Database:
    """An empty mirror database, on SQLite and on PostgreSQL."""
    return databases.new()


# --- A recorded ledger history: every kind of event, on the in-process chain ---

OFFICE_ID, ACME, BETA, UNIVERSITY, BANK, SPARE = 1, 10, 11, 12, 13, 14
YEAR = 365 * 24 * 3600
TITLE = "Gripper with compliant fingers for fruit harvesting"


@dataclass
class History:
    """A deployed ledger with a history of every event the mirror maps, and what it holds."""

    ledger: Ledger
    artifacts: ArtifactSet
    office: LocalSigner
    keys: dict[int, LocalSigner]
    co_owned: bytes  # Acme 50% + University 50%; Acme's half assigned to Beta
    lapsed: bytes  # registered, lapsed, restored
    bulk: list[bytes]  # registered in one transaction, Acme's
    registered_assignment: bytes
    rejected_assignment: bytes
    pending_assignment: bytes
    rotated_key: LocalSigner  # Beta's new key
    recovered_key: LocalSigner  # University's new key

    @property
    def chain_id(self) -> int:
        return self.ledger.manifest.chain_id


def _right(number: str, title: str, owners: tuple[Share, ...], now: int) -> AssetInput:
    return AssetInput(
        jurisdiction=b"KR",
        kind=AssetKind.PATENT,
        number=number,
        title=title,
        document_hash=hashlib.sha256(number.encode()).digest(),
        filing_date=now - 400 * 86400,
        registration_date=now - 30 * 86400,
        expiry_date=now + 19 * YEAR,
        owners=owners,
    )


def _file(
    history_ledger: Ledger, keys: dict[int, LocalSigner], right: bytes, assignor: int,
    assignee: int, share: int, consenting: tuple[int, ...], now: int,
) -> tuple[Assignment, list[ChecksumAddress]]:  # fmt: skip
    domain, assignment = history_ledger.assets.build_assignment(
        history_ledger.participants,
        asset_id=right,
        assignor=assignor,
        assignee=assignee,
        share_bps=share,
        terms_hash=hashlib.sha256(f"deed {assignor}->{assignee}".encode()).digest(),
        assignor_key=keys[assignor].address,
        deadline=now + YEAR,
    )
    signatures = [sign(keys[pid], assignment, domain) for pid in (assignor, assignee, *consenting)]
    filed = history_ledger.assets.file_assignment(assignment, signatures)
    return assignment, list(filed.event.signers)


def build_history(backend: ChainBackend, artifacts: ArtifactSet) -> History:
    office = LocalSigner.generate()
    now = int(backend.w3.eth.get_block("latest")["timestamp"])
    ledger = deploy_ledger(
        backend,
        office,
        artifacts,
        OfficeBootstrap(OFFICE_ID, fingerprint("office"), now + 10 * YEAR, (office.address,)),
    )
    keys = {pid: LocalSigner.generate() for pid in (ACME, BETA, UNIVERSITY, BANK, SPARE)}
    for pid, key in keys.items():
        roles = Role.BANK | Role.PARTICIPANT if pid == BANK else Role.PARTICIPANT
        ledger.participants.enrol(
            pid, roles, fingerprint(key.address), now + 5 * YEAR, [key.address]
        )

    co_owned = ledger.assets.register_asset(
        _right("10-2024-0000001", TITLE, (Share(ACME, 5_000), Share(UNIVERSITY, 5_000)), now)
    ).event.asset_id
    lapsed = ledger.assets.register_asset(
        _right(
            "10-2024-0000002", "Battery electrode with porous coating", (Share(BETA, 10_000),), now
        )
    ).event.asset_id
    robots = [
        _right(f"10-2024-00001{n:02d}", f"Harvesting robot arm {n}", (Share(ACME, 10_000),), now)
        for n in range(5)
    ]  # fmt: skip
    bulk = [e.asset_id for e in ledger.assets.register_assets(robots).event]
    ledger.assets.set_asset_status(lapsed, AssetStatus.LAPSED, 2)
    ledger.assets.set_asset_status(lapsed, AssetStatus.REGISTERED, 3)

    # Acme assigns its half of the co-owned right to Beta, with the university's consent.
    assignment, signers = _file(ledger, keys, co_owned, ACME, BETA, 5_000, (UNIVERSITY,), now)
    ledger.assets.register_assignment(assignment, signers)
    registered = assignment.digest(ledger.assets.domain())
    # Acme assigns a bulk right to the bank: rejected by the office.
    assignment, _ = _file(ledger, keys, bulk[0], ACME, BANK, 10_000, (), now)
    rejected = assignment.digest(ledger.assets.domain())
    ledger.assets.reject_assignment(rejected, 7)
    # Acme assigns another bulk right to the bank: left pending.
    assignment, _ = _file(ledger, keys, bulk[1], ACME, BANK, 10_000, (), now)
    pending = assignment.digest(ledger.assets.domain())

    ledger.participants.suspend(SPARE, 4)
    ledger.participants.reinstate(SPARE)
    ledger.participants.set_roles(SPARE, Role.PARTICIPANT | Role.VALUATOR)
    ledger.participants.renew_certificate(SPARE, fingerprint("renewed"), now + 6 * YEAR)
    ledger.participants.revoke(SPARE, 5)
    rotated = LocalSigner.generate()
    domain, rotation = ledger.participants.build_key_rotation(
        BETA, keys[BETA].address, rotated.address, now + YEAR
    )
    ledger.participants.rotate_key(rotation, sign(keys[BETA], rotation, domain).signature)
    recovered = LocalSigner.generate()
    ledger.participants.recover_key(UNIVERSITY, keys[UNIVERSITY].address, recovered.address)
    return History(
        ledger, artifacts, office, keys, co_owned, lapsed, bulk, registered, rejected, pending,
        rotated, recovered,
    )  # fmt: skip


@pytest.fixture(scope="session")
def history(artifacts: ArtifactSet) -> Iterator[History]:
    backend = EmbeddedBackend()
    try:
        yield build_history(backend, artifacts)
    finally:
        backend.close()


# --- A chain recorded in memory: the indexer's source without a node ---


class RecordedChain:
    """A `ChainSource` over recorded blocks and logs, to which tests can add bad logs or forks."""

    def __init__(self, headers: list[BlockHeader], logs: list[Log]) -> None:
        self.headers = headers
        self.all_logs = logs
        self.failures: list[int] = []  # fail any logs() request spanning more blocks than this
        self.requests: list[tuple[int, bool]] = []  # (blocks asked for, answered)

    @classmethod
    def record(cls, indexer: Indexer) -> RecordedChain:
        source = indexer.source
        head = source.head()
        headers = [source.block(n) for n in range(head + 1)]
        return cls([h for h in headers if h is not None], source.logs(0, head))

    def head(self) -> int:
        return len(self.headers) - 1

    def block(self, number: int) -> BlockHeader | None:
        return self.headers[number] if 0 <= number < len(self.headers) else None

    def blocks(self, first: int, last: int) -> list[BlockHeader | None]:
        return [self.block(n) for n in range(first, last + 1)]

    def logs(self, first: int, last: int) -> list[Log]:
        refused = bool(self.failures) and last - first + 1 > self.failures[0]
        self.requests.append((last - first + 1, not refused))
        if refused:
            raise NodeError(f"query returned more than {self.failures[0]} blocks")
        return [entry for entry in self.all_logs if first <= entry.block_number <= last]


def indexer_over(
    source: ChainSource, history: History, database: Database, **options: int
) -> Indexer:
    contracts = ledger_contracts(history.ledger.manifest, history.artifacts)
    return Indexer(
        source,
        database.sessions,
        contracts,
        chain_id=history.ledger.manifest.chain_id,
        start_block=history.ledger.manifest.block_number,
        options=IndexerOptions(**options),
    )


def rpc_indexer(history: History, database: Database, **options: int) -> Indexer:
    return Indexer.for_deployment(
        history.ledger.chain.backend.w3,
        history.ledger.manifest,
        history.artifacts,
        database.sessions,
        IndexerOptions(**options),
    )


@pytest.fixture(scope="session")
def recorded(history: History, tmp_path_factory: pytest.TempPathFactory) -> RecordedChain:
    """The history's blocks and logs, read once through JSON-RPC."""
    engine = create_database_engine(f"sqlite:///{tmp_path_factory.mktemp('rec') / 'r.db'}")
    scratch = Database("", engine, session_factory(engine))
    chain = RecordedChain.record(rpc_indexer(history, scratch))
    engine.dispose()
    return chain


def digests(database: Database, chain_id: int) -> dict[str, str]:
    with database.sessions() as session:
        return queries.table_digests(session, chain_id)


@pytest.fixture
def fresh(history: History, databases: Databases, recorded: RecordedChain) -> dict[str, str]:
    """Digests of a fresh index of the recorded chain, in one range, in a database of its own."""
    database = databases.new()
    indexer_over(recorded, history, database, batch_blocks=100_000).sync()
    return digests(database, history.chain_id)
