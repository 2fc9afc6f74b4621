"""Deploying the contract set, opening a deployed one, and proving what is on chain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from ledger.artifacts import ArtifactSet, ContractArtifact
from ledger.assets import IPAssetRegistryClient
from ledger.backends.base import ChainBackend
from ledger.chain import Chain
from ledger.errors import LedgerError
from ledger.manifest import LEDGER_CONTRACTS, ContractDeployment, DeploymentManifest, OfficeRecord
from ledger.participants import NONCE_CONSUMER_ROLE, ParticipantRegistryClient
from ledger.signer import Signer


class DeploymentError(LedgerError):
    """The deployment could not be completed or does not match."""


@dataclass(frozen=True)
class OfficeBootstrap:
    """The office as the first participant, enrolled by the ParticipantRegistry's constructor."""

    participant_id: int
    certificate_fingerprint: bytes
    certificate_not_after: int
    keys: tuple[ChecksumAddress, ...]


@dataclass(frozen=True)
class Ledger:
    """Clients of one deployed contract set."""

    chain: Chain
    manifest: DeploymentManifest
    participants: ParticipantRegistryClient
    assets: IPAssetRegistryClient

    def connect(self, sender: Signer) -> Ledger:
        """The same clients, sending with `sender`."""
        return Ledger(
            self.chain,
            self.manifest,
            self.participants.connect(sender),
            self.assets.connect(sender),
        )


def open_ledger(
    backend: ChainBackend,
    manifest: DeploymentManifest,
    artifacts: ArtifactSet,
    sender: Signer | None = None,
) -> Ledger:
    """Clients for the contracts that `manifest` names, on `backend`'s chain."""
    if backend.chain_id != manifest.chain_id:
        raise DeploymentError(
            f"the manifest is for chain {manifest.chain_id}, the node is chain {backend.chain_id}"
        )
    chain = Chain(backend, (artifacts.get(name).abi for name in LEDGER_CONTRACTS))

    def address(name: str) -> ChecksumAddress:
        return manifest.address_of(name)

    return Ledger(
        chain=chain,
        manifest=manifest,
        participants=ParticipantRegistryClient(
            chain, address("ParticipantRegistry"), artifacts.get("ParticipantRegistry").abi, sender
        ),
        assets=IPAssetRegistryClient(
            chain, address("IPAssetRegistry"), artifacts.get("IPAssetRegistry").abi, sender
        ),
    )


def deploy_contract(
    chain: Chain, deployer: Signer, artifact: ContractArtifact, args: Sequence[object]
) -> ContractDeployment:
    """Deploy one contract from its artifact and constructor arguments."""
    factory = chain.backend.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    data = bytes(HexBytes(factory.constructor(*args).data_in_transaction))
    receipt = chain.transact(deployer, None, data)
    if receipt.contract_address is None:
        raise DeploymentError(f"{artifact.name}: no contract address in the receipt")
    return ContractDeployment(
        address=receipt.contract_address,
        transaction_hash="0x" + receipt.transaction_hash.hex(),
        block_number=receipt.block_number,
        runtime_hash=artifact.runtime_hash,
        source_hash=artifact.source_hash,
    )


def deploy_ledger(
    backend: ChainBackend, deployer: Signer, artifacts: ArtifactSet, office: OfficeBootstrap
) -> Ledger:
    """Deploy the contract set in dependency order and wire it; return clients over it.

    The deployer becomes the governance admin (it appoints the contracts that use key nonces);
    hand that role to the office's governance account afterwards if it is another key.
    """
    chain = Chain(backend, (artifacts.get(name).abi for name in LEDGER_CONTRACTS))
    participants = deploy_contract(
        chain,
        deployer,
        artifacts.get("ParticipantRegistry"),
        [
            office.participant_id,
            office.certificate_fingerprint,
            office.certificate_not_after,
            list(office.keys),
            deployer.address,
        ],
    )
    assets = deploy_contract(
        chain, deployer, artifacts.get("IPAssetRegistry"), [participants.address]
    )
    manifest = DeploymentManifest(
        chain_id=backend.chain_id,
        deployer=deployer.address,
        block_number=participants.block_number,
        compiler=artifacts.compiler,
        office=OfficeRecord(
            participant_id=office.participant_id,
            certificate_fingerprint="0x" + office.certificate_fingerprint.hex(),
            keys=office.keys,
        ),
        contracts={"ParticipantRegistry": participants, "IPAssetRegistry": assets},
    )
    ledger = open_ledger(backend, manifest, artifacts, deployer)
    ledger.participants.grant_role(NONCE_CONSUMER_ROLE, assets.address)
    return ledger


@dataclass(frozen=True)
class CodeCheck:
    """Whether the code at one address is the code compiled from the repository."""

    name: str
    address: ChecksumAddress
    matches: bool
    reason: str


def verify_deployment(
    backend: ChainBackend, manifest: DeploymentManifest, artifacts: ArtifactSet
) -> list[CodeCheck]:
    """Compare the runtime code at each manifest address with the compiled artifact.

    Immutables (addresses of other contracts, EIP-712 domain caches) are written into the code
    at deployment; they are masked at the offsets the compiler reports before comparing.
    """
    if backend.chain_id != manifest.chain_id:
        raise DeploymentError(
            f"the manifest is for chain {manifest.chain_id}, the node is chain {backend.chain_id}"
        )
    checks = []
    for name in LEDGER_CONTRACTS:
        deployment = manifest.contracts.get(name)
        if deployment is None:
            checks.append(CodeCheck(name, _ZERO, False, "missing from the manifest"))
            continue
        artifact = artifacts.get(name)
        code = bytes(backend.w3.eth.get_code(deployment.address))
        checks.append(CodeCheck(name, deployment.address, *_compare(artifact, code)))
    return checks


def _compare(artifact: ContractArtifact, code: bytes) -> tuple[bool, str]:
    if not code:
        return False, "no code at this address"
    expected = artifact.runtime_bytecode
    if len(code) != len(expected):
        return False, f"code is {len(code)} bytes, the artifact's is {len(expected)}"
    on_chain = keccak(artifact.mask_immutables(code))
    if on_chain != keccak(artifact.mask_immutables(expected)):
        return False, f"code hash 0x{on_chain.hex()} differs from {artifact.runtime_hash}"
    return True, f"runtime code matches {artifact.runtime_hash}"


_ZERO = ChecksumAddress("0x0000000000000000000000000000000000000000")  # type: ignore[arg-type]
