"""Fixtures of the embedded chain: a deployed chain on a data directory, copied for each test."""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_typing import ChecksumAddress

from embedded_chain.datadir import DataDir, initialize
from embedded_chain.genesis import ChainConfig
from embedded_chain.node import Node
from ledger.artifacts import ArtifactSet
from ledger.backends.embedded import EmbeddedBackend
from ledger.deploy import Ledger, OfficeBootstrap, deploy_ledger, open_ledger
from ledger.manifest import DeploymentManifest
from ledger.types import Role
from tests.conftest import ACME_ID, OFFICE_ID, YEAR, fingerprint
from wallets.signer import LocalSigner

#: Not anvil's and not the in-memory default: nothing may assume a chain id.
CHAIN_ID = 4_242


@dataclass(frozen=True)
class Template:
    """A chain made by `initialize`: contracts deployed, the office and ACME enrolled."""

    root: Path
    office_key: bytes
    acme: LocalSigner
    #: The deployed ParticipantRegistry: the node asks it who may send.
    account_rules: ChecksumAddress

    @property
    def office(self) -> LocalSigner:
        return LocalSigner(self.office_key)


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory, artifacts: ArtifactSet) -> Template:
    root = tmp_path_factory.mktemp("template") / "chain"
    office_key = bytes(Account.create().key)
    office = LocalSigner(office_key)
    acme = LocalSigner.generate()
    now = int(time.time())
    config = ChainConfig(chain_id=CHAIN_ID, validator=office.address, genesis_timestamp=now)
    deployed: list[DeploymentManifest] = []

    def populate(node: Node, target: DataDir) -> None:
        bootstrap = OfficeBootstrap(
            OFFICE_ID, fingerprint("office"), now + 10 * YEAR, (office.address,)
        )
        ledger = deploy_ledger(EmbeddedBackend(node), office, artifacts, bootstrap)
        ledger.manifest.save(target.manifest)
        deployed.append(ledger.manifest)
        ledger.participants.enrol(
            ACME_ID, Role.PARTICIPANT, fingerprint("acme"), now + 5 * YEAR, [acme.address]
        )

    initialize(root, config, populate)
    return Template(root, office_key, acme, deployed[0].account_rules)


@pytest.fixture
def chain_dir(template: Template, tmp_path: Path) -> Path:
    """A fresh copy of the template chain for this test."""
    return Path(shutil.copytree(template.root, tmp_path / "chain"))


@pytest.fixture
def chain(chain_dir: Path, template: Template) -> Iterator[EmbeddedBackend]:
    """The copied chain opened in this process (permissioned by its ParticipantRegistry)."""
    backend = EmbeddedBackend.open(chain_dir, template.account_rules)
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture
def ledger(chain: EmbeddedBackend, chain_dir: Path, artifacts: ArtifactSet) -> Ledger:
    return open_ledger(chain, DeploymentManifest.load(DataDir(chain_dir).manifest), artifacts)


def sha(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()
