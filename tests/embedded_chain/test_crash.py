"""kill -9 of a process writing to the chain: nothing acknowledged is lost, the chain stays whole.

A writer process (`crash_writer`) holds the chain and registers rights one by one, printing each
one the node has acknowledged. It is killed with SIGKILL at random moments (while opening the
chain, executing, mining or committing) and started again on the same data directory, over and
over. At the end every acknowledged right must be on chain, and the chain must be consistent:
blocks linked to their parents, receipts for every transaction, and the log index equal to the
logs in the receipts.
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import cast

from eth_typing import Hash32
from eth_utils.abi import event_abi_to_log_topic
from web3 import Web3
from web3.types import TxData

from embedded_chain.datadir import DataDir
from ledger.artifacts import ArtifactSet
from ledger.backends.embedded import EmbeddedBackend
from ledger.deploy import open_ledger
from ledger.manifest import DeploymentManifest
from ledger.types import AssetKind, Share
from tests.conftest import ACME_ID
from tests.embedded_chain.conftest import Template

ROOT = Path(__file__).resolve().parents[2]
KILLS = 22
#: Of which this many while the writer is still starting (opening the chain, compiling...).
KILLS_DURING_START = 4
FIRST_ACK_TIMEOUT_SECONDS = 60.0


class Writer:
    """One run of the writer process, and what it printed before it died."""

    def __init__(self, chain_dir: Path, first_number: int, office_key: bytes) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.embedded_chain.crash_writer",
                str(chain_dir),
                str(first_number),
                "0x" + office_key.hex(),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._output = b""

    def wait_for_first_ack(self) -> None:
        assert self.process.stdout is not None
        deadline = time.monotonic() + FIRST_ACK_TIMEOUT_SECONDS
        while b"ack " not in self._output:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the writer never acknowledged anything: {self._stderr()}")
            ready, _, _ = select.select([self.process.stdout], [], [], 0.05)
            if ready:
                self._output += os.read(self.process.stdout.fileno(), 65536)

    def kill(self) -> dict[int, bytes]:
        """SIGKILL; the registrations it acknowledged (number -> asset id)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        assert self.process.returncode == -signal.SIGKILL, self._stderr()
        assert self.process.stdout is not None
        self._output += self.process.stdout.read()
        acknowledged = {}
        for line in self._output.decode().splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "ack":
                acknowledged[int(parts[1])] = bytes.fromhex(parts[2][2:])
        return acknowledged

    def _stderr(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        return self.process.stderr.read().decode() if self.process.stderr else ""


def test_every_acknowledged_registration_survives_kill_9_at_random_moments(
    chain_dir: Path, template: Template, artifacts: ArtifactSet, seed: int
) -> None:
    rng = random.Random(seed)
    kills_during_start = set(rng.sample(range(KILLS), KILLS_DURING_START))
    acknowledged: dict[int, bytes] = {}

    for run in range(KILLS):
        writer = Writer(chain_dir, run * 1_000_000, template.office_key)
        if run in kills_during_start:
            time.sleep(rng.uniform(0.2, 2.0))
        else:
            writer.wait_for_first_ack()
            time.sleep(rng.uniform(0.0, 0.3))
        acknowledged |= writer.kill()

    assert len(acknowledged) >= KILLS - KILLS_DURING_START, f"seed {seed}"
    manifest = DeploymentManifest.load(DataDir(chain_dir).manifest)
    backend = EmbeddedBackend.open(chain_dir, manifest.account_rules)
    try:
        ledger = open_ledger(backend, manifest, artifacts)
        for number, asset_id in acknowledged.items():
            expected = ledger.assets.asset_id_of(b"KR", AssetKind.PATENT, f"10-2026-{number:09d}")
            assert asset_id == expected, f"seed {seed}"
            assert ledger.assets.asset(asset_id).owners == (Share(ACME_ID, 10_000),), f"seed {seed}"
        registered = _assert_consistent(backend.w3, _topic(artifacts))
        assert set(acknowledged.values()) <= registered, f"seed {seed}"
    finally:
        backend.close()


def _topic(artifacts: ArtifactSet) -> bytes:
    (event,) = (
        entry
        for entry in artifacts.get("IPAssetRegistry").abi
        if entry["type"] == "event" and entry.get("name") == "AssetRegistered"
    )
    return bytes(event_abi_to_log_topic(event))


def _assert_consistent(w3: Web3, asset_registered: bytes) -> set[bytes]:
    """Check every block, receipt and indexed log; return the ids of all registered rights."""
    head = w3.eth.block_number
    registered: set[bytes] = set()
    parent = w3.eth.get_block(0)
    for number in range(1, head + 1):
        block = w3.eth.get_block(number, full_transactions=True)
        assert block["parentHash"] == parent["hash"]
        receipts = w3.eth.get_block_receipts(number)
        transactions = cast(list[TxData], block["transactions"])  # full_transactions=True
        assert [r["transactionHash"] for r in receipts] == [t["hash"] for t in transactions]
        assert sum(r["gasUsed"] for r in receipts) == block["gasUsed"]
        for receipt in receipts:
            assert w3.eth.get_transaction_receipt(receipt["transactionHash"]) == receipt
        in_receipts = [log for receipt in receipts for log in receipt["logs"]]
        assert w3.eth.get_logs({"fromBlock": number, "toBlock": number}) == in_receipts
        registered |= {
            bytes(log["topics"][1])
            for log in in_receipts
            if bytes(log["topics"][0]) == asset_registered
        }
        parent = block
    indexed = w3.eth.get_logs(
        {"fromBlock": 0, "toBlock": head, "topics": [Hash32(asset_registered)]}
    )
    assert {bytes(log["topics"][1]) for log in indexed} == registered
    return registered
