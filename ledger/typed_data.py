"""EIP-712 typed data: the structs the contracts verify, built and hashed the same way here.

One definition per struct, shared by everything that signs or shows what is signed (the wallet
CLI, the API, tests). A struct's EIP-712 type comes from its annotations, and tests check its
type hash against the contract's `*_TYPEHASH` constant, so the two cannot drift apart.

The encoding is EIP-712's in full (https://eips.ethereum.org/EIPS/eip-712): nested structs,
arrays (dynamic and fixed, of anything), `string` and `bytes` hashed, referenced types sorted
into the type string. It is ours rather than eth-account's because eth-account's encoder coerces
what it is given (text to bytes, "0" to false, a missing struct to zeros): here a value that is
not of its Solidity type is refused when the struct is built, and hashing takes typed values
only. tests/ledger/test_typed_data.py holds it to eth-account's digests on random nested types
and to the specification's own example.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Hashable, Mapping, Sequence
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

String = Annotated[str, "string"]

_DOMAIN_TYPE = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
_DOMAIN_FIELDS = (
    ("name", "string"),
    ("version", "string"),
    ("chainId", "uint256"),
    ("verifyingContract", "address"),
)
_ARRAY = re.compile(r"^(.+)\[(\d*)\]$")
_ATOMIC = frozenset(
    {"bool", "address"}
    | {f"uint{8 * n}" for n in range(1, 33)}
    | {f"int{8 * n}" for n in range(1, 33)}
    | {f"bytes{n}" for n in range(1, 33)}
)
_DYNAMIC = frozenset({"string", "bytes"})


def _domain_types() -> list[dict[str, str]]:
    """A fresh copy each time: callers may change the JSON they are given."""
    return [{"name": name, "type": sol_type} for name, sol_type in _DOMAIN_FIELDS]


class TypedDataError(ValueError):
    """Typed data that is malformed or does not describe the expected struct."""


#: A struct's members in order, (name, EIP-712 type), as typed data's "types" lists them.
Members = Sequence[tuple[str, str]]


class Eip712Types:
    """A set of EIP-712 struct types: type strings, type hashes, and `hashStruct` of values.

    Values are as typed data's message holds them, but typed: ints, bools, checksummed
    addresses, `bytes` for bytes and bytesN, `str` for string, sequences for arrays, mappings
    (member name -> value) for structs.
    """

    def __init__(self, types: Mapping[str, Members]) -> None:
        self._types = {name: tuple(members) for name, members in types.items()}
        for name, members in self._types.items():
            for member, member_type in members:
                if _core(member_type) not in self._types and _core(member_type) not in (
                    _ATOMIC | _DYNAMIC
                ):
                    raise TypedDataError(f"{name}.{member} has an unknown type {member_type}")
        self._hashes = {name: keccak(text=self.encode_type(name)) for name in self._types}

    def members(self, name: str) -> tuple[tuple[str, str], ...]:
        return self._types[name]

    def as_json(self) -> dict[str, list[dict[str, str]]]:
        return {
            name: [{"name": member, "type": member_type} for member, member_type in members]
            for name, members in self._types.items()
        }

    def encode_type(self, name: str) -> str:
        """`encodeType`: the struct, then every struct it references, sorted by name."""
        referenced = sorted(self._referenced(name) - {name})
        return "".join(
            f"{struct}({','.join(f'{t} {m}' for m, t in self._types[struct])})"
            for struct in (name, *referenced)
        )

    def type_hash(self, name: str) -> bytes:
        return self._hashes[name]

    def hash_struct(self, name: str, value: Mapping[str, object]) -> bytes:
        """`hashStruct`: keccak256(typeHash || encodeData), each member one 32-byte word."""
        types: list[str] = ["bytes32"]
        values: list[object] = [self._hashes[name]]
        for member, member_type in self._types[name]:
            word_type, word = self._encode(member_type, value[member])
            types.append(word_type)
            values.append(word)
        return keccak(abi_encode(types, values))

    def _encode(self, sol_type: str, value: object) -> tuple[str, object]:
        """The ABI type and value of one member's word in `encodeData`."""
        if sol_type in self._types:
            return "bytes32", self.hash_struct(sol_type, typing.cast(Mapping[str, object], value))
        if sol_type == "string":
            return "bytes32", keccak(text=typing.cast(str, value))
        if sol_type == "bytes":
            return "bytes32", keccak(typing.cast(bytes, value))
        array = _ARRAY.match(sol_type)
        if array:
            # An array is the hash of its items' words concatenated (a struct item is its hash).
            words = [self._encode(array[1], item) for item in typing.cast(Sequence[object], value)]
            return "bytes32", keccak(abi_encode([t for t, _ in words], [w for _, w in words]))
        return sol_type, value  # atomic: ABI-encoded in place

    def _referenced(self, name: str) -> set[str]:
        found = {name}
        pending = [name]
        while pending:
            for _, member_type in self._types[pending.pop()]:
                core = _core(member_type)
                if core in self._types and core not in found:
                    found.add(core)
                    pending.append(core)
        return found


@dataclass(frozen=True)
class Domain:
    """The EIP-712 domain of one contract on one chain (ERC-5267 `eip712Domain()`)."""

    name: str
    version: str
    chain_id: int
    verifying_contract: ChecksumAddress

    def __post_init__(self) -> None:
        _check_value("chainId", "uint256", None, self.chain_id)
        _check_value("verifyingContract", "address", None, self.verifying_contract)

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
    #: The struct class at the core of the type (`Person` of `Person[]`), if any.
    struct: type[Struct] | None = None


class Struct:
    """Base of EIP-712 structs: type, message, digest and parsing from dataclass annotations.

    A member is annotated `Annotated[<python type>, "<EIP-712 type>"]` (`Uint256`, `String`,
    `Annotated[tuple[int, ...], "uint16[]"]`...), or with another Struct class, or a tuple of
    one (`tuple[Person, ...]` is `Person[]`). Arrays are tuples, so that structs stay hashable.
    """

    PRIMARY_TYPE: ClassVar[str]

    def __post_init__(self) -> None:
        for field in self.fields():
            _check_value(field.name, field.sol_type, field.struct, getattr(self, field.attribute))

    @classmethod
    def fields(cls) -> tuple[_Field, ...]:
        return _fields_of(typing.cast(Hashable, cls))

    @classmethod
    def eip712_types(cls) -> Eip712Types:
        """This struct's type and every struct type it uses."""
        return _types_of(typing.cast(Hashable, cls))

    @classmethod
    def type_string(cls) -> str:
        return cls.eip712_types().encode_type(cls.PRIMARY_TYPE)

    @classmethod
    def type_hash(cls) -> bytes:
        return cls.eip712_types().type_hash(cls.PRIMARY_TYPE)

    def struct_hash(self) -> bytes:
        return self.eip712_types().hash_struct(self.PRIMARY_TYPE, self._values())

    def digest(self, domain: Domain) -> bytes:
        """The hash that is signed: keccak256("\\x19\\x01" || domainSeparator || structHash)."""
        return keccak(b"\x19\x01" + domain.separator() + self.struct_hash())

    def message(self) -> dict[str, object]:
        return {f.name: _json_value(getattr(self, f.attribute)) for f in self.fields()}

    def typed_data(self, domain: Domain) -> dict[str, object]:
        """The full EIP-712 message, as wallets (eth_signTypedData_v4) take it."""
        return {
            "types": {"EIP712Domain": _domain_types(), **self.eip712_types().as_json()},
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
        expected = cls.eip712_types()
        for name, members in expected.as_json().items():
            if types.get(name) != members:
                raise TypedDataError(f"{name} fields differ from {expected.encode_type(name)}")
        # A domain with other fields (a salt...) hashes to another digest than the one shown.
        if types.get("EIP712Domain") != _domain_types():
            raise TypedDataError(f"EIP712Domain must be exactly {_DOMAIN_TYPE}")
        known = {"EIP712Domain", *expected.as_json()}
        if set(types) != known:
            raise TypedDataError(f"unexpected types: {sorted(set(types) - known)}")
        raw_domain = typing.cast(dict[str, object], data.get("domain") or {})
        try:
            domain = Domain(
                name=str(raw_domain["name"]),
                version=str(raw_domain["version"]),
                chain_id=_parse_int(raw_domain["chainId"]),
                verifying_contract=to_checksum_address(str(raw_domain["verifyingContract"])),
            )
            struct = cls._from_message(data.get("message") or {})
        except (KeyError, TypeError, ValueError) as exc:
            raise TypedDataError(f"malformed {cls.PRIMARY_TYPE} typed data: {exc}") from exc
        return domain, struct

    @classmethod
    def _from_message(cls, raw: object) -> Self:
        if not isinstance(raw, dict):
            raise TypeError(f"{cls.PRIMARY_TYPE} is not an object: {raw!r}")
        values = {
            f.attribute: _parse_value(f.sol_type, f.struct, raw[f.name]) for f in cls.fields()
        }
        return cls(**values)

    def _values(self) -> dict[str, object]:
        return {f.name: _hash_value(getattr(self, f.attribute)) for f in self.fields()}


class TypedStruct(Struct):
    """Base of the signed approvals.

    Every approval starts with `deadline`, `chain_id` and `verifying_contract` (the recipe in
    contracts/ITypedApprovals.sol) and ends with the signer's `nonce`.
    """


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
    cls = typing.cast(type[Struct], struct)
    hints = typing.get_type_hints(cls, include_extras=True)
    result = []
    for field in dataclasses.fields(typing.cast(type[typing.Any], cls)):
        sol_type, nested = _eip712_type(hints[field.name])
        if sol_type is None:
            raise TypeError(f"{cls.__name__}.{field.name} has no Solidity type")
        result.append(_Field(field.name, camel_case(field.name), sol_type, nested))
    return tuple(result)


def _eip712_type(hint: object) -> tuple[str | None, type[Struct] | None]:
    """The EIP-712 type of an annotation, and the struct class at its core if any."""
    metadata = getattr(hint, "__metadata__", None)
    if metadata:
        return str(metadata[0]), None
    if isinstance(hint, type) and issubclass(hint, Struct):
        return hint.PRIMARY_TYPE, hint
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and len(args) == 2 and args[1] is Ellipsis:
        item, nested = _eip712_type(args[0])
        return (None, None) if item is None else (f"{item}[]", nested)
    return None, None


@cache
def _types_of(struct: Hashable) -> Eip712Types:
    cls = typing.cast(type[Struct], struct)
    types: dict[str, Members] = {}
    pending: list[type[Struct]] = [cls]
    while pending:
        current = pending.pop()
        if current.PRIMARY_TYPE in types:
            continue
        types[current.PRIMARY_TYPE] = [(f.name, f.sol_type) for f in current.fields()]
        pending.extend(f.struct for f in current.fields() if f.struct is not None)
    return Eip712Types(types)


def _core(sol_type: str) -> str:
    """`Person` of `Person[2][]`."""
    return sol_type.split("[", 1)[0]


def _check_value(name: str, sol_type: str, nested: type[Struct] | None, value: object) -> None:
    """Refuse a value that is not of its EIP-712 type: what is built can be hashed and signed."""
    ok: bool
    array = _ARRAY.match(sol_type)
    if array:
        ok = isinstance(value, tuple) and (not array[2] or len(value) == int(array[2]))
        if ok:
            for item in typing.cast(tuple[object, ...], value):
                _check_value(name, array[1], nested, item)
    elif nested is not None:
        ok = isinstance(value, nested)
    elif sol_type.startswith("uint"):
        bits = int(sol_type[4:])
        ok = type(value) is int and 0 <= value < 2**bits
    elif sol_type.startswith("int"):
        half = 2 ** (int(sol_type[3:]) - 1)
        ok = type(value) is int and -half <= value < half
    elif sol_type == "bytes":
        ok = isinstance(value, bytes)
    elif sol_type.startswith("bytes"):
        ok = isinstance(value, bytes) and len(value) == int(sol_type[5:])
    elif sol_type == "address":
        ok = isinstance(value, str) and is_checksum_address(value)
    elif sol_type == "bool":
        ok = isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise TypedDataError(f"{name} must be a {sol_type}, got {value!r}")


def _json_value(value: object) -> object:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, Struct):
        return value.message()
    if isinstance(value, tuple):
        return [_json_value(item) for item in value]
    return value


def _hash_value(value: object) -> object:
    if isinstance(value, Struct):
        return value._values()
    if isinstance(value, tuple):
        return [_hash_value(item) for item in value]
    return value


def _parse_int(value: object) -> int:
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str):  # decimal or 0x-hex, as wallets write big numbers
        base = 16 if value.lower().startswith("0x") else 10
        return int(value, base)
    raise TypeError(f"not a number: {value!r}")


def _parse_value(sol_type: str, nested: type[Struct] | None, value: object) -> object:
    """A JSON value of typed data's message as the Python value of its EIP-712 type."""
    array = _ARRAY.match(sol_type)
    if array:
        if not isinstance(value, list):
            raise TypeError(f"not an array: {value!r}")
        return tuple(_parse_value(array[1], nested, item) for item in value)
    if nested is not None:
        return nested._from_message(value)
    if sol_type.startswith(("uint", "int")):
        return _parse_int(value)
    if sol_type.startswith("bytes"):
        if not isinstance(value, str) or not value.startswith("0x"):
            raise TypeError(f"not 0x-hex: {value!r}")
        return bytes.fromhex(value[2:])
    if sol_type == "address":
        return to_checksum_address(str(value))
    if sol_type == "bool":
        if not isinstance(value, bool):
            raise TypeError(f"not a boolean: {value!r}")
        return value
    if not isinstance(value, str):  # string
        raise TypeError(f"not a string: {value!r}")
    return value
