"""Kill test: `ipledger serve` killed with SIGKILL while 1,000 accepted writes are in flight; after
restarts each write ends on chain exactly once, and the outbox, the chain and the mirror agree.

The service runs as a subprocess on its own state: the embedded chain and SQLite in a data
directory (the chain lives in the service's process and dies with it), or anvil and PostgreSQL
(the node and its pool survive the service; anvil mines a block a second, so that operations sit
sent but unmined when the kill lands). Concurrent clients register 1,000 rights through HTTP,
each with its own Idempotency-Key, as a client that retries until it hears an answer does:

1. killed while the clients are still sending (some requests in the middle of being accepted);
   restarted, and every write not yet acknowledged is sent again with its same key;
2. killed just after the last acknowledgement, with most operations still queued or sent;
3. killed again while the restarted relayer works through the backlog;
4. restarted; every acknowledged write is sent again with its key and must get its first answer;
   the test waits until nothing is in flight and the mirror has the chain's head, stops the
   service, and checks the outbox, the chain and the mirror.
"""

from __future__ import annotations

import datetime
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_utils.abi import event_abi_to_log_topic
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ledger.artifacts import ArtifactSet
from ledger.assets import asset_id
from ledger.backends.anvil import AnvilNode, AnvilUnavailable, free_port
from ledger.backends.base import ChainBackend
from ledger.backends.embedded import EmbeddedBackend
from ledger.backends.rpc import RpcBackend
from ledger.deploy import OfficeBootstrap, deploy_ledger, open_ledger
from ledger.manifest import DeploymentManifest
from ledger.types import AssetKind
from registry_api.db.models import OperationRow, RelayerAccount, RightRow
from registry_api.db.session import create_database_engine, session_factory
from registry_api.identity.authority import CaDirectory, CertificateAuthority
from registry_api.mirror import queries, verify
from registry_api.office import OfficeIdentity, office_certificate, stored_password
from registry_api.relayer.outbox import queued_count
from tests.conftest import IN_CI
from tests.registry_api.mirror.conftest import PostgresServer
from tests.support import api
from wallets.keystore import Keystore
from wallets.signer import LocalSigner

WRITES = 1_000
CLIENTS = 16
KILLS = 3
OWNER = 10
IPLEDGER = Path(sys.executable).parent / "ipledger"
START_SECONDS = 60.0
FINISH_SECONDS = 120.0
CA_PASSWORD = "office-ca-password"


@dataclass(frozen=True)
class Write:
    """A right registration as a client sends it, again and again until it hears an answer."""

    key: str
    body: dict[str, object]
    asset_id: str


@dataclass
class Stack:
    """How to run the service on one kind of chain and database, and read them afterwards."""

    command: list[str]
    env: dict[str, str]
    port: int
    database_url: str
    log: Path
    #: The office's key: known only after the first start on the embedded chain.
    office: Callable[[], LocalSigner]
    #: The chain, opened once the service is stopped (the embedded chain is locked to it).
    chain: Callable[[], ChainBackend]
    manifest: Callable[[], DeploymentManifest]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Service:
    """`ipledger serve` as a subprocess: started, killed, stopped."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.stack.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.stack.command, env=self.stack.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_SECONDS
        with httpx.Client(base_url=self.stack.url, timeout=5) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    pytest.fail(
                        f"the service exited with {self.process.returncode}:\n{self.tail()}"
                    )
                try:
                    if client.get("/v1/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        pytest.fail(f"the service did not answer in {START_SECONDS}s:\n{self.tail()}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        assert self.process.returncode == -signal.SIGKILL, self.tail()
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"the service did not stop on SIGTERM:\n{self.tail()}")
        self.process = None

    def tail(self) -> str:
        return "\n".join(self.stack.log.read_text(errors="replace").splitlines()[-40:])


@dataclass
class Answers:
    """What the clients heard: the first answer to each acknowledged key."""

    accepted: dict[str, dict[str, object]] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.accepted)


def send_all(
    url: str,
    headers: dict[str, str],
    writes: Sequence[Write],
    answers: Answers,
    *,
    kill_when: Callable[[], bool] | None = None,
    kill: Callable[[], None] | None = None,
) -> None:
    """Send `writes` from concurrent clients, each once; record the 202s. With `kill_when`,
    call `kill` as soon as it holds, and let the clients whose requests fail give up."""
    local = threading.local()

    def send(write: Write) -> None:
        client: httpx.Client | None = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=url, timeout=60)
        try:
            response = client.post(
                "/v1/rights", json=write.body, headers={**headers, "Idempotency-Key": write.key}
            )
        except httpx.TransportError:
            return  # no answer: the client will send it again with the same key
        with answers.lock:
            if response.status_code == 202:
                answers.accepted.setdefault(write.key, response.json())
            else:
                answers.refused[write.key] = f"{response.status_code} {response.text}"

    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(send, write) for write in writes]
        if kill_when is not None and kill is not None:
            while not kill_when() and not all(f.done() for f in futures):
                time.sleep(0.002)
            kill()
        for future in futures:
            future.result()


def sign_in(url: str, key: LocalSigner) -> dict[str, str]:
    with httpx.Client(base_url=url, timeout=30) as client:
        return api.sign_in(client, key)


def enrol_owner(url: str, headers: dict[str, str]) -> None:
    owner = LocalSigner.generate()
    with httpx.Client(base_url=url, timeout=60) as client:
        response = client.post(
            "/v1/participants",
            params={"wait": "true"},
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            json={
                "participant_id": OWNER,
                "legal_name": "Acme Robotics Ltd",
                "registration_number": f"REG-{OWNER}",
                "country": "KR",
                "roles": ["participant"],
                "keys": [owner.address],
                "public_key": "0x" + owner.public_key.hex(),
            },
        )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "applied", response.json()


def rights_to_register() -> list[Write]:
    writes = []
    for n in range(WRITES):
        number = f"10-2025-{n:07d}"
        body: dict[str, object] = {
            "jurisdiction": "KR",
            "kind": "patent",
            "number": number,
            "title": f"Harvesting gripper, variant {n}",
            "document_hash": "0x" + keccak(text=f"specification {n}").hex(),
            "filing_date": "2024-03-01",
            "owners": [{"participant_id": OWNER, "bps": 10_000}],
        }
        right = "0x" + asset_id(b"KR", AssetKind.PATENT, number).hex()
        writes.append(Write(str(uuid.uuid4()), body, right))
    return writes


def outbox(sessions: sessionmaker[Session]) -> list[OperationRow]:
    with sessions() as session:
        return list(session.scalars(select(OperationRow).order_by(OperationRow.nonce)).all())


def rights_of(rows: Sequence[OperationRow]) -> Counter[str]:
    """How many operations of the outbox register each right."""
    return Counter(
        str(right)
        for row in rows
        if row.kind == "register_right"
        for right in row.subject["asset_ids"]  # type: ignore[attr-defined]
    )


def in_flight(sessions: sessionmaker[Session]) -> int:
    """Operations accepted and not yet mined (or failed)."""
    with sessions() as session:
        return queued_count(session, session.scalars(select(RelayerAccount.address)).one())


def health(url: str) -> dict[str, int]:
    response = httpx.get(f"{url}/v1/health", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


# --- the two stacks ---


@pytest.fixture(
    params=[
        pytest.param("embedded-sqlite", marks=pytest.mark.slow),
        pytest.param(
            "anvil-postgresql",
            marks=[pytest.mark.slow, pytest.mark.anvil, pytest.mark.postgresql],
        ),
    ]
)
def stack(
    request: pytest.FixtureRequest, tmp_path: Path, artifacts: ArtifactSet
) -> Iterator[Stack]:
    port = free_port()
    log = tmp_path / "serve.log"
    base = [str(IPLEDGER), "serve", "--port", str(port)]
    env = {name: value for name, value in os.environ.items() if not name.startswith("IPLEDGER_")}
    # Batches of 50 operations: many commits of the relayer to be killed around.
    env.update(IPLEDGER_TOKEN_SECONDS="3600", IPLEDGER_RELAYER_BATCH="50")
    data_dir = tmp_path / "data"
    if request.param == "embedded-sqlite":

        def office() -> LocalSigner:
            password = stored_password(data_dir)
            assert password is not None
            return Keystore.load(data_dir / "keystore" / "office.json").unlock(password)

        yield Stack(
            command=[*base, "--data-dir", str(data_dir)],
            env=env,
            port=port,
            database_url=f"sqlite:///{data_dir / 'registry.sqlite3'}",
            log=log,
            office=office,
            chain=lambda: EmbeddedBackend.open(
                data_dir, DeploymentManifest.load(data_dir / "manifest.json").account_rules
            ),
            manifest=lambda: DeploymentManifest.load(data_dir / "manifest.json"),
        )
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    try:
        node = AnvilNode(chain_id=31_337, extra_args=("--block-time", "1")).start()
    except AnvilUnavailable as exc:
        if IN_CI:  # CI must run the anvil suite, never skip it
            raise
        pytest.skip(f"anvil not installed: {exc}")
    try:
        key, manifest = _deploy_on(node, tmp_path, artifacts)
        database_url = server.new_database()
        yield Stack(
            command=[
                *base,
                *("--data-dir", str(data_dir), "--rpc", node.url, "--database", database_url),
                *("--manifest", str(manifest), "--key-file", str(tmp_path / "office.key")),
            ],
            env={
                **env,
                "IPLEDGER_CA_DIR": str(tmp_path / "ca"),
                "IPLEDGER_KEY_PASSWORD": CA_PASSWORD,
            },
            port=port,
            database_url=database_url,
            log=log,
            office=lambda: key,
            chain=lambda: RpcBackend(node.url),
            manifest=lambda: DeploymentManifest.load(manifest),
        )
    finally:
        node.stop()


def _deploy_on(node: AnvilNode, tmp_path: Path, artifacts: ArtifactSet) -> tuple[LocalSigner, Path]:
    """The ledger deployed by a fresh office key, with the office's CA; its manifest's path."""
    private_key = bytes(Account.create().key)
    office = LocalSigner(private_key)
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    ca = CaDirectory(tmp_path / "ca")
    authority = CertificateAuthority.generate("IP Office", "KR", "IPO-0001", now=now)
    ca.init(authority, CA_PASSWORD.encode())
    certificate = office_certificate(authority, OfficeIdentity().participant_id, office, now)
    ca.record(certificate)
    backend = node.backend()
    ledger = deploy_ledger(
        backend,
        office,
        artifacts,
        OfficeBootstrap(
            1, certificate.fingerprint, int(certificate.not_after.timestamp()), (office.address,)
        ),
    )
    backend.close()
    manifest = tmp_path / "manifest.json"
    ledger.manifest.save(manifest)
    (tmp_path / "office.key").write_text(private_key.hex())
    return office, manifest


# --- the test ---


def test_writes_in_flight_when_the_service_is_killed_end_on_chain_exactly_once(
    stack: Stack, artifacts: ArtifactSet, seed: int
) -> None:
    rng = random.Random(seed)
    service = Service(stack)
    writes = rights_to_register()
    answers = Answers()
    # Where the kills land: after this many acknowledgements, once operations are in flight.
    kill_points = sorted(rng.sample(range(WRITES // 10, WRITES * 19 // 20), KILLS))
    began = time.monotonic()
    phases: list[str] = []

    def phase(label: str) -> None:
        phases.append(f"{time.monotonic() - began:6.1f}s {label}")

    engine = create_database_engine(stack.database_url)
    sessions = session_factory(engine)
    try:
        service.start()
        office = sign_in(stack.url, stack.office())
        enrol_owner(stack.url, office)
        phase("started; owner enrolled")
        in_flight_at_kills = []

        def due(kill_at: int) -> bool:
            return answers.count() >= kill_at and in_flight(sessions) > 0

        for kill_at in kill_points:
            # The clients send every write they have not heard an answer to, with its key.
            unheard = [w for w in writes if w.key not in answers.accepted]
            send_all(
                stack.url,
                office,
                unheard,
                answers,
                kill_when=partial(due, kill_at),
                kill=service.kill,
            )
            assert answers.refused == {}, answers.refused
            acknowledged = set(answers.accepted)
            assert len(acknowledged) < WRITES, "each kill must land while the clients send"
            # Never acknowledged: absent, or accepted (committed, the answer lost) exactly once.
            counts = rights_of(outbox(sessions))
            assert all(counts[w.asset_id] == 1 for w in writes if w.key in acknowledged)
            assert all(counts[w.asset_id] <= 1 for w in writes if w.key not in acknowledged)
            lost = sum(counts[w.asset_id] for w in writes if w.key not in acknowledged)
            in_flight_at_kills.append(in_flight(sessions))
            phase(
                f"killed at {len(acknowledged)} acknowledged, {lost} accepted but unheard, "
                f"{in_flight_at_kills[-1]} in flight"
            )
            service.start()
        assert sum(in_flight_at_kills) > 0, "kills must land while accepted writes are in flight"

        # The last clients are answered; then every client sends its write again, with its key,
        # and must hear the first answer.
        send_all(stack.url, office, [w for w in writes if w.key not in answers.accepted], answers)
        assert answers.refused == {}, answers.refused
        assert len(answers.accepted) == WRITES
        replayed = Answers()
        send_all(stack.url, office, writes, replayed)
        assert replayed.refused == {}, replayed.refused
        assert replayed.accepted == answers.accepted
        phase("all acknowledged; every write sent again got its first answer")

        deadline = time.monotonic() + FINISH_SECONDS
        while time.monotonic() < deadline:
            now = health(stack.url)
            if now["operations_in_flight"] == 0 and now["mirrored_block"] == now["head"]:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"operations still in flight after {FINISH_SECONDS}s: {now}")
        service.stop()
        phase("nothing in flight, the mirror at the head; stopped")
        check_outbox_chain_and_mirror(stack, sessions, writes, answers, artifacts)
        phase("outbox, chain and mirror agree")
    finally:
        print("\n" + "\n".join(phases))
        if service.process is not None:
            service.process.kill()
            service.process.wait()
        engine.dispose()


def check_outbox_chain_and_mirror(
    stack: Stack,
    sessions: sessionmaker[Session],
    writes: Sequence[Write],
    answers: Answers,
    artifacts: ArtifactSet,
) -> None:
    rows = outbox(sessions)
    # The outbox: each right in exactly one operation, the one its client was answered with;
    # every operation mined; nonces unique and dense up to the allocator's next one.
    counts = rights_of(rows)
    assert set(counts) == {w.asset_id for w in writes}
    assert set(counts.values()) == {1}
    by_id = {row.id: row for row in rows}
    for write in writes:
        answer = answers.accepted[write.key]
        row = by_id[str(answer["id"])]
        assert row.subject["asset_ids"] == [write.asset_id]
    failed = [
        (row.nonce, row.error_code, row.error_message) for row in rows if row.status != "mined"
    ]
    assert failed == []
    nonces = [row.nonce for row in rows]
    assert nonces == list(range(nonces[0], nonces[0] + len(nonces)))
    with sessions() as session:
        account = session.scalars(select(RelayerAccount)).one()
    assert account.next_nonce == nonces[-1] + 1

    backend = stack.chain()
    try:
        w3 = backend.w3
        manifest = stack.manifest()
        # The chain: the office's nonce is the allocator's; each operation's transaction is
        # mined where the outbox says, and succeeded; each right registered exactly once.
        assert w3.eth.get_transaction_count(stack.office().address) == account.next_nonce
        for row in rows:
            receipt = w3.eth.get_transaction_receipt(HexBytes(row.transaction_hash))
            assert (receipt["blockNumber"], receipt["status"]) == (row.block_number, 1)
        (event,) = [
            entry
            for entry in artifacts.get("IPAssetRegistry").abi
            if entry.get("type") == "event" and entry.get("name") == "AssetRegistered"
        ]
        topic = event_abi_to_log_topic(event)  # type: ignore[arg-type]
        logs = w3.eth.get_logs(
            {
                "address": manifest.address_of("IPAssetRegistry"),
                "topics": ["0x" + topic.hex()],
                "fromBlock": 0,
                "toBlock": "latest",
            }
        )
        registered = Counter("0x" + bytes(entry["topics"][1]).hex() for entry in logs)
        assert registered == Counter({w.asset_id: 1 for w in writes})

        # The mirror: past the last operation, every right in it, nothing differs from the chain.
        ledger = open_ledger(backend, manifest, artifacts)
        with sessions() as session:
            status = queries.mirror_status(session, manifest.chain_id)
            # (anvil goes on mining empty blocks after the service stopped)
            assert status.block_number is not None
            assert status.block_number >= max(row.block_number or 0 for row in rows)
            mirrored = {"0x" + bytes(r).hex() for r in session.scalars(select(RightRow.asset_id))}
            assert mirrored == {w.asset_id for w in writes}
            assert list(verify.differences(session, ledger)) == []
    finally:
        backend.close()
