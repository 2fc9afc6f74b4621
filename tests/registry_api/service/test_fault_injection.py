"""Fault injection: the node hung and killed, PostgreSQL stopped and restarted, the disk full.

Clients keep registering rights and reading the register while the faults land, as real clients
do: a write that is not answered 202 is sent again with its same Idempotency-Key. Throughout,
every answer is a 2xx, an expected 4xx (a read of a right not mirrored yet) or a 503 with a code
that says what is down, and none takes 10 seconds or more. After recovery every acknowledged write
is on chain exactly once, and the mirror equals a fresh index of the chain.

The first stack is the production shape on one machine: the service in rpc mode, its node the
embedded chain served over JSON-RPC by `ipledger chain serve` (persistent, so that it can be
killed and started again on the same chain), and a PostgreSQL cluster of the test's own (the
shared server is never stopped). The second is the embedded chain with SQLite, whose database
file is capped in size (SQLite's `max_page_count`) to play a full disk.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from eth_utils.abi import event_abi_to_log_topic
from eth_utils.crypto import keccak
from sqlalchemy import event, select
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from ledger.artifacts import ArtifactSet
from ledger.assets import asset_id
from ledger.backends.anvil import free_port
from ledger.deploy import open_ledger
from ledger.types import AssetKind
from registry_api.app import create_app
from registry_api.db.migrate import upgrade
from registry_api.db.models import OperationRow
from registry_api.db.session import create_database_engine, session_factory
from registry_api.mirror import queries, verify
from registry_api.mirror.indexer import Indexer
from registry_api.registry import Registry, open_registry
from registry_api.relayer.outbox import queued_count
from registry_api.settings import Settings
from tests.conftest import IN_CI
from tests.registry_api.service.conftest import UNTHROTTLED, _embedded
from tests.support.api import enrol, sign_in
from tests.support.postgres_cluster import ClusterUnavailable, PostgresCluster
from wallets import keystore
from wallets.signer import LocalSigner

pytestmark = [pytest.mark.slow]

IPLEDGER = Path(sys.executable).parent / "ipledger"
PASSWORD = "faults-test-password"
OWNER = 10
#: No answer may take this long, whatever is down.
ANSWER_BOUND = 10.0
#: How long a fault or a recovery may take to show: generous, for a loaded machine.
PHASE_SECONDS = 120.0
#: 503 answers to see before a fault is lifted: the clients have met it.
MET = 3
#: Acknowledged writes to see after a recovery before the next fault.
RECOVERED = 5
WRITERS = 3
#: What a 503 may say.
UNAVAILABLE = {"node_unavailable", "database_unavailable"}


@dataclass(frozen=True)
class Heard:
    """One answer as a client heard it."""

    method: str
    path: str
    status: int  # 0: no answer (the client's own timeout or a broken connection)
    code: str | None
    seconds: float
    at: float


@dataclass
class Traffic:
    """Clients that write and read until stopped, and everything they heard."""

    url: str
    headers: dict[str, str]
    heard: list[Heard] = field(default_factory=list)
    #: Acknowledged writes: Idempotency-Key -> (asset id, operation id).
    accepted: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: Writes sent and not yet acknowledged: Idempotency-Key -> body.
    unheard: dict[str, dict[str, object]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    _numbers: Iterator[int] = field(default_factory=itertools.count)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for n in range(WRITERS):
            self._spawn(f"writer-{n}", self._write_loop)
        self._spawn("reader", self._read_loop)

    def finish(self) -> None:
        """Stop the clients, then send every unacknowledged write again until it is heard."""
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=2 * ANSWER_BOUND + 30)
            assert not thread.is_alive(), f"{thread.name} is stuck"
        with httpx.Client(base_url=self.url, timeout=3 * ANSWER_BOUND) as client:
            for key, body in list(self.unheard.items()):
                deadline = time.monotonic() + PHASE_SECONDS
                while key in self.unheard:
                    assert time.monotonic() < deadline, f"write {key} never acknowledged"
                    self._send_write(client, key, body)

    def count(self, since: float, *, status: int | None = None, code: str | None = None) -> int:
        with self.lock:
            return sum(
                1
                for h in self.heard
                if h.at >= since
                and (status is None or h.status == status)
                and (code is None or h.code == code)
            )

    def acknowledged(self) -> int:
        with self.lock:
            return len(self.accepted)

    # --- clients ---

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _write_loop(self) -> None:
        with httpx.Client(base_url=self.url, timeout=3 * ANSWER_BOUND) as client:
            while not self.stop.is_set():
                with self.lock:
                    n = next(self._numbers)
                key, body = str(uuid.uuid4()), _right(n)
                with self.lock:
                    self.unheard[key] = body
                while key in self.unheard and not self.stop.is_set():
                    if not self._send_write(client, key, body):
                        self.stop.wait(0.05)  # a client's back-off before it tries again

    def _send_write(self, client: httpx.Client, key: str, body: dict[str, object]) -> bool:
        response = self._ask(
            client, "POST", "/v1/rights", json=body, headers={"Idempotency-Key": key}
        )
        if response is None or response.status_code != 202:
            return False
        with self.lock:
            self.accepted[key] = (_asset_of(body), str(response.json()["id"]))
            self.unheard.pop(key, None)
        return True

    def _read_loop(self) -> None:
        rng = random.Random(7)
        with httpx.Client(base_url=self.url, timeout=3 * ANSWER_BOUND) as client:
            while not self.stop.is_set():
                with self.lock:
                    rights = [right for right, _ in self.accepted.values()]
                path = rng.choice(
                    ["/v1/health", "/v1/auth/me", "/v1/rights"]
                    + ([f"/v1/rights/{rng.choice(rights)}"] if rights else [])
                )
                response = self._ask(client, "GET", path)
                if response is None or response.status_code >= 500:
                    self.stop.wait(0.05)

    def _ask(
        self, client: httpx.Client, method: str, path: str, **kwargs: object
    ) -> httpx.Response | None:
        headers = {**self.headers, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        started = time.monotonic()
        try:
            response = client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError:
            response = None
        seconds = time.monotonic() - started
        code = None
        if response is not None and response.status_code >= 400:
            try:
                code = response.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "(no error body)"
        with self.lock:
            self.heard.append(
                Heard(
                    method,
                    path,
                    0 if response is None else response.status_code,
                    code,
                    seconds,
                    started,
                )
            )
        return response


def _right(n: int) -> dict[str, object]:
    number = f"10-2026-{n:07d}"
    return {
        "jurisdiction": "KR",
        "kind": "patent",
        "number": number,
        "title": f"Fault-tolerant gripper, variant {n}",
        "document_hash": "0x" + keccak(text=f"specification {n}").hex(),
        "filing_date": "2025-03-01",
        "owners": [{"participant_id": OWNER, "bps": 10_000}],
    }


def _asset_of(body: dict[str, object]) -> str:
    return "0x" + asset_id(b"KR", AssetKind.PATENT, str(body["number"])).hex()


def wait_for(condition: Callable[[], bool], what: str, seconds: float = PHASE_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not seen within {seconds:.0f} s: {what}")
        time.sleep(0.02)


def assert_answers_in_words(traffic: Traffic) -> None:
    """Every answer: in time; a 5xx only as 503 with a code saying what is down."""
    with traffic.lock:
        heard = list(traffic.heard)
    answers = Counter((h.status, h.code or "") for h in heard)
    print(f"\n{len(heard)} answers, the slowest in {max(h.seconds for h in heard):.2f} s:")
    for (status, code), count in sorted(answers.items()):
        print(f"  {status} {code:<24} {count:>6}")
    slow = [h for h in heard if h.seconds >= ANSWER_BOUND]
    assert slow == [], f"answers that took {ANSWER_BOUND:.0f} s or more: {slow[:5]}"
    unanswered = [h for h in heard if h.status == 0]
    assert unanswered == [], f"requests without an answer: {unanswered[:5]}"
    faults = [
        h for h in heard if h.status >= 500 and not (h.status == 503 and h.code in UNAVAILABLE)
    ]
    assert faults == [], f"server errors other than 503 with a code: {faults[:5]}"
    unexpected = [
        h
        for h in heard
        if 400 <= h.status < 500 and not (h.status == 404 and h.path.startswith("/v1/rights/"))
    ]
    assert unexpected == [], f"refusals the clients did not earn: {unexpected[:5]}"


def serve_http(registry: Registry) -> tuple[str, Callable[[], None]]:
    """The registry's API on a real port; the URL and how to stop it."""
    config = uvicorn.Config(
        create_app(registry), host="127.0.0.1", port=free_port(), log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, "the API listening", 30)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=30)

    return f"http://127.0.0.1:{config.port}", stop


def start_traffic(url: str, office_key: LocalSigner) -> Traffic:
    """Sign in as the office, enrol the rights' owner, start the clients, see writes go through."""
    with httpx.Client(base_url=url, timeout=60) as client:
        office = sign_in(client, office_key)
        enrol(client, office, OWNER, LocalSigner.generate(), "Acme Robotics Ltd")
    traffic = Traffic(url, office)
    traffic.start()
    wait_for(lambda: traffic.acknowledged() >= RECOVERED, "writes acknowledged")
    return traffic


def settle(registry: Registry, sessions: sessionmaker[Session]) -> None:
    """Wait until nothing is in flight and the mirror has the chain's head."""

    def settled() -> bool:
        with sessions() as session:
            if queued_count(session, registry.outbox.sender) > 0:
                return False
            mirrored = queries.mirror_status(session, registry.chain_id).block_number
        return mirrored is not None and mirrored >= registry.backend.w3.eth.block_number

    wait_for(settled, "nothing in flight and the mirror at the chain's head")


def check_exactly_once_and_mirror(
    registry: Registry,
    traffic: Traffic,
    sessions: sessionmaker[Session],
    fresh: sessionmaker[Session],
    artifacts: ArtifactSet,
) -> None:
    """Each acknowledged write on chain exactly once; the mirror equal to a fresh index."""
    assert traffic.unheard == {}
    acknowledged = Counter(right for right, _ in traffic.accepted.values())
    assert set(acknowledged.values()) == {1}
    with sessions() as session:
        rows = session.scalars(select(OperationRow)).all()
        by_id = {row.id: row for row in rows}
        failed = [(row.kind, row.error_code) for row in rows if row.status != "mined"]
        assert failed == []
        registered = Counter(
            str(right)
            for row in rows
            if row.kind == "register_right"
            for right in row.subject["asset_ids"]  # type: ignore[attr-defined]
        )
        assert registered == acknowledged
        for right, operation in traffic.accepted.values():
            assert by_id[operation].subject["asset_ids"] == [right]

    w3 = registry.backend.w3
    manifest = registry.ledger.manifest
    (abi,) = [
        entry
        for entry in artifacts.get("IPAssetRegistry").abi
        if entry.get("type") == "event" and entry.get("name") == "AssetRegistered"
    ]
    logs = w3.eth.get_logs(
        {
            "address": manifest.address_of("IPAssetRegistry"),
            "topics": ["0x" + event_abi_to_log_topic(abi).hex()],  # type: ignore[arg-type]
            "fromBlock": 0,
            "toBlock": "latest",
        }
    )
    assert Counter("0x" + bytes(log["topics"][1]).hex() for log in logs) == acknowledged

    Indexer.for_deployment(w3, manifest, artifacts, fresh).sync()
    ledger = open_ledger(registry.backend, manifest, artifacts)
    with sessions() as session, fresh() as fresh_session:
        assert list(verify.differences(session, ledger)) == []
        mirrored = queries.table_digests(session, registry.chain_id)
        assert mirrored == queries.table_digests(fresh_session, registry.chain_id)


# --- the node and the database, as processes of the test's own ---


class ServedChain:
    """`ipledger chain serve` on a data directory: started, hung, resumed, killed, restarted."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {**os.environ, "IPLEDGER_KEY_PASSWORD": PASSWORD}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def init(self) -> None:
        subprocess.run(
            [str(IPLEDGER), "chain", "init", "--data-dir", str(self.data_dir)],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=300,
        )

    def start(self) -> None:
        with self.log.open("ab") as log:
            command = [str(IPLEDGER), "chain", "serve", "--data-dir", str(self.data_dir)]
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        def answers() -> bool:
            assert self.process is not None
            assert self.process.poll() is None, self.tail()
            try:
                reply = httpx.post(
                    self.url,
                    json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
                    timeout=5,
                )
            except httpx.TransportError:
                return False
            return reply.status_code == 200

        wait_for(answers, "the node answering JSON-RPC")

    def signal(self, number: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    try:
        cluster = PostgresCluster()
    except ClusterUnavailable as exc:
        if IN_CI:  # CI must run the fault tests, never skip them
            raise
        pytest.skip(f"cannot create a PostgreSQL cluster: {exc}")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.mark.postgresql
def test_node_and_database_faults_answer_503_in_time_and_lose_nothing(
    cluster: PostgresCluster, tmp_path: Path, artifacts: ArtifactSet
) -> None:
    node = ServedChain(tmp_path / "chain", tmp_path / "node.log")
    node.init()
    node.start()
    database_url = cluster.create_database("registry")
    settings = Settings(
        data_dir=tmp_path / "service",
        chain="rpc",
        rpc_url=node.url,
        manifest=node.data_dir / "manifest.json",
        office_key_file=node.data_dir / "keystore" / "office.json",
        key_password=PASSWORD,  # type: ignore[arg-type]
        ca_dir=node.data_dir / "ca",
        database_url=database_url,
        token_seconds=3_600,
        auth_rate_limit=UNTHROTTLED,  # the reader asks /v1/auth/me again and again
    )
    registry = open_registry(settings, artifacts=artifacts)
    engine = fresh_engine = None
    stop_http: Callable[[], None] | None = None
    traffic: Traffic | None = None
    try:
        registry.start()
        url, stop_http = serve_http(registry)
        office_key = LocalSigner.from_key_file(settings.office_key_file, PASSWORD)  # type: ignore[arg-type]
        traffic = start_traffic(url, office_key)

        def fault(
            label: str, code: str, inject: Callable[[], None], lift: Callable[[], None]
        ) -> None:
            assert traffic is not None
            began = time.monotonic()
            inject()
            wait_for(
                lambda: traffic.count(began, status=503, code=code) >= MET, f"{label}: 503 {code}"
            )
            lift()
            before = traffic.acknowledged()
            wait_for(lambda: traffic.acknowledged() >= before + RECOVERED, f"{label}: recovery")

        fault(
            "node hung",
            "node_unavailable",
            lambda: node.signal(signal.SIGSTOP),
            lambda: node.signal(signal.SIGCONT),
        )
        fault("node killed", "node_unavailable", node.kill, node.start)
        fault(
            "PostgreSQL stopped",
            "database_unavailable",
            lambda: cluster.stop("immediate"),
            cluster.start,
        )
        traffic.finish()
        assert_answers_in_words(traffic)
        # The test's own connections, opened after the database's restart.
        engine = create_database_engine(database_url)
        sessions = session_factory(engine)
        fresh_engine = create_database_engine(cluster.create_database("fresh"))
        upgrade(fresh_engine)
        settle(registry, sessions)
        check_exactly_once_and_mirror(
            registry, traffic, sessions, session_factory(fresh_engine), artifacts
        )
    finally:
        if traffic is not None:
            traffic.stop.set()
        if stop_http is not None:
            stop_http()
        registry.close()
        for opened in (engine, fresh_engine):
            if opened is not None:
                opened.dispose()
        node.stop()


class PageCap:
    """Caps the size of a SQLite database (`PRAGMA max_page_count` on every connection)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.pages: int | None = None
        event.listen(registry.engine, "connect", self._on_connect)

    def _on_connect(self, connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        if self.pages is not None:
            cursor = connection.cursor()
            cursor.execute(f"PRAGMA max_page_count = {self.pages}")
            cursor.close()

    def set(self, pages: int | None) -> None:
        """Cap at `pages` (None: lift the cap) from the next connection; pooled ones are closed."""
        self.pages = pages if pages is not None else 1 << 30
        self.registry.engine.dispose()

    def used(self) -> int:
        with self.registry.engine.connect() as connection:
            return int(connection.exec_driver_sql("PRAGMA page_count").scalar_one())


def test_a_full_disk_answers_503_and_loses_nothing_once_space_is_back(
    tmp_path: Path, artifacts: ArtifactSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keystore, "SCRYPT_N", 2)
    registry, office_key = _embedded(tmp_path, artifacts)
    fresh_engine = create_database_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    upgrade(fresh_engine)
    cap = PageCap(registry)
    stop_http: Callable[[], None] | None = None
    traffic: Traffic | None = None
    try:
        registry.start()
        url, stop_http = serve_http(registry)
        traffic = start_traffic(url, office_key)
        began = time.monotonic()
        cap.set(cap.used() + 2)  # two more pages of 4 KiB: full within a few writes
        wait_for(
            lambda: traffic.count(began, status=503, code="database_unavailable") >= MET,
            "a full disk: 503 database_unavailable",
        )
        cap.set(None)
        before = traffic.acknowledged()
        wait_for(lambda: traffic.acknowledged() >= before + RECOVERED, "recovery")
        traffic.finish()
        assert_answers_in_words(traffic)
        settle(registry, registry.sessions)
        check_exactly_once_and_mirror(
            registry, traffic, registry.sessions, session_factory(fresh_engine), artifacts
        )
    finally:
        if traffic is not None:
            traffic.stop.set()
        if stop_http is not None:
            stop_http()
        registry.close()
        fresh_engine.dispose()
