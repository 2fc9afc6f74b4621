"""`ipledger`: the command line of the office and of developers."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ledger.backends.rpc import RpcBackend
from ledger.compiler import CompilationError, compile_sources
from ledger.deploy import DeploymentError, OfficeBootstrap, deploy_ledger, verify_deployment
from ledger.errors import LedgerError
from ledger.manifest import DeploymentManifest
from registry_api.identity.certificates import CertificateError, read_certificate, self_signed
from wallets.signer import KeyFileError, LocalSigner

app = typer.Typer(
    help="IP Rights Ledger: contracts, chain and registry service.", no_args_is_help=True
)
contracts_app = typer.Typer(help="Build, deploy and verify the contract set.", no_args_is_help=True)
app.add_typer(contracts_app, name="contracts")

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = ROOT / "contracts"
ARTIFACTS = ROOT / "build" / "artifacts.json"
PASSWORD_ENV = "IPLEDGER_KEY_PASSWORD"

console = Console()
errors = Console(stderr=True)

RpcOption = Annotated[str, typer.Option("--rpc", help="JSON-RPC URL of the node.")]


def _fail(message: str) -> typer.Exit:
    errors.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


def _password(password_file: Path | None) -> str | None:
    if password_file is not None:
        return password_file.read_text().rstrip("\n")
    return os.environ.get(PASSWORD_ENV)


def _default_manifest(chain_id: int) -> Path:
    return ROOT / "deployments" / f"{chain_id}.json"


@contracts_app.command("build")
def contracts_build(
    force: Annotated[bool, typer.Option(help="Recompile even if the cache is current.")] = False,
) -> None:
    """Compile the contracts (cached by a hash of sources and compiler settings)."""
    try:
        with console.status("compiling with solc-js..."):
            artifacts = compile_sources(CONTRACTS_DIR, ARTIFACTS, force=force)
    except CompilationError as exc:
        raise _fail(str(exc)) from exc
    table = Table(
        "contract", "runtime bytes", "runtime hash", title=f"solc {artifacts.compiler.solc_version}"
    )
    for name, artifact in sorted(artifacts.contracts.items()):
        table.add_row(
            name, f"{len(artifact.runtime_bytecode):,}", artifact.runtime_hash[:18] + "..."
        )
    console.print(table)
    console.print(f"artifacts: {ARTIFACTS.relative_to(ROOT)}")


@contracts_app.command("deploy")
def contracts_deploy(
    rpc: RpcOption,
    key_file: Annotated[Path, typer.Option(help="Deployer key: keystore JSON or hex.")],
    password_file: Annotated[
        Path | None, typer.Option(help=f"Keystore password file (or set {PASSWORD_ENV}).")
    ] = None,
    office_id: Annotated[int, typer.Option(help="The office's participant id.")] = 1,
    office_certificate: Annotated[
        Path | None,
        typer.Option(
            help="The office's X.509 certificate (PEM or DER); its SHA-256 goes on chain."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Manifest path [deployments/CHAIN_ID.json].")
    ] = None,
) -> None:
    """Deploy the contract set in dependency order and write the deployment manifest.

    The deployer's key becomes the office's first key and the governance admin. Without
    --office-certificate, a self-signed office certificate is created beside the manifest.
    """
    try:
        deployer = LocalSigner.from_key_file(key_file, _password(password_file))
        artifacts = compile_sources(CONTRACTS_DIR, ARTIFACTS)
        backend = RpcBackend(rpc)
        chain_id = backend.chain_id
        manifest_path = out or _default_manifest(chain_id)
        if office_certificate is not None:
            facts = read_certificate(office_certificate)
        else:
            created = self_signed(
                "IP Office", valid_days=5 * 365, now=datetime.datetime.now(datetime.UTC)
            )
            cert_path = manifest_path.with_name(f"{manifest_path.stem}-office.pem")
            key_path = manifest_path.with_name(f"{manifest_path.stem}-office-key.pem")
            password = _password(password_file)
            created.write(cert_path, key_path, password.encode() if password else None)
            facts = created.facts
            console.print(f"created a self-signed office certificate: {cert_path}")
        with console.status(f"deploying to chain {chain_id}..."):
            ledger = deploy_ledger(
                backend,
                deployer,
                artifacts,
                OfficeBootstrap(office_id, facts.fingerprint, facts.not_after, (deployer.address,)),
            )
        ledger.manifest.save(manifest_path)
    except (KeyFileError, CertificateError, CompilationError, LedgerError, OSError) as exc:
        raise _fail(str(exc)) from exc
    table = Table("contract", "address", "block", title=f"deployed on chain {chain_id}")
    for name, deployment in ledger.manifest.contracts.items():
        table.add_row(name, deployment.address, str(deployment.block_number))
    console.print(table)
    console.print(f"manifest: {manifest_path}")


@contracts_app.command("verify")
def contracts_verify(
    rpc: RpcOption,
    manifest: Annotated[
        Path | None, typer.Option(help="Deployment manifest [deployments/CHAIN_ID.json].")
    ] = None,
) -> None:
    """Prove that the code on chain is this repository's; exit 1 naming any that differs."""
    try:
        artifacts = compile_sources(CONTRACTS_DIR, ARTIFACTS)
        backend = RpcBackend(rpc)
        manifest_path = manifest or _default_manifest(backend.chain_id)
        checks = verify_deployment(backend, DeploymentManifest.load(manifest_path), artifacts)
    except (CompilationError, DeploymentError, LedgerError, OSError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    table = Table("contract", "address", "result")
    for check in checks:
        verdict = "[green]matches[/green]" if check.matches else "[red]DIFFERS[/red]"
        table.add_row(check.name, check.address, f"{verdict}: {check.reason}")
    console.print(table)
    different = [check.name for check in checks if not check.matches]
    if different:
        raise _fail(f"code on chain differs from the repository for: {', '.join(different)}")


@app.command("demo")
def demo() -> None:
    """Run the recordal flow end to end on an in-process chain and print what happened."""
    from registry_api.demo import run_demo  # the demo pulls in the in-process chain

    run_demo(console, compile_sources(CONTRACTS_DIR, ARTIFACTS))
