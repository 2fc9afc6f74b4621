"""Typed model of compiled contracts, as cached on disk and used to deploy and verify."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from eth_typing import ABI
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, JsonValue

#: The compiled contracts the package ships (package data in the wheel): written by
#: `ipledger contracts build` in a checkout, read by everything that deploys or talks to them.
SHIPPED_ARTIFACTS = Path(__file__).resolve().parent / "artifacts.json"


class CompilerInfo(BaseModel):
    """What produced a set of artifacts; part of the cache key and of every manifest."""

    model_config = ConfigDict(frozen=True)

    solc_version: str
    openzeppelin_version: str
    evm_version: str
    optimizer_runs: int
    via_ir: bool


class ContractArtifact(BaseModel):
    """One deployable contract: ABI, creation and runtime code, and where its immutables sit."""

    model_config = ConfigDict(frozen=True)

    name: str
    source: str
    abi_json: tuple[dict[str, JsonValue], ...]
    bytecode_hex: str
    runtime_bytecode_hex: str
    #: (offset, length) of every immutable in the runtime code, filled in at deployment.
    immutable_references: tuple[tuple[int, int], ...]
    #: SHA-256 of the compiler input (all sources and settings) this artifact came from.
    source_hash: str

    @property
    def abi(self) -> ABI:
        return cast(ABI, list(self.abi_json))

    @property
    def bytecode(self) -> bytes:
        return bytes.fromhex(self.bytecode_hex)

    @property
    def runtime_bytecode(self) -> bytes:
        return bytes.fromhex(self.runtime_bytecode_hex)

    def mask_immutables(self, runtime_code: bytes) -> bytes:
        """Zero the immutables' bytes, so that deployed code compares with compiled code."""
        masked = bytearray(runtime_code)
        for offset, length in self.immutable_references:
            masked[offset : offset + length] = bytes(length)
        return bytes(masked)

    @property
    def runtime_hash(self) -> str:
        """keccak256 of the runtime code with immutables masked, as 0x-hex."""
        return "0x" + keccak(self.mask_immutables(self.runtime_bytecode)).hex()


class ArtifactSet(BaseModel):
    """All deployable contracts of one compilation."""

    model_config = ConfigDict(frozen=True)

    compiler: CompilerInfo
    source_hash: str
    contracts: dict[str, ContractArtifact]

    def get(self, name: str) -> ContractArtifact:
        try:
            return self.contracts[name]
        except KeyError:
            known = ", ".join(sorted(self.contracts))
            raise KeyError(f"no compiled contract named {name!r} (have: {known})") from None
