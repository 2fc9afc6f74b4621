"""What the service publishes about its deployment for wallets and other clients."""

from __future__ import annotations

from ledger.artifacts import ArtifactSet
from tests.registry_api.service.conftest import Service


def test_the_deployment_publishes_every_contracts_errors_in_one_abi(
    service: Service, artifacts: ArtifactSet
) -> None:
    published = service.client.get("/v1/deployment").json()["errors"]

    declared = {
        (str(entry["name"]), str(entry["inputs"]))
        for artifact in artifacts.contracts.values()
        for entry in artifact.abi
        if entry["type"] == "error"
    }
    assert {(entry["name"], str(entry["inputs"])) for entry in published} == declared
    assert len(published) == len(declared)  # each once, though several contracts declare it
    # fileAssignment reverts with it from the participant registry; its caller's ABI lacks it.
    assert "ParticipantRegistryInvalidNonce" in {entry["name"] for entry in published}
