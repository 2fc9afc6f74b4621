"""The deployment manifest: which code sits at which address on which chain."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from eth_typing import ChecksumAddress
from pydantic import BaseModel, ConfigDict

from ledger.artifacts import CompilerInfo

#: In dependency order: each contract's constructor takes the addresses of those before it.
LEDGER_CONTRACTS = ("ParticipantRegistry", "IPAssetRegistry")
#: The contract that answers Besu's account-rules question (`transactionAllowed`): who may send.
ACCOUNT_RULES_CONTRACT = "ParticipantRegistry"
#: The service's data directory (`Settings.data_dir`, default `data`): where `make run`, that is
#: `ipledger serve` on its embedded chain, keeps the manifest of the chain it created.
DATA_DIR_ENV = "IPLEDGER_DATA_DIR"
DEFAULT_DATA_DIR = Path("data")


class ManifestNotFound(FileNotFoundError):
    """No deployment manifest was given and none is where one is looked for."""


def default_manifest_path(chain_id: int) -> Path:
    """Where a deployment to `chain_id` is recorded unless told otherwise.

    In the user's own directory, beside the wallets (`~/.ipledger/wallets`): an installed
    package's directory is not the user's to write, and a checkout's files are not its data.
    """
    return Path.home() / ".ipledger" / "deployments" / f"{chain_id}.json"


def find_manifest(
    chain_id: int,
    given: Path | None,
    data_dir: Path | None = None,
    *,
    tell: Callable[[str], None] = lambda _: None,
) -> Path:
    """The deployment manifest for `chain_id`: `given` (--manifest or IPLEDGER_MANIFEST), else
    the per-chain default, else the data directory's (`data_dir`, else IPLEDGER_DATA_DIR, else
    `data`) when it is for this chain; ManifestNotFound saying what to pass otherwise.

    `tell` hears one sentence when the data directory's manifest is used: nobody named it.
    """
    if given is not None:
        return given
    default = default_manifest_path(chain_id)
    if default.exists():
        return default
    root = (
        data_dir if data_dir is not None else Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)
    )
    embedded = root / "manifest.json"
    # A data directory of another chain (an old `make run`) must not name this one's code.
    if embedded.exists() and DeploymentManifest.load(embedded).chain_id == chain_id:
        tell(f"using the deployment manifest of the data directory: {embedded}")
        return embedded
    raise ManifestNotFound(
        f"no deployment manifest for chain {chain_id} (looked for {default} and {embedded}): "
        "pass --manifest or set IPLEDGER_MANIFEST (or IPLEDGER_DATA_DIR to the directory "
        "`ipledger serve` created)"
    )


class ContractDeployment(BaseModel):
    model_config = ConfigDict(frozen=True)

    address: ChecksumAddress
    transaction_hash: str
    block_number: int
    #: keccak256 of the runtime code with immutables masked (see ContractArtifact.runtime_hash).
    runtime_hash: str
    source_hash: str


class OfficeRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    participant_id: int
    certificate_fingerprint: str
    keys: tuple[ChecksumAddress, ...]


class DeploymentManifest(BaseModel):
    model_config = ConfigDict(frozen=True)

    chain_id: int
    deployer: ChecksumAddress
    #: First block of the deployment: where an indexer starts reading logs.
    block_number: int
    compiler: CompilerInfo
    office: OfficeRecord
    contracts: dict[str, ContractDeployment]

    def address_of(self, name: str) -> ChecksumAddress:
        return self.contracts[name].address

    @property
    def account_rules(self) -> ChecksumAddress:
        """The contract a node asks whether an account may send (node-level permissioning)."""
        return self.address_of(ACCOUNT_RULES_CONTRACT)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.model_dump_json(indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> DeploymentManifest:
        return cls.model_validate_json(path.read_text())
