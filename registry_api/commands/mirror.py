"""`ipledger mirror`: keep the SQL mirror of the ledger up to date; check it against the chain.

SQLAlchemy and web3 load inside the commands: `ipledger --help` does not wait for them.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from registry_api.commands.console import console, errors, fail
from wallets.display import markup_safe

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from ledger.backends.rpc import RpcBackend
    from ledger.manifest import DeploymentManifest
    from registry_api.mirror.indexer import Indexer, Step
    from registry_api.settings import Settings

mirror_app = typer.Typer(
    rich_markup_mode=None,
    help="Mirror the ledger's events into SQL (SQLite or PostgreSQL), check it against the chain.",
    no_args_is_help=True,
)

RpcOption = Annotated[
    str | None, typer.Option("--rpc", help="JSON-RPC URL of the node (default: IPLEDGER_RPC_URL).")
]
ManifestOption = Annotated[
    Path | None,
    typer.Option(
        help="Deployment manifest (default: IPLEDGER_MANIFEST, "
        "else ~/.ipledger/deployments/CHAIN_ID.json)."
    ),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database", help="SQLAlchemy URL (default: IPLEDGER_DATABASE_URL, else SQLite in data/)."
    ),
]


def _settings(rpc: str | None, manifest: Path | None, database: str | None) -> Settings:
    from registry_api.settings import Settings

    overrides: dict[str, object] = {}
    if rpc is not None:
        overrides["rpc_url"] = rpc
    if manifest is not None:
        overrides["manifest"] = manifest
    if database is not None:
        overrides["database_url"] = database
    return Settings(**overrides)  # type: ignore[arg-type]


def _open(
    settings: Settings,
) -> tuple[RpcBackend, DeploymentManifest, Engine, sessionmaker[Session], Indexer]:
    from ledger.backends.rpc import RpcBackend
    from ledger.compiler import load_artifacts
    from ledger.deploy import DeploymentError
    from ledger.manifest import DeploymentManifest, find_manifest
    from registry_api.db.session import open_database
    from registry_api.mirror.indexer import Indexer, IndexerOptions

    backend = RpcBackend(settings.rpc_url)
    manifest_path = find_manifest(
        backend.chain_id, settings.manifest, settings.data_dir, tell=errors.print
    )
    manifest = DeploymentManifest.load(manifest_path)
    if manifest.chain_id != backend.chain_id:
        raise DeploymentError(
            f"{manifest_path} is for chain {manifest.chain_id}, the node is chain "
            f"{backend.chain_id}"
        )
    artifacts = load_artifacts()
    engine, sessions = open_database(settings.sqlalchemy_url())
    indexer = Indexer.for_deployment(
        backend.w3, manifest, artifacts, sessions, IndexerOptions.from_settings(settings)
    )
    return backend, manifest, engine, sessions, indexer


@mirror_app.command("sync")
def mirror_sync(
    rpc: RpcOption = None,
    manifest: ManifestOption = None,
    database: DatabaseOption = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep following new blocks until interrupted.")
    ] = False,
    reindex: Annotated[
        bool, typer.Option("--reindex", help="Empty the mirror first and index from scratch.")
    ] = False,
) -> None:
    """Catch the mirror up with the chain (and with --follow, keep it caught up)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ledger.compiler import CompilationError
    from ledger.deploy import DeploymentError
    from registry_api.mirror import queries
    from registry_api.mirror.apply import DeepReorg, UnappliableLog, clear_mirror

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = _settings(rpc, manifest, database)
    try:
        backend, deployment, engine, sessions, indexer = _open(settings)
        if reindex:
            with sessions.begin() as session:
                clear_mirror(session)
        with sessions() as session:
            status = queries.mirror_status(session, deployment.chain_id)
        start = status.block_number if status.block_number is not None else deployment.block_number
        progress = Progress(
            TextColumn("[bold]mirror[/bold] block {task.completed:,.0f} of {task.total:,.0f}"),
            BarColumn(),
            TextColumn("{task.fields[events]:,} events"),
            TimeElapsedColumn(),
            console=console,
        )
        events = 0

        def on_step(step: Step) -> None:
            nonlocal events
            if step.applied is not None and step.last is not None:
                events += step.applied.events
                progress.update(task, completed=step.last, total=step.head, events=events)
                for entry in step.applied.not_applied:
                    console.print(
                        f"[yellow]not applied:[/yellow] log {entry.log_index} of block "
                        f"{entry.block_number} from {entry.contract}: {markup_safe(entry.reason)}"
                    )
            if step.rolled_back_to is not None:
                console.print(
                    f"[yellow]reorg:[/yellow] rolled back to block {step.rolled_back_to} "
                    f"({step.undone} row changes undone)"
                )

        with progress:
            task = progress.add_task("sync", total=backend.w3.eth.block_number, events=0)
            progress.update(task, completed=start)
            if follow:
                stop = threading.Event()
                try:
                    indexer.follow(stop, on_step)
                except KeyboardInterrupt:
                    stop.set()
            else:
                indexer.sync(on_step)
        with sessions() as session:
            status = queries.mirror_status(session, deployment.chain_id)
        engine.dispose()
    except (
        CompilationError,
        DeploymentError,
        DeepReorg,
        UnappliableLog,
        OSError,
        ValueError,
    ) as exc:
        raise fail(str(exc)) from exc
    console.print(
        f"mirror at block {status.block_number:,} of chain {deployment.chain_id}: "
        f"{status.events:,} events, {status.not_applied:,} logs not applied"
        if status.block_number is not None
        else "mirror is empty"
    )


@mirror_app.command("verify")
def mirror_verify(
    rpc: RpcOption = None,
    manifest: ManifestOption = None,
    database: DatabaseOption = None,
    sync: Annotated[
        bool, typer.Option(help="Catch the mirror up first, so that it compares at the head.")
    ] = True,
) -> None:
    """Compare every right's owners and status (and participants, assignments) with the chain.

    Prints each difference; exits 1 if there is any.
    """
    from rich.table import Table

    from ledger.compiler import CompilationError, load_artifacts
    from ledger.deploy import DeploymentError, open_ledger
    from registry_api.mirror import queries
    from registry_api.mirror.apply import DeepReorg, UnappliableLog
    from registry_api.mirror.verify import differences

    settings = _settings(rpc, manifest, database)
    try:
        backend, deployment, engine, sessions, indexer = _open(settings)
        if sync:
            with console.status("catching up with the chain..."):
                indexer.sync()
        ledger = open_ledger(backend, deployment, load_artifacts())
        with sessions() as session:
            status = queries.mirror_status(session, deployment.chain_id)
            with console.status("comparing with the chain...") as spinner:
                found = list(
                    differences(
                        session,
                        ledger,
                        lambda n: spinner.update(f"comparing with the chain: {n:,} rights"),
                    )
                )
        engine.dispose()
    except (
        CompilationError,
        DeploymentError,
        DeepReorg,
        UnappliableLog,
        OSError,
        ValueError,
    ) as exc:
        raise fail(str(exc)) from exc
    head = backend.w3.eth.block_number
    if status.block_number is not None and status.block_number < head:
        console.print(
            f"[yellow]note:[/yellow] the mirror is at block {status.block_number:,}, the chain at "
            f"{head:,}: changes after the mirror's block show as differences"
        )
    if not found:
        console.print(
            f"[green]the mirror matches the chain[/green] ({status.events:,} events, "
            f"block {status.block_number})"
        )
        return
    table = Table("record", "field", "mirror", "chain", title="differences")
    for difference in found:
        # Values are titles and names as stored: shown as they read, never as markup.
        table.add_row(
            *(
                markup_safe(value)
                for value in (
                    difference.record,
                    difference.field,
                    difference.mirror,
                    difference.chain,
                )
            )
        )
    console.print(table)
    raise fail(f"{len(found)} difference(s) between the mirror and the chain")
