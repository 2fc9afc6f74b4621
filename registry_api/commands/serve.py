"""`ipledger serve`: the registry service; the embedded chain and SQLite unless told otherwise.

The service's modules (FastAPI, SQLAlchemy, web3, py-evm) load inside the command:
`ipledger --help` does not wait for them.
"""

from __future__ import annotations

import errno
import logging
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from registry_api.commands.console import console, fail

if TYPE_CHECKING:
    from embedded_chain.server import BackgroundServer
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

    from embedded_chain.datadir import DataDirError
    from embedded_chain.nesting import bound_recursion
    from ledger.errors import LedgerError
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
    _refuse_busy_ports(settings)
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


def _refuse_busy_ports(settings: Settings) -> None:
    """Fail at once, creating nothing, if a port to listen on is taken.

    Checked before the first start creates the data directory and deploys, which take a while
    and would be left behind. Another process may still take the port before the server binds
    it; then the server's own error says so.
    """
    ports = [("--port", settings.port)]
    if settings.node_port is not None:
        ports.append(("--node-port", settings.node_port))
    for option, port in ports:
        with socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET) as probe:
            # As the servers bind: a port in TIME_WAIT after a stop is free to them.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((settings.host, port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise fail(
                        f"cannot listen on {settings.host} port {port} ({exc.strerror}): "
                        "check --host and the port"
                    ) from None
                raise fail(
                    f"port {port} on {settings.host} is in use (another `ipledger serve`?): "
                    f"stop that process, or choose another port with {option}"
                ) from None


def _node_server(registry: Registry, settings: Settings) -> BackgroundServer | None:
    """The embedded chain's JSON-RPC server, if asked for."""
    from embedded_chain.server import BackgroundServer
    from ledger.backends.embedded import EmbeddedBackend

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
