"""EIP-712 typed data: the structs the contracts verify, built and hashed the same way here.

One definition per struct, shared by everything that signs or shows what is signed (the wallet
CLI, the API, tests). A struct's EIP-712 type comes from its annotations, and tests check its
type hash against the contract's `*_TYPEHASH` constant, so the two cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Hashable
from dataclasses import dataclass
from functools import cache
from typing import Annotated, ClassVar, Self

from eth_abi.abi import encode as abi_encode
from eth_typing import ChecksumAddress
from eth_utils.address import is_checksum_address, to_checksum_address
from eth_utils.crypto import keccak

from ledger.codec import camel_case
from ledger.signer import Signer, TypedDataJSON
from ledger.types import SignedBy

Uint256 = Annotated[int, "uint256"]
Uint64 = Annotated[int, "uint64"]
Uint16 = Annotated[int, "uint16"]
Bytes32 = Annotated[bytes, "bytes32"]
Address = Annotated[ChecksumAddress, "address"]

_DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
_DOMAIN_FIELDS = (
    ("name", "string"),
    ("version", "string"),
    ("chainId", "uint256"),
    ("verifyingContract", "address"),
)


def _domain_types() -> list[dict[str, str]]:
    """A fresh copy each time: callers may change the JSON they are given."""
    return [{"name": name, "type": sol_type} for name, sol_type in _DOMAIN_FIELDS]


class TypedDataError(ValueError):
    """Typed data that is malformed or does not describe the expected struct."""


@dataclass(frozen=True)
class Domain:
    """The EIP-712 domain of one contract on one chain (ERC-5267 `eip712Domain()`)."""

    name: str
    version: str
    chain_id: int
    verifying_contract: ChecksumAddress

    def __post_init__(self) -> None:
        _check_value(_Field("chain_id", "chainId", "uint256"), self.chain_id)
        _check_value(
            _Field("verifying_contract", "verifyingContract", "address"), self.verifying_contract
        )

    def separator(self) -> bytes:
        return keccak(
            abi_encode(
                ["bytes32", "bytes32", "bytes32", "uint256", "address"],
                [
                    keccak(text=_DOMAIN_TYPE),
                    keccak(text=self.name),
                    keccak(text=self.version),
                    self.chain_id,
                    self.verifying_contract,
                ],
            )
        )

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }


@dataclass(frozen=True)
class _Field:
    attribute: str
    name: str
    sol_type: str


class TypedStruct:
    """Base of the signed structs: EIP-712 type, message, digest and parsing from annotations.

    Every struct starts with `deadline`, `chain_id` and `verifying_contract` (the recipe in
    contracts/ITypedApprovals.sol) and ends with the signer's `nonce`.
    """

    PRIMARY_TYPE: ClassVar[str]

    def __post_init__(self) -> None:
        for field in self.fields():
            _check_value(field, getattr(self, field.attribute))

    @classmethod
    def fields(cls) -> tuple[_Field, ...]:
        return _fields_of(typing.cast(Hashable, cls))

    @classmethod
    def type_string(cls) -> str:
        members = ",".join(f"{f.sol_type} {f.name}" for f in cls.fields())
        return f"{cls.PRIMARY_TYPE}({members})"

    @classmethod
    def type_hash(cls) -> bytes:
        return keccak(text=cls.type_string())

    def struct_hash(self) -> bytes:
        fields = self.fields()
        return keccak(
            abi_encode(
                ["bytes32", *(f.sol_type for f in fields)],
                [self.type_hash(), *(getattr(self, f.attribute) for f in fields)],
            )
        )

    def digest(self, domain: Domain) -> bytes:
        """The hash that is signed: keccak256("\\x19\\x01" || domainSeparator || structHash)."""
        return keccak(b"\x19\x01" + domain.separator() + self.struct_hash())

    def message(self) -> dict[str, object]:
        return {f.name: _json_value(getattr(self, f.attribute)) for f in self.fields()}

    def typed_data(self, domain: Domain) -> dict[str, object]:
        """The full EIP-712 message, as wallets (eth_signTypedData_v4) take it."""
        return {
            "types": {
                "EIP712Domain": _domain_types(),
                self.PRIMARY_TYPE: [{"name": f.name, "type": f.sol_type} for f in self.fields()],
            },
            "primaryType": self.PRIMARY_TYPE,
            "domain": domain.as_json(),
            "message": self.message(),
        }

    @classmethod
    def from_typed_data(cls, data: TypedDataJSON) -> tuple[Domain, Self]:
        """Parse a full EIP-712 message of this struct; refuse anything else."""
        if data.get("primaryType") != cls.PRIMARY_TYPE:
            raise TypedDataError(f"expected primaryType {cls.PRIMARY_TYPE}")
        types = typing.cast(dict[str, list[dict[str, str]]], data.get("types") or {})
        expected = [{"name": f.name, "type": f.sol_type} for f in cls.fields()]
        if types.get(cls.PRIMARY_TYPE) != expected:
            raise TypedDataError(f"{cls.PRIMARY_TYPE} fields differ from {cls.type_string()}")
        # A domain with other fields (a salt...) hashes to another digest than the one shown.
        if types.get("EIP712Domain") != _domain_types():
            raise TypedDataError(f"EIP712Domain must be exactly {_DOMAIN_TYPE}")
        if set(types) != {"EIP712Domain", cls.PRIMARY_TYPE}:
            raise TypedDataError(
                f"unexpected types: {sorted(set(types) - {'EIP712Domain', cls.PRIMARY_TYPE})}"
            )
        raw_domain = typing.cast(dict[str, object], data.get("domain") or {})
        raw_message = typing.cast(dict[str, object], data.get("message") or {})
        try:
            domain = Domain(
                name=str(raw_domain["name"]),
                version=str(raw_domain["version"]),
                chain_id=_parse_int(raw_domain["chainId"]),
                verifying_contract=to_checksum_address(str(raw_domain["verifyingContract"])),
            )
            values = {
                f.attribute: _parse_value(f.sol_type, raw_message[f.name]) for f in cls.fields()
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise TypedDataError(f"malformed {cls.PRIMARY_TYPE} typed data: {exc}") from exc
        return domain, cls(**values)


@dataclass(frozen=True)
class KeyRotation(TypedStruct):
    """Signed by a participant's current key to have the office bind a new one in its place."""

    PRIMARY_TYPE: ClassVar[str] = "KeyRotation"

    deadline: Uint256
    chain_id: Uint256
    verifying_contract: Address
    participant_id: Uint64
    current_key: Address
    new_key: Address
    nonce: Uint256


@dataclass(frozen=True)
class Assignment(TypedStruct):
    """An assignment of `share_bps` of a right, signed by assignor, assignee and co-owners."""

    PRIMARY_TYPE: ClassVar[str] = "Assignment"

    deadline: Uint256
    chain_id: Uint256
    verifying_contract: Address
    asset_id: Bytes32
    assignor: Uint64
    assignee: Uint64
    share_bps: Uint16
    terms_hash: Bytes32
    nonce: Uint256


def sign(signer: Signer, struct: TypedStruct, domain: Domain) -> SignedBy:
    """Have `signer` sign `struct` in `domain`."""
    return SignedBy(signer.address, signer.sign_typed_data(struct.typed_data(domain)))


@cache
def _fields_of(struct: Hashable) -> tuple[_Field, ...]:
    cls = typing.cast(type[TypedStruct], struct)
    hints = typing.get_type_hints(cls, include_extras=True)
    result = []
    for field in dataclasses.fields(typing.cast(type[typing.Any], cls)):
        metadata = getattr(hints[field.name], "__metadata__", None)
        if not metadata:
            raise TypeError(f"{cls.__name__}.{field.name} has no Solidity type")
        result.append(_Field(field.name, camel_case(field.name), str(metadata[0])))
    return tuple(result)


def _check_value(field: _Field, value: object) -> None:
    sol_type = field.sol_type
    if sol_type.startswith("uint"):
        bits = int(sol_type[4:])
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**bits:
            raise TypedDataError(f"{field.name} must be a {sol_type}, got {value!r}")
    elif sol_type == "bytes32":
        if not isinstance(value, bytes) or len(value) != 32:
            raise TypedDataError(f"{field.name} must be 32 bytes, got {value!r}")
    elif sol_type == "address" and not (isinstance(value, str) and is_checksum_address(value)):
        raise TypedDataError(f"{field.name} must be a checksummed address, got {value!r}")


def _json_value(value: object) -> object:
    return "0x" + value.hex() if isinstance(value, bytes) else value


def _parse_int(value: object) -> int:
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str):  # decimal or 0x-hex, as wallets write big numbers
        base = 16 if value.lower().startswith("0x") else 10
        return int(value, base)
    raise TypeError(f"not a number: {value!r}")


def _parse_value(sol_type: str, value: object) -> object:
    if sol_type.startswith("uint"):
        return _parse_int(value)
    if sol_type == "bytes32":
        if not isinstance(value, str) or not value.startswith("0x"):
            raise TypeError(f"not 0x-hex: {value!r}")
        return bytes.fromhex(value[2:])
    if sol_type == "address":
        return to_checksum_address(str(value))
    raise TypeError(f"unsupported type {sol_type}")
