"""Deployment: manifest, wiring, and proof that the code on chain is the repository's."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.artifacts import ArtifactSet
from ledger.backends.base import ChainBackend
from ledger.deploy import DeploymentError, open_ledger, verify_deployment
from ledger.manifest import LEDGER_CONTRACTS, DeploymentManifest
from ledger.participants import NONCE_CONSUMER_ROLE
from tests.conftest import OFFICE_ID, Parties


def test_the_manifest_names_chain_addresses_code_hashes_and_first_block(
    world: Parties, artifacts: ArtifactSet, backend: ChainBackend
) -> None:
    manifest = world.ledger.manifest

    assert manifest.chain_id == backend.chain_id
    assert manifest.deployer == world.office.address
    assert tuple(manifest.contracts) == LEDGER_CONTRACTS
    for name, deployment in manifest.contracts.items():
        assert deployment.runtime_hash == artifacts.get(name).runtime_hash
        assert deployment.source_hash == artifacts.source_hash
        assert deployment.block_number >= manifest.block_number
    assert manifest.office.participant_id == OFFICE_ID
    assert manifest.office.keys == (world.office.address,)


def test_the_asset_registry_is_the_only_nonce_consumer(world: Parties) -> None:
    participants = world.ledger.participants
    assert participants.has_role(NONCE_CONSUMER_ROLE, world.ledger.assets.address)
    assert not participants.has_role(NONCE_CONSUMER_ROLE, world.office.address)


def test_a_manifest_round_trips_through_its_file(world: Parties, tmp_path: Path) -> None:
    path = tmp_path / "deployments" / "chain.json"
    world.ledger.manifest.save(path)
    assert DeploymentManifest.load(path) == world.ledger.manifest


def test_verification_passes_for_the_deployed_code(
    world: Parties, artifacts: ArtifactSet, backend: ChainBackend
) -> None:
    checks = verify_deployment(backend, world.ledger.manifest, artifacts)

    assert [check.name for check in checks] == list(LEDGER_CONTRACTS)
    assert all(check.matches for check in checks), checks


def test_verification_names_the_contract_whose_code_differs(
    world: Parties, artifacts: ArtifactSet, backend: ChainBackend
) -> None:
    manifest = world.ledger.manifest
    swapped = manifest.model_copy(
        update={
            "contracts": {
                **manifest.contracts,
                "ParticipantRegistry": manifest.contracts["IPAssetRegistry"],
            }
        }
    )

    checks = {check.name: check for check in verify_deployment(backend, swapped, artifacts)}

    assert not checks["ParticipantRegistry"].matches
    assert (
        "bytes" in checks["ParticipantRegistry"].reason
        or "hash" in checks["ParticipantRegistry"].reason
    )
    assert checks["IPAssetRegistry"].matches


def test_verification_reports_an_address_without_code(
    world: Parties, artifacts: ArtifactSet, backend: ChainBackend
) -> None:
    manifest = world.ledger.manifest
    empty = manifest.contracts["IPAssetRegistry"].model_copy(
        update={"address": world.outsider.address}
    )
    moved = manifest.model_copy(
        update={"contracts": {**manifest.contracts, "IPAssetRegistry": empty}}
    )

    checks = {check.name: check for check in verify_deployment(backend, moved, artifacts)}

    assert not checks["IPAssetRegistry"].matches
    assert checks["IPAssetRegistry"].reason == "no code at this address"


def test_immutables_are_masked_but_code_is_not(
    world: Parties, artifacts: ArtifactSet, backend: ChainBackend
) -> None:
    artifact = artifacts.get("IPAssetRegistry")
    deployed = bytes(backend.w3.eth.get_code(world.ledger.assets.address))
    assert deployed != artifact.runtime_bytecode  # immutables differ
    assert artifact.mask_immutables(deployed) == artifact.mask_immutables(artifact.runtime_bytecode)

    offset = next(i for i in range(len(deployed)) if not _in(i, artifact.immutable_references))
    tampered = bytearray(deployed)
    tampered[offset] ^= 0xFF
    assert artifact.mask_immutables(bytes(tampered)) != artifact.mask_immutables(deployed)


def test_a_manifest_for_another_chain_is_refused(
    world: Parties, artifacts: ArtifactSet, backend: ChainBackend
) -> None:
    elsewhere = world.ledger.manifest.model_copy(update={"chain_id": backend.chain_id + 1})
    with pytest.raises(DeploymentError, match="chain"):
        open_ledger(backend, elsewhere, artifacts)
    with pytest.raises(DeploymentError, match="chain"):
        verify_deployment(backend, elsewhere, artifacts)


def _in(offset: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(start <= offset < start + length for start, length in ranges)
