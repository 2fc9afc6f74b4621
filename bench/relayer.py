"""The relayer against a bare batch sender on one anvil, and the registry's HTTP read latency.

    python -m bench.relayer [--json]

One run, one anvil node (free gas, FIFO, as the tests configure it; a block every 0.1 s with a
gas limit of 1 billion, see ANVIL_ARGS), PostgreSQL at
IPLEDGER_BENCH_POSTGRES_URL (a maintenance database URL; default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres), throwaway databases dropped at the end.

The transaction is the relayer's commonest: `registerAsset` of one right with one owner, with the
gas limit the API's desk gives it, a distinct right each time. First a small history (20
participants, 400 rights in bulk, status changes and assignments) gives the rights their owners
and the chain-of-title reads something to read.

- raw: RIGHTS registrations signed in advance by the office key, then sent by a bare batch
  sender (`make_batch_request`, BATCH a request, as the dispatcher sends); from the first send
  to the receipt of the last.
- relayer: RIGHTS more registrations accepted into the outbox on PostgreSQL with
  `Outbox.accept_many`, ACCEPT_BATCH per database transaction (nonce allocation, signing and the
  insert, as the API does per request), while the dispatcher runs in its thread as in the
  service; from the first accept to the dispatcher having recorded the last one mined. Through
  `Outbox` rather than HTTP so that the figure is the relayer's: the API's own cost per write
  (sign-in check, idempotency record) is the web server's, not the relayer's.
- ratio: relayer / raw (the issue's target: at least 0.25).
- HTTP: `ipledger serve` on the same anvil with a fresh PostgreSQL database, its mirror caught
  up on all of the above; CLIENTS concurrent clients (asyncio + httpx, one connection each), each
  asking in a loop for SECONDS: GET /v1/rights/{id} of random rights, then GET
  /v1/rights/{id}/title of rights with an assignment; p50 and p99 of each request as the client
  sees it, connection set-up excluded (a warm-up round first).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import typing
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
from eth_account import Account
from hexbytes import HexBytes
from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3
from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint

from bench.figures import Figure, arguments, report
from bench.mirror import DEFAULT_POSTGRES_URL, POSTGRES_URL_ENV, Scratch, percentile
from bench.workload import make_right, populate
from ledger.artifacts import ArtifactSet
from ledger.assets import asset_id
from ledger.backends.anvil import AnvilNode, free_port
from ledger.compiler import load_artifacts
from ledger.deploy import Ledger, OfficeBootstrap, deploy_ledger
from ledger.types import AssetInput, Share
from registry_api.db.models import AssignmentRow, OperationRow, RightRow
from registry_api.desk import GAS
from registry_api.relayer.dispatcher import Dispatcher
from registry_api.relayer.outbox import Call, OperationStatus, Outbox
from wallets.signer import LocalSigner

#: A block every 0.1 s that holds any batch (1,600 x the desk's 600,000 gas bound). anvil's
#: automine stalls under batches: it leaves transactions pending until another one arrives
#: (seen with batches of 300 even with this gas limit), and a sender waits for ever.
ANVIL_ARGS = ("--gas-limit", "1000000000", "--block-time", "0.1")
YEAR = 365 * 24 * 3600
RIGHTS = 5_000
#: Transactions per JSON-RPC batch: the dispatcher's default (IPLEDGER_RELAYER_BATCH).
BATCH = 500
ACCEPT_BATCH = 100
HISTORY_RIGHTS = 400
HISTORY_ASSIGNMENTS = 200
CLIENTS = 50
SECONDS = 5.0
WARM_UP_SECONDS = 1.0
IPLEDGER = Path(sys.executable).parent / "ipledger"
START_SECONDS = 120.0
TIMEOUT_SECONDS = 300.0

console = Console(stderr=True)


class Office:
    """The deployed ledger, its office key, and the rights to register (distinct numbers)."""

    def __init__(self, node: AnvilNode, artifacts: ArtifactSet, key_file: Path) -> None:
        private_key = bytes(Account.create().key)
        key_file.write_text(private_key.hex())
        self.key_file = key_file
        self.signer = LocalSigner(private_key)
        backend = node.backend()
        now = int(backend.w3.eth.get_block("latest")["timestamp"])
        self.now = now
        self.ledger: Ledger = deploy_ledger(
            backend,
            self.signer,
            artifacts,
            OfficeBootstrap(
                1, hashlib.sha256(b"office").digest(), now + 10 * YEAR, (self.signer.address,)
            ),
        )
        self._rng = random.Random(11)
        self._next_number = 1_000_000

    @property
    def w3(self) -> Web3:
        return self.ledger.chain.backend.w3

    def rights(self, count: int, owners: Sequence[int]) -> list[AssetInput]:
        first, self._next_number = self._next_number, self._next_number + count
        return [
            make_right(self._rng, first + n, (Share(owners[n % len(owners)], 10_000),), self.now)
            for n in range(count)
        ]

    def registration(self, right: AssetInput) -> Call:
        """The call the desk makes of a right registration."""
        assets = self.ledger.assets
        return Call(
            kind="register_right",
            target=assets.address,
            data=assets.call_data("registerAsset", right),
            gas=GAS["register_right"],
            subject={"asset_ids": ["0x" + _id(right).hex()]},
        )


def raw_rate(office: Office, owners: Sequence[int]) -> tuple[float, str]:
    """Registrations per second from a bare batch sender, signed in advance."""
    w3 = office.w3
    nonce = int(w3.eth.get_transaction_count(office.signer.address, "pending"))
    with console.status(f"raw: signing {RIGHTS:,} registrations"):
        raws = []
        for n, right in enumerate(office.rights(RIGHTS, owners)):
            call = office.registration(right)
            raws.append(
                office.signer.sign_transaction(
                    {
                        "chainId": office.ledger.chain.chain_id,
                        "nonce": nonce + n,
                        "gas": call.gas,
                        "gasPrice": 0,
                        "to": call.target,
                        "value": 0,
                        "data": call.data,
                    }
                )
            )
    provider = typing.cast(JSONBaseProvider, w3.provider)
    with console.status(f"raw: sending {RIGHTS:,} registrations"):
        started = time.perf_counter()
        for first in range(0, len(raws), BATCH):
            answers = provider.make_batch_request(
                [
                    (RPCEndpoint("eth_sendRawTransaction"), ["0x" + raw.hex()])
                    for raw in raws[first : first + BATCH]
                ]
            )
            if not isinstance(answers, list) or any("error" in a for a in answers):
                raise RuntimeError(f"the node refused raw transactions: {answers}")
        last = HexBytes(Web3.keccak(raws[-1]))
        w3.eth.wait_for_transaction_receipt(last, timeout=TIMEOUT_SECONDS, poll_latency=0.005)
        elapsed = time.perf_counter() - started
    statuses = _receipt_statuses(w3, [bytes(Web3.keccak(raw)) for raw in raws])
    if statuses != {1}:
        raise RuntimeError(f"raw registrations did not all succeed: statuses {statuses}")
    return RIGHTS / elapsed, f"{RIGHTS:,} in {elapsed:.2f} s, batches of {BATCH}"


def relayer_rate(
    office: Office, owners: Sequence[int], sessions: sessionmaker[Session]
) -> tuple[float, float, str]:
    """Accepted-to-mined operations per second; and accepted per second."""
    w3 = office.w3
    outbox = Outbox(office.signer, office.ledger.chain.chain_id)
    with sessions.begin() as session:
        outbox.open_account(session, int(w3.eth.get_transaction_count(outbox.sender, "pending")))
    calls = [office.registration(right) for right in office.rights(RIGHTS, owners)]
    dispatcher = Dispatcher(sessions, office.ledger.chain, outbox)
    stop = threading.Event()
    thread = threading.Thread(target=dispatcher.run, args=(stop,), name="relayer", daemon=True)
    thread.start()
    try:
        with console.status(f"relayer: accepting and relaying {RIGHTS:,} registrations"):
            started = time.perf_counter()
            for first in range(0, len(calls), ACCEPT_BATCH):
                with sessions.begin() as session:
                    outbox.accept_many(
                        session, calls[first : first + ACCEPT_BATCH], requested_by=None
                    )
            accepted = time.perf_counter() - started
            _wait(dispatcher, sessions, lambda mined: mined >= RIGHTS)
            elapsed = time.perf_counter() - started
    finally:
        stop.set()
        thread.join(timeout=10)
    with sessions() as session:
        counts = dict(
            session.execute(
                select(OperationRow.status, func.count()).group_by(OperationRow.status)
            ).all()
        )
    if counts != {OperationStatus.MINED: RIGHTS}:
        raise RuntimeError(f"the relayer's operations did not all succeed: {counts}")
    note = (
        f"{RIGHTS:,} in {elapsed:.2f} s (accepting took {accepted:.2f} s, "
        f"{ACCEPT_BATCH} a transaction), dispatcher batches of {dispatcher.options.batch}"
    )
    return RIGHTS / elapsed, RIGHTS / accepted, note


def _wait(
    dispatcher: Dispatcher, sessions: sessionmaker[Session], done: Callable[[int], bool]
) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        with sessions() as session:
            mined = session.scalar(
                select(func.count()).where(OperationRow.status == OperationStatus.MINED)
            )
        if done(int(mined or 0)):
            return
        with dispatcher.progress:
            dispatcher.progress.wait(0.05)
    raise RuntimeError(f"the relayer did not finish in {TIMEOUT_SECONDS} s")


def _receipt_statuses(w3: Web3, hashes: Sequence[bytes]) -> set[int]:
    provider = typing.cast(JSONBaseProvider, w3.provider)
    statuses: set[int] = set()
    for first in range(0, len(hashes), BATCH):
        answers = provider.make_batch_request(
            [
                (RPCEndpoint("eth_getTransactionReceipt"), ["0x" + h.hex()])
                for h in hashes[first : first + BATCH]
            ]
        )
        for answer in typing.cast(list[dict[str, typing.Any]], answers):
            result = answer.get("result")
            statuses.add(int(result["status"], 16) if result else -1)
    return statuses


# --- HTTP reads from a running service ---


class Served:
    """`ipledger serve` on the node and a database, in its own process."""

    def __init__(self, node: AnvilNode, office: Office, database_url: str, work: Path) -> None:
        manifest = work / "manifest.json"
        office.ledger.manifest.save(manifest)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {name: value for name, value in os.environ.items() if "IPLEDGER_" not in name}
        self._log = (work / "serve.log").open("wb")
        self._process = subprocess.Popen(
            [
                str(IPLEDGER), "serve",
                "--data-dir", str(work / "data"),
                "--rpc", node.url,
                "--database", database_url,
                "--manifest", str(manifest),
                "--key-file", str(office.key_file),
                "--port", str(self.port),
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_caught_up(self, head: int) -> None:
        """Wait until the service answers and its mirror has block `head`."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"ipledger serve exited with {self._process.returncode}")
            try:
                health = httpx.get(f"{self.url}/v1/health", timeout=5).json()
                if (health.get("mirrored_block") or -1) >= head:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the service's mirror did not reach block {head}")

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._log.close()


async def _clients(url: str, paths: Callable[[random.Random], str], seconds: float) -> list[float]:
    """CLIENTS clients asking for `paths` in a loop for `seconds`; latencies in ms."""
    latencies: list[float] = []
    failures: list[str] = []

    async def client(n: int) -> None:
        rng = random.Random(n)
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            await http.get("/v1/health")  # connect first
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await http.get(paths(rng))
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")

    await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    if failures:
        raise RuntimeError(f"{len(failures)} reads failed, e.g. {failures[0]}")
    return latencies


def http_latency(node: AnvilNode, office: Office, scratch: Scratch) -> list[Figure]:
    with scratch.database() as (engine, sessions), tempfile.TemporaryDirectory() as work:
        url = engine.url.render_as_string(hide_password=False)
        served = Served(node, office, url, Path(work))
        try:
            with console.status("HTTP: the service's mirror catching up"):
                served.wait_caught_up(int(office.w3.eth.block_number))
            with sessions() as session:
                rights = ["0x" + bytes(r).hex() for r in session.scalars(select(RightRow.asset_id))]
                assigned = sorted(
                    {"0x" + bytes(a).hex() for a in session.scalars(select(AssignmentRow.asset_id))}
                )

            def lookup(rng: random.Random) -> str:
                return f"/v1/rights/{rng.choice(rights)}"

            def title(rng: random.Random) -> str:
                return f"/v1/rights/{rng.choice(assigned)}/title"

            with console.status(f"HTTP: {CLIENTS} clients, {SECONDS:.0f} s a read"):
                asyncio.run(_clients(served.url, lookup, WARM_UP_SECONDS))
                by_id = asyncio.run(_clients(served.url, lookup, SECONDS))
                titles = asyncio.run(_clients(served.url, title, SECONDS))
        finally:
            served.stop()
    note = (
        f"{CLIENTS} clients, {len(by_id):,} requests in {SECONDS:.0f} s, "
        f"random of {len(rights):,} rights"
    )
    title_note = (
        f"{len(titles):,} requests in {SECONDS:.0f} s, random of {len(assigned)} rights "
        "with an assignment"
    )
    return [
        Figure("http.right_p50", percentile(by_id, 50), "ms", note=note),
        Figure("http.right_p99", percentile(by_id, 99), "ms"),
        Figure("http.chain_of_title_p50", percentile(titles, 50), "ms", note=title_note),
        Figure("http.chain_of_title_p99", percentile(titles, 99), "ms"),
    ]


def measure() -> list[Figure]:
    artifacts = load_artifacts()
    scratch = Scratch(os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL))
    with AnvilNode(extra_args=ANVIL_ARGS) as node, tempfile.TemporaryDirectory() as keys:
        office = Office(node, artifacts, Path(keys) / "office.key")
        with console.status("a history: participants, rights, status changes, assignments"):
            workload = populate(
                office.ledger,
                office.signer,
                artifacts,
                rights=HISTORY_RIGHTS,
                assignments=HISTORY_ASSIGNMENTS,
            )
        owners = sorted(workload.keys)
        raw, raw_note = raw_rate(office, owners)
        with scratch.database() as (_, sessions):
            relayed, accepted, relayed_note = relayer_rate(office, owners, sessions)
        figures = [
            Figure("raw.registrations_per_second", raw, "tx/s", note=raw_note),
            Figure("relayer.accepted_to_mined_per_second", relayed, "ops/s", note=relayed_note),
            Figure(
                "relayer.ratio_to_raw",
                relayed / raw,
                "x",
                target=0.25,
                at_most=False,
                note="same node, same transaction (registerAsset of one right)",
            ),
            Figure(
                "relayer.accepted_per_second",
                accepted,
                "ops/s",
                note="accept_many alone (nonce, signature, insert), the dispatcher running",
            ),
        ]
        figures += http_latency(node, office, scratch)
    return figures


def _id(right: AssetInput) -> bytes:
    return asset_id(right.jurisdiction, right.kind, right.number)


def main() -> None:
    args = arguments(__doc__ or "")
    report(
        "The relayer on anvil and PostgreSQL; HTTP reads (one run)", measure(), as_json=args.json
    )


if __name__ == "__main__":
    main()
