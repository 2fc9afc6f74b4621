"""`ipledger chain`: init a data directory, serve it over HTTP, back it up."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import httpx
import pytest
from eth_account import Account
from typer.testing import CliRunner
from web3 import HTTPProvider, Web3

from ledger.artifacts import ArtifactSet
from ledger.backends.anvil import free_port
from ledger.backends.rpc import RpcBackend
from ledger.deploy import open_ledger
from ledger.errors import ParticipantRegistryAlreadyEnrolled
from ledger.manifest import DeploymentManifest
from ledger.types import Role
from registry_api.cli import app
from wallets.signer import LocalSigner

runner = CliRunner()
PASSWORD = "correct horse battery staple"
IPLEDGER = str(Path(sys.executable).with_name("ipledger"))


@pytest.fixture(scope="module")
def initialized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("office") / "chain"
    result = runner.invoke(
        app,
        ["chain", "init", "--data-dir", str(data_dir), "--chain-id", "8888"],
        env={"IPLEDGER_KEY_PASSWORD": PASSWORD},
    )
    assert result.exit_code == 0, result.output
    return data_dir


@dataclass(frozen=True)
class Served:
    url: str
    process: subprocess.Popen[bytes]


def serve(data_dir: Path) -> Served:
    port = free_port()
    process = subprocess.Popen(
        [IPLEDGER, "chain", "serve", "--data-dir", str(data_dir), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"})
            return Served(url, process)
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                stderr = process.stderr.read().decode() if process.stderr else ""
                raise AssertionError(f"chain serve did not start: {stderr}") from None
            time.sleep(0.05)


@pytest.fixture(scope="module")
def served(initialized: Path) -> Iterator[Served]:
    running = serve(initialized)
    yield running
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(timeout=30) == 0


def test_init_keeps_the_office_key_in_an_encrypted_keystore_and_never_shows_the_password(
    initialized: Path,
) -> None:
    keystore = json.loads((initialized / "keystore" / "office.json").read_text())
    manifest = DeploymentManifest.load(initialized / "manifest.json")

    assert keystore["crypto"]["kdf"] == "scrypt"
    office = Account.from_key(Account.decrypt(keystore, PASSWORD))
    assert manifest.deployer == office.address
    assert manifest.office.keys == (office.address,)
    assert manifest.chain_id == 8888
    assert (initialized / "keystore" / "office.json").stat().st_mode & 0o077 == 0
    for path in initialized.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_init_needs_a_password_and_an_empty_directory(
    initialized: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IPLEDGER_KEY_PASSWORD", raising=False)
    no_password = runner.invoke(app, ["chain", "init", "--data-dir", str(tmp_path / "new")])
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    again = runner.invoke(
        app,
        ["chain", "init", "--data-dir", str(initialized), "--password-file", str(password_file)],
    )

    assert no_password.exit_code == 1
    assert "password is needed" in " ".join(no_password.output.split())
    assert not (tmp_path / "new").exists()
    assert again.exit_code == 1
    assert "not an empty directory" in " ".join(again.output.split())


def test_init_takes_the_password_from_the_file_named_by_ipledger_key_password_file(
    initialized: Path, tmp_path: Path
) -> None:
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")

    # An initialized directory: past the password, init stops before it writes anything.
    result = runner.invoke(
        app,
        ["chain", "init", "--data-dir", str(initialized)],
        env={"IPLEDGER_KEY_PASSWORD": None, "IPLEDGER_KEY_PASSWORD_FILE": str(password_file)},
    )

    assert result.exit_code == 1
    assert "password is needed" not in " ".join(result.output.split())
    assert "not an empty directory" in " ".join(result.output.split())


def test_a_command_finds_the_manifest_of_the_data_directory_and_says_which_file_it_uses(
    served: Served, initialized: Path, tmp_path: Path
) -> None:
    # No --manifest, no IPLEDGER_MANIFEST, and no ~/.ipledger/deployments/CHAIN_ID.json.
    env = {"HOME": str(tmp_path), "IPLEDGER_MANIFEST": None, "IPLEDGER_DATA_DIR": str(initialized)}

    result = runner.invoke(app, ["contracts", "verify", "--rpc", served.url], env=env)

    assert result.exit_code == 0, result.output
    assert str(initialized / "manifest.json") in " ".join(result.output.split())


def test_without_any_manifest_a_command_says_in_one_sentence_what_to_pass(
    served: Served, tmp_path: Path
) -> None:
    env = {
        "HOME": str(tmp_path),
        "IPLEDGER_MANIFEST": None,
        "IPLEDGER_DATA_DIR": str(tmp_path / "no-chain"),
    }

    result = runner.invoke(app, ["contracts", "verify", "--rpc", served.url], env=env)

    shown = " ".join(result.output.split())
    assert result.exit_code == 1
    assert "no deployment manifest for chain 8888" in shown
    assert "--manifest" in shown
    assert "IPLEDGER_MANIFEST" in shown
    assert "Traceback" not in result.output


def test_a_served_chain_answers_web3_and_the_ledger_library_over_http(
    served: Served, initialized: Path, artifacts: ArtifactSet
) -> None:
    backend = RpcBackend(served.url)
    office = LocalSigner.from_key_file(initialized / "keystore" / "office.json", PASSWORD)
    ledger = open_ledger(
        backend, DeploymentManifest.load(initialized / "manifest.json"), artifacts, office
    )

    assert backend.chain_id == 8888
    assert backend.w3.client_version.startswith("ipledger-embedded/")
    assert ledger.participants.is_office(office.address)
    with pytest.raises(ParticipantRegistryAlreadyEnrolled):  # a revert, typed, over HTTP
        ledger.participants.enrol(1, Role.PARTICIPANT, bytes(32), 2**40, [office.address])
    receipt = ledger.participants.renew_certificate(1, bytes(range(32)), 2**40).receipt
    assert backend.w3.eth.get_block("latest")["number"] == receipt.block_number


def test_a_request_over_the_size_limit_is_refused_and_changes_nothing(served: Served) -> None:
    w3 = Web3(HTTPProvider(served.url))
    head = w3.eth.block_number
    raw = "0x" + Account.create().sign_transaction(
        {"nonce": 0, "gas": 10_000_000, "gasPrice": 0, "to": None, "value": 0,
         "data": b"\x00" * 6_000_000, "chainId": 8888}
    ).raw_transaction.hex()  # fmt: skip

    response = httpx.post(
        served.url,
        json={"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": [raw]},
    )

    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == -32005
    assert "at most 5242880 bytes" in error["message"]
    assert w3.eth.block_number == head


def test_only_post_is_answered(served: Served) -> None:
    response = httpx.get(served.url)

    assert response.status_code == 405
    assert response.json()["error"]["code"] == -32600


def test_a_second_server_on_the_same_data_directory_is_refused(
    served: Served, initialized: Path
) -> None:
    second = subprocess.run(
        [IPLEDGER, "chain", "serve", "--data-dir", str(initialized), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert second.returncode == 1
    assert "in use by another process" in second.stderr
    assert "Traceback" not in second.stderr


def test_a_backup_of_a_served_chain_serves_the_same_head(served: Served, tmp_path: Path) -> None:
    w3 = Web3(HTTPProvider(served.url))
    head = w3.eth.get_block("latest")
    source = Path(cast(list[str], served.process.args)[4])

    result = runner.invoke(
        app, ["chain", "backup", "--data-dir", str(source), "--to", str(tmp_path / "copy")]
    )
    copy = serve(tmp_path / "copy")
    try:
        assert result.exit_code == 0, result.output
        assert Web3(HTTPProvider(copy.url)).eth.get_block("latest")["hash"] == head["hash"]
    finally:
        copy.process.send_signal(signal.SIGTERM)
        assert copy.process.wait(timeout=30) == 0


def test_the_service_serves_its_embedded_chain_over_json_rpc_and_is_backed_up_once_stopped(
    tmp_path: Path,
) -> None:
    """`ipledger serve --node-port`: the wallet CLI and any Ethereum client reach the service's
    own chain while it runs; `chain backup` of its data directory waits for it to stop."""
    data_dir, port, node_port = tmp_path / "data", free_port(), free_port()
    command = [IPLEDGER, "serve", "--data-dir", str(data_dir), "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--node-port", str(node_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "IPLEDGER_KEY_PASSWORD": PASSWORD},
    )
    try:
        health = _healthy(f"http://127.0.0.1:{port}", process)
        node = Web3(HTTPProvider(f"http://127.0.0.1:{node_port}"))
        manifest = DeploymentManifest.load(data_dir / "manifest.json")
        assert node.eth.chain_id == health["chain_id"] == manifest.chain_id
        assert node.eth.block_number >= manifest.block_number
        assert node.eth.get_code(manifest.address_of("ParticipantRegistry"))
        refused = runner.invoke(
            app, ["chain", "backup", "--data-dir", str(data_dir), "--to", str(tmp_path / "x")]
        )
        assert refused.exit_code == 1
        assert "stop the service" in " ".join(refused.output.split())
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

    copied = runner.invoke(
        app, ["chain", "backup", "--data-dir", str(data_dir), "--to", str(tmp_path / "copy")]
    )
    assert copied.exit_code == 0, copied.output
    for name in ("registry.sqlite3", "ca/root.pem", "keystore/office.json", "manifest.json"):
        assert (tmp_path / "copy" / name).is_file(), name


def _healthy(url: str, process: subprocess.Popen[bytes]) -> dict[str, object]:
    deadline = time.monotonic() + 120
    while True:
        try:
            answer = httpx.get(f"{url}/v1/health", timeout=5)
            if answer.status_code == 200:
                health: dict[str, object] = answer.json()
                return health
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            output = process.stdout.read().decode() if process.stdout else ""
            raise AssertionError(f"ipledger serve did not start: {output}")
        time.sleep(0.1)


@pytest.mark.parametrize("option", ["--port", "--node-port"])
def test_serve_on_a_port_in_use_says_so_before_it_creates_anything(
    tmp_path: Path, option: str
) -> None:
    data_dir = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        ports = {"--port": str(free_port()), "--node-port": str(free_port()), option: str(busy)}
        result = runner.invoke(
            app,
            ["serve", "--data-dir", str(data_dir), *(x for kv in ports.items() for x in kv)],
            env={"IPLEDGER_KEY_PASSWORD": PASSWORD},
        )

    assert result.exit_code == 1, result.output
    words = " ".join(result.output.split())
    assert f"port {busy} on 127.0.0.1 is in use" in words, words
    assert "Traceback" not in words
    assert not data_dir.exists()
