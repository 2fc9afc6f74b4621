"""Reorgs: the mirror rolls back to the common ancestor; equals a fresh index of the new chain."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from web3.types import RPCEndpoint

from bench.workload import Workload, assign, enrol_participants, make_right
from ledger.artifacts import ArtifactSet
from ledger.backends.anvil import AnvilNode
from ledger.deploy import OfficeBootstrap, deploy_ledger
from ledger.types import AssetStatus, Share
from registry_api.mirror.apply import DeepReorg
from registry_api.mirror.indexer import Indexer, IndexerOptions
from registry_api.mirror.source import BlockHeader
from tests.conftest import fingerprint, start_anvil
from tests.registry_api.mirror.conftest import (
    YEAR,
    Database,
    Databases,
    History,
    RecordedChain,
    digests,
    indexer_over,
)
from wallets.signer import LocalSigner


def _fork(recorded: RecordedChain, keep: int, new_blocks: int) -> RecordedChain:
    """The recorded chain up to block `keep`, then `new_blocks` other blocks without logs."""
    headers = list(recorded.headers[: keep + 1])
    for n in range(new_blocks):
        parent = headers[-1]
        fake = hashlib.sha256(b"fork" + parent.hash + bytes([n])).digest()
        headers.append(BlockHeader(parent.number + 1, fake, parent.hash))
    logs = [entry for entry in recorded.all_logs if entry.block_number <= keep]
    return RecordedChain(headers, logs)


class SwitchingChain(RecordedChain):
    """A node whose canonical chain is replaced under the indexer."""

    def __init__(self, chain: RecordedChain) -> None:
        super().__init__(chain.headers, chain.all_logs)

    def switch_to(self, chain: RecordedChain) -> None:
        self.headers, self.all_logs = chain.headers, chain.all_logs


@pytest.mark.parametrize("depth", [1, 3, 6, 12])
def test_a_reorg_rolls_back_to_the_common_ancestor_and_back(
    history: History, databases: Databases, recorded: RecordedChain, depth: int
) -> None:
    mirror = databases.new()
    keep = recorded.head() - depth
    fork = _fork(recorded, keep, depth + 1)  # the new branch is longer, and has no logs
    node = SwitchingChain(recorded)
    indexer = indexer_over(node, history, mirror, batch_blocks=2, reorg_window=20)
    indexer.sync()

    node.switch_to(fork)
    on_fork = indexer.sync()
    fork_digests = digests(mirror, history.chain_id)
    node.switch_to(recorded)
    back = indexer.sync()

    assert on_fork.reorgs == 1
    assert back.reorgs == 1
    assert fork_digests == _fresh_digests(databases.new(), history, fork)
    assert digests(mirror, history.chain_id) == _fresh_digests(databases.new(), history, recorded)


def test_a_reorg_deeper_than_the_window_stops_the_mirror(
    history: History, database: Database, recorded: RecordedChain
) -> None:
    node = SwitchingChain(recorded)
    indexer = indexer_over(node, history, database, batch_blocks=1_000, reorg_window=2)
    indexer.sync()

    node.switch_to(_fork(recorded, recorded.head() - 10, 11))

    with pytest.raises(DeepReorg):
        indexer.sync()


def _fresh_digests(database: Database, history: History, chain: RecordedChain) -> dict[str, str]:
    indexer_over(chain, history, database, batch_blocks=100_000).sync()
    return digests(database, history.chain_id)


# --- anvil_reorg on a real node ---


@dataclass
class AnvilLedger:
    node: AnvilNode
    workload: Workload
    now: int


@pytest.fixture(scope="module")
def anvil_ledger(artifacts: ArtifactSet) -> Iterator[AnvilLedger]:
    node = start_anvil()
    try:
        backend = node.backend()
        office = LocalSigner.generate()
        now = int(backend.w3.eth.get_block("latest")["timestamp"])
        ledger = deploy_ledger(
            backend,
            office,
            artifacts,
            OfficeBootstrap(1, fingerprint("office"), now + 10 * YEAR, (office.address,)),
        )
        workload = enrol_participants(ledger, office, artifacts, 4, now)
        sender = workload.sender()
        rng = random.Random(3)
        for batch in range(3):
            rights = [
                make_right(rng, 100 * batch + n, (Share(10 + n % 4, 10_000),), now)
                for n in range(10)
            ]
            sender.call("IPAssetRegistry", "registerAssets", rights, gas=2_000_000)
            sender.flush()
        yield AnvilLedger(node, workload, now)
    finally:
        node.stop()


def _right(anvil_ledger: AnvilLedger, number: int) -> bytes:
    from ledger.assets import asset_id

    right = make_right(random.Random(3), number, (Share(10, 10_000),), anvil_ledger.now)
    return asset_id(right.jurisdiction, right.kind, right.number)


def _anvil_indexer(anvil_ledger: AnvilLedger, database: Database) -> Indexer:
    ledger = anvil_ledger.workload.ledger
    return Indexer.for_deployment(
        ledger.chain.backend.w3,
        ledger.manifest,
        anvil_ledger.workload.artifacts,
        database.sessions,
        IndexerOptions(batch_blocks=2),
    )


@pytest.mark.anvil
@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_anvil_reorg_leaves_the_mirror_equal_to_a_fresh_index_of_the_new_chain(
    anvil_ledger: AnvilLedger, databases: Databases, depth: int
) -> None:
    workload = anvil_ledger.workload
    w3 = workload.ledger.chain.backend.w3
    backend = workload.ledger.chain.backend
    snapshot = backend.snapshot()
    try:
        # Five blocks of changes the mirror must undo: a lapse, new rights, an assignment filed
        # and registered (owners replaced), a revocation.
        sender = workload.sender()
        lapsing, revoked = _right(anvil_ledger, 0), _right(anvil_ledger, 101)
        sender.call("IPAssetRegistry", "setAssetStatus", lapsing, AssetStatus.LAPSED, 1)
        sender.flush()
        rng = random.Random(9)
        extra = [make_right(rng, 900 + n, (Share(11, 10_000),), anvil_ledger.now) for n in range(3)]
        sender.call("IPAssetRegistry", "registerAssets", extra, gas=1_000_000)
        sender.flush()
        assign(
            workload,
            [(_right(anvil_ledger, 200), 10)],
            rng=random.Random(1),
            now=anvil_ledger.now,
            reject_every=1_000,
        )
        sender = workload.sender()
        sender.call("IPAssetRegistry", "setAssetStatus", revoked, AssetStatus.REVOKED, 2)
        sender.flush()

        mirror = databases.new()
        indexer = _anvil_indexer(anvil_ledger, mirror)
        indexer.sync()
        head = w3.eth.block_number

        # The new branch: other transactions in each of the `depth` replaced blocks.
        replacement = workload.sender()
        replacement._nonce = w3.eth.get_transaction_count(workload.office.address, head - depth)
        pairs = []
        for n in range(depth):
            new = make_right(random.Random(n), 700 + n, (Share(12, 10_000),), anvil_ledger.now)
            replacement.call("IPAssetRegistry", "registerAssets", [new], gas=1_000_000)
            pairs.append(["0x" + replacement._pending[-1].hex(), n])
        response = w3.provider.make_request(RPCEndpoint("anvil_reorg"), [depth, pairs])
        assert "error" not in response, response

        report = indexer.sync()

        assert report.reorgs == 1
        fresh = databases.new()
        _anvil_indexer(anvil_ledger, fresh).sync()
        chain_id = workload.ledger.manifest.chain_id
        assert digests(mirror, chain_id) == digests(fresh, chain_id)
    finally:
        backend.revert(snapshot)
