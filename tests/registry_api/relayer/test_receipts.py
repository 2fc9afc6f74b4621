"""How the dispatcher gathers receipts, on the embedded chain and on anvil: per block once it
knows the last block it gathered, per transaction where it cannot (after a start, after a long
pause, from a node without eth_getBlockReceipts), and never while nothing new is mined."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hexbytes import HexBytes
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from ledger.artifacts import ArtifactSet
from ledger.assets import asset_id as asset_id_of
from ledger.backends.base import ChainBackend
from ledger.backends.rpc import RpcBackend
from ledger.chain import Chain
from ledger.manifest import LEDGER_CONTRACTS
from ledger.types import AssetInput, AssetKind, Share
from registry_api.db.models import OperationRow
from registry_api.db.session import open_database
from registry_api.relayer.dispatcher import Dispatcher, DispatcherOptions
from registry_api.relayer.outbox import Call, Outbox, queued_count
from tests.conftest import ACME_ID, Parties
from wallets.signer import LocalSigner

RECEIPT = "eth_getTransactionReceipt"
BLOCK_RECEIPTS = "eth_getBlockReceipts"


class Tap(JSONBaseProvider):
    """The chain's provider, with every method the dispatcher asks recorded.

    It can play a node that does not serve some methods, or a relayer that dies once the node
    has answered a batch with one of `dies_after` (after it sent, before it recorded).
    """

    def __init__(
        self,
        node: JSONBaseProvider,
        *,
        unserved: frozenset[str] = frozenset(),
        dies_after: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__()
        self.node = node
        self.unserved = unserved
        self.dies_after = dies_after
        self.asked: list[str] = []
        #: The methods of each batch, in order.
        self.batches: list[list[str]] = []

    def count(self, method: str) -> int:
        return self.asked.count(method)

    def forget(self) -> None:
        self.asked.clear()
        self.batches.clear()

    def make_request(self, method: RPCEndpoint, params: typing.Any) -> RPCResponse:
        self.asked.append(method)
        if method in self.unserved:
            return method_not_found()
        return self.node.make_request(method, params)

    def make_batch_request(
        self, requests: list[tuple[RPCEndpoint, typing.Any]]
    ) -> list[RPCResponse] | RPCResponse:
        methods = [str(method) for method, _ in requests]
        self.asked.extend(methods)
        self.batches.append(methods)
        served = [(method, params) for method, params in requests if method not in self.unserved]
        answers = self.node.make_batch_request(served) if served else []
        if self.dies_after.intersection(methods):
            raise ConnectionError("the relayer died before it read the answer")
        if isinstance(answers, dict):  # the whole batch refused
            return answers
        served_answers = iter(answers)
        return [
            method_not_found() if method in self.unserved else next(served_answers)
            for method, _ in requests
        ]


def method_not_found() -> RPCResponse:
    """Besu's and anvil's answer for a method they do not serve."""
    return typing.cast(
        RPCResponse,
        {"jsonrpc": "2.0", "id": 0, "error": {"code": -32601, "message": "Method not found"}},
    )


@dataclass
class Relayer:
    """The office's outbox on a fresh SQLite database, and a dispatcher behind a tap."""

    world: Parties
    backend: ChainBackend
    abis: list[typing.Any]
    sessions: sessionmaker[Session]
    outbox: Outbox
    tap: Tap
    dispatcher: Dispatcher

    def restart(self, tap: Tap, options: DispatcherOptions | None = None) -> None:
        """A new dispatcher, knowing nothing but the database, behind `tap`."""
        self.tap = tap
        chain = Chain(RpcBackend.over(tap), self.abis)
        self.dispatcher = Dispatcher(self.sessions, chain, self.outbox, options)

    def accept(self, *calls: Call) -> list[str]:
        with self.sessions.begin() as session:
            return [row.id for row in self.outbox.accept_many(session, calls, requested_by=None)]

    def accept_transfers(self, count: int) -> list[str]:
        return self.accept(*(transfer(n) for n in range(count)))

    def run_until_idle(self) -> None:
        for _ in range(50):
            self.dispatcher.step()
            with self.sessions() as session:
                if queued_count(session, self.outbox.sender) == 0:
                    return
        pytest.fail("operations still in flight after 50 steps")

    def operations(self, ids: list[str]) -> list[OperationRow]:
        with self.sessions() as session:
            rows = {row.id: row for row in session.scalars(select(OperationRow)).all()}
            session.expunge_all()
        return [rows[i] for i in ids]


def transfer(n: int) -> Call:
    """A call that changes nothing: a zero-value transfer to a fresh address."""
    return Call("noop", LocalSigner.generate().address, b"", 21_000, {"n": n})


@pytest.fixture
def relayer(
    world: Parties, backend: ChainBackend, artifacts: ArtifactSet, tmp_path: Path
) -> Iterator[Relayer]:
    engine, sessions = open_database(f"sqlite:///{tmp_path / 'outbox.sqlite3'}")
    outbox = Outbox(world.office, backend.chain_id)
    with sessions.begin() as session:
        pending = backend.w3.eth.get_transaction_count(world.office.address, "pending")
        outbox.open_account(session, int(pending))
    abis = [artifacts.get(name).abi for name in LEDGER_CONTRACTS]
    tap = Tap(typing.cast(JSONBaseProvider, backend.w3.provider))
    dispatcher = Dispatcher(sessions, Chain(RpcBackend.over(tap), abis), outbox)
    try:
        yield Relayer(world, backend, abis, sessions, outbox, tap, dispatcher)
    finally:
        engine.dispose()


def assert_recorded_as_on_chain(relayer: Relayer, rows: list[OperationRow]) -> None:
    for row in rows:
        receipt = relayer.backend.w3.eth.get_transaction_receipt(HexBytes(row.transaction_hash))
        assert (row.block_number, row.block_hash, row.gas_used) == (
            receipt["blockNumber"],
            bytes(receipt["blockHash"]),
            receipt["gasUsed"],
        )


def test_receipts_are_gathered_per_block_and_not_asked_while_nothing_is_mined(
    relayer: Relayer,
) -> None:
    relayer.dispatcher.step()  # after a start: the head becomes the last block gathered
    assert relayer.tap.count(RECEIPT) == relayer.tap.count(BLOCK_RECEIPTS) == 0

    ids = relayer.accept_transfers(5)
    relayer.run_until_idle()
    rows = relayer.operations(ids)
    assert [row.status for row in rows] == ["mined"] * 5
    assert_recorded_as_on_chain(relayer, rows)
    assert relayer.tap.count(BLOCK_RECEIPTS) > 0
    assert relayer.tap.count(RECEIPT) == 0

    relayer.tap.forget()
    relayer.dispatcher.step()
    relayer.dispatcher.step()
    assert relayer.tap.count(RECEIPT) == relayer.tap.count(BLOCK_RECEIPTS) == 0
    assert relayer.tap.batches == [["eth_blockNumber", "eth_getTransactionCount"]] * 2


def test_a_node_without_block_receipts_is_asked_per_transaction_from_then_on(
    relayer: Relayer,
) -> None:
    tap = Tap(relayer.tap.node, unserved=frozenset({BLOCK_RECEIPTS}))
    relayer.restart(tap)
    relayer.dispatcher.step()

    ids = relayer.accept_transfers(3)
    relayer.run_until_idle()
    ids += relayer.accept_transfers(3)
    relayer.run_until_idle()

    rows = relayer.operations(ids)
    assert [row.status for row in rows] == ["mined"] * 6
    assert_recorded_as_on_chain(relayer, rows)
    # Asked once, answered "method not found", and not asked again.
    assert sum(BLOCK_RECEIPTS in batch for batch in tap.batches) == 1
    assert tap.count(RECEIPT) == 6


def test_a_restarted_dispatcher_records_what_was_mined_before_it_started(
    relayer: Relayer,
) -> None:
    relayer.dispatcher.step()
    ids = relayer.accept_transfers(4)
    # This dispatcher sends, and dies before it reads the node's answer.
    relayer.restart(Tap(relayer.tap.node, dies_after=frozenset({"eth_sendRawTransaction"})))
    with pytest.raises(ConnectionError):
        relayer.dispatcher.step()
    assert [row.status for row in relayer.operations(ids)] == ["queued"] * 4
    first = relayer.operations(ids)[0].nonce
    assert relayer.backend.w3.eth.get_transaction_count(relayer.outbox.sender) == first + 4

    tap = Tap(relayer.tap.node)
    relayer.restart(tap)
    relayer.run_until_idle()
    rows = relayer.operations(ids)
    assert [row.status for row in rows] == ["mined"] * 4
    assert_recorded_as_on_chain(relayer, rows)
    # No block gathered since the start: each was asked alone.
    assert (tap.count(RECEIPT), tap.count(BLOCK_RECEIPTS)) == (4, 0)

    tap.forget()
    more = relayer.accept_transfers(2)
    relayer.run_until_idle()
    assert [row.status for row in relayer.operations(more)] == ["mined"] * 2
    assert tap.count(RECEIPT) == 0


def test_after_a_pause_longer_than_a_batch_of_blocks_receipts_are_asked_per_transaction(
    relayer: Relayer,
) -> None:
    tap = Tap(relayer.tap.node)
    relayer.restart(tap, DispatcherOptions(batch=2))
    relayer.dispatcher.step()
    now = relayer.world.now()
    for seconds in (1, 2, 3):
        relayer.backend.mine_at(now + seconds)

    ids = relayer.accept_transfers(1)
    relayer.run_until_idle()
    assert (tap.count(RECEIPT), tap.count(BLOCK_RECEIPTS)) == (1, 0)

    tap.forget()
    ids += relayer.accept_transfers(2)
    relayer.run_until_idle()
    assert tap.count(RECEIPT) == 0
    assert tap.count(BLOCK_RECEIPTS) > 0
    rows = relayer.operations(ids)
    assert [row.status for row in rows] == ["mined"] * 3
    assert_recorded_as_on_chain(relayer, rows)


def test_a_reverted_transaction_gathered_per_block_fails_with_its_decoded_error(
    relayer: Relayer,
) -> None:
    relayer.dispatcher.step()
    participants = relayer.world.ledger.participants
    suspend_nobody = Call(
        "suspend",
        participants.address,
        participants.call_data("suspend", 999, 1),
        200_000,
        {"participant_id": 999},
    )
    ids = relayer.accept(transfer(0), suspend_nobody, transfer(1))
    relayer.run_until_idle()

    rows = relayer.operations(ids)
    assert [(row.status, row.error_code) for row in rows] == [
        ("mined", None),
        ("failed", "ParticipantRegistryUnknownParticipant"),
        ("mined", None),
    ]
    assert rows[1].error_details == {"participant_id": 999}
    assert_recorded_as_on_chain(relayer, rows)
    assert relayer.tap.count(RECEIPT) == 0


def test_a_registration_refused_for_an_earlier_one_in_its_block_fails_with_the_contract_error(
    relayer: Relayer,
) -> None:
    """The second of two registrations of one right: on a node that mines a batch in one block
    its revert does not reproduce on the parent block's state, only on the block's own."""
    relayer.dispatcher.step()
    assets = relayer.world.ledger.assets
    now = relayer.world.now()
    right = AssetInput(
        jurisdiction=b"KR",
        kind=AssetKind.PATENT,
        number="10-2026-0000777",
        title="A seed drill",
        document_hash=bytes(32),
        filing_date=now - 100,
        registration_date=now - 10,
        expiry_date=now + 10_000,
        owners=(Share(ACME_ID, 10_000),),
    )
    register = Call(
        "register_right", assets.address, assets.call_data("registerAsset", right), 600_000, {}
    )
    ids = relayer.accept(register, register)
    relayer.run_until_idle()

    rows = relayer.operations(ids)
    assert [(row.status, row.error_code) for row in rows] == [
        ("mined", None),
        ("failed", "IPAssetRegistryAlreadyRegistered"),
    ]
    asset_id = asset_id_of(b"KR", AssetKind.PATENT, right.number)
    assert rows[1].error_details == {"asset_id": "0x" + asset_id.hex()}
