"""EIP-712 typed data: hashing agrees with eth-account and the contracts, parsing round-trips.

Everything but the last tests is pure Python. The last read the contracts' type hashes and
digests through eth_call, so that the struct definitions here cannot drift from the Solidity.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import string
import typing
from dataclasses import dataclass
from typing import Annotated, ClassVar

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.artifacts import ArtifactSet
from ledger.typed_data import (
    Address,
    Assignment,
    Domain,
    Eip712Types,
    KeyRotation,
    Struct,
    TypedDataError,
    TypedStruct,
    Uint256,
    sign,
)
from tests.conftest import Parties
from wallets.signer import LocalSigner

#: Order of the secp256k1 group: private keys are 1..N-1.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

STRUCTS: tuple[type[TypedStruct], ...] = (Assignment, KeyRotation)


def uints(bits: int) -> st.SearchStrategy[int]:
    return st.integers(0, 2**bits - 1)


addresses = st.binary(min_size=20, max_size=20).map(to_checksum_address)
bytes32 = st.binary(min_size=32, max_size=32)

domains = st.builds(
    Domain,
    name=st.text(),
    version=st.text(),
    chain_id=uints(256),
    verifying_contract=addresses,
)

assignments = st.builds(
    Assignment,
    deadline=uints(256),
    chain_id=uints(256),
    verifying_contract=addresses,
    asset_id=bytes32,
    assignor=uints(64),
    assignee=uints(64),
    share_bps=uints(16),
    terms_hash=bytes32,
    nonce=uints(256),
)

key_rotations = st.builds(
    KeyRotation,
    deadline=uints(256),
    chain_id=uints(256),
    verifying_contract=addresses,
    participant_id=uints(64),
    current_key=addresses,
    new_key=addresses,
    nonce=uints(256),
)

structs: st.SearchStrategy[TypedStruct] = st.one_of(assignments, key_rotations)
signers = st.integers(1, SECP256K1_N - 1).map(lambda k: LocalSigner(k.to_bytes(32, "big")))

HASHING = settings(max_examples=200, deadline=None)
SIGNING = settings(max_examples=25, deadline=None)


def eth_account_digest(typed_data: dict[str, object]) -> bytes:
    """The hash eth-account signs for a full EIP-712 message: keccak(0x19 || version || ...)."""
    signable = encode_typed_data(full_message=typed_data)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def message_of(typed_data: dict[str, object]) -> dict[str, object]:
    return typing.cast(dict[str, object], typed_data["message"])


def fields_of(typed_data: dict[str, object]) -> list[dict[str, str]]:
    types = typing.cast(dict[str, list[dict[str, str]]], typed_data["types"])
    return types[typing.cast(str, typed_data["primaryType"])]


# ---- the EIP-712 specification's own example ----


@dataclass(frozen=True)
class Person(Struct):
    PRIMARY_TYPE: ClassVar[str] = "Person"

    name: Annotated[str, "string"]
    wallet: Address


@dataclass(frozen=True)
class Mail(Struct):
    PRIMARY_TYPE: ClassVar[str] = "Mail"

    from_: Person
    to: Person
    contents: Annotated[str, "string"]


#: https://eips.ethereum.org/EIPS/eip-712 (its example, Example.js), with the values it prints.
MAIL_DOMAIN = Domain(
    "Ether Mail", "1", 1, to_checksum_address("0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC")
)
MAIL = Mail(
    from_=Person("Cow", to_checksum_address("0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826")),
    to=Person("Bob", to_checksum_address("0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB")),
    contents="Hello, Bob!",
)
MAIL_DIGEST = "be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2"


def test_the_eip_mail_example_hashes_to_the_digest_the_specification_publishes() -> None:
    assert Mail.type_string() == (
        "Mail(Person from,Person to,string contents)Person(string name,address wallet)"
    )
    assert MAIL_DOMAIN.separator().hex() == (
        "f2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f"
    )
    assert MAIL.struct_hash().hex() == (
        "c52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e"
    )
    assert MAIL.digest(MAIL_DOMAIN).hex() == MAIL_DIGEST
    assert eth_account_digest(MAIL.typed_data(MAIL_DOMAIN)).hex() == MAIL_DIGEST


def test_the_eip_mail_example_parses_back_from_its_typed_data() -> None:
    typed_data = json.loads(json.dumps(MAIL.typed_data(MAIL_DOMAIN)))
    assert typed_data["types"]["Person"] == [
        {"name": "name", "type": "string"},
        {"name": "wallet", "type": "address"},
    ]
    assert Mail.from_typed_data(typed_data) == (MAIL_DOMAIN, MAIL)


def test_the_eip_mail_example_hashes_the_same_from_its_json_types() -> None:
    types = Eip712Types(
        {
            "Mail": (("from", "Person"), ("to", "Person"), ("contents", "string")),
            "Person": (("name", "string"), ("wallet", "address")),
        }
    )
    message = message_of(MAIL.typed_data(MAIL_DOMAIN))
    assert types.hash_struct("Mail", message).hex() == MAIL.struct_hash().hex()


def test_typed_data_with_a_type_that_is_not_defined_is_refused() -> None:
    with pytest.raises(TypedDataError, match="Animal"):
        Eip712Types({"Mail": (("from", "Animal"),)})
    with pytest.raises(TypedDataError, match="uint7"):
        Eip712Types({"Mail": (("count", "uint7"),)})


# ---- every kind of member, and random nested types, against eth-account ----


@dataclass(frozen=True)
class Listing(Struct):
    """A struct with every kind of EIP-712 member, as licences and listings will have."""

    PRIMARY_TYPE: ClassVar[str] = "Listing"

    deadline: Uint256
    title: Annotated[str, "string"]
    teaser: Annotated[bytes, "bytes"]
    commitment: Annotated[bytes, "bytes32"]
    short_code: Annotated[bytes, "bytes3"]
    sealed: Annotated[bool, "bool"]
    adjustment: Annotated[int, "int64"]
    territories: Annotated[tuple[int, ...], "uint16[]"]
    window: Annotated[tuple[int, ...], "uint40[2]"]
    tags: Annotated[tuple[str, ...], "string[]"]
    seller: Person
    witnesses: tuple[Person, ...]


people = st.builds(Person, name=st.text(), wallet=addresses)
listings = st.builds(
    Listing,
    deadline=uints(256),
    title=st.text(),
    teaser=st.binary(),
    commitment=bytes32,
    short_code=st.binary(min_size=3, max_size=3),
    sealed=st.booleans(),
    adjustment=st.integers(-(2**63), 2**63 - 1),
    territories=st.lists(uints(16), max_size=5).map(tuple),
    window=st.tuples(uints(40), uints(40)),
    tags=st.lists(st.text(), max_size=3).map(tuple),
    seller=people,
    witnesses=st.lists(people, max_size=3).map(tuple),
)


@HASHING
@given(listing=listings, domain=domains)
def test_strings_bytes_arrays_and_nested_structs_hash_as_eth_account_hashes_them(
    listing: Listing, domain: Domain
) -> None:
    assert listing.digest(domain) == eth_account_digest(listing.typed_data(domain))


@HASHING
@given(listing=listings, domain=domains)
def test_a_struct_with_every_kind_of_member_parses_back_from_its_json(
    listing: Listing, domain: Domain
) -> None:
    typed_data = json.loads(json.dumps(listing.typed_data(domain)))
    assert Listing.from_typed_data(typed_data) == (domain, listing)


def test_a_fixed_size_array_of_another_length_is_refused() -> None:
    person = Person("Cow", to_checksum_address(b"\x01" * 20))
    with pytest.raises(TypedDataError, match="window"):
        Listing(0, "", b"", bytes(32), b"abc", False, 0, (), (1, 2, 3), (), person, ())


_ATOMIC = st.one_of(
    st.integers(1, 32).map(lambda n: f"uint{8 * n}"),
    st.integers(1, 32).map(lambda n: f"int{8 * n}"),
    st.integers(1, 32).map(lambda n: f"bytes{n}"),
    st.sampled_from(["bool", "address", "string", "bytes"]),
)
_NAMES = st.text(string.ascii_letters, min_size=1, max_size=6)


@st.composite
def random_types(draw: st.DrawFn) -> dict[str, tuple[tuple[str, str], ...]]:
    """Struct types with members of every kind; each struct may use those after it (no cycle)."""
    names = draw(
        st.lists(
            _NAMES.map(str.capitalize).filter(lambda n: n != "Eip712domain"),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    types: dict[str, tuple[tuple[str, str], ...]] = {}
    for i, name in enumerate(names):
        later = st.sampled_from(names[i + 1 :]) if i + 1 < len(names) else st.nothing()
        member_type = st.one_of(_ATOMIC, later)
        member_type = st.one_of(
            member_type,
            st.tuples(member_type, st.sampled_from(["[]", "[1]", "[2]", "[][]", "[2][]"])).map(
                "".join
            ),
        )
        members = draw(
            st.lists(st.tuples(_NAMES, member_type), max_size=5, unique_by=lambda m: m[0])
        )
        types[name] = tuple(members)
    return types


def random_value(
    data: st.DataObject, types: dict[str, tuple[tuple[str, str], ...]], sol_type: str
) -> object:
    """A value of `sol_type` as typed data's JSON message carries it (bytes as bytes)."""
    if sol_type.endswith("]"):
        inner, _, length = sol_type[:-1].rpartition("[")
        size = int(length) if length else data.draw(st.integers(0, 2))
        return [random_value(data, types, inner) for _ in range(size)]
    if sol_type in types:
        return {name: random_value(data, types, member) for name, member in types[sol_type]}
    if sol_type.startswith("uint"):
        return data.draw(uints(int(sol_type[4:])))
    if sol_type.startswith("int"):
        bits = int(sol_type[3:])
        return data.draw(st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1))
    if sol_type == "bytes":
        return data.draw(st.binary(max_size=70))
    if sol_type.startswith("bytes"):
        size = int(sol_type[5:])
        return data.draw(st.binary(min_size=size, max_size=size))
    if sol_type == "bool":
        return data.draw(st.booleans())
    if sol_type == "address":
        return data.draw(addresses)
    return data.draw(st.text(max_size=40))


def reached_types(types: dict[str, tuple[tuple[str, str], ...]], name: str) -> set[str]:
    found = {name}
    for _, member_type in types[name]:
        core = member_type.split("[")[0]
        if core in types and core not in found:
            found |= reached_types(types, core)
    return found


@HASHING
@given(types=random_types(), domain=domains, data=st.data())
def test_random_nested_types_hash_as_eth_account_hashes_them(
    types: dict[str, tuple[tuple[str, str], ...]], domain: Domain, data: st.DataObject
) -> None:
    primary = next(iter(types))
    message = random_value(data, types, primary)
    ours = Eip712Types(types)
    # eth-account wants only the types the primary type reaches (it derives the primary type).
    reached = reached_types(types, primary)
    typed_data = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            **{n: [{"name": m, "type": t} for m, t in types[n]] for n in sorted(reached)},
        },
        "primaryType": primary,
        "domain": domain.as_json(),
        "message": message,
    }
    digest = keccak(
        b"\x19\x01"
        + domain.separator()
        + ours.hash_struct(primary, typing.cast(dict[str, object], message))
    )
    assert digest == eth_account_digest(typed_data)


# ---- round trips ----


@HASHING
@given(struct=structs, domain=domains)
def test_digest_is_the_one_eth_account_computes(struct: TypedStruct, domain: Domain) -> None:
    assert struct.digest(domain) == eth_account_digest(struct.typed_data(domain))


@SIGNING
@given(struct=structs, domain=domains, signer=signers)
def test_a_signature_recovers_to_the_signer(
    struct: TypedStruct, domain: Domain, signer: LocalSigner
) -> None:
    signed = sign(signer, struct, domain)
    assert signed.signer == signer.address
    signable = encode_typed_data(full_message=struct.typed_data(domain))
    assert Account.recover_message(signable, signature=signed.signature) == signer.address
    assert Account._recover_hash(struct.digest(domain), signature=signed.signature) == (
        signer.address
    )


@HASHING
@given(struct=structs, domain=domains)
def test_typed_data_parses_back_to_the_same_domain_and_struct(
    struct: TypedStruct, domain: Domain
) -> None:
    typed_data = struct.typed_data(domain)
    assert type(struct).from_typed_data(typed_data) == (domain, struct)
    # As a wallet or a web client would send it back: through JSON.
    assert type(struct).from_typed_data(json.loads(json.dumps(typed_data))) == (domain, struct)


@HASHING
@given(struct=structs, domain=domains, data=st.data())
def test_numbers_as_decimal_or_hex_strings_parse_to_the_same_struct(
    struct: TypedStruct, domain: Domain, data: st.DataObject
) -> None:
    """EIP-712 JSON may carry big numbers as strings; eth-account hashes them the same."""
    typed_data = struct.typed_data(domain)
    for field in fields_of(typed_data):
        if field["type"].startswith("uint"):
            value = typing.cast(int, message_of(typed_data)[field["name"]])
            message_of(typed_data)[field["name"]] = data.draw(
                st.sampled_from([str(value), hex(value)]), label=field["name"]
            )
    assert type(struct).from_typed_data(typed_data) == (domain, struct)
    assert eth_account_digest(typed_data) == struct.digest(domain)


# ---- refusals of typed data ----


@HASHING
@given(struct=structs, domain=domains, primary_type=st.text())
def test_typed_data_of_another_primary_type_is_refused(
    struct: TypedStruct, domain: Domain, primary_type: str
) -> None:
    other = KeyRotation if isinstance(struct, Assignment) else Assignment
    with pytest.raises(TypedDataError, match="primaryType"):
        other.from_typed_data(struct.typed_data(domain))
    typed_data = struct.typed_data(domain)
    typed_data["primaryType"] = primary_type
    if primary_type != struct.PRIMARY_TYPE:
        with pytest.raises(TypedDataError, match="primaryType"):
            type(struct).from_typed_data(typed_data)


@st.composite
def changed_fields(draw: st.DrawFn, fields: list[dict[str, str]]) -> list[dict[str, str]]:
    """The struct's field list with one field renamed, retyped, dropped or added, or two swapped."""
    changed = copy.deepcopy(fields)
    i = draw(st.integers(0, len(fields) - 1))
    change = draw(st.sampled_from(["rename", "retype", "swap", "drop", "add"]))
    if change == "rename":
        new_name = draw(st.text(min_size=1).filter(lambda n: n != fields[i]["name"]))
        changed[i]["name"] = new_name
    elif change == "retype":
        types = ["uint256", "uint64", "uint16", "uint8", "int256", "bytes32", "address", "bool"]
        changed[i]["type"] = draw(st.sampled_from(types).filter(lambda t: t != fields[i]["type"]))
    elif change == "swap":
        j = draw(st.integers(0, len(fields) - 1).filter(lambda j: j != i))
        changed[i], changed[j] = changed[j], changed[i]
    elif change == "drop":
        del changed[i]
    else:
        changed.insert(i, {"name": "extra", "type": "uint256"})
    return changed


@HASHING
@given(struct=structs, domain=domains, data=st.data())
def test_typed_data_with_other_fields_than_the_struct_is_refused(
    struct: TypedStruct, domain: Domain, data: st.DataObject
) -> None:
    typed_data = struct.typed_data(domain)
    fields = fields_of(typed_data)
    fields[:] = data.draw(changed_fields(fields), label="fields")
    with pytest.raises(TypedDataError, match="fields differ"):
        type(struct).from_typed_data(typed_data)


@HASHING
@given(struct=structs, domain=domains, data=st.data())
def test_typed_data_missing_a_message_field_is_refused(
    struct: TypedStruct, domain: Domain, data: st.DataObject
) -> None:
    typed_data = struct.typed_data(domain)
    name = data.draw(st.sampled_from([f.name for f in struct.fields()]), label="missing")
    del message_of(typed_data)[name]
    with pytest.raises(TypedDataError, match=name):
        type(struct).from_typed_data(typed_data)


@HASHING
@given(struct=structs, domain=domains, data=st.data())
def test_typed_data_missing_a_domain_field_is_refused(
    struct: TypedStruct, domain: Domain, data: st.DataObject
) -> None:
    typed_data = struct.typed_data(domain)
    raw_domain = typing.cast(dict[str, object], typed_data["domain"])
    del raw_domain[data.draw(st.sampled_from(sorted(raw_domain)), label="missing")]
    with pytest.raises(TypedDataError):
        type(struct).from_typed_data(typed_data)


non_hex_bytes32 = st.one_of(
    # Not hexadecimal.
    st.text(alphabet="ghijklmnopqrstuvwxyzGHXZ_ -", min_size=64, max_size=64).map(
        lambda t: "0x" + t
    ),
    # No 0x prefix.
    bytes32.map(lambda b: b.hex()),
    # Too short or too long.
    st.binary(max_size=64).filter(lambda b: len(b) != 32).map(lambda b: "0x" + b.hex()),
    # Not a string at all.
    bytes32,
    st.integers(),
    st.none(),
)


@HASHING
@given(assignment=assignments, domain=domains, data=st.data())
def test_a_bytes32_that_is_not_32_bytes_of_hex_is_refused(
    assignment: Assignment, domain: Domain, data: st.DataObject
) -> None:
    typed_data = assignment.typed_data(domain)
    name = data.draw(st.sampled_from(["assetId", "termsHash"]), label="field")
    message_of(typed_data)[name] = data.draw(non_hex_bytes32, label=name)
    with pytest.raises(TypedDataError):
        Assignment.from_typed_data(typed_data)


@HASHING
@given(struct=structs, domain=domains, data=st.data(), flag=st.booleans())
def test_a_boolean_where_a_number_is_expected_is_refused(
    struct: TypedStruct, domain: Domain, data: st.DataObject, flag: bool
) -> None:
    typed_data = struct.typed_data(domain)
    numbers = [f.name for f in struct.fields() if f.sol_type.startswith("uint")]
    name = data.draw(st.sampled_from([*numbers, "domain.chainId"]), label="field")
    if name == "domain.chainId":
        typing.cast(dict[str, object], typed_data["domain"])["chainId"] = flag
    else:
        message_of(typed_data)[name] = flag
    with pytest.raises(TypedDataError, match="boolean"):
        type(struct).from_typed_data(typed_data)


@HASHING
@given(struct=structs, domain=domains, data=st.data())
def test_a_number_out_of_its_type_in_typed_data_is_refused(
    struct: TypedStruct, domain: Domain, data: st.DataObject
) -> None:
    typed_data = struct.typed_data(domain)
    field = data.draw(
        st.sampled_from([f for f in struct.fields() if f.sol_type.startswith("uint")]),
        label="field",
    )
    bits = int(field.sol_type[4:])
    message_of(typed_data)[field.name] = data.draw(
        st.integers(max_value=-1) | st.integers(min_value=2**bits), label="value"
    )
    with pytest.raises(TypedDataError):
        type(struct).from_typed_data(typed_data)


@pytest.mark.parametrize("chain_id", [-1, 2**256, "-0x1"], ids=["-1", "2**256", "'-0x1'"])
def test_a_domain_chain_id_out_of_uint256_is_refused(chain_id: object) -> None:
    """The domain is checked like the struct: what parses can be hashed and signed."""
    domain = Domain("IPAssetRegistry", "1", 31_337, to_checksum_address(b"\x11" * 20))
    typed_data = _an_assignment(domain).typed_data(domain)
    typing.cast(dict[str, object], typed_data["domain"])["chainId"] = chain_id
    with pytest.raises(TypedDataError):
        Assignment.from_typed_data(typed_data)


def test_typed_data_with_a_domain_salt_is_refused() -> None:
    """A salted domain is another domain: wallets sign another digest than the parsed one's."""
    domain = Domain("IPAssetRegistry", "1", 31_337, to_checksum_address(b"\x11" * 20))
    assignment = _an_assignment(domain)
    typed_data = assignment.typed_data(domain)
    types = typing.cast(dict[str, list[dict[str, str]]], typed_data["types"])
    types["EIP712Domain"].append({"name": "salt", "type": "bytes32"})
    typing.cast(dict[str, object], typed_data["domain"])["salt"] = "0x" + "ab" * 32
    signed_digest = eth_account_digest(typed_data)
    assert signed_digest != assignment.digest(domain)
    try:
        parsed_domain, parsed = Assignment.from_typed_data(typed_data)
    except TypedDataError:
        return
    pytest.fail(
        f"accepted as {parsed_domain}: parsed digest 0x{parsed.digest(parsed_domain).hex()},"
        f" signed digest 0x{signed_digest.hex()}"
    )


def _an_assignment(domain: Domain) -> Assignment:
    return Assignment(
        deadline=1_900_000_000,
        chain_id=domain.chain_id,
        verifying_contract=domain.verifying_contract,
        asset_id=keccak(text="KR 10-2024-0000001"),
        assignor=10,
        assignee=11,
        share_bps=2_500,
        terms_hash=keccak(text="deed"),
        nonce=0,
    )


# ---- refusals at construction ----


@HASHING
@given(assignment=assignments, share_bps=st.integers(min_value=2**16))
def test_a_share_beyond_uint16_is_refused(assignment: Assignment, share_bps: int) -> None:
    with pytest.raises(TypedDataError, match="shareBps"):
        dataclasses.replace(assignment, share_bps=share_bps)


@HASHING
@given(struct=structs, nonce=st.integers(max_value=-1))
def test_a_negative_nonce_is_refused(struct: TypedStruct, nonce: int) -> None:
    with pytest.raises(TypedDataError, match="nonce"):
        dataclasses.replace(struct, nonce=nonce)  # type: ignore[type-var]


@HASHING
@given(assignment=assignments, asset_id=st.binary().filter(lambda b: len(b) != 32))
def test_an_asset_id_of_other_than_32_bytes_is_refused(
    assignment: Assignment, asset_id: bytes
) -> None:
    with pytest.raises(TypedDataError, match="assetId"):
        dataclasses.replace(assignment, asset_id=asset_id)


@HASHING
@given(struct=structs, data=st.data())
def test_an_address_not_in_checksum_case_is_refused(
    struct: TypedStruct, data: st.DataObject
) -> None:
    field = data.draw(
        st.sampled_from([f for f in struct.fields() if f.sol_type == "address"]), label="field"
    )
    address = typing.cast(str, getattr(struct, field.attribute))
    other_case = data.draw(st.sampled_from([address.lower(), "0x" + address[2:].upper()]))
    # An address of digits only reads the same in every case.
    if other_case == address:
        return
    with pytest.raises(TypedDataError, match=field.name):
        dataclasses.replace(struct, **{field.attribute: other_case})  # type: ignore[type-var]


@pytest.mark.parametrize(
    "change",
    [
        {"share_bps": 65_536},
        {"nonce": -1},
        {"asset_id": b"\x01" * 31},
        {"verifying_contract": "0x" + "ab" * 20},
    ],
    ids=["uint16 share of 65536", "negative nonce", "31-byte asset id", "lower-case address"],
)
def test_a_value_out_of_its_solidity_type_is_refused_at_construction(
    change: dict[str, object],
) -> None:
    domain = Domain("IPAssetRegistry", "1", 31_337, to_checksum_address(b"\x11" * 20))
    with pytest.raises(TypedDataError):
        dataclasses.replace(_an_assignment(domain), **change)  # type: ignore[arg-type]


# ---- the contracts ----


def test_type_hashes_are_the_contracts(world: Parties, artifacts: ArtifactSet) -> None:
    w3 = world.ledger.chain.backend.w3
    assets = w3.eth.contract(
        address=world.ledger.assets.address, abi=artifacts.get("IPAssetRegistry").abi
    )
    participants = w3.eth.contract(
        address=world.ledger.participants.address, abi=artifacts.get("ParticipantRegistry").abi
    )
    assert bytes(assets.functions.ASSIGNMENT_TYPEHASH().call()) == Assignment.type_hash()
    assert bytes(participants.functions.KEY_ROTATION_TYPEHASH().call()) == KeyRotation.type_hash()


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(assignment=assignments)
def test_assignment_digest_is_the_contracts(world: Parties, assignment: Assignment) -> None:
    domain = world.ledger.assets.domain()
    assert domain == Domain(
        "IPAssetRegistry", "1", world.ledger.chain.chain_id, world.ledger.assets.address
    )
    # The contract hashes any assignment; give it its own chain and address as signers would.
    signed = dataclasses.replace(
        assignment, chain_id=domain.chain_id, verifying_contract=domain.verifying_contract
    )
    assert world.ledger.assets.assignment_digest(signed) == signed.digest(domain)
    assert world.ledger.assets.assignment_digest(assignment) == assignment.digest(domain)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rotation=key_rotations)
def test_key_rotation_digest_is_the_contracts(world: Parties, rotation: KeyRotation) -> None:
    domain = world.ledger.participants.domain()
    assert world.ledger.participants.key_rotation_digest(rotation) == rotation.digest(domain)
