"""`ipledger`: the command line of the office and of developers.

Start-up is kept short (`ipledger --help` and the wallet commands that need no node answer in
well under a second): the command modules import only Typer and Rich at the top, and load web3,
py-evm, FastAPI, SQLAlchemy and the compiler inside the commands that use them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from registry_api.commands.chain import chain_app
from registry_api.commands.console import console, fail
from registry_api.commands.contracts import contracts_app
from registry_api.commands.identity import identity_app
from registry_api.commands.mirror import mirror_app
from registry_api.commands.serve import serve
from wallets.cli import wallet_app

# Plain help here and in every sub-app (rich_markup_mode=None): Typer's rich help imports a
# Markdown parser, a third of a second, before it prints a line.
app = typer.Typer(
    rich_markup_mode=None,
    help="IP Rights Ledger: contracts, chain and registry service.",
    no_args_is_help=True,
)
app.add_typer(contracts_app, name="contracts")
app.add_typer(chain_app, name="chain")
app.add_typer(mirror_app, name="mirror")
app.add_typer(wallet_app, name="wallet")
app.add_typer(identity_app, name="identity")
app.command("serve")(serve)


@app.command("demo")
def demo(
    ca_dir: Annotated[
        Path | None,
        typer.Option(help="The office CA to issue the certificates (default: a throwaway)."),
    ] = None,
    ca_password_file: Annotated[Path | None, typer.Option(help="CA key password file.")] = None,
) -> None:
    """Run the recordal flow end to end on an in-process chain and print what happened."""
    from ledger.compiler import CompilationError, load_artifacts
    from registry_api.commands.demo import open_authority, run_demo  # the in-process chain

    authority = open_authority(ca_dir, ca_password_file) if ca_dir else None
    try:
        artifacts = load_artifacts()
    except CompilationError as exc:
        raise fail(str(exc)) from exc
    run_demo(console, artifacts, authority)
