"""`ipledger`: the command line of the office and of developers."""

from __future__ import annotations

import typer

from registry_api.commands.console import ARTIFACTS, CONTRACTS_DIR, console
from registry_api.commands.contracts import contracts_app
from registry_api.commands.mirror import mirror_app

app = typer.Typer(
    help="IP Rights Ledger: contracts, chain and registry service.", no_args_is_help=True
)
app.add_typer(contracts_app, name="contracts")
app.add_typer(mirror_app, name="mirror")


@app.command("demo")
def demo() -> None:
    """Run the recordal flow end to end on an in-process chain and print what happened."""
    from ledger.compiler import compile_sources
    from registry_api.commands.demo import run_demo  # pulls in the in-process chain

    run_demo(console, compile_sources(CONTRACTS_DIR, ARTIFACTS))
