"""`ipledger contracts`: build, deploy and verify the contract set.

The compiler, web3 and the certificate code load inside the commands: `ipledger --help` does
not wait for them.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from registry_api.commands.console import (
    console,
    errors,
    fail,
    key_password,
)
from registry_api.identity import CA_PASSWORD_ENV
from wallets.display import markup_safe
from wallets.passwords import PasswordUnavailable, password_from

if TYPE_CHECKING:
    from registry_api.identity.certificates import CertificateFacts
    from wallets.signer import LocalSigner

contracts_app = typer.Typer(
    rich_markup_mode=None, help="Build, deploy and verify the contract set.", no_args_is_help=True
)

RpcOption = Annotated[str, typer.Option("--rpc", help="JSON-RPC URL of the node.")]
#: The office's own certificate, like the stand-in's: five years.
OFFICE_VALID_DAYS = 5 * 365


@contracts_app.command("build")
def contracts_build(
    force: Annotated[bool, typer.Option(help="Recompile even if the cache is current.")] = False,
) -> None:
    """Compile contracts/ into the artifacts the package ships (cached by a hash of the sources)."""
    from rich.table import Table

    from ledger.artifacts import SHIPPED_ARTIFACTS
    from ledger.compiler import CompilationError, build_artifacts

    try:
        with console.status("compiling with solc-js..."):
            artifacts = build_artifacts(force=force)
    except CompilationError as exc:
        raise fail(str(exc)) from exc
    table = Table(
        "contract", "runtime bytes", "runtime hash", title=f"solc {artifacts.compiler.solc_version}"
    )
    for name, artifact in sorted(artifacts.contracts.items()):
        table.add_row(
            name, f"{len(artifact.runtime_bytecode):,}", artifact.runtime_hash[:18] + "..."
        )
    console.print(table)
    console.print(f"artifacts: {SHIPPED_ARTIFACTS}")


@contracts_app.command("deploy")
def contracts_deploy(
    rpc: RpcOption,
    key_file: Annotated[Path, typer.Option(help="Deployer key: keystore JSON or hex.")],
    password_file: Annotated[
        Path | None,
        typer.Option(
            help="Keystore password file (or set IPLEDGER_KEY_PASSWORD or "
            "IPLEDGER_KEY_PASSWORD_FILE)."
        ),
    ] = None,
    office_id: Annotated[int, typer.Option(help="The office's participant id.")] = 1,
    office_certificate: Annotated[
        Path | None,
        typer.Option(
            help="The office's X.509 certificate (PEM or DER); its SHA-256 goes on chain."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Manifest path (default: ~/.ipledger/deployments/CHAIN_ID.json)."),
    ] = None,
    ca_dir: Annotated[
        Path | None,
        typer.Option(
            envvar="IPLEDGER_CA_DIR",
            help="The office CA (`ipledger identity init-ca`): it issues the office certificate.",
        ),
    ] = None,
    ca_password_file: Annotated[
        Path | None, typer.Option(help="CA key password file (or set IPLEDGER_CA_PASSWORD).")
    ] = None,
) -> None:
    """Deploy the contract set in dependency order and write the deployment manifest.

    The deployer's key becomes the office's first key and the governance admin. The office's
    certificate is --office-certificate, else one issued by the office CA (--ca-dir) to the
    deployer's key, else (no CA yet) a self-signed stand-in that counterparties cannot verify.
    """
    from rich.table import Table

    from ledger.backends.rpc import RpcBackend
    from ledger.compiler import CompilationError, load_artifacts
    from ledger.deploy import OfficeBootstrap, deploy_ledger
    from ledger.errors import LedgerError
    from ledger.manifest import default_manifest_path
    from registry_api.identity.authority import AuthorityError
    from registry_api.identity.certificates import CertificateError, read_certificate, self_signed
    from wallets.signer import KeyFileError, LocalSigner

    try:
        deployer = LocalSigner.from_key_file(key_file, key_password(password_file))
        artifacts = load_artifacts()
        backend = RpcBackend(rpc)
        chain_id = backend.chain_id
        manifest_path = out or default_manifest_path(chain_id)
        if office_certificate is not None:
            facts = read_certificate(office_certificate)
        elif ca_dir is not None:
            facts = _office_certificate_from_ca(
                ca_dir, ca_password_file, deployer, office_id, manifest_path
            )
        else:
            created = self_signed(
                "IP Office", valid_days=5 * 365, now=datetime.datetime.now(datetime.UTC)
            )
            cert_path = manifest_path.with_name(f"{manifest_path.stem}-office.pem")
            key_path = manifest_path.with_name(f"{manifest_path.stem}-office-key.pem")
            password = key_password(password_file)
            created.write(cert_path, key_path, password.encode() if password else None)
            facts = created.facts
            console.print(
                f"[yellow]no office CA given (--ca-dir): created a SELF-SIGNED stand-in office "
                f"certificate, which counterparties cannot verify: {cert_path}[/yellow]",
                soft_wrap=True,
            )
        with console.status(f"deploying to chain {chain_id}..."):
            ledger = deploy_ledger(
                backend,
                deployer,
                artifacts,
                OfficeBootstrap(office_id, facts.fingerprint, facts.not_after, (deployer.address,)),
            )
        ledger.manifest.save(manifest_path)
    except (
        KeyFileError,
        CertificateError,
        AuthorityError,
        PasswordUnavailable,
        CompilationError,
        LedgerError,
        OSError,
    ) as exc:
        raise fail(str(exc)) from exc
    table = Table("contract", "address", "block", title=f"deployed on chain {chain_id}")
    for name, deployment in ledger.manifest.contracts.items():
        table.add_row(name, deployment.address, str(deployment.block_number))
    console.print(table)
    console.print(f"manifest: {manifest_path}")


def _office_certificate_from_ca(
    ca_dir: Path,
    ca_password_file: Path | None,
    deployer: LocalSigner,
    office_id: int,
    manifest_path: Path,
) -> CertificateFacts:
    """Issue the office's own participant certificate to the deployer's key."""
    from registry_api.identity.authority import CaDirectory
    from registry_api.identity.certificates import CertificateFacts
    from registry_api.office import office_certificate

    store = CaDirectory(ca_dir)
    authority = store.open(
        password_from(
            ca_password_file,
            CA_PASSWORD_ENV,
            lambda: str(typer.prompt("CA key password", hide_input=True)),
            purpose="the CA key",
        ).encode()
    )
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    certificate = office_certificate(authority, office_id, deployer, now)
    store.record(certificate)
    cert_path = manifest_path.with_name(f"{manifest_path.stem}-office.pem")
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.write_text(certificate.pem())
    console.print(f"office certificate issued by {authority.office_name}: {cert_path}")
    return CertificateFacts.of(certificate.certificate)


@contracts_app.command("verify")
def contracts_verify(
    rpc: RpcOption,
    manifest: Annotated[
        Path | None,
        typer.Option(help="Deployment manifest (default: ~/.ipledger/deployments/CHAIN_ID.json)."),
    ] = None,
) -> None:
    """Prove that the code on chain is this repository's; exit 1 naming any that differs."""
    from rich.table import Table

    from ledger.backends.rpc import RpcBackend
    from ledger.compiler import CompilationError, load_artifacts
    from ledger.deploy import DeploymentError, verify_deployment
    from ledger.errors import LedgerError
    from ledger.manifest import DeploymentManifest, find_manifest

    try:
        artifacts = load_artifacts()
        backend = RpcBackend(rpc)
        manifest_path = find_manifest(backend.chain_id, manifest, tell=errors.print)
        checks = verify_deployment(backend, DeploymentManifest.load(manifest_path), artifacts)
    except (CompilationError, DeploymentError, LedgerError, OSError, ValueError) as exc:
        raise fail(str(exc)) from exc
    table = Table("contract", "address", "result")
    for check in checks:
        verdict = "[green]matches[/green]" if check.matches else "[red]DIFFERS[/red]"
        table.add_row(
            markup_safe(check.name), check.address, f"{verdict}: {markup_safe(check.reason)}"
        )
    console.print(table)
    different = [check.name for check in checks if not check.matches]
    if different:
        raise fail(f"code on chain differs from the repository for: {', '.join(different)}")
