"""`ipledger chain`: create, serve and back up the embedded chain of one office.

The chain's modules (py-evm, web3) load inside the commands: `ipledger --help` does not wait
for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from registry_api.commands.console import console, fail, key_password

chain_app = typer.Typer(
    rich_markup_mode=None,
    help="The embedded chain: one office, one machine, a data directory.",
    no_args_is_help=True,
)

DataDirOption = Annotated[
    Path, typer.Option("--data-dir", help="The chain's data directory.", resolve_path=True)
]


@chain_app.command("init")
def chain_init(
    data_dir: DataDirOption,
    chain_id: Annotated[
        int | None,
        typer.Option(
            help="The chain id, signed into every transaction (default: the embedded chain's)."
        ),
    ] = None,
    password_file: Annotated[
        Path | None,
        typer.Option(
            help="Keystore password file (or set IPLEDGER_KEY_PASSWORD or "
            "IPLEDGER_KEY_PASSWORD_FILE)."
        ),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option(help="Use this office key (keystore or hex) instead of creating one."),
    ] = None,
    office_id: Annotated[int, typer.Option(help="The office's participant id.")] = 1,
    office_name: Annotated[str, typer.Option(help="The office's legal name.")] = "IP Office",
    office_country: Annotated[str, typer.Option(help="ISO 3166 country code.")] = "KR",
    office_registration_number: Annotated[
        str, typer.Option(help="The office's registration number.")
    ] = "IPO-0001",
) -> None:
    """Create a chain: genesis, the office's encrypted key, its CA and certificate, the contracts.

    The office is the chain's only validator and the first participant. Its key is kept in
    DATA_DIR/keystore/office.json (Web3 Secret Storage, scrypt), and its certificate authority
    in DATA_DIR/ca, both encrypted with the password.
    """
    from rich.table import Table

    from embedded_chain.datadir import DataDir, DataDirError
    from embedded_chain.genesis import DEFAULT_CHAIN_ID
    from embedded_chain.store import StoreError
    from ledger.compiler import CompilationError, load_artifacts
    from ledger.errors import LedgerError
    from ledger.manifest import DeploymentManifest
    from registry_api.identity.authority import AuthorityError
    from registry_api.office import CA_DIR, OfficeIdentity, create_embedded_office, office_keystore
    from wallets.keystore import WalletError

    chain_id = DEFAULT_CHAIN_ID if chain_id is None else chain_id
    password = key_password(password_file)
    if not password:
        raise fail(
            "a keystore password is needed: --password-file, IPLEDGER_KEY_PASSWORD "
            "or IPLEDGER_KEY_PASSWORD_FILE"
        )
    try:
        artifacts = load_artifacts()
        keystore = office_keystore(key_file, password) if key_file is not None else None
        identity = OfficeIdentity(
            name=office_name,
            country=office_country,
            registration_number=office_registration_number,
            participant_id=office_id,
        )
        with console.status(f"creating chain {chain_id} and deploying the contracts..."):
            create_embedded_office(
                data_dir,
                password,
                artifacts,
                identity=identity,
                chain_id=chain_id,
                keystore=keystore,
            )
        manifest = DeploymentManifest.load(DataDir(data_dir).manifest)
    except (
        AuthorityError,
        CompilationError,
        DataDirError,
        LedgerError,
        StoreError,
        WalletError,
        OSError,
        ValueError,
    ) as exc:
        raise fail(str(exc)) from exc
    table = Table("", "", title=f"chain {chain_id} created in {data_dir}")
    table.add_row("office (validator)", manifest.office.keys[0])
    table.add_row("keystore", str(DataDir(data_dir).keystore))
    table.add_row("office CA", str(data_dir / CA_DIR))
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
    from embedded_chain.datadir import DataDir, DataDirError, open_node
    from embedded_chain.jsonrpc import JsonRpc
    from embedded_chain.server import serve
    from embedded_chain.store import StoreError
    from registry_api.office import account_rules

    try:
        node = open_node(DataDir(data_dir), account_rules(DataDir(data_dir)))
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
    from embedded_chain.datadir import DataDir, DataDirError, backup
    from embedded_chain.store import StoreError

    try:
        head = backup(DataDir(data_dir), DataDir(to))
    except (DataDirError, StoreError, OSError) as exc:
        raise fail(str(exc)) from exc
    console.print(f"backed up {data_dir} at block #{head} to {to}")
