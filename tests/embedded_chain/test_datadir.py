"""The data directory: re-opening at the head without replaying, one process at a time, backups."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from eth_account import Account
from eth_typing import Address
from eth_utils.address import to_canonical_address

from embedded_chain.datadir import (
    DataDir,
    DataDirError,
    DataDirInUse,
    backup,
    create_node,
    initialize,
    open_node,
)
from embedded_chain.errors import SenderNotAuthorized
from embedded_chain.genesis import ChainConfig
from embedded_chain.jsonrpc import JsonRpc
from embedded_chain.node import Node
from embedded_chain.permissioning import AccountRulesContract, ValidatorOnly
from ledger.backends.embedded import EmbeddedBackend
from tests.embedded_chain.conftest import CHAIN_ID, Template
from wallets.signer import LocalSigner

ROOT = Path(__file__).resolve().parents[2]


def _config(validator: LocalSigner) -> ChainConfig:
    return ChainConfig(
        chain_id=CHAIN_ID, validator=validator.address, genesis_timestamp=int(time.time())
    )


def _transfer(signer: LocalSigner, nonce: int) -> bytes:
    return signer.sign_transaction(
        {
            "chainId": CHAIN_ID,
            "nonce": nonce,
            "gas": 21_000,
            "gasPrice": 0,
            "value": 0,
            "to": signer.address,
            "data": b"",
        }
    )


def _transfers(node: Node, signer: LocalSigner, count: int, per_block: int) -> None:
    nonce = 0
    while nonce < count:
        batch = [
            signer.sign_transaction(
                {
                    "chainId": CHAIN_ID,
                    "nonce": n,
                    "gas": 21_000,
                    "gasPrice": 0,
                    "value": 0,
                    "to": signer.address,
                    "data": b"",
                }
            )
            for n in range(nonce, min(nonce + per_block, count))
        ]
        assert all(isinstance(r, bytes) for r in node.send_raw_transactions(batch))
        nonce += len(batch)


def _reads_to_reopen(data_dir: DataDir) -> tuple[int, int]:
    """Database reads from opening to answering a first few requests; and the head."""
    node = open_node(data_dir, None)
    try:
        rpc = JsonRpc(node)
        for method, params in (
            ("eth_blockNumber", []),
            ("eth_getBlockByNumber", ["latest", True]),
            ("eth_getBalance", [node.config.validator, "latest"]),
        ):
            answer = rpc.handle({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
            assert isinstance(answer, dict)
            assert "result" in answer
        return node.store.reads, node.head.block_number
    finally:
        node.close()


def test_reopening_reads_as_little_from_a_long_chain_as_from_a_short_one(tmp_path: Path) -> None:
    signer = LocalSigner(Account.create().key)
    short, long = DataDir(tmp_path / "short"), DataDir(tmp_path / "long")
    for data_dir, count in ((short, 20), (long, 600)):
        node = create_node(data_dir, _config(signer))
        _transfers(node, signer, count, per_block=2)
        node.close()

    short_reads, short_head = _reads_to_reopen(short)
    long_reads, long_head = _reads_to_reopen(long)

    assert (short_head, long_head) == (10, 300)
    # History is never replayed: the same handful of lookups, whatever the chain's length.
    assert long_reads == short_reads
    assert long_reads < 40


def test_a_reopened_chain_is_at_its_head_with_its_state(tmp_path: Path) -> None:
    signer = LocalSigner(Account.create().key)
    data_dir = DataDir(tmp_path / "chain")
    node = create_node(data_dir, _config(signer))
    _transfers(node, signer, 5, per_block=1)
    head = node.head
    node.close()

    reopened = open_node(data_dir, None)
    try:
        assert reopened.head == head
        assert (
            reopened.state_at(reopened.head).get_nonce(Address(bytes.fromhex(signer.address[2:])))
            == 5
        )
        assert reopened.config == _config(signer).model_copy(
            update={"genesis_timestamp": reopened.config.genesis_timestamp}
        )
    finally:
        reopened.close()


def test_a_second_process_opening_the_chain_gets_a_clear_error(chain_dir: Path) -> None:
    holder = EmbeddedBackend.open(chain_dir, None)
    try:
        other = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from pathlib import Path;"
                "from embedded_chain.datadir import DataDir, open_node;"
                "open_node(DataDir(Path(sys.argv[1])), None)",
                str(chain_dir),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        holder.close()

    assert other.returncode != 0
    assert "DataDirInUse" in other.stderr
    assert f"in use by another process (pid {__import__('os').getpid()})" in other.stderr


def test_the_lock_is_released_by_a_process_that_dies(chain_dir: Path) -> None:
    killed = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path;"
            "from embedded_chain.datadir import DataDir, open_node;"
            "open_node(DataDir(Path(sys.argv[1])), None); print('open', flush=True);"
            "time.sleep(60)",
            str(chain_dir),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    assert killed.stdout is not None
    assert killed.stdout.readline() == b"open\n"
    with pytest.raises(DataDirInUse):
        open_node(DataDir(chain_dir), None)
    killed.kill()
    killed.wait()

    open_node(DataDir(chain_dir), None).close()


def test_the_node_is_permissioned_by_the_account_rules_it_is_given_or_else_by_its_validator(
    chain_dir: Path, template: Template, tmp_path: Path
) -> None:
    node = open_node(DataDir(chain_dir), template.account_rules)
    try:
        assert node.permissioning == AccountRulesContract(
            to_canonical_address(template.account_rules)
        )
    finally:
        node.close()
    node = open_node(DataDir(chain_dir), None)
    try:
        assert node.permissioning == ValidatorOnly(to_canonical_address(template.office.address))
    finally:
        node.close()
    fresh = create_node(DataDir(tmp_path / "fresh"), _config(template.office))
    try:
        assert isinstance(fresh.permissioning, ValidatorOnly)
    finally:
        fresh.close()


def test_the_adapter_permissions_the_chain_by_the_address_it_is_given_not_by_a_manifest(
    chain_dir: Path, template: Template
) -> None:
    (chain_dir / "manifest.json").unlink()  # the office's file: the node never reads it
    backend = EmbeddedBackend.open(chain_dir, template.account_rules)
    try:
        stranger = LocalSigner.generate()
        enrolled, refused = backend.node.send_raw_transactions(
            [_transfer(template.acme, nonce=0), _transfer(stranger, nonce=0)]
        )
    finally:
        backend.close()
    assert isinstance(enrolled, bytes)
    assert isinstance(refused, SenderNotAuthorized)


def test_a_failed_init_leaves_nothing_behind(tmp_path: Path) -> None:
    signer = LocalSigner(Account.create().key)
    target = tmp_path / "chain"

    def failing(node: Node, data_dir: DataDir) -> None:
        raise RuntimeError("deployment failed")

    with pytest.raises(RuntimeError, match="deployment failed"):
        initialize(target, _config(signer), failing)

    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_init_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "chain").mkdir()
    (tmp_path / "chain" / "notes.txt").write_text("mine")
    signer = LocalSigner(Account.create().key)

    with pytest.raises(DataDirError, match="not an empty directory"):
        initialize(tmp_path / "chain", _config(signer), lambda node, data_dir: None)


def test_opening_a_directory_without_a_chain_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(DataDirError, match="ipledger chain init"):
        open_node(DataDir(tmp_path), None)


def test_a_backup_taken_while_the_chain_runs_opens_at_the_same_head(
    chain: EmbeddedBackend, chain_dir: Path, tmp_path: Path
) -> None:
    head = chain.w3.eth.get_block("latest")

    copied_head = backup(DataDir(chain_dir), DataDir(tmp_path / "copy"))

    assert copied_head == head["number"]
    copy = EmbeddedBackend.open(tmp_path / "copy", None)
    try:
        assert copy.w3.eth.get_block("latest")["hash"] == head["hash"]
        assert (tmp_path / "copy" / "manifest.json").read_text() == (
            chain_dir / "manifest.json"
        ).read_text()
        assert (tmp_path / "copy" / "keystore" / "office.json").exists() == (
            chain_dir / "keystore" / "office.json"
        ).exists()
    finally:
        copy.close()


def _service_files(chain_dir: Path) -> None:
    """What the registry service keeps beside its embedded chain: its database (in WAL mode,
    with rows still in the log), a certificate authority and secrets."""
    database = sqlite3.connect(chain_dir / "registry.sqlite3")
    database.execute("PRAGMA journal_mode=WAL")
    database.execute("PRAGMA wal_autocheckpoint=0")
    database.execute("CREATE TABLE operations (id TEXT PRIMARY KEY)")
    database.executemany("INSERT INTO operations VALUES (?)", [("a",), ("b",)])
    database.commit()
    database.close()
    (chain_dir / "ca").mkdir()
    (chain_dir / "ca" / "root.pem").write_text("root")
    (chain_dir / "key-password").write_text("secret")
    (chain_dir / "key-password").chmod(0o600)


def test_a_service_directory_is_backed_up_whole_and_only_while_no_process_has_it_open(
    chain_dir: Path, tmp_path: Path
) -> None:
    _service_files(chain_dir)
    running = EmbeddedBackend.open(chain_dir, None)
    try:
        head = running.w3.eth.get_block("latest")
        with pytest.raises(DataDirInUse, match="stop the service"):
            backup(DataDir(chain_dir), DataDir(tmp_path / "refused"))
    finally:
        running.close()
    assert not (tmp_path / "refused").exists()

    copied_head = backup(DataDir(chain_dir), DataDir(tmp_path / "copy"))

    copy = tmp_path / "copy"
    assert copied_head == head["number"]
    assert (copy / "ca" / "root.pem").read_text() == "root"
    assert (copy / "key-password").read_text() == "secret"
    assert (copy / "key-password").stat().st_mode & 0o777 == 0o600
    assert not list(copy.glob("registry.sqlite3-*"))
    database = sqlite3.connect(copy / "registry.sqlite3")
    try:
        assert database.execute("SELECT id FROM operations ORDER BY id").fetchall() == [
            ("a",),
            ("b",),
        ]
    finally:
        database.close()
