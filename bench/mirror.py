"""The SQL mirror on PostgreSQL: backfill rate, lag from block to query, query latency at 1M rights.

    python -m bench.mirror [--json]

One run, against anvil and PostgreSQL (IPLEDGER_BENCH_POSTGRES_URL, a maintenance database URL;
default postgresql+psycopg://postgres@127.0.0.1:5432/postgres). Each part uses a throwaway
database, dropped at the end.

- Backfill: a ledger history on anvil (bulk registrations of 100 rights a transaction, status
  changes, assignments), then `mirror sync` into an empty database; events applied per second,
  the median of three passes over the same history, each into a new database.
- Lag: anvil mining a block every second, a registration in each block, the indexer following
  (`Indexer.follow`); for each block, the time from its first sight on the node (polled every
  5 ms) to its rights being readable through the queries module.
- Queries: 1,000,000 rights (and 10,000 registered assignments) loaded straight into SQL through
  the mirror's own decode and apply functions, then right by id, chain of title and a two-word
  title search, each through the queries module in a read session of its own, as the registry
  service reads (autocommit on PostgreSQL).
"""

from __future__ import annotations

import hashlib
import os
import random
import secrets
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from eth_abi.abi import encode
from eth_typing import ChecksumAddress
from eth_utils.abi import event_signature_to_log_topic
from hexbytes import HexBytes
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from bench.figures import Figure, arguments, report
from bench.workload import NOUNS, make_right, make_title, populate
from ledger.artifacts import ArtifactSet
from ledger.assets import asset_id
from ledger.backends.anvil import AnvilNode
from ledger.compiler import load_artifacts
from ledger.deploy import Ledger, OfficeBootstrap, deploy_ledger
from ledger.events import EventDecoder, Log
from ledger.manifest import LEDGER_CONTRACTS
from ledger.types import AssetKind, Share
from registry_api.db.session import open_database, read_session_factory
from registry_api.mirror import queries
from registry_api.mirror.apply import Batch, BlockRef, LedgerContracts, analyze, apply_batch
from registry_api.mirror.indexer import Indexer, IndexerOptions
from wallets.signer import LocalSigner

YEAR = 365 * 24 * 3600
POSTGRES_URL_ENV = "IPLEDGER_BENCH_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BACKFILL_RIGHTS = 30_000
BACKFILL_PASSES = 3
LAG_BLOCKS = 30
MILLION = 1_000_000
LOAD_BATCH = 20_000
ASSIGNMENTS = 10_000
SAMPLES = 1_000
SEARCHES = 300

console = Console(stderr=True)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Scratch:
    """Throwaway PostgreSQL databases for one run."""

    def __init__(self, url: str) -> None:
        self._url = make_url(url)
        self._admin = create_engine(url, isolation_level="AUTOCOMMIT")
        self._names: list[str] = []

    @contextmanager
    def database(self) -> Iterator[tuple[Engine, sessionmaker[Session]]]:
        """A new migrated database: its engine, and sessions for the indexer (writers)."""
        name = f"ipledger_bench_{secrets.token_hex(4)}"
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = self._url.set(database=name).render_as_string(hide_password=False)
        engine, sessions = open_database(url)
        try:
            yield engine, sessions
        finally:
            engine.dispose()
            with self._admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _deploy(node: AnvilNode, artifacts: ArtifactSet) -> tuple[Ledger, LocalSigner]:
    backend = node.backend()
    office = LocalSigner.generate()
    now = int(backend.w3.eth.get_block("latest")["timestamp"])
    bootstrap = OfficeBootstrap(
        1, hashlib.sha256(b"office").digest(), now + 10 * YEAR, (office.address,)
    )
    return deploy_ledger(backend, office, artifacts, bootstrap), office


def backfill(artifacts: ArtifactSet, scratch: Scratch) -> list[Figure]:
    with AnvilNode() as node:
        ledger, office = _deploy(node, artifacts)
        with Progress(console=console) as progress:
            task = progress.add_task(
                "backfill: sending the history to anvil", total=BACKFILL_RIGHTS
            )
            workload = populate(
                ledger,
                office,
                artifacts,
                rights=BACKFILL_RIGHTS,
                on_sent=lambda n: progress.update(task, completed=n),
            )
        # The same history indexed BACKFILL_PASSES times, each into a fresh database; the
        # median pass is the figure (one pass lasts seconds: PostgreSQL's checkpoints and the
        # machine's other work move a single pass by 15%).
        passes: list[tuple[float, int, int]] = []
        for n in range(BACKFILL_PASSES):
            with scratch.database() as (_, sessions):
                indexer = Indexer.for_deployment(
                    ledger.chain.backend.w3, ledger.manifest, artifacts, sessions
                )
                with console.status(f"backfill {n + 1}: indexing {workload.logs:,} events"):
                    started = time.perf_counter()
                    result = indexer.sync()
                    elapsed = time.perf_counter() - started
            passes.append((result.events / elapsed, result.events, result.blocks))
    rates = sorted(rate for rate, _, _ in passes)
    rate, events, blocks = sorted(passes)[len(passes) // 2]
    return [
        Figure(
            "mirror.backfill_events_per_second",
            rate,
            "events/s",
            target=5_000,
            at_most=False,
            note=f"{events:,} events, {blocks:,} blocks; median of {len(passes)} passes "
            f"({', '.join(f'{r:,.0f}' for r in rates)} events/s)",
        )
    ]


def lag(artifacts: ArtifactSet, scratch: Scratch) -> list[Figure]:
    with AnvilNode(extra_args=("--block-time", "1")) as node:
        ledger, office = _deploy(node, artifacts)
        w3 = ledger.chain.backend.w3
        workload = populate(
            ledger, office, artifacts, rights=0, participants=3, assignments=0, status_changes=0
        )
        sender = workload.sender()
        with scratch.database() as (engine, sessions):
            indexer = Indexer.for_deployment(
                w3, ledger.manifest, artifacts, sessions, IndexerOptions(poll_seconds=0.05)
            )
            reads = read_session_factory(engine)  # as the registry service reads
            indexer.sync()
            stop = threading.Event()
            follower = threading.Thread(target=indexer.follow, args=(stop,), daemon=True)
            follower.start()
            rng = random.Random(5)
            now = int(w3.eth.get_block("latest")["timestamp"])
            seen: dict[int, float] = {}
            lags: list[float] = []
            try:
                with Progress(console=console) as progress:
                    task = progress.add_task("lag: one registration a block", total=LAG_BLOCKS)
                    for n in range(LAG_BLOCKS):
                        right = make_right(rng, 500_000 + n, (Share(10, 10_000),), now)
                        wanted = asset_id(right.jurisdiction, right.kind, right.number)
                        sender.call("IPAssetRegistry", "registerAsset", right)
                        raw_sent = sender.send_pending()
                        block = _wait_mined(w3, raw_sent, seen)
                        while True:
                            with reads() as session:
                                if queries.right_by_id(session, wanted) is not None:
                                    break
                            _note_head(w3, seen)
                            time.sleep(0.005)
                        lags.append((time.perf_counter() - seen[block]) * 1000)
                        progress.update(task, completed=n + 1)
            finally:
                stop.set()
                follower.join(timeout=5)
    note = f"{len(lags)} blocks; block seen on the node (5 ms polls) to rows readable"
    return [
        Figure("mirror.lag_p50", percentile(lags, 50), "ms", note=note),
        Figure("mirror.lag_p99", percentile(lags, 99), "ms", target=500, note=note),
    ]


def _note_head(w3: Web3, seen: dict[int, float]) -> None:
    head = w3.eth.block_number
    now = time.perf_counter()
    for number in range(max(seen, default=head - 1) + 1, head + 1):
        seen.setdefault(number, now)


def _wait_mined(w3: Web3, tx_hash: bytes, seen: dict[int, float]) -> int:
    while True:
        _note_head(w3, seen)
        try:
            receipt = w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        except Exception:  # not mined yet
            time.sleep(0.005)
            continue
        return int(receipt["blockNumber"])


# --- a million rights straight into SQL through the mirror's apply functions ---

REGISTRY = ChecksumAddress("0x" + "5a" * 20)  # type: ignore[arg-type]
OFFICE = "0x" + "0f" * 20
REGISTERED = event_signature_to_log_topic(
    "AssetRegistered(bytes32,bytes2,uint8,string,string,bytes32,uint40,uint40,uint40,(uint64,uint16)[],address)"
)
FILED = event_signature_to_log_topic(
    "AssignmentFiled(bytes32,bytes32,uint64,uint64,uint16,bytes32,uint256,uint256,address[],address)"
)
ASSIGNED = event_signature_to_log_topic(
    "AssignmentRegistered(bytes32,bytes32,(uint64,uint16)[],address)"
)
PARTICIPANTS = 1_000


def _word(value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return value.to_bytes(32, "big")
    if isinstance(value, str):
        return bytes(12) + bytes.fromhex(value[2:])
    return value


def _synthetic_logs(
    rng: random.Random, count: int, block: int
) -> tuple[list[Log], list[tuple[bytes, int]]]:
    logs = []
    owned = []
    base = block * LOAD_BATCH
    for n in range(count):
        number = f"10-{2000 + (base + n) % 25}-{base + n:08d}"
        right = hashlib.sha256(number.encode()).digest()
        owner = 10 + rng.randrange(PARTICIPANTS)
        data = encode(
            [
                "bytes2",
                "uint8",
                "string",
                "string",
                "bytes32",
                "uint40",
                "uint40",
                "uint40",
                "(uint64,uint16)[]",
            ],
            [
                b"KR",
                int(AssetKind.PATENT),
                number,
                make_title(rng),
                right,
                1,
                2,
                3,
                [(owner, 10_000)],
            ],
        )
        logs.append(_log((REGISTERED, right, _word(OFFICE)), data, block, n))
        owned.append((right, owner))
    return logs, owned


def _assignment_logs(rng: random.Random, owned: list[tuple[bytes, int]], block: int) -> list[Log]:
    logs = []
    for n, (right, owner) in enumerate(owned):
        assignee = 10 + (owner - 10 + 1) % PARTICIPANTS
        assignment = hashlib.sha256(right + b"assignment").digest()
        signers = ["0x" + hashlib.sha256(bytes([k]) + right).digest()[:20].hex() for k in range(2)]
        filed = encode(
            ["uint64", "uint16", "bytes32", "uint256", "uint256", "address[]", "address"],
            [assignee, 10_000, right, 0, 2**40, signers, OFFICE],
        )
        logs.append(_log((FILED, assignment, right, _word(owner)), filed, block, 2 * n))
        owners = encode(["(uint64,uint16)[]"], [[(assignee, 10_000)]])
        logs.append(_log((ASSIGNED, assignment, right, _word(OFFICE)), owners, block, 2 * n + 1))
    return logs


def _log(topics: tuple[bytes, ...], data: bytes, block: int, index: int) -> Log:
    return Log(
        address=REGISTRY,
        topics=topics,
        data=data,
        block_number=block,
        block_hash=hashlib.sha256(block.to_bytes(8, "big")).digest(),
        transaction_hash=hashlib.sha256(
            block.to_bytes(8, "big") + index.to_bytes(4, "big")
        ).digest(),
        log_index=index,
    )


def load_million(
    sessions: sessionmaker[Session], artifacts: ArtifactSet
) -> tuple[list[bytes], list[bytes], float]:
    contracts = LedgerContracts(
        {REGISTRY: "IPAssetRegistry"},
        EventDecoder(artifacts.get(name).abi for name in LEDGER_CONTRACTS),
    )
    rng = random.Random(11)
    rights: list[bytes] = []
    assigned: list[bytes] = []
    started = time.perf_counter()
    with Progress(console=console) as progress:
        task = progress.add_task("queries: loading 1,000,000 rights into SQL", total=MILLION)
        block = 0
        while len(rights) < MILLION:
            block += 1
            logs, owned = _synthetic_logs(rng, min(LOAD_BATCH, MILLION - len(rights)), block)
            rights.extend(right for right, _ in owned)
            _apply(sessions, contracts, logs, block)
            if len(assigned) < ASSIGNMENTS:
                block += 1
                chosen = owned[: ASSIGNMENTS // (MILLION // LOAD_BATCH)]
                _apply(sessions, contracts, _assignment_logs(rng, chosen, block), block)
                assigned.extend(right for right, _ in chosen)
            progress.update(task, completed=len(rights))
    with sessions.begin() as session:
        analyze(session)
    return rights, assigned, time.perf_counter() - started


def _apply(
    sessions: sessionmaker[Session], contracts: LedgerContracts, logs: list[Log], block: int
) -> None:
    last = BlockRef(block, logs[0].block_hash)
    with sessions.begin() as session:
        apply_batch(session, Batch(999, block, last, logs, journal_from=block + 1), contracts)


def _timed(samples: int, query: Callable[[int], object]) -> list[float]:
    timings = []
    for n in range(samples):
        started = time.perf_counter()
        query(n)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def query_latency(artifacts: ArtifactSet, scratch: Scratch) -> list[Figure]:
    with scratch.database() as (engine, sessions):
        rights, assigned, loading = load_million(sessions, artifacts)
        # The load's dirty pages written out first: a register serving reads has long had its
        # checkpoint; one running during the samples measures the load, not the queries.
        with engine.connect() as connection:
            connection.exec_driver_sql("CHECKPOINT")
        reads = read_session_factory(engine)  # as the registry service reads
        rng = random.Random(13)
        sample = rng.sample(rights, SAMPLES)
        titled = [rng.choice(assigned) if n % 2 else rng.choice(rights) for n in range(SAMPLES)]
        words = [" ".join(rng.sample(NOUNS, 2)) for _ in range(SEARCHES)]

        def by_id(n: int) -> object:
            with reads() as session:
                found = queries.right_by_id(session, sample[n])
            assert found is not None
            return found

        def title(n: int) -> object:
            with reads() as session:
                entries = queries.chain_of_title(session, titled[n])
            assert entries
            return entries

        found_counts: list[int] = []

        def search(n: int) -> object:
            with reads() as session:
                page = queries.search_rights(session, words[n])
            found_counts.append(len(page.items))
            return page

        _timed(50, by_id)  # warm the connection pool and caches
        by_id_ms = _timed(SAMPLES, by_id)
        title_ms = _timed(SAMPLES, title)
        search_ms = _timed(SEARCHES, search)
    note = f"1,000,000 rights loaded in {loading:.0f} s through decode + apply"
    search_note = (
        f"two title words, first page of 50 (mean {statistics.mean(found_counts):.0f} hits shown)"
    )
    return [
        Figure("query.right_by_id_p50", percentile(by_id_ms, 50), "ms", note=note),
        Figure("query.right_by_id_p99", percentile(by_id_ms, 99), "ms", target=5),
        Figure(
            "query.chain_of_title_p50",
            percentile(title_ms, 50),
            "ms",
            note="half with an assignment",
        ),
        Figure("query.chain_of_title_p99", percentile(title_ms, 99), "ms", target=5),
        Figure("query.search_p50", percentile(search_ms, 50), "ms", note=search_note),
        Figure("query.search_p99", percentile(search_ms, 99), "ms", target=50),
    ]


def measure() -> list[Figure]:
    artifacts = load_artifacts()
    scratch = Scratch(os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL))
    return [
        *backfill(artifacts, scratch),
        *lag(artifacts, scratch),
        *query_latency(artifacts, scratch),
    ]


def main() -> None:
    args = arguments(__doc__ or "")
    report("SQL mirror on PostgreSQL (anvil, one run)", measure(), as_json=args.json)


if __name__ == "__main__":
    main()
