"""The fast ABI decoder of event data gives what eth-abi gives, or declines."""

from __future__ import annotations

import pytest
from eth_abi.abi import decode, encode
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.artifacts import ArtifactSet
from ledger.codec import fast_decoder
from ledger.events import EventDecoder

ASSET_REGISTERED = [
    "bytes2", "uint8", "string", "string", "bytes32", "uint40", "uint40", "uint40",
    "(uint64,uint16)[]",
]  # fmt: skip
ASSIGNMENT_FILED = ["uint64", "uint16", "bytes32", "uint256", "uint256", "address[]", "address"]
VALUES = [
    b"KR", 5, "10-2024-0000001", "Gripper — 果物", b"\x01" * 32, 1, 2, 2**40 - 1,
    [(10, 5_000), (2**64 - 1, 5_000)],
]  # fmt: skip


def test_it_decodes_a_registration_as_eth_abi_does() -> None:
    data = encode(ASSET_REGISTERED, VALUES)
    fast = fast_decoder(ASSET_REGISTERED)

    assert fast is not None
    assert fast(data) == decode(ASSET_REGISTERED, data)


def test_it_decodes_addresses_and_big_numbers_as_eth_abi_does() -> None:
    values = [
        7,
        10_000,
        b"\x02" * 32,
        2**256 - 1,
        0,
        ["0x" + "ab" * 20, "0x" + "00" * 20],
        "0x" + "cd" * 20,
    ]
    data = encode(ASSIGNMENT_FILED, values)
    fast = fast_decoder(ASSIGNMENT_FILED)

    assert fast is not None
    assert fast(data) == decode(ASSIGNMENT_FILED, data)


def test_it_declines_types_it_does_not_handle() -> None:
    assert fast_decoder(["string[]"]) is None
    assert fast_decoder(["(uint8,string)"]) is None
    assert fast_decoder(["(uint8,uint8)"]) is None  # a static tuple in the head


@pytest.mark.parametrize(
    ("types", "data"),
    [
        (["uint8"], (256).to_bytes(32, "big")),  # out of range
        (["bytes2"], b"KR" + b"\x01" + bytes(29)),  # non-zero padding
        (["address"], b"\x01" + bytes(31)),
        (["string"], (32).to_bytes(32, "big") + (5).to_bytes(32, "big")),  # past the end
        (["string"], (999).to_bytes(32, "big")),  # offset past the end
        (["bool"], (2).to_bytes(32, "big")),
    ],
)
def test_it_refuses_what_strict_eth_abi_refuses(types: list[str], data: bytes) -> None:
    fast = fast_decoder(types)
    assert fast is not None

    with pytest.raises(ValueError):  # noqa: PT011 - the message names the problem
        fast(data)
    with pytest.raises(Exception):  # noqa: B017, PT011 - eth-abi has its own error types
        decode(types, data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_on_any_payload_it_agrees_with_eth_abi_or_declines(data: bytes) -> None:
    fast = fast_decoder(ASSET_REGISTERED)
    assert fast is not None
    try:
        result = fast(data)
    except (ValueError, UnicodeDecodeError):
        return  # the event decoder then asks eth-abi, which names the problem
    assert result == decode(ASSET_REGISTERED, data)


def test_every_event_of_the_ledger_gets_a_fast_decoder(artifacts: ArtifactSet) -> None:
    decoder = EventDecoder(a.abi for a in artifacts.contracts.values())

    slow = [spec.name for spec in decoder._specs.values() if spec.fast is None]

    assert slow == []
