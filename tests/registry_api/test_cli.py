"""The `ipledger` command line: demo, build, deploy and verify against a real node."""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from eth_account import Account
from typer.testing import CliRunner

from ledger.artifacts import ArtifactSet
from ledger.backends.anvil import AnvilNode
from ledger.deploy import open_ledger
from ledger.manifest import DeploymentManifest
from registry_api.cli import app
from registry_api.identity.certificates import self_signed
from tests.conftest import start_anvil
from wallets.signer import LocalSigner

runner = CliRunner()


@pytest.fixture
def anvil() -> Iterator[AnvilNode]:
    node = start_anvil()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "deployer.key"
    path.write_text(Account.create().key.hex())
    return path


def test_the_demo_records_an_assignment_with_co_owner_consent() -> None:
    result = runner.invoke(app, ["demo"])

    assert result.exit_code == 0, result.output
    assert "has not consented" in result.output
    assert "assignment registered" in result.output


def test_build_lists_the_contracts() -> None:
    result = runner.invoke(app, ["contracts", "build"])

    assert result.exit_code == 0, result.output
    assert "ParticipantRegistry" in result.output
    assert "IPAssetRegistry" in result.output


@pytest.mark.anvil
def test_deploy_then_verify_against_a_node(
    anvil: AnvilNode, key_file: Path, tmp_path: Path, artifacts: ArtifactSet
) -> None:
    manifest_path = tmp_path / "deployments" / "anvil.json"

    deployed = runner.invoke(
        app,
        [
            "contracts",
            "deploy",
            "--rpc",
            anvil.url,
            "--key-file",
            str(key_file),
            "--out",
            str(manifest_path),
        ],
    )
    verified = runner.invoke(
        app, ["contracts", "verify", "--rpc", anvil.url, "--manifest", str(manifest_path)]
    )

    assert deployed.exit_code == 0, deployed.output
    assert verified.exit_code == 0, verified.output
    manifest = DeploymentManifest.load(manifest_path)
    assert manifest.chain_id == anvil.chain_id
    office_pem = manifest_path.with_name("anvil-office.pem")
    assert office_pem.is_file()
    assert manifest_path.with_name("anvil-office-key.pem").is_file()
    ledger = open_ledger(anvil.backend(), manifest, artifacts)
    deployer = LocalSigner.from_key_file(key_file).address
    assert ledger.participants.is_office(deployer)


@pytest.mark.anvil
def test_verify_fails_naming_the_contract_that_differs(
    anvil: AnvilNode, key_file: Path, tmp_path: Path
) -> None:
    manifest_path = tmp_path / "m.json"
    runner.invoke(
        app,
        [
            "contracts",
            "deploy",
            "--rpc",
            anvil.url,
            "--key-file",
            str(key_file),
            "--out",
            str(manifest_path),
        ],
    )
    data = json.loads(manifest_path.read_text())
    contracts = data["contracts"]
    contracts["IPAssetRegistry"]["address"] = contracts["ParticipantRegistry"]["address"]
    manifest_path.write_text(json.dumps(data))

    result = runner.invoke(
        app, ["contracts", "verify", "--rpc", anvil.url, "--manifest", str(manifest_path)]
    )

    assert result.exit_code == 1
    assert "differs from the repository for: IPAssetRegistry" in result.output.replace("\n", " ")


@pytest.mark.anvil
def test_deploy_puts_the_given_office_certificate_fingerprint_on_chain(
    anvil: AnvilNode, key_file: Path, tmp_path: Path, artifacts: ArtifactSet
) -> None:
    created = self_signed("Office", valid_days=30, now=datetime.datetime.now(datetime.UTC))
    pem = tmp_path / "office.pem"
    pem.write_bytes(created.certificate.public_bytes(serialization.Encoding.PEM))
    manifest_path = tmp_path / "m.json"

    result = runner.invoke(
        app,
        [
            "contracts", "deploy", "--rpc", anvil.url, "--key-file", str(key_file),
            "--office-id", "7", "--office-certificate", str(pem), "--out", str(manifest_path),
        ],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    ledger = open_ledger(anvil.backend(), DeploymentManifest.load(manifest_path), artifacts)
    der = created.certificate.public_bytes(serialization.Encoding.DER)
    assert (
        ledger.participants.participant(7).certificate_fingerprint == hashlib.sha256(der).digest()
    )


def test_deploy_reports_an_unreadable_key_file_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("nonsense")

    result = runner.invoke(
        app, ["contracts", "deploy", "--rpc", "http://127.0.0.1:9", "--key-file", str(bad)]
    )

    assert result.exit_code == 1
    assert "neither a keystore nor a 32-byte hex key" in result.output
    assert "Traceback" not in result.output
