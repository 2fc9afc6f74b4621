"""Transactions the node refuses: each a clear JSON-RPC error, and the chain unchanged by it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from embedded_chain.datadir import DataDir, create_node
from embedded_chain.genesis import GAS_LIMIT, ChainConfig
from embedded_chain.jsonrpc import JsonRpc
from ledger.backends.embedded import EmbeddedBackend
from ledger.deploy import Ledger
from tests.conftest import ACME_ID
from tests.embedded_chain.conftest import CHAIN_ID, Template
from wallets.signer import LocalSigner


def rpc(backend: EmbeddedBackend, method: str, *params: object) -> dict[str, Any]:
    """The node's whole JSON-RPC answer (result or error), as a client receives it."""
    answer = backend.rpc.handle(
        {"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)}
    )
    assert isinstance(answer, dict)
    return answer


def signed(
    signer: LocalSigner,
    nonce: int,
    *,
    chain_id: int | None = CHAIN_ID,
    to: str | None = None,
    data: bytes = b"",
    gas: int = 100_000,
) -> str:
    fields: dict[str, object] = {
        "nonce": nonce,
        "gas": gas,
        "gasPrice": 0,
        "value": 0,
        "data": data,
        "to": to or signer.address,
    }
    if chain_id is not None:
        fields["chainId"] = chain_id
    return "0x" + signer.sign_transaction(fields).hex()


class Snapshot:
    """What must not move when a transaction is refused: the head and the sender's nonce."""

    def __init__(self, backend: EmbeddedBackend, sender: str) -> None:
        self.backend = backend
        self.sender = sender
        self.head = self._head()
        self.nonce = backend.w3.eth.get_transaction_count(to_checksum_address(sender))

    def _head(self) -> tuple[int, bytes]:
        block = self.backend.w3.eth.get_block("latest")
        return block["number"], bytes(block["hash"])

    def assert_unchanged(self) -> None:
        assert self._head() == self.head
        assert (
            self.backend.w3.eth.get_transaction_count(to_checksum_address(self.sender))
            == self.nonce
        )


def refused(backend: EmbeddedBackend, raw: str, code: int) -> dict[str, Any]:
    answer = rpc(backend, "eth_sendRawTransaction", raw)
    assert "result" not in answer, answer
    assert answer["error"]["code"] == code, answer
    return dict(answer["error"])


def test_a_sender_bound_to_no_participant_is_refused_as_besu_refuses_it(
    chain: EmbeddedBackend,
) -> None:
    outsider = LocalSigner.generate()
    before = Snapshot(chain, outsider.address)
    raw = signed(outsider, 0)

    error = refused(chain, raw, -32007)

    assert error["message"] == "Sender account not authorized to send transactions"
    assert error["data"] == outsider.address.lower()
    before.assert_unchanged()
    tx_hash = "0x" + keccak(bytes.fromhex(raw[2:])).hex()
    assert rpc(chain, "eth_getTransactionReceipt", tx_hash)["result"] is None


def test_a_participants_key_is_refused_once_the_office_suspends_it_and_again_accepted_after(
    chain: EmbeddedBackend, ledger: Ledger, template: Template
) -> None:
    acme = template.acme
    office = ledger.connect(template.office)
    assert "result" in rpc(chain, "eth_sendRawTransaction", signed(acme, 0))

    office.participants.suspend(ACME_ID, 1)
    before = Snapshot(chain, acme.address)
    error = refused(chain, signed(acme, 1), -32007)

    assert "not authorized" in error["message"]
    before.assert_unchanged()
    office.participants.reinstate(ACME_ID)
    assert "result" in rpc(chain, "eth_sendRawTransaction", signed(acme, 1))


def test_a_suspension_earlier_in_the_same_batch_already_counts(
    chain: EmbeddedBackend, ledger: Ledger, template: Template
) -> None:
    office, acme = template.office, template.acme
    registry = chain.w3.eth.contract(
        address=ledger.participants.address,
        abi=[
            {
                "type": "function",
                "name": "suspend",
                "inputs": [
                    {"name": "participantId", "type": "uint64"},
                    {"name": "reasonCode", "type": "uint16"},
                ],
                "outputs": [],
                "stateMutability": "nonpayable",
            }
        ],
    )
    suspend = bytes.fromhex(registry.encode_abi("suspend", [ACME_ID, 1])[2:])
    office_nonce = chain.w3.eth.get_transaction_count(office.address)
    batch = [
        {
            "jsonrpc": "2.0",
            "id": i,
            "method": "eth_sendRawTransaction",
            "params": [raw],
        }
        for i, raw in enumerate(
            [
                signed(acme, 0),
                signed(office, office_nonce, to=ledger.participants.address, data=suspend),
                signed(acme, 1),
            ]
        )
    ]

    answers = chain.rpc.handle(batch)

    assert isinstance(answers, list)
    assert ["result" in a for a in answers] == [True, True, False]
    assert answers[2]["error"]["code"] == -32007
    assert chain.w3.eth.get_transaction_count(acme.address) == 1


def test_before_the_contracts_exist_only_the_validator_may_send(tmp_path: Path) -> None:
    office = LocalSigner(Account.create().key)
    config = ChainConfig(
        chain_id=CHAIN_ID, validator=office.address, genesis_timestamp=int(time.time())
    )
    backend = EmbeddedBackend(create_node(DataDir(tmp_path / "chain"), config))
    try:
        other = LocalSigner.generate()
        before = Snapshot(backend, other.address)
        refused(backend, signed(other, 0), -32007)
        before.assert_unchanged()
        assert "result" in rpc(backend, "eth_sendRawTransaction", signed(office, 0))
    finally:
        backend.close()


@pytest.mark.parametrize(
    "raw",
    [
        "0x",
        "0x" + "de" * 40,
        "0x02" + "c0",  # a typed envelope with an empty body
        "0x03" + "ff" * 10,  # a blob transaction type (not on Shanghai)
    ],
    ids=["empty", "garbage", "empty-typed", "blob-type"],
)
def test_a_malformed_raw_transaction_is_invalid_params(
    chain: EmbeddedBackend, template: Template, raw: str
) -> None:
    before = Snapshot(chain, template.office.address)

    error = refused(chain, raw, -32602)

    assert error["message"].startswith("invalid raw transaction")
    before.assert_unchanged()


def test_a_truncated_transaction_is_invalid_params(
    chain: EmbeddedBackend, template: Template
) -> None:
    before = Snapshot(chain, template.office.address)
    whole = signed(template.office, before.nonce)

    refused(chain, whole[:-10], -32602)

    before.assert_unchanged()


def test_a_transaction_signed_for_another_chain_is_refused(
    chain: EmbeddedBackend, template: Template
) -> None:
    before = Snapshot(chain, template.office.address)

    error = refused(chain, signed(template.office, before.nonce, chain_id=CHAIN_ID + 1), -32000)

    assert error["message"] == f"Wrong chainId: signed for chain {CHAIN_ID + 1}, this is {CHAIN_ID}"
    before.assert_unchanged()


def test_a_transaction_without_replay_protection_is_refused(
    chain: EmbeddedBackend, template: Template
) -> None:
    before = Snapshot(chain, template.office.address)

    error = refused(chain, signed(template.office, before.nonce, chain_id=None), -32000)

    assert error["message"].startswith("ChainId is required")
    before.assert_unchanged()


def test_a_nonce_gap_is_refused_at_once_not_held(
    chain: EmbeddedBackend, template: Template
) -> None:
    office = template.office
    before = Snapshot(chain, office.address)
    ahead = signed(office, before.nonce + 1)

    error = refused(chain, ahead, -32006)

    assert f"next nonce is {before.nonce}" in error["message"]
    assert "holds no future transactions" in error["message"]
    before.assert_unchanged()
    # Nothing was kept: the gap is filled, then the same transaction is accepted when sent again.
    assert "result" in rpc(chain, "eth_sendRawTransaction", signed(office, before.nonce))
    assert "result" in rpc(chain, "eth_sendRawTransaction", ahead)
    assert chain.w3.eth.get_transaction_count(office.address) == before.nonce + 2


def test_a_used_nonce_is_refused_but_the_same_transaction_is_acknowledged_again(
    chain: EmbeddedBackend, template: Template
) -> None:
    office = template.office
    nonce = chain.w3.eth.get_transaction_count(office.address)
    first = signed(office, nonce)
    tx_hash = rpc(chain, "eth_sendRawTransaction", first)["result"]
    before = Snapshot(chain, office.address)

    again = rpc(chain, "eth_sendRawTransaction", first)
    error = refused(chain, signed(office, nonce, data=b"\x01"), -32001)

    assert again["result"] == tx_hash  # a rebroadcast after a crash is harmless
    assert error["message"].startswith("Nonce too low")
    before.assert_unchanged()


def test_gas_below_the_intrinsic_cost_or_above_the_block_limit_is_refused(
    chain: EmbeddedBackend, template: Template
) -> None:
    office = template.office
    before = Snapshot(chain, office.address)

    low = refused(chain, signed(office, before.nonce, gas=20_000), -32003)
    high = refused(chain, signed(office, before.nonce, gas=GAS_LIMIT + 1), -32005)

    assert "needs 21000 gas" in low["message"]
    assert str(GAS_LIMIT) in high["message"]
    before.assert_unchanged()


def test_refusals_in_a_batch_leave_the_other_transactions_in_one_block(
    chain: EmbeddedBackend, template: Template
) -> None:
    office = template.office
    nonce = chain.w3.eth.get_transaction_count(office.address)
    head = chain.w3.eth.block_number
    raws = [signed(office, nonce), "0xdead", signed(office, nonce + 5), signed(office, nonce + 1)]
    batch = [
        {"jsonrpc": "2.0", "id": f"tx{i}", "method": "eth_sendRawTransaction", "params": [raw]}
        for i, raw in enumerate(raws)
    ]

    answers = chain.rpc.handle(batch)

    assert isinstance(answers, list)
    assert [a["id"] for a in answers] == ["tx0", "tx1", "tx2", "tx3"]
    assert [a.get("error", {}).get("code") for a in answers] == [None, -32602, -32006, None]
    assert chain.w3.eth.block_number == head + 1
    assert len(chain.w3.eth.get_block("latest")["transactions"]) == 2


def test_requests_the_node_cannot_answer_get_the_standard_codes(chain: EmbeddedBackend) -> None:
    handle = chain.rpc.handle

    def code_of(request: object) -> int:
        answer = handle(request)
        assert isinstance(answer, dict), answer
        return int(answer["error"]["code"])

    assert code_of({"jsonrpc": "2.0", "id": 1, "method": "eth_mine"}) == -32601
    assert code_of({"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": ["0x1"]}) == (
        -32602
    )
    assert code_of({"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance"}) == -32602
    assert code_of({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": {}}) == (
        -32602
    )
    assert code_of({"id": 1, "method": "eth_blockNumber"}) == -32600
    assert code_of([]) == -32600
    too_many = [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(1025)]
    assert code_of(too_many) == -32005
    assert chain.rpc.handle_bytes(b"{not json").startswith(b'{"jsonrpc":"2.0","id":null,"error"')
    assert handle({"jsonrpc": "2.0", "method": "eth_chainId"}) is None  # a notification


def test_a_node_opened_twice_is_refused_with_a_clear_error(chain_dir: Path) -> None:
    from embedded_chain.datadir import DataDirInUse

    first = EmbeddedBackend.open(chain_dir, None)
    try:
        with pytest.raises(DataDirInUse, match="in use by another process"):
            EmbeddedBackend.open(chain_dir, None)
    finally:
        first.close()
    EmbeddedBackend.open(chain_dir, None).close()  # released on close


def test_the_default_config_is_not_assumed(chain: EmbeddedBackend) -> None:
    assert chain.chain_id == CHAIN_ID
    assert rpc(chain, "net_version")["result"] == str(CHAIN_ID)
    assert isinstance(chain.rpc, JsonRpc)
