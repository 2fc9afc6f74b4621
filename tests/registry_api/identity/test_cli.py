"""`ipledger identity`: the office CA from the command line; checking a counterparty alone."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from cryptography.hazmat.primitives.serialization import Encoding
from eth_account import Account
from typer.testing import CliRunner

from ledger.backends.anvil import AnvilNode
from ledger.backends.base import ChainBackend
from ledger.backends.rpc import RpcBackend
from ledger.certificates import ParticipantCertificate
from registry_api.cli import app
from tests.conftest import Parties, start_anvil
from wallets.signer import LocalSigner

pytestmark = pytest.mark.anvil
runner = CliRunner()
on_anvil = pytest.mark.parametrize("backend", ["anvil"], indirect=True)
ENV = {"IPLEDGER_CA_PASSWORD": "ca password, kept offline", "IPLEDGER_KEY_PASSWORD": None}


def ipledger(*args: str) -> typing.Any:
    return runner.invoke(app, list(args), env=ENV)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def chain(world: Parties, backend: ChainBackend, tmp_path: Path) -> list[str]:
    """--rpc and --manifest options for the deployed ledger."""
    manifest = tmp_path / "manifest.json"
    world.ledger.manifest.save(manifest)
    return ["--rpc", typing.cast(RpcBackend, backend).url, "--manifest", str(manifest)]


@pytest.fixture
def ca_dir(tmp_path: Path) -> Path:
    path = tmp_path / "ca"
    created = ipledger(
        "identity", "init-ca", "--ca-dir", str(path),
        "--name", "Korean Intellectual Property Office",
        "--country", "KR", "--registration-number", "KR-IPO-0001",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    return path


@on_anvil
def test_the_office_enrols_with_the_cli_and_anyone_verifies_the_counterparty(
    world: Parties, chain: list[str], ca_dir: Path, tmp_path: Path
) -> None:
    gamma = LocalSigner.generate()
    office_key = tmp_path / "office.key"
    office_key.write_text(world.office._account.key.hex())  # the office on this machine

    enrolled = ipledger(
        "identity", "enrol", "--ca-dir", str(ca_dir), *chain, "--key-file", str(office_key),
        "--participant-id", "20", "--legal-name", "Gamma Materials GmbH",
        "--registration-number", "HRB 123456", "--country", "de", "--role", "participant",
        "--public-key", "0x" + gamma.public_key.hex(),
    )  # fmt: skip
    verified = ipledger("identity", "verify", gamma.address, *chain, "--ca-dir", str(ca_dir))
    world.ledger.participants.suspend(20, 7)
    suspended = ipledger("identity", "verify", gamma.address, *chain, "--ca-dir", str(ca_dir))

    assert enrolled.exit_code == 0, enrolled.output
    assert "enrolled participant 20" in enrolled.output
    assert verified.exit_code == 0, verified.output
    assert "Gamma Materials GmbH (DE, reg. HRB 123456), participant 20" in flat(verified.output)
    assert "identity verified: participant 20" in verified.output
    assert suspended.exit_code == 1
    assert "error: identity NOT verified: participant-status: participant 20 is suspended" in flat(
        suspended.output
    )


@on_anvil
def test_verify_names_the_failed_check_of_a_tampered_certificate(
    world: Parties, chain: list[str], ca_dir: Path, tmp_path: Path
) -> None:
    from registry_api.identity.authority import CaDirectory
    from tests.conftest import ACME_ID, certify

    authority = CaDirectory(ca_dir).open(ENV["IPLEDGER_CA_PASSWORD"].encode())  # type: ignore[union-attr]
    genuine = certify(world, authority, ACME_ID, world.acme, "Acme Robotics Ltd")
    der = genuine.certificate.public_bytes(Encoding.DER)
    tampered = ParticipantCertificate.parse(der.replace(b"Acme Robotics Ltd", b"Acme Robotics Inc"))
    acme_pem = tmp_path / "acme.pem"
    acme_pem.write_text(tampered.pem())
    root = ["--root", str(ca_dir / "root.pem")]

    result = ipledger(
        "identity", "verify", world.acme.address, *chain, "--certificates", str(acme_pem), *root
    )

    assert result.exit_code == 1
    shown = flat(result.output)
    assert "identity NOT verified: chain-to-root: the signature does not verify" in shown
    assert "fingerprint:" in shown


@pytest.fixture
def anvil() -> Iterator[AnvilNode]:
    node = start_anvil()
    try:
        yield node
    finally:
        node.stop()


def test_deploy_with_the_office_ca_puts_a_verifiable_office_certificate_on_chain(
    anvil: AnvilNode, ca_dir: Path, tmp_path: Path
) -> None:
    key_file = tmp_path / "deployer.key"
    key_file.write_text(Account.create().key.hex())
    manifest = tmp_path / "deployments" / "anvil.json"

    deployed = ipledger(
        "contracts", "deploy", "--rpc", anvil.url, "--key-file", str(key_file),
        "--ca-dir", str(ca_dir), "--out", str(manifest),
    )  # fmt: skip
    verified = ipledger(
        "identity", "verify", "1", "--rpc", anvil.url, "--manifest", str(manifest),
        "--ca-dir", str(ca_dir),
    )  # fmt: skip

    assert deployed.exit_code == 0, deployed.output
    assert "SELF-SIGNED" not in deployed.output
    assert "office certificate issued by Korean Intellectual Property Office" in flat(
        deployed.output
    )
    assert verified.exit_code == 0, verified.output
    assert (
        "Korean Intellectual Property Office (KR, reg. KR-IPO-0001), participant 1, roles OFFICE"
        in flat(verified.output)
    )


def test_deploy_without_a_ca_labels_its_stand_in_certificate(
    anvil: AnvilNode, tmp_path: Path
) -> None:
    key_file = tmp_path / "deployer.key"
    key_file.write_text(Account.create().key.hex())

    deployed = ipledger(
        "contracts", "deploy", "--rpc", anvil.url, "--key-file", str(key_file),
        "--out", str(tmp_path / "m.json"),
    )  # fmt: skip

    assert deployed.exit_code == 0, deployed.output
    assert "no office CA given (--ca-dir): created a SELF-SIGNED stand-in" in flat(deployed.output)


def test_a_legal_name_with_markup_is_printed_as_it_reads_and_one_with_controls_is_refused(
    ca_dir: Path,
) -> None:
    gamma = LocalSigner.generate()

    def issue(legal_name: str) -> Result:
        result: Result = ipledger(
            "identity", "issue", "--ca-dir", str(ca_dir), "--participant-id", "20",
            "--legal-name", legal_name,
            "--registration-number", "HRB 123456", "--country", "de", "--role", "participant",
            "--public-key", "0x" + gamma.public_key.hex(),
        )  # fmt: skip
        return result

    issued = issue("G[/bold] [conceal]x[/conceal]")
    refused = issue("G\nroles OFFICE\x1b[8m")

    assert issued.exit_code == 0, issued.output
    assert "G[/bold] [conceal]x[/conceal]" in issued.output
    assert refused.exit_code != 0
    assert "\x1b" not in refused.output
    assert "control character U+000A" in refused.output
