"""Typed model of compiled contracts, as cached on disk and used to deploy and verify."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from eth_typing import ABI
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, JsonValue, computed_field

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

    @computed_field  # type: ignore[prop-decorator]
    @property
    def error_abi_json(self) -> tuple[dict[str, JsonValue], ...]:
        """Every custom error of every contract, once: the ABI to decode any revert with.

        A contract's ABI lists only the errors it declares, but a revert bubbles up through
        calls: `fileAssignment` can revert with the participant registry's
        `ParticipantRegistryInvalidNonce`, which the IP asset registry's ABI does not know.
        Written into artifacts.json (and served by `GET /v1/deployment`) for other clients.
        """
        errors: dict[str, dict[str, JsonValue]] = {}
        for contract in self.contracts.values():
            for entry in contract.abi_json:
                if entry.get("type") == "error":
                    errors.setdefault(_signature(entry), entry)
        return tuple(errors[signature] for signature in sorted(errors))

    @property
    def error_abi(self) -> ABI:
        return cast(ABI, list(self.error_abi_json))

    def get(self, name: str) -> ContractArtifact:
        try:
            return self.contracts[name]
        except KeyError:
            known = ", ".join(sorted(self.contracts))
            raise KeyError(f"no compiled contract named {name!r} (have: {known})") from None


def _signature(entry: dict[str, JsonValue]) -> str:
    """`Name(type,...)`, which the selector hashes; tuples (struct arguments) spelled out."""
    inputs = cast(list[dict[str, JsonValue]], entry.get("inputs") or [])
    return f"{entry['name']}({','.join(_abi_type(item) for item in inputs)})"


def _abi_type(item: dict[str, JsonValue]) -> str:
    kind = str(item["type"])
    if not kind.startswith("tuple"):
        return kind
    components = cast(list[dict[str, JsonValue]], item["components"])
    return f"({','.join(_abi_type(c) for c in components)}){kind.removeprefix('tuple')}"
