"""The deployment this registry serves, and keys: what a wallet checks before it signs."""

from __future__ import annotations

from typing import Annotated

from eth_utils.address import to_checksum_address
from fastapi import APIRouter, Path

from registry_api.dependencies import RegistryDep

router = APIRouter(tags=["deployment"])


@router.get("/deployment")
def deployment(registry: RegistryDep) -> dict[str, object]:
    """Chain id, chain time, each contract's address and EIP-712 domain, and the error ABI.

    A wallet refuses typed data whose domain is not one of these. `errors` is every custom
    error of every contract: a revert can come from a contract the call reached through another.
    """
    ledger = registry.ledger
    contracts: dict[str, object] = {}
    for name, client in (
        ("ParticipantRegistry", ledger.participants),
        ("IPAssetRegistry", ledger.assets),
    ):
        domain = client.domain()
        contracts[name] = {
            "address": client.address,
            "domain": {
                "name": domain.name,
                "version": domain.version,
                "chainId": domain.chain_id,
                "verifyingContract": domain.verifying_contract,
            },
        }
    latest = registry.backend.w3.eth.get_block("latest")
    return {
        "chain_id": ledger.manifest.chain_id,
        "chain_time": int(latest["timestamp"]),
        "first_block": ledger.manifest.block_number,
        "contracts": contracts,
        "errors": registry.artifacts.error_abi_json,
    }


@router.get("/keys/{address}", tags=["keys"])
def key(
    address: Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{40}$")], registry: RegistryDep
) -> dict[str, object]:
    """A key as the participant registry holds it now: whose, active, retired, next nonce."""
    checksum = to_checksum_address(address)
    participants = registry.ledger.participants
    participant_id, active = participants.key_status(checksum)
    return {
        "address": checksum,
        "participant_id": participant_id,
        "active": active,
        "retired": participants.is_retired(checksum),
        "nonce": participants.nonce_of(checksum),
    }
