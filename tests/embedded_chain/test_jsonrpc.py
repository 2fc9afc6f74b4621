"""The node's JSON-RPC reads, as web3 and the indexer use them; logs by filter; reverts."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3
from web3.exceptions import ContractCustomError
from web3.types import FilterParams, LogReceipt

from embedded_chain import jsonrpc
from ledger.artifacts import ArtifactSet
from ledger.backends.base import ChainBackend
from ledger.backends.embedded import EmbeddedBackend
from ledger.codec import to_abi
from ledger.deploy import Ledger, OfficeBootstrap, deploy_ledger
from ledger.errors import IPAssetRegistryNotOffice
from ledger.types import AssetInput, AssetKind, AssetStatus, Role, Share
from tests.conftest import ACME_ID, BETA_ID, OFFICE_ID, YEAR, fingerprint, start_anvil
from wallets.signer import LocalSigner


@dataclass(frozen=True)
class Activity:
    """A chain with a little of everything: deployments, enrolments, rights, a status change."""

    backend: ChainBackend
    ledger: Ledger
    office: LocalSigner
    acme: LocalSigner
    beta: LocalSigner
    now: int


def _right(number: int, now: int, owner: int = ACME_ID) -> AssetInput:
    return AssetInput(
        jurisdiction=b"KR",
        kind=AssetKind.PATENT,
        number=f"10-2026-{number:07d}",
        title=f"Invention {number}",
        document_hash=hashlib.sha256(str(number).encode()).digest(),
        filing_date=now - 400 * 86400,
        registration_date=now - 30 * 86400,
        expiry_date=now + 10 * YEAR,
        owners=(Share(owner, 10_000),),
    )


def _activity(
    backend: ChainBackend,
    artifacts: ArtifactSet,
    office: LocalSigner,
    acme: LocalSigner,
    beta: LocalSigner,
    now: int,
) -> Activity:
    ledger = deploy_ledger(
        backend,
        office,
        artifacts,
        OfficeBootstrap(OFFICE_ID, fingerprint("office"), now + 10 * YEAR, (office.address,)),
    )
    for pid, key in ((ACME_ID, acme), (BETA_ID, beta)):
        ledger.participants.enrol(
            pid, Role.PARTICIPANT, fingerprint(key.address), now + 5 * YEAR, [key.address]
        )
    first = ledger.assets.register_asset(_right(1, now)).event.asset_id
    ledger.assets.register_assets([_right(n, now, BETA_ID) for n in range(2, 6)])
    ledger.assets.set_asset_status(first, AssetStatus.LAPSED, 3)
    return Activity(backend, ledger, office, acme, beta, now)


@pytest.fixture(scope="module")
def activity(artifacts: ArtifactSet) -> Iterator[Activity]:
    backend = EmbeddedBackend()
    keys = (LocalSigner.generate(), LocalSigner.generate(), LocalSigner.generate())
    yield _activity(backend, artifacts, *keys, int(time.time()))
    backend.close()


def test_web3_reads_blocks_transactions_and_receipts(activity: Activity) -> None:
    w3 = activity.backend.w3
    head = w3.eth.get_block("latest", full_transactions=True)
    (tx,) = head["transactions"]
    assert not isinstance(tx, bytes)

    receipt = w3.eth.get_transaction_receipt(tx["hash"])

    assert w3.eth.get_block(head["hash"]) == w3.eth.get_block(head["number"])
    assert w3.eth.get_transaction(tx["hash"]) == tx
    assert tx["from"] == activity.office.address
    assert receipt["status"] == 1
    assert receipt["blockHash"] == head["hash"]
    assert receipt["gasUsed"] == head["gasUsed"] == receipt["cumulativeGasUsed"]
    assert receipt["logs"][0]["logIndex"] == 0
    assert w3.eth.get_block_receipts(head["number"]) == [receipt]
    assert w3.eth.get_transaction_by_block(head["number"], 0) == tx
    assert w3.eth.get_block_transaction_count(head["hash"]) == 1
    assert head["miner"] == "0x" + "00" * 20  # an in-memory chain has no office
    assert head["baseFeePerGas"] == 0


def test_web3_reads_state_and_fees(activity: Activity, artifacts: ArtifactSet) -> None:
    w3 = activity.backend.w3
    office = activity.office.address
    registry = activity.ledger.participants.address

    assert w3.eth.get_transaction_count(office, "pending") == w3.eth.get_transaction_count(office)
    assert w3.eth.get_balance(office) == 0  # gas is free: nobody holds ether
    assert len(w3.eth.get_code(registry)) == len(
        artifacts.get("ParticipantRegistry").runtime_bytecode
    )
    assert len(w3.eth.get_storage_at(registry, 0)) == 32
    assert w3.eth.gas_price == 0
    assert w3.eth.max_priority_fee == 0
    history = w3.eth.fee_history(4, "latest", [50])
    assert history["baseFeePerGas"] == [0] * 5
    assert len(history["gasUsedRatio"]) == 4
    assert w3.eth.syncing is False
    assert w3.eth.chain_id == activity.backend.chain_id
    assert w3.net.version == str(activity.backend.chain_id)
    assert w3.client_version.startswith("ipledger-embedded/")
    assert activity.ledger.participants.is_office(office)


def test_a_revert_is_code_3_with_its_data_and_becomes_the_typed_error(
    activity: Activity, artifacts: ArtifactSet
) -> None:
    as_acme = activity.ledger.connect(activity.acme)
    assets = activity.backend.w3.eth.contract(
        address=activity.ledger.assets.address, abi=artifacts.get("IPAssetRegistry").abi
    )
    call = {
        "from": activity.acme.address,
        "to": assets.address,
        "data": assets.encode_abi("setAssetStatus", [bytes(32), 1, 1]),
    }

    with pytest.raises(ContractCustomError) as raw:
        activity.backend.w3.eth.call(call)  # type: ignore[arg-type]
    with pytest.raises(IPAssetRegistryNotOffice) as typed:
        as_acme.assets.register_asset(_right(99, int(time.time())))

    assert str(raw.value.data).startswith("0x")
    assert typed.value.caller == activity.acme.address


def test_an_estimate_is_enough_and_close(activity: Activity, artifacts: ArtifactSet) -> None:
    w3 = activity.backend.w3
    assets = w3.eth.contract(
        address=activity.ledger.assets.address, abi=artifacts.get("IPAssetRegistry").abi
    )
    data = assets.encode_abi("registerAsset", [to_abi(_right(7, int(time.time())))])
    call: dict[str, Any] = {"from": activity.office.address, "to": assets.address, "data": data}

    estimate = w3.eth.estimate_gas(call)  # type: ignore[arg-type]
    exact = _least_gas(w3, call, estimate)

    assert exact <= estimate <= exact * 1.02


def _least_gas(w3: Web3, call: dict[str, Any], above: int) -> int:
    low, high = 21_000, above
    while high - low > 1:
        middle = (low + high) // 2
        try:
            w3.eth.call({**call, "gas": middle})  # type: ignore[typeddict-item]
            high = middle
        except Exception:
            low = middle
    return high


# --- logs ---


def _all_logs(w3: Web3) -> list[LogReceipt]:
    head = w3.eth.block_number
    return [log for n in range(head + 1) for r in w3.eth.get_block_receipts(n) for log in r["logs"]]


def _matches(log: LogReceipt, query: FilterParams) -> bool:
    if not int(query["fromBlock"]) <= log["blockNumber"] <= int(query["toBlock"]):
        return False
    addresses = query.get("address")
    if addresses and log["address"] not in addresses:
        return False
    for position, wanted in enumerate(query.get("topics") or []):
        if wanted is None:
            continue
        options = wanted if isinstance(wanted, list) else [wanted]
        if position >= len(log["topics"]) or log["topics"][position].to_0x_hex() not in options:
            return False
    return True


@st.composite
def filters(draw: st.DrawFn, head: int, logs: list[LogReceipt]) -> FilterParams:
    first = draw(st.integers(0, head))
    last = draw(st.integers(first, head))
    addresses = [
        *sorted({log["address"] for log in logs}),
        Web3.to_checksum_address("0x" + "ab" * 20),
    ]
    topics = [*sorted({t.to_0x_hex() for log in logs for t in log["topics"]}), "0x" + "cd" * 32]
    position = st.one_of(
        st.none(),
        st.sampled_from(topics),
        st.lists(st.sampled_from(topics), min_size=1, max_size=3),
    )
    return {
        "fromBlock": first,
        "toBlock": last,
        "address": draw(st.lists(st.sampled_from(addresses), max_size=2, unique=True)),
        "topics": draw(st.lists(position, max_size=4)),
    }


def test_log_filters_select_exactly_the_matching_logs_of_the_receipts(activity: Activity) -> None:
    w3 = activity.backend.w3
    logs = _all_logs(w3)
    assert len(logs) > 10

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(query=filters(w3.eth.block_number, logs))
    def check(query: FilterParams) -> None:
        assert w3.eth.get_logs(query) == [log for log in logs if _matches(log, query)]

    check()


def test_logs_of_one_block_by_its_hash(activity: Activity) -> None:
    w3 = activity.backend.w3
    block = w3.eth.get_block("latest")

    by_hash = w3.eth.get_logs({"blockHash": block["hash"]})

    assert by_hash == w3.eth.get_block_receipts(block["number"])[0]["logs"]


def _get_logs(backend: ChainBackend, query: dict[str, object]) -> dict[str, Any]:
    answer = backend.w3.provider.make_request("eth_getLogs", [query])  # type: ignore[arg-type]
    return dict(answer)


def test_a_log_query_past_the_head_reads_up_to_the_head(activity: Activity) -> None:
    head = activity.backend.w3.eth.block_number

    answer = _get_logs(activity.backend, {"fromBlock": "0x0", "toBlock": hex(head + 1_000)})

    assert (
        answer["result"]
        == _get_logs(activity.backend, {"fromBlock": "0x0", "toBlock": "latest"})["result"]
    )


def test_log_queries_over_too_many_blocks_or_logs_are_refused_as_limits(
    activity: Activity, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonrpc, "MAX_LOG_BLOCK_RANGE", 2)
    monkeypatch.setattr(jsonrpc, "MAX_LOGS", 1)

    wide = _get_logs(activity.backend, {"fromBlock": "0x1", "toBlock": "0x3"})
    many = _get_logs(activity.backend, {"fromBlock": "0x1", "toBlock": "0x2"})

    assert wide["error"]["code"] == -32005
    assert "at most 2" in wide["error"]["message"]
    assert many["error"]["code"] == -32005
    assert "narrow the block range" in many["error"]["message"]


# --- the same transactions on anvil ---


@pytest.mark.anvil
def test_receipts_and_logs_match_anvils_for_the_same_transactions(
    activity: Activity, artifacts: ArtifactSet
) -> None:
    node = start_anvil()
    try:
        other = _activity(
            node.backend(),
            artifacts,
            activity.office,
            activity.acme,
            activity.beta,
            activity.now,
        )
        ours, theirs = activity.backend.w3, other.backend.w3
        assert ours.eth.block_number == theirs.eth.block_number
        for number in range(1, ours.eth.block_number + 1):
            (mine,) = ours.eth.get_block_receipts(number)
            (anvils,) = theirs.eth.get_block_receipts(number)
            for field in ("status", "gasUsed", "cumulativeGasUsed", "contractAddress", "from"):
                assert mine[field] == anvils[field], (number, field)
            assert mine["logsBloom"] == anvils["logsBloom"]
            assert [(x["address"], x["topics"], x["data"]) for x in mine["logs"]] == [
                (x["address"], x["topics"], x["data"]) for x in anvils["logs"]
            ]
    finally:
        node.stop()
