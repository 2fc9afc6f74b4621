"""Sending transactions: fully specified, free gas, reverts as typed errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import rlp
from eth_account import Account
from hexbytes import HexBytes

from ledger.artifacts import ArtifactSet
from ledger.backends.base import ChainBackend
from ledger.codec import to_abi
from ledger.errors import IPAssetRegistryNotOffice, TransactionFailed
from ledger.types import AssetInput, AssetKind, Share
from tests.conftest import ACME_ID, Parties


@pytest.fixture
def sent(backend: ChainBackend, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Raw transactions the library hands to the node during the test."""
    raw: list[bytes] = []
    send: Callable[[bytes], HexBytes] = backend.w3.eth.send_raw_transaction

    def recording(transaction: bytes) -> HexBytes:
        raw.append(bytes(transaction))
        return send(transaction)

    monkeypatch.setattr(backend.w3.eth, "send_raw_transaction", recording)
    return raw


def _patent(number: str, now: int) -> AssetInput:
    return AssetInput(
        jurisdiction=b"KR",
        kind=AssetKind.PATENT,
        number=number,
        title="A method",
        document_hash=bytes(32),
        filing_date=now - 100,
        registration_date=now - 10,
        expiry_date=now + 10_000,
        owners=(Share(ACME_ID, 10_000),),
    )


def test_every_transaction_is_fully_specified_with_free_gas_and_the_nodes_chain_id(
    world: Parties, backend: ChainBackend, sent: list[bytes]
) -> None:
    office = world.office.address
    nonce = backend.w3.eth.get_transaction_count(office)

    world.ledger.assets.register_asset(_patent("10-1", world.now()))

    assert len(sent) == 1
    tx_nonce, gas_price, gas, to, value, _data, v, _r, _s = rlp.decode(sent[0])
    assert int.from_bytes(tx_nonce, "big") == nonce
    assert int.from_bytes(gas_price, "big") == 0
    assert int.from_bytes(gas, "big") > 21_000
    assert bytes(to) == bytes.fromhex(world.ledger.assets.address[2:])
    assert int.from_bytes(value, "big") == 0
    assert (int.from_bytes(v, "big") - 35) // 2 == backend.chain_id  # EIP-155
    assert Account.recover_transaction(sent[0]) == office


def test_senders_need_no_balance_on_a_free_gas_chain(world: Parties, backend: ChainBackend) -> None:
    assert backend.w3.eth.get_balance(world.office.address) == 0
    assert world.ledger.assets.register_asset(_patent("10-2", world.now())).receipt.status == 1


def test_a_refusal_is_raised_before_anything_is_sent(
    world: Parties, backend: ChainBackend, sent: list[bytes]
) -> None:
    nonce = backend.w3.eth.get_transaction_count(world.acme.address)

    with pytest.raises(IPAssetRegistryNotOffice) as refused:
        world.ledger.assets.connect(world.acme).register_asset(_patent("10-3", world.now()))

    assert refused.value.caller == world.acme.address
    assert sent == []
    assert backend.w3.eth.get_transaction_count(world.acme.address) == nonce


def test_a_mined_transaction_that_fails_without_a_reason_is_reported(
    world: Parties, backend: ChainBackend, artifacts: ArtifactSet
) -> None:
    registry = backend.w3.eth.contract(abi=artifacts.get("IPAssetRegistry").abi)
    call = registry.encode_abi("registerAsset", [to_abi(_patent("10-4", world.now()))])

    with pytest.raises(TransactionFailed) as failed:  # out of gas: nothing to decode
        world.ledger.chain.transact(
            world.office, world.ledger.assets.address, bytes(HexBytes(call)), gas=60_000
        )

    assert failed.value.gas_used == 60_000
    assert len(failed.value.transaction_hash) == 32
