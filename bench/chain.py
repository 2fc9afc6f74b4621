"""Throughput, size and re-open time of the embedded chain, measured in one run.

    python -m bench.chain [--json]

The workload is the relayer's: registrations of one right each (`registerAsset`), signed in
advance by the office with every field given (nonce, gas, zero gas price, chain id) and sent one
at a time, each followed by its receipt. Signing is outside the timings.

- persistent: the embedded chain on a data directory (SQLite in WAL mode, fsync before each
  acknowledgement), opened in this process (`EmbeddedBackend.open`), then served over HTTP by
  `ipledger chain serve` in its own process.
- eth-tester: the in-memory chain this project ran on before (eth-tester over py-evm, the same VM
  rules), through web3's EthereumTesterProvider: the yardstick of the 0.8x target.
- anvil: the very same signed transactions. The persistent chain is created with anvil's chain
  id and the office deploys the same contracts with the same nonces, so the addresses agree and
  one signed transaction is valid on both.

The backends take turns, one transaction at a time, so that load from other processes on the
machine falls on all of them alike; a rate is all transactions over all the time spent on them.

Re-open time: two chains of the same shape (self-transfers of the office, ten to a block), one
of 500 transactions and one of 50,000; from `open_node` to the answers of eth_blockNumber,
eth_getBlockByNumber and eth_getBalance, median of five (OS file cache warm).
"""

from __future__ import annotations

import hashlib
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import cast

from eth_tester import EthereumTester, PyEVMBackend
from hexbytes import HexBytes
from rich.progress import Progress
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.types import RPCEndpoint

from bench.figures import Figure, arguments, report
from embedded_chain.datadir import DataDir, create_node, initialize, open_node
from embedded_chain.genesis import GAS_LIMIT, ChainConfig, FreeGasShanghaiVM
from embedded_chain.jsonrpc import JsonRpc
from embedded_chain.node import Node
from ledger.artifacts import ArtifactSet
from ledger.backends.anvil import AnvilNode, free_port
from ledger.backends.base import ChainBackend, DevelopmentFeatureUnavailable
from ledger.backends.embedded import EmbeddedBackend
from ledger.codec import to_abi
from ledger.compiler import load_artifacts
from ledger.deploy import Ledger, OfficeBootstrap, deploy_ledger
from ledger.manifest import DeploymentManifest
from ledger.types import AssetInput, AssetKind, Role, Share
from wallets.signer import LocalSigner

YEAR = 365 * 24 * 3600
#: anvil's default chain id; the persistent chain is created with it too (see above).
CHAIN_ID = 31_337
#: Backends take turns one transaction at a time: load from other processes on a shared machine
#: then falls on all of them alike. 500 x 2 phases = 1,000 registrations on the persistent chain.
ROUNDS = 500
PER_ROUND = 1
BATCHES = 5
BATCH = 100
REGISTRATION_GAS = 400_000
HISTORY_SMALL = 500
HISTORY_LARGE = 50_000
HISTORY_PER_BLOCK = 10
REOPENS = 5
PARTICIPANT = 10
SERVER_START_SECONDS = 30.0


class EthTesterBackend(ChainBackend):
    """The in-memory chain as this project had it: eth-tester over py-evm, auto-mining."""

    def __init__(self) -> None:
        genesis = PyEVMBackend.generate_genesis_params(overrides={"gas_limit": GAS_LIMIT})
        genesis["base_fee_per_gas"] = 0
        backend = PyEVMBackend(
            genesis_parameters=genesis, vm_configuration=((0, FreeGasShanghaiVM),)
        )
        self._tester = EthereumTester(backend, auto_mine_transactions=True)
        self._w3 = Web3(EthereumTesterProvider(self._tester))

    @property
    def w3(self) -> Web3:
        return self._w3

    def snapshot(self) -> str:
        raise DevelopmentFeatureUnavailable("not needed by the benchmark")

    def revert(self, snapshot: str) -> None:
        raise DevelopmentFeatureUnavailable("not needed by the benchmark")

    def mine_at(self, timestamp: int) -> None:
        raise DevelopmentFeatureUnavailable("not needed by the benchmark")


class Registrations:
    """Signed `registerAsset` transactions of the office, numbered like the workload's rights."""

    def __init__(self, ledger: Ledger, office: LocalSigner, artifacts: ArtifactSet) -> None:
        self._office = office
        self._address = ledger.assets.address
        self._contract = Web3().eth.contract(abi=artifacts.get("IPAssetRegistry").abi)
        self._now = int(time.time())
        self._number = 0

    def sign(self, chain_id: int, first_nonce: int, count: int) -> list[bytes]:
        signed = []
        for nonce in range(first_nonce, first_nonce + count):
            self._number += 1
            data = self._contract.encode_abi("registerAsset", [to_abi(self._right())])
            signed.append(
                self._office.sign_transaction(
                    {
                        "chainId": chain_id,
                        "nonce": nonce,
                        "gas": REGISTRATION_GAS,
                        "gasPrice": 0,
                        "value": 0,
                        "to": self._address,
                        "data": bytes(HexBytes(data)),
                    }
                )
            )
        return signed

    def _right(self) -> AssetInput:
        number = self._number
        return AssetInput(
            jurisdiction=b"KR",
            kind=AssetKind.PATENT,
            number=f"10-2026-{number:07d}",
            title=f"Adaptive sensor for a battery with membrane, variant {number}",
            document_hash=hashlib.sha256(f"specification {number}".encode()).digest(),
            filing_date=self._now - 400 * 86400,
            registration_date=self._now - 30 * 86400,
            expiry_date=self._now + 19 * YEAR,
            owners=(Share(PARTICIPANT, 10_000),),
        )


def _deploy(backend: ChainBackend, office: LocalSigner, artifacts: ArtifactSet) -> Ledger:
    """The contracts and one participant: four transactions of the office (nonces 0-3)."""
    now = int(time.time())
    fingerprint = hashlib.sha256(b"office").digest()
    ledger = deploy_ledger(
        backend,
        office,
        artifacts,
        OfficeBootstrap(1, fingerprint, now + 10 * YEAR, (office.address,)),
    )
    holder = LocalSigner.generate()
    ledger.participants.enrol(
        PARTICIPANT,
        Role.PARTICIPANT,
        hashlib.sha256(holder.address.encode()).digest(),
        now + 5 * YEAR,
        [holder.address],
    )
    return ledger


def _one_by_one(w3: Web3, signed: Sequence[bytes]) -> float:
    """Send each transaction and read its receipt before the next; the seconds it took."""
    start = time.perf_counter()
    for raw in signed:
        receipt = w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(raw), timeout=30, poll_latency=0.005
        )
        if receipt["status"] != 1:
            raise RuntimeError(f"registration {receipt['transactionHash'].hex()} failed")
    return time.perf_counter() - start


def _in_batches(url: str, signed: Sequence[bytes]) -> float:
    """Send all in one JSON-RPC batch, then read every receipt; the seconds it took."""
    provider = HTTPProvider(url, request_kwargs={"timeout": 120})
    start = time.perf_counter()
    answers = provider.make_batch_request(
        [(RPCEndpoint("eth_sendRawTransaction"), ["0x" + raw.hex()]) for raw in signed]
    )
    if not isinstance(answers, list) or any("error" in a for a in answers):
        raise RuntimeError(f"batch refused: {answers}")
    hashes = [cast(str, a["result"]) for a in answers]
    waiting = set(hashes)
    stalled = time.monotonic() + 0.5
    while waiting:
        receipts = provider.make_batch_request(
            [(RPCEndpoint("eth_getTransactionReceipt"), [h]) for h in sorted(waiting)]
        )
        assert isinstance(receipts, list)
        for receipt in receipts:
            result = receipt.get("result")
            if isinstance(result, dict):
                if result["status"] != "0x1":
                    raise RuntimeError(f"registration {result['transactionHash']} failed")
                waiting.discard(cast(str, result["transactionHash"]))
        if waiting and time.monotonic() > stalled:
            # anvil leaves what does not fit its block pending until something else arrives.
            provider.make_request(RPCEndpoint("evm_mine"), [])
            stalled = time.monotonic() + 0.5
    return time.perf_counter() - start


@contextmanager
def served(data_dir: Path) -> Iterator[str]:
    """`ipledger chain serve` on the data directory, in its own process; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(Path(sys.executable).with_name("ipledger")), "chain", "serve"]
    process = subprocess.Popen(
        [*command, "--data-dir", str(data_dir), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        probe = Web3(HTTPProvider(url, request_kwargs={"timeout": 1}))
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not _answers(probe):
            if process.poll() is not None or time.monotonic() > deadline:
                stderr = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"chain serve did not start: {stderr}")
            time.sleep(0.05)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _answers(w3: Web3) -> bool:
    try:
        return w3.is_connected()
    except OSError:
        return False


def _size(data_dir: DataDir) -> int:
    """Bytes of the database with its write-ahead log folded in (the chain must be closed)."""
    node = open_node(data_dir, None)  # only measured: nobody sends
    try:
        node.store.checkpoint()
        return node.store.size_bytes()
    finally:
        node.close()


def _history(root: Path, count: int, progress: Progress) -> DataDir:
    """A chain of `count` self-transfers of its validator, ten to a block."""
    office = LocalSigner.generate()
    data_dir = DataDir(root / f"history-{count}")
    config = ChainConfig(
        chain_id=CHAIN_ID, validator=office.address, genesis_timestamp=int(time.time())
    )
    node = create_node(data_dir, config)
    task = progress.add_task(f"building a chain of {count:,} transactions", total=count)
    try:
        for first in range(0, count, HISTORY_PER_BLOCK):
            signed = [
                office.sign_transaction(
                    {
                        "chainId": CHAIN_ID,
                        "nonce": nonce,
                        "gas": 21_000,
                        "gasPrice": 0,
                        "value": 0,
                        "to": office.address,
                        "data": b"",
                    }
                )
                for nonce in range(first, min(first + HISTORY_PER_BLOCK, count))
            ]
            results = node.send_raw_transactions(signed)
            if not all(isinstance(r, bytes) for r in results):
                raise RuntimeError(f"history transaction refused: {results}")
            progress.advance(task, len(signed))
    finally:
        node.close()
    return data_dir


def _reopen_seconds(data_dir: DataDir) -> float:
    """Median time from opening the data directory to the first answered reads."""
    samples = []
    for _ in range(REOPENS):
        start = time.perf_counter()
        node = open_node(data_dir, None)  # only read
        rpc = JsonRpc(node)
        for method, params in (
            ("eth_blockNumber", []),
            ("eth_getBlockByNumber", ["latest", False]),
            ("eth_getBalance", [node.config.validator, "latest"]),
        ):
            answer = rpc.handle({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
            if not isinstance(answer, dict) or "result" not in answer:
                raise RuntimeError(f"{method} after re-opening: {answer}")
        samples.append(time.perf_counter() - start)
        node.close()
    return statistics.median(samples)


def measure() -> list[Figure]:
    artifacts = load_artifacts()
    office = LocalSigner.generate()
    spent = {"eth-tester": 0.0, "in process": 0.0, "served": 0.0, "anvil": 0.0}
    batch_spent = {"served": 0.0, "anvil": 0.0}
    with (
        tempfile.TemporaryDirectory(prefix="bench-chain-") as tmp,
        AnvilNode(chain_id=CHAIN_ID) as anvil,
        Progress(transient=True) as progress,
    ):
        chain = DataDir(Path(tmp) / "chain")
        config = ChainConfig(
            chain_id=CHAIN_ID, validator=office.address, genesis_timestamp=int(time.time())
        )

        def populate(node: Node, target: DataDir) -> None:
            _deploy(EmbeddedBackend(node), office, artifacts).manifest.save(target.manifest)

        initialize(chain.root, config, populate)
        anvil_ledger = _deploy(anvil.backend(), office, artifacts)
        tester = EthTesterBackend()
        tester_ledger = _deploy(tester, office, artifacts)
        registrations = Registrations(anvil_ledger, office, artifacts)
        shared = iter(registrations.sign(CHAIN_ID, 4, BATCHES * BATCH + 2 * ROUNDS * PER_ROUND))
        own = iter(
            Registrations(tester_ledger, office, artifacts).sign(
                tester.chain_id, 4, ROUNDS * PER_ROUND
            )
        )
        anvil_w3 = anvil.backend().w3

        task = progress.add_task("registrations in batches", total=BATCHES)
        with served(chain.root) as url:
            for _ in range(BATCHES):
                batch = [next(shared) for _ in range(BATCH)]
                batch_spent["served"] += _in_batches(url, batch)
                batch_spent["anvil"] += _in_batches(anvil.url, batch)
                progress.advance(task)
        size_before = _size(chain)

        task = progress.add_task("registrations one by one", total=2 * ROUNDS)
        persistent = EmbeddedBackend.open(
            chain.root, DeploymentManifest.load(chain.manifest).account_rules
        )
        try:
            for _ in range(ROUNDS):
                spent["eth-tester"] += _one_by_one(tester.w3, [next(own) for _ in range(PER_ROUND)])
                same = [next(shared) for _ in range(PER_ROUND)]
                spent["in process"] += _one_by_one(persistent.w3, same)
                spent["anvil"] += _one_by_one(anvil_w3, same)
                progress.advance(task)
        finally:
            persistent.close()
        with served(chain.root) as url:
            served_w3 = Web3(HTTPProvider(url))
            for _ in range(ROUNDS):
                same = [next(shared) for _ in range(PER_ROUND)]
                spent["served"] += _one_by_one(served_w3, same)
                spent["anvil"] += _one_by_one(anvil_w3, same)
                progress.advance(task)
        size_after = _size(chain)

        small = _history(Path(tmp), HISTORY_SMALL, progress)
        large = _history(Path(tmp), HISTORY_LARGE, progress)
        reopen_small = _reopen_seconds(small)
        reopen_large = _reopen_seconds(large)
        large_size = _size(large)

    def rate(name: str, count: int) -> float:
        return count / spent[name]

    n = ROUNDS * PER_ROUND
    tester_rate = rate("eth-tester", n)
    in_process = rate("in process", n)
    served_rate = rate("served", n)
    anvil_rate = rate("anvil", 2 * n)
    batched = {name: BATCHES * BATCH / seconds for name, seconds in batch_spent.items()}
    per_thousand = (size_after - size_before) / (2 * n) * 1000 / 1e6
    return [
        Figure("tx_per_s.eth_tester_in_memory", tester_rate, "tx/s", note="one by one"),
        Figure("tx_per_s.persistent_in_process", in_process, "tx/s", note="one by one"),
        Figure("tx_per_s.persistent_served", served_rate, "tx/s", note="HTTP, one by one"),
        Figure("tx_per_s.anvil", anvil_rate, "tx/s", note="HTTP, one by one, same txs"),
        Figure(
            "ratio.persistent_vs_eth_tester",
            in_process / tester_rate,
            "x",
            target=0.8,
            at_most=False,
            note="both in process",
        ),
        Figure("ratio.persistent_served_vs_anvil", served_rate / anvil_rate, "x", note="HTTP"),
        Figure("ratio.persistent_in_process_vs_anvil", in_process / anvil_rate, "x"),
        Figure(
            "tx_per_s.persistent_served_batches",
            batched["served"],
            "tx/s",
            note=f"JSON-RPC batches of {BATCH}",
        ),
        Figure("tx_per_s.anvil_batches", batched["anvil"], "tx/s", note=f"batches of {BATCH}"),
        Figure(
            "ratio.persistent_served_vs_anvil_batches",
            batched["served"] / batched["anvil"],
            "x",
        ),
        Figure(
            "size.per_1000_registrations",
            per_thousand,
            "MB",
            note=f"one block each; measured over {2 * n:,}",
        ),
        Figure(
            "size.history_50000_transactions",
            large_size / 1e6,
            "MB",
            note=f"{HISTORY_LARGE // HISTORY_PER_BLOCK:,} blocks",
        ),
        Figure("reopen_s.500_transactions", reopen_small, "s", note="to first reads, median"),
        Figure("reopen_s.50000_transactions", reopen_large, "s", note="to first reads, median"),
        Figure(
            "ratio.reopen_50000_vs_500",
            reopen_large / reopen_small,
            "x",
            target=1.5,
            note="about as long",
        ),
    ]


def main() -> None:
    args = arguments(__doc__ or "")
    report("The embedded chain: throughput, size, re-open time", measure(), as_json=args.json)


if __name__ == "__main__":
    main()
