"""The chain's rules and its first block: Shanghai, free gas, one validator (the office)."""

from __future__ import annotations

from typing import Any

from eth.abc import BlockHeaderAPI
from eth.chains.base import Chain
from eth.typing import HeaderParams
from eth.vm.forks.london.blocks import LondonBlockHeader
from eth.vm.forks.shanghai import ShanghaiVM
from eth.vm.forks.shanghai.headers import create_shanghai_header_from_parent
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field

#: Besu's default for a new network; big enough for a bulk registration of a few hundred rights.
GAS_LIMIT = 30_000_000
#: The chain id `ipledger chain init` uses unless told another, and in-memory chains use. Every
#: other piece of code asks the node (`eth_chainId`) and never assumes it.
DEFAULT_CHAIN_ID = 1337
#: Written into every block's extraData (at most 32 bytes), so a block says where it came from.
EXTRA_DATA = b"ipledger embedded"


class ChainConfig(BaseModel):
    """What a chain is born with, stored in its database and never changed after."""

    model_config = ConfigDict(frozen=True)

    chain_id: int = Field(gt=0, lt=2**63)
    #: The single validator: every block's coinbase. The office's account.
    validator: ChecksumAddress
    gas_limit: int = GAS_LIMIT
    genesis_timestamp: int = Field(ge=0)


def _header_from_parent(parent: BlockHeaderAPI | None, **params: Any) -> BlockHeaderAPI:
    header: BlockHeaderAPI = create_shanghai_header_from_parent(parent, **params)
    return header.copy(base_fee_per_gas=0)


class FreeGasShanghaiVM(ShanghaiVM):
    """Shanghai with the base fee pinned at zero, as Besu's `zeroBaseFee` genesis option does.

    Without it, EIP-1559 raises the base fee to 1 wei after any block that is more than half
    full, and every zero-fee transaction after that is refused.

    A block may also carry its parent's timestamp. Blocks are mined one per transaction the moment
    it arrives; with Ethereum's strictly increasing timestamps, a burst of 100 transactions would
    put the chain's clock 100 seconds ahead of the wall clock, and deadlines of signed approvals
    would expire early. anvil's automine does the same (blocks of one second share it); nothing in
    the EVM needs distinct timestamps.
    """

    create_header_from_parent = staticmethod(_header_from_parent)

    @classmethod
    def validate_header(cls, header: BlockHeaderAPI, parent_header: BlockHeaderAPI) -> None:
        if header.timestamp < parent_header.timestamp:
            raise ValueError(
                f"block timestamp {header.timestamp} before its parent's {parent_header.timestamp}"
            )
        # py-evm's checks, minus strict timestamp order (checked above as "not earlier").
        super().validate_header(header.copy(timestamp=parent_header.timestamp + 1), parent_header)

    @classmethod
    def validate_gas(cls, header: BlockHeaderAPI, parent_header: BlockHeaderAPI) -> None:
        if header.gas_limit != parent_header.gas_limit:
            raise ValueError(f"gas limit changed: {parent_header.gas_limit} -> {header.gas_limit}")
        if isinstance(header, LondonBlockHeader) and header.base_fee_per_gas != 0:
            raise ValueError(f"non-zero base fee {header.base_fee_per_gas} on a free-gas chain")


def chain_class(config: ChainConfig) -> type[Chain]:
    """py-evm's chain class for this chain id (py-evm keeps the chain id on the class)."""
    return type(
        "EmbeddedChain",
        (Chain,),
        {"chain_id": config.chain_id, "vm_configuration": ((0, FreeGasShanghaiVM),)},
    )


def genesis_parameters(config: ChainConfig) -> dict[str, HeaderParams]:
    """The genesis header's fields: no allocations, nothing pre-funded (gas is free)."""
    return {
        "coinbase": bytes.fromhex(config.validator[2:]),
        "difficulty": 0,
        "gas_limit": config.gas_limit,
        "timestamp": config.genesis_timestamp,
        "extra_data": EXTRA_DATA,
        "base_fee_per_gas": 0,
        "mix_hash": keccak(config.chain_id.to_bytes(32, "big")),
        "nonce": b"\x00" * 8,
    }
