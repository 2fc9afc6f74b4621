"""`ipledger serve`: the registry service; the embedded chain and SQLite unless told otherwise.

The service's modules (FastAPI, SQLAlchemy, web3, py-evm) load inside the command:
`ipledger --help` does not wait for them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from registry_api.commands.console import console, fail

if TYPE_CHECKING:
    from ledger.embedded.server import BackgroundServer
    from registry_api.registry import Registry
    from registry_api.settings import Settings


def serve(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Local state: the embedded chain, SQLite, the CA (default: data)."),
    ] = None,
    rpc: Annotated[
        str | None,
        typer.Option(help="Use the node at this JSON-RPC URL instead of the embedded chain."),
    ] = None,
    database: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db.")
    ] = None,
    manifest: Annotated[Path | None, typer.Option(help="Deployment manifest (with --rpc).")] = None,
    key_file: Annotated[
        Path | None, typer.Option(help="The relayer's office key (with --rpc).")
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: 8000).")] = None,
    node_port: Annotated[
        int | None,
        typer.Option(
            help="Also serve the embedded chain over JSON-RPC on this port (default: no)."
        ),
    ] = None,
) -> None:
    """Run the registry: API, relayer and mirror. Settings also come from IPLEDGER_* variables."""
    import uvicorn
    from pydantic import ValidationError

    from ledger.embedded.datadir import DataDirError
    from ledger.errors import LedgerError
    from ledger.nesting import bound_recursion
    from registry_api.app import create_app
    from registry_api.identity.authority import AuthorityError
    from registry_api.registry import RegistryError, open_registry
    from registry_api.settings import Settings
    from wallets.keystore import WalletError
    from wallets.signer import KeyFileError

    bound_recursion()  # before any thread starts: they take their stack size from it
    overrides: dict[str, object] = {
        name: value
        for name, value in {
            "data_dir": data_dir,
            "rpc_url": rpc,
            "database_url": database,
            "manifest": manifest,
            "office_key_file": key_file,
            "host": host,
            "port": port,
            "node_port": node_port,
        }.items()
        if value is not None
    }
    if rpc is not None:
        overrides["chain"] = "rpc"
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:  # e.g. a token secret too short: refused before anything runs
        raise fail(
            "; ".join(str(error["msg"]).removeprefix("Value error, ") for error in exc.errors())
        ) from None
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        with console.status("opening the chain, the database and the mirror..."):
            registry = open_registry(settings)
    except (
        RegistryError,
        DataDirError,
        LedgerError,
        AuthorityError,
        WalletError,
        KeyFileError,
        OSError,
        ValueError,
    ) as exc:
        raise fail(str(exc)) from exc
    try:
        if registry.created:
            console.print(
                f"created the office's chain, key and CA in {settings.data_dir.resolve()}"
            )
        where = (
            f"embedded chain in {settings.data_dir.resolve()}"
            if settings.chain == "embedded"
            else settings.rpc_url
        )
        console.print(f"chain {registry.chain_id}: {where}")
        console.print(f"office (relayer) key: {registry.outbox.sender}")
        console.print(f"database: {registry.engine.url.render_as_string(hide_password=True)}")
        url = f"http://{settings.host}:{settings.port}"
        console.print(f"registry API on {url}/v1  (docs: {url}/docs)", highlight=False)
        node = _node_server(registry, settings)
        registry.start()
        try:
            uvicorn.run(
                create_app(registry), host=settings.host, port=settings.port, log_level="info"
            )
        finally:
            if node is not None:
                node.stop()
    finally:
        registry.close()


def _node_server(registry: Registry, settings: Settings) -> BackgroundServer | None:
    """The embedded chain's JSON-RPC server, if asked for."""
    from ledger.backends.embedded import EmbeddedBackend
    from ledger.embedded.server import BackgroundServer

    if settings.node_port is None:
        return None
    backend = registry.ledger.chain.backend
    if not isinstance(backend, EmbeddedBackend):
        raise fail("--node-port serves the embedded chain: with --rpc, the node is served already")
    server = BackgroundServer(backend.rpc, settings.host, settings.node_port)
    try:
        server.start()
    except OSError as exc:
        raise fail(str(exc)) from exc
    console.print(f"node JSON-RPC on http://{settings.host}:{settings.node_port}", highlight=False)
    return server
