"""`ipledger wallet`: a rights holder's keys, on its own machine.

Keys live in encrypted keystores in a wallet directory; passwords come from --password-file,
IPLEDGER_KEY_PASSWORD, IPLEDGER_KEY_PASSWORD_FILE or a prompt. `sign` shows what typed data
means (the right by its official number, the parties by legal name, share, deadline, chain)
and asks before signing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from wallets.display import markup_safe, visible
from wallets.keystore import WALLET_DIR_ENV
from wallets.passwords import (
    KEY_PASSWORD_ENV,
    KEY_PASSWORD_FILE_ENV,
    PasswordUnavailable,
    key_password_from,
)

if TYPE_CHECKING:
    from cryptography import x509

    from ledger.deploy import Ledger
    from wallets.keystore import WalletDirectory
    from wallets.lookup import ChainLookup, Lookup
    from wallets.registry import RegistryClient
    from wallets.review import Deployment, Review
    from wallets.rotation import KeyRegistry, RotationOffice

wallet_app = typer.Typer(
    rich_markup_mode=None,
    help="Your keys: create, import, list, sign typed data, rotate.",
    no_args_is_help=True,
)
console = Console()
errors = Console(stderr=True)

#: The shortest password a new wallet accepts.
MIN_PASSWORD_LENGTH = 8

WalletDirOption = Annotated[
    Path | None,
    typer.Option(
        "--wallet-dir",
        envvar=WALLET_DIR_ENV,
        help="Wallet directory (default: ~/.ipledger/wallets).",
        show_default=False,
    ),
]
WalletOption = Annotated[
    str | None,
    typer.Option("--wallet", "-w", help="Wallet name or address (needed if there are several)."),
]
PasswordFileOption = Annotated[
    Path | None,
    typer.Option(
        help=f"File holding the wallet password (or set {KEY_PASSWORD_ENV} or "
        f"{KEY_PASSWORD_FILE_ENV})."
    ),
]
RpcOption = Annotated[
    str, typer.Option("--rpc", envvar="IPLEDGER_RPC_URL", help="JSON-RPC URL of a ledger node.")
]
ManifestOption = Annotated[
    Path | None,
    typer.Option(
        "--manifest",
        envvar="IPLEDGER_MANIFEST",
        help="Deployment manifest (default: ~/.ipledger/deployments/CHAIN_ID.json).",
    ),
]
CertificatesOption = Annotated[
    Path | None,
    typer.Option(
        "--certificates",
        envvar="IPLEDGER_CERTIFICATES",
        help="Directory (or file) of office-issued participant certificates, for legal names.",
    ),
]
OfficeRootOption = Annotated[
    Path | None,
    typer.Option(
        "--office-root",
        envvar="IPLEDGER_OFFICE_ROOT",
        help="The office's root certificate: names are shown only from certificates it signed.",
    ),
]
RegistryOption = Annotated[
    str | None,
    typer.Option(
        "--registry",
        envvar="IPLEDGER_REGISTRY",
        help="The office's registry API (e.g. http://127.0.0.1:8000): no node needed.",
    ),
]
DEFAULT_RPC = "http://127.0.0.1:8545"


def fail(message: str) -> typer.Exit:
    """Print an error (never a traceback) and give the exit to raise.

    The message is printed as it reads: errors quote the service, the chain and files.
    """
    errors.print(f"[red]error:[/red] {markup_safe(message)}", soft_wrap=True)
    return typer.Exit(code=1)


def _directory(wallet_dir: Path | None) -> WalletDirectory:
    from wallets.keystore import WalletDirectory

    return WalletDirectory(wallet_dir) if wallet_dir else WalletDirectory.default()


def _password(password_file: Path | None, prompt: str) -> Callable[[], str]:
    def ask() -> str:
        return key_password_from(
            password_file,
            lambda: str(typer.prompt(prompt, hide_input=True)),
            purpose=prompt.lower(),
        )

    return ask


def _new_password(password_file: Path | None) -> str:
    from wallets.keystore import WalletError

    password = key_password_from(
        password_file,
        lambda: str(typer.prompt("New wallet password", hide_input=True, confirmation_prompt=True)),
        purpose="the new wallet",
    )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WalletError(f"a wallet password needs at least {MIN_PASSWORD_LENGTH} characters")
    return password


def _open_ledger(rpc: str, manifest: Path | None) -> Ledger:
    from ledger.backends.rpc import RpcBackend
    from ledger.compiler import load_artifacts
    from ledger.deploy import open_ledger
    from ledger.manifest import DeploymentManifest, find_manifest

    backend = RpcBackend(rpc)
    try:
        chain_id = backend.chain_id
    except OSError:  # requests' connection errors are OSErrors; their text is a page long
        raise fail(f"cannot reach a ledger node at {rpc}") from None
    manifest_path = find_manifest(chain_id, manifest, tell=errors.print)
    artifacts = load_artifacts()
    return open_ledger(backend, DeploymentManifest.load(manifest_path), artifacts)


def _chain_now(ledger: Ledger) -> int:
    return int(ledger.chain.backend.w3.eth.get_block("latest")["timestamp"])


def _lookup(ledger: Ledger, certificates: Path | None, office_root: Path | None) -> ChainLookup:
    from ledger.certificates import CertificateDirectory, load_root
    from wallets.lookup import ChainLookup

    root: x509.Certificate | None = load_root(office_root) if office_root else None
    source = CertificateDirectory(certificates) if certificates else None
    return ChainLookup(ledger, source, root)


@dataclass(frozen=True)
class _Sources:
    """Where a command learns about the ledger: a node and a manifest, or the registry API."""

    deployment: Deployment
    lookup: Lookup
    keys: KeyRegistry
    chain_time: Callable[[], int]
    client: RegistryClient | None = None


def _sources(
    registry: str | None,
    rpc: str,
    manifest: Path | None,
    certificates: Path | None,
    office_root: Path | None,
) -> _Sources:
    from ledger.certificates import load_root
    from wallets.registry import RegistryClient, RegistryDeployment, RegistryKeys, RegistryLookup
    from wallets.review import LedgerDeployment

    if registry is not None:
        client = RegistryClient(registry)
        deployment = RegistryDeployment(client)
        root = load_root(office_root) if office_root else None
        return _Sources(
            deployment,
            RegistryLookup(client, root),
            RegistryKeys(client, deployment),
            lambda: deployment.chain_time,
            client,
        )
    ledger = _open_ledger(rpc, manifest)
    return _Sources(
        LedgerDeployment(ledger),
        _lookup(ledger, certificates, office_root),
        ledger.participants,
        lambda: _chain_now(ledger),
    )


def _expected() -> tuple[type[Exception], ...]:
    """What a command may run into; each is printed as one line, never as a traceback.

    A function, not a tuple, so that the modules defining them (web3, eth-account) load only
    when a command runs: an `except` clause evaluates it only when an exception reaches it.
    """
    from ledger.certificates import CertificateError
    from ledger.compiler import CompilationError
    from ledger.errors import LedgerError
    from wallets.keystore import WalletError
    from wallets.registry import RegistryError
    from wallets.review import SigningRefused
    from wallets.signer import KeyFileError

    return (
        RegistryError,
        WalletError,
        PasswordUnavailable,
        SigningRefused,
        CertificateError,
        KeyFileError,
        LedgerError,
        CompilationError,
        OSError,
    )


@wallet_app.command("new")
def wallet_new(
    name: Annotated[str, typer.Argument(help="A name for the wallet, e.g. acme.")],
    wallet_dir: WalletDirOption = None,
    password_file: PasswordFileOption = None,
) -> None:
    """Create a wallet over a fresh key; print its address and public key."""
    try:
        wallets = _directory(wallet_dir)
        entry = wallets.create(name, _new_password(password_file))
    except _expected() as exc:
        raise fail(str(exc)) from None
    console.print(
        f"created wallet {markup_safe(repr(entry.name))} in {markup_safe(str(wallets.root))}"
    )
    console.print(f"address: {entry.address}", soft_wrap=True)
    console.print(
        "give the office your address and public key (`ipledger wallet address --public-key`) "
        "when you enrol; keep the password: without it the key cannot be used",
        soft_wrap=True,
    )


@wallet_app.command("import")
def wallet_import(
    name: Annotated[str, typer.Argument(help="A name for the wallet.")],
    keystore: Annotated[
        Path | None, typer.Option(help="An existing Web3 Secret Storage keystore to copy in.")
    ] = None,
    key_file: Annotated[
        Path | None, typer.Option(help="A file holding a hex private key to encrypt.")
    ] = None,
    wallet_dir: WalletDirOption = None,
    password_file: PasswordFileOption = None,
) -> None:
    """Import a key from a keystore or a hex private key.

    A keystore is kept as it is, once its password unlocks it. A hex key comes from a file or a
    hidden prompt, never from an argument, which shells remember.
    """
    from wallets.keystore import WalletError, parse_private_key

    try:
        wallets = _directory(wallet_dir)
        if keystore is not None and key_file is not None:
            raise WalletError("give --keystore or --key-file, not both")
        if keystore is not None:
            password = _password(password_file, "Password of the keystore")()
            entry = wallets.import_keystore(name, keystore, password)
        else:
            text = (
                key_file.read_text()
                if key_file is not None
                else str(typer.prompt("Private key (hex)", hide_input=True))
            )
            entry = wallets.import_key(name, parse_private_key(text), _new_password(password_file))
    except _expected() as exc:
        raise fail(str(exc)) from None
    console.print(
        f"imported wallet {markup_safe(repr(entry.name))}: {entry.address}", soft_wrap=True
    )


@wallet_app.command("list")
def wallet_list(wallet_dir: WalletDirOption = None) -> None:
    """List the wallets in the directory."""
    from rich.table import Table

    wallets = _directory(wallet_dir)
    entries = wallets.list()
    if not entries:
        console.print(f"no wallets in {markup_safe(str(wallets.root))}")
        return
    table = Table("wallet", "address", "rotation in progress", title=markup_safe(str(wallets.root)))
    for entry in entries:
        table.add_row(markup_safe(entry.name), entry.address, entry.pending_address or "")
    console.print(table)


@wallet_app.command("address")
def wallet_address(
    wallet: WalletOption = None,
    public_key: Annotated[
        bool, typer.Option("--public-key", help="Also print the public key (unlocks the key).")
    ] = False,
    wallet_dir: WalletDirOption = None,
    password_file: PasswordFileOption = None,
) -> None:
    """Print a wallet's address (and, unlocking it, its public key for the office)."""
    try:
        wallets = _directory(wallet_dir)
        entry = wallets.find(wallet)
        console.print(entry.address, soft_wrap=True)
        if public_key:
            signer = wallets.signer(entry.name, _password(password_file, "Wallet password"))
            console.print("0x" + signer.public_key.hex(), soft_wrap=True)
    except _expected() as exc:
        raise fail(str(exc)) from None


@wallet_app.command("sign")
def wallet_sign(
    typed_data: Annotated[Path, typer.Argument(help="EIP-712 typed data (JSON) to sign.")],
    registry: RegistryOption = None,
    rpc: RpcOption = DEFAULT_RPC,
    manifest: ManifestOption = None,
    certificates: CertificatesOption = None,
    office_root: OfficeRootOption = None,
    wallet: WalletOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Sign without asking (scripts).")] = False,
    out: Annotated[
        Path | None, typer.Option(help="Also write the signature as JSON to this file.")
    ] = None,
    wallet_dir: WalletDirOption = None,
    password_file: PasswordFileOption = None,
) -> None:
    """Show what typed data means, ask, and sign it with the wallet's key.

    Refused: typed data for another chain or contract than the deployment manifest names, or
    whose deadline has passed.
    """
    from embedded_chain import nesting
    from wallets.review import SigningRefused, review

    try:
        signer = _directory(wallet_dir).signer(wallet, _password(password_file, "Wallet password"))
        try:
            data = nesting.loads(typed_data.read_bytes())  # depth bounded: a file from anyone
        except ValueError as exc:
            raise SigningRefused(f"{typed_data} is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise SigningRefused(f"{typed_data} does not hold an EIP-712 typed data object")
        sources = _sources(registry, rpc, manifest, certificates, office_root)
        shown = review(
            data, sources.deployment, sources.lookup, signer.address, sources.chain_time()
        )
    except ValueError as exc:  # JSON errors and the refusals above, all ValueErrors
        raise fail(str(exc)) from None
    except _expected() as exc:
        raise fail(str(exc)) from None
    _show(shown)
    if office_root is None:
        # Without the root a certificate's name is whatever its issuer wrote: say so once.
        console.print(
            "[yellow]warning:[/yellow] names are unverified: no office root was given "
            "(--office-root or IPLEDGER_OFFICE_ROOT), so no certificate was checked against it",
            soft_wrap=True,
        )
    if not yes and not typer.confirm("Sign this?", default=False):
        raise fail("not signed")
    try:
        signature = signer.sign_typed_data(shown.typed_data())
    except _expected() as exc:
        raise fail(str(exc)) from None
    digest = shown.struct.digest(shown.domain)
    console.print(f"signer:    {signer.address}", soft_wrap=True)
    console.print(f"signature: 0x{signature.hex()}", soft_wrap=True)
    if out is not None:
        out.write_text(
            json.dumps(
                {
                    "primaryType": shown.struct.PRIMARY_TYPE,
                    "signer": signer.address,
                    "signature": "0x" + signature.hex(),
                    "digest": "0x" + digest.hex(),
                },
                indent=2,
            )
            + "\n"
        )


def _show(shown: Review) -> None:
    from rich.markup import escape

    # The review's values show control characters already; their Rich markup is escaped
    # here, where Rich would read it.
    console.print(f"[bold]{shown.struct.PRIMARY_TYPE} to sign[/bold]")
    width = max(len(label) for label, _ in shown.lines)
    for label, value in shown.lines:
        console.print(f"  {label:<{width}}  {escape(value)}", soft_wrap=True, highlight=False)
    for warning in shown.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", soft_wrap=True)


@wallet_app.command("rotate")
def wallet_rotate(
    registry: RegistryOption = None,
    rpc: RpcOption = DEFAULT_RPC,
    manifest: ManifestOption = None,
    office_key_file: Annotated[
        Path | None,
        typer.Option(
            help="An office key, to record the rotation directly (an office on this machine)."
        ),
    ] = None,
    office_password_file: Annotated[
        Path | None, typer.Option(help="Password file of the office keystore.")
    ] = None,
    valid_for: Annotated[
        int, typer.Option(help="Seconds the signed rotation stays valid.", min=60)
    ] = 3600,
    certificates: CertificatesOption = None,
    office_root: OfficeRootOption = None,
    wallet: WalletOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Rotate without asking (scripts).")] = False,
    wallet_dir: WalletDirOption = None,
    password_file: PasswordFileOption = None,
) -> None:
    """Replace the wallet's key, through the office.

    A new key is made and saved, the rotation is signed with the current key and recorded by
    the office (through --registry, or an office key given here), then the wallet switches to
    the new key (the old one is kept under retired/). Run it again to resume a rotation that
    was interrupted.
    """
    from wallets.registry import RegistryOffice
    from wallets.rotation import plan_rotation, rotate_wallet

    try:
        wallets = _directory(wallet_dir)
        entry = wallets.find(wallet)
        password = _password(password_file, "Wallet password")()
        sources = _sources(registry, rpc, manifest, certificates, office_root)
        if sources.client is not None:
            current = wallets.keystore(entry).unlock(password, f"wallet {entry.name!r}")
            sources.client.sign_in(current)
            office: RotationOffice = RegistryOffice(sources.client)
        else:
            office = _rotation_office(rpc, manifest, office_key_file, office_password_file)
        plan = plan_rotation(wallets, entry.name, password, sources.keys)
        party = sources.lookup.party(plan.participant_id)
    except _expected() as exc:
        raise fail(str(exc)) from None
    console.print("[bold]Key rotation[/bold]")
    console.print(f"  participant  {markup_safe(party.label)}", soft_wrap=True, highlight=False)
    console.print(f"  current key  {plan.current_key} (retired for good)", soft_wrap=True)
    console.print(f"  new key      {plan.new_key}", soft_wrap=True)
    if plan.recorded:
        console.print("the rotation is already on chain: switching the wallet")
    elif not yes and not typer.confirm("Rotate?", default=False):
        raise fail("not rotated; the new key stays pending in the wallet directory")
    try:
        recorded = rotate_wallet(
            wallets,
            entry.name,
            password,
            plan,
            sources.keys,
            office,
            sources.chain_time() + valid_for,
        )
    except _expected() as exc:
        raise fail(str(exc)) from None
    console.print(
        f"rotated: participant {recorded.participant_id} now signs with {recorded.new_key}; "
        f"{recorded.old_key} is retired (its keystore is kept in "
        f"{markup_safe(str(wallets.root / 'retired'))})",
        soft_wrap=True,
    )
    console.print(
        "at your next certificate renewal, give the office the new public key "
        "(`ipledger wallet address --public-key`)",
        soft_wrap=True,
    )


def _rotation_office(
    rpc: str, manifest: Path | None, office_key_file: Path | None, office_password_file: Path | None
) -> RotationOffice:
    """The office recording the rotation with its own key, on this machine."""
    from wallets.keystore import WalletError
    from wallets.rotation import OfficeOnChain
    from wallets.signer import LocalSigner

    if office_key_file is None:
        raise WalletError(
            "no way to reach the office: give --registry (the office's API), or "
            "--office-key-file to record the rotation with an office key on this machine"
        )
    try:
        password: str | None = key_password_from(office_password_file, None, purpose="the key")
    except PasswordUnavailable:  # a hex key file needs none
        password = None
    office = LocalSigner.from_key_file(office_key_file, password)
    return OfficeOnChain(_open_ledger(rpc, manifest).participants.connect(office))


@wallet_app.command("login")
def wallet_login(
    registry: Annotated[
        str,
        typer.Option("--registry", envvar="IPLEDGER_REGISTRY", help="The office's registry API."),
    ],
    wallet: WalletOption = None,
    wallet_dir: WalletDirOption = None,
    password_file: PasswordFileOption = None,
) -> None:
    """Sign in to the registry with the wallet's key; print a bearer token for its API."""
    from wallets.registry import RegistryClient

    try:
        signer = _directory(wallet_dir).signer(wallet, _password(password_file, "Wallet password"))
        token = RegistryClient(registry).sign_in(signer)
    except _expected() as exc:
        raise fail(str(exc)) from None
    # The token comes from the service: a control character in it must not reach the terminal.
    print(visible(token))
