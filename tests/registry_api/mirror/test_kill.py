"""Kill test: `ipledger mirror sync` killed with SIGKILL at random moments of a backfill of over
10,000 events from anvil and restarted each time leaves a mirror equal to a fresh index."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.workload import populate
from ledger.artifacts import ArtifactSet
from ledger.deploy import OfficeBootstrap, deploy_ledger
from registry_api.db.session import create_database_engine, session_factory
from registry_api.mirror.apply import read_state
from registry_api.mirror.indexer import Indexer
from tests.conftest import fingerprint, start_anvil
from tests.registry_api.mirror.conftest import YEAR, Database, PostgresServer, digests
from wallets.signer import LocalSigner

RIGHTS = (
    12_000  # 100 a transaction: with enrolments, status changes and assignments > 12,000 events
)
KILLS = 20
IPLEDGER = Path(sys.executable).parent / "ipledger"


@pytest.mark.anvil
@pytest.mark.postgresql
@pytest.mark.slow
def test_an_indexer_killed_at_random_moments_leaves_a_mirror_equal_to_a_fresh_index(
    artifacts: ArtifactSet, postgres: PostgresServer, tmp_path: Path, seed: int
) -> None:
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
        workload = populate(ledger, office, artifacts, rights=RIGHTS, assignments=60)
        assert workload.logs >= 10_000
        manifest = tmp_path / "manifest.json"
        ledger.manifest.save(manifest)
        chain_id = ledger.manifest.chain_id

        mirror_url = postgres.new_database()
        env = {
            **os.environ,
            "IPLEDGER_RPC_URL": node.url,
            "IPLEDGER_MANIFEST": str(manifest),
            "IPLEDGER_DATABASE_URL": mirror_url,
            # One or two blocks (100-200 events) a transaction: many commits to be killed around.
            "IPLEDGER_BATCH_BLOCKS": "1",
            "IPLEDGER_MAX_BATCH_BLOCKS": "2",
        }
        engine = create_database_engine(mirror_url)
        sessions = session_factory(engine)

        def checkpoint() -> int:
            with sessions() as session:
                state = read_state(session, chain_id)
            return -1 if state is None else state.head.number

        rng = random.Random(seed)
        progress = []
        for kill in range(KILLS):
            before = checkpoint()
            process = subprocess.Popen(
                [str(IPLEDGER), "mirror", "sync"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            if kill % 5 == 4:
                time.sleep(rng.uniform(0.0, 2.0))  # anywhere in start-up: connecting, migrating
            else:
                deadline = time.monotonic() + 60
                while checkpoint() == before and time.monotonic() < deadline:
                    time.sleep(0.005)
                time.sleep(rng.uniform(0.0, 0.15))  # anywhere in the backfill
            process.kill()
            process.wait()
            assert process.returncode == -9, (
                f"the sync ended before kill {kill + 1} ({process.returncode}): "
                f"{process.stderr.read().decode() if process.stderr else ''}"
            )
            progress.append(checkpoint())
        head = backend.w3.eth.block_number
        assert progress[-1] < head, "every kill must land before the backfill is done"
        assert len(set(progress)) > KILLS // 2, f"kills should land at many points: {progress}"

        finished = subprocess.run(
            [str(IPLEDGER), "mirror", "sync"], env=env, capture_output=True, timeout=300
        )
        assert finished.returncode == 0, finished.stderr.decode()

        fresh_url = postgres.new_database()
        fresh_engine = create_database_engine(fresh_url)
        fresh = Database(fresh_url, fresh_engine, session_factory(fresh_engine))
        Indexer.for_deployment(backend.w3, ledger.manifest, artifacts, fresh.sessions).sync()
        mirror = Database(mirror_url, engine, sessions)
        mirrored = digests(mirror, chain_id)
        assert mirrored == digests(fresh, chain_id)
        assert int(mirrored["chain_events"].split(":")[0]) >= 10_000
        engine.dispose()
        fresh_engine.dispose()
    finally:
        node.stop()
