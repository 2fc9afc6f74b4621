"""`ipledger mirror sync` and `ipledger mirror verify` against a node."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.workload import Workload, enrol_participants, register_rights
from ledger.artifacts import ArtifactSet
from ledger.backends.anvil import AnvilNode
from ledger.deploy import OfficeBootstrap, deploy_ledger
from registry_api.cli import app
from registry_api.db.models import RightRow
from tests.conftest import fingerprint, start_anvil
from tests.registry_api.mirror.conftest import YEAR, Database
from wallets.signer import LocalSigner

runner = CliRunner()


@pytest.fixture(scope="module")
def node_with_rights(artifacts: ArtifactSet) -> Iterator[tuple[AnvilNode, Workload]]:
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
        workload = enrol_participants(ledger, office, artifacts, 3, now)
        register_rights(workload, 250, rng=random.Random(2), now=now)
        yield node, workload
    finally:
        node.stop()


@pytest.mark.anvil
def test_sync_then_verify_finds_no_difference_until_the_mirror_is_tampered_with(
    node_with_rights: tuple[AnvilNode, Workload], database: Database, tmp_path: Path
) -> None:
    node, workload = node_with_rights
    manifest = tmp_path / "manifest.json"
    workload.ledger.manifest.save(manifest)
    options = ["--rpc", node.url, "--manifest", str(manifest), "--database", database.url]

    synced = runner.invoke(app, ["mirror", "sync", *options])
    verified = runner.invoke(app, ["mirror", "verify", *options])
    with database.sessions.begin() as session:
        right = session.get(RightRow, workload.rights[17])
        assert right is not None
        right.status = 3  # EXPIRED, which the chain does not say
    tampered = runner.invoke(app, ["mirror", "verify", "--no-sync", *options])

    assert synced.exit_code == 0, synced.output
    # The deployment's 3 (office enrolled, 2 roles granted), 3 enrolments, 250 registrations.
    assert "256 events" in synced.output
    assert verified.exit_code == 0, verified.output
    assert "matches the chain" in verified.output
    assert tampered.exit_code == 1
    assert "EXPIRED" in tampered.output
    assert "REGISTERED" in tampered.output


def test_sync_without_a_manifest_fails_with_a_message(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "mirror",
            "sync",
            "--rpc",
            "http://127.0.0.1:9",
            "--manifest",
            str(tmp_path / "missing.json"),
            "--database",
            f"sqlite:///{tmp_path / 'm.db'}",
        ],
    )

    assert result.exit_code == 1
    assert "error" in result.output
