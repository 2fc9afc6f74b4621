"""`ipledger chain`: create, serve and back up the embedded chain of one office."""

from __future__ import annotations

import datetime
import json
import os
import time
from pathlib import Path
from typing import Annotated

import typer
from eth_account import Account
from rich.table import Table

from ledger.backends.embedded import EmbeddedBackend
from ledger.compiler import CompilationError, compile_sources
from ledger.deploy import OfficeBootstrap, deploy_ledger
from ledger.embedded.datadir import (
    DataDir,
    DataDirError,
    backup,
    initialize,
    open_node,
)
from ledger.embedded.genesis import DEFAULT_CHAIN_ID, ChainConfig
from ledger.embedded.jsonrpc import JsonRpc
from ledger.embedded.node import Node
from ledger.embedded.server import serve
from ledger.embedded.store import StoreError
from ledger.errors import LedgerError
from ledger.manifest import DeploymentManifest
from registry_api.commands.console import ARTIFACTS, CONTRACTS_DIR, console, fail, key_password
from registry_api.identity.certificates import CertificateError, read_certificate, self_signed
from wallets.signer import KeyFileError, LocalSigner

chain_app = typer.Typer(
    help="The embedded chain: one office, one machine, a data directory.", no_args_is_help=True
)

DataDirOption = Annotated[
    Path, typer.Option("--data-dir", help="The chain's data directory.", resolve_path=True)
]


@chain_app.command("init")
def chain_init(
    data_dir: DataDirOption,
    chain_id: Annotated[int, typer.Option(help="The chain id, signed into every transaction.")] = (
        DEFAULT_CHAIN_ID
    ),
    password_file: Annotated[
        Path | None, typer.Option(help="Keystore password file (or set IPLEDGER_KEY_PASSWORD).")
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option(
            help="Use this office key (hex, or a keystore with the same password) instead of "
            "creating one."
        ),
    ] = None,
    office_id: Annotated[int, typer.Option(help="The office's participant id.")] = 1,
    office_certificate: Annotated[
        Path | None,
        typer.Option(help="The office's X.509 certificate (PEM or DER); else a self-signed one."),
    ] = None,
) -> None:
    """Create a chain: genesis, the office's encrypted key, the contracts, the manifest.

    The office is the chain's only validator and the first participant. Its key is kept in
    DATA_DIR/keystore/office.json (Web3 Secret Storage, scrypt), encrypted with the password.
    """
    password = key_password(password_file)
    if not password:
        raise fail("a keystore password is needed: --password-file or IPLEDGER_KEY_PASSWORD")
    try:
        artifacts = compile_sources(CONTRACTS_DIR, ARTIFACTS)
        private_key = _office_key(key_file, password)
        office = LocalSigner(private_key)
        config = ChainConfig(
            chain_id=chain_id, validator=office.address, genesis_timestamp=int(time.time())
        )

        def populate(node: Node, target: DataDir) -> None:
            _write_keystore(target.keystore, private_key, password)
            if office_certificate is not None:
                facts = read_certificate(office_certificate)
            else:
                created = self_signed(
                    "IP Office", valid_days=5 * 365, now=datetime.datetime.now(datetime.UTC)
                )
                created.write(target.certificate, target.certificate_key, password.encode())
                facts = created.facts
            bootstrap = OfficeBootstrap(
                office_id, facts.fingerprint, facts.not_after, (office.address,)
            )
            ledger = deploy_ledger(EmbeddedBackend(node), office, artifacts, bootstrap)
            ledger.manifest.save(target.manifest)

        with console.status(f"creating chain {chain_id} and deploying the contracts..."):
            initialize(data_dir, config, populate)
        manifest = DeploymentManifest.load(DataDir(data_dir).manifest)
    except (
        CompilationError,
        CertificateError,
        DataDirError,
        KeyFileError,
        LedgerError,
        StoreError,
        OSError,
        ValueError,
    ) as exc:
        raise fail(str(exc)) from exc
    table = Table("", "", title=f"chain {chain_id} created in {data_dir}")
    table.add_row("office (validator)", office.address)
    table.add_row("keystore", str(DataDir(data_dir).keystore))
    for name, deployment in manifest.contracts.items():
        table.add_row(name, f"{deployment.address} (block {deployment.block_number})")
    table.add_row("manifest", str(DataDir(data_dir).manifest))
    console.print(table)
    console.print(f"serve it with: ipledger chain serve --data-dir {data_dir}")


@chain_app.command("serve")
def chain_serve(
    data_dir: DataDirOption,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8545,
) -> None:
    """Serve the chain over HTTP JSON-RPC until interrupted (SIGINT or SIGTERM)."""
    try:
        node = open_node(DataDir(data_dir))
    except (DataDirError, StoreError, OSError, ValueError) as exc:
        raise fail(str(exc)) from exc
    try:
        head = node.head
        console.print(
            f"chain {node.chain_id}, head #{head.block_number} (0x{bytes(head.hash).hex()}), "
            f"permissioning: {node.permissioning.describe()}"
        )
        console.print(f"JSON-RPC on http://{host}:{port}", highlight=False)
        serve(JsonRpc(node), host, port)
    finally:
        node.close()


@chain_app.command("backup")
def chain_backup(
    data_dir: DataDirOption,
    to: Annotated[
        Path, typer.Option("--to", help="New directory for the copy.", resolve_path=True)
    ],
) -> None:
    """Copy the chain into a new data directory, even while it is being served."""
    try:
        head = backup(DataDir(data_dir), DataDir(to))
    except (DataDirError, StoreError, OSError) as exc:
        raise fail(str(exc)) from exc
    console.print(f"backed up {data_dir} at block #{head} to {to}")


def _office_key(key_file: Path | None, password: str) -> bytes:
    if key_file is None:
        return bytes(Account.create().key)
    text = key_file.read_text().strip()
    if text.startswith("{"):
        try:
            return bytes(Account.decrypt(json.loads(text), password))
        except ValueError:
            raise KeyFileError(f"cannot unlock {key_file} with this password") from None
    try:
        return bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise KeyFileError(f"{key_file} holds neither a keystore nor a hex key") from None


def _write_keystore(path: Path, private_key: bytes, password: str) -> None:
    """Web3 Secret Storage with scrypt, readable by its owner only."""
    keystore = Account.encrypt(private_key, password, kdf="scrypt")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(keystore, out)
