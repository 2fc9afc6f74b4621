"""`ipledger identity`: the office's certificate authority, and identifying a counterparty."""

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
from registry_api.identity import CA_PASSWORD_ENV, PARTICIPANT_VALID_DAYS
from wallets.display import markup_safe
from wallets.passwords import (
    KEY_PASSWORD_ENV,
    KEY_PASSWORD_FILE_ENV,
    PasswordUnavailable,
    password_from,
)

if TYPE_CHECKING:
    from ledger.certificates import ParticipantCertificate, ParticipantIdentity
    from ledger.deploy import Ledger
    from ledger.types import Role
    from registry_api.identity.service import IdentityReport
    from wallets.signer import LocalSigner

identity_app = typer.Typer(
    rich_markup_mode=None,
    help="The office's certificate authority; identify a counterparty.",
    no_args_is_help=True,
)

CaDirOption = Annotated[
    Path, typer.Option("--ca-dir", envvar="IPLEDGER_CA_DIR", help="The CA directory.")
]
CaPasswordOption = Annotated[
    Path | None,
    typer.Option(help=f"File holding the CA key password (or set {CA_PASSWORD_ENV})."),
]
RpcOption = Annotated[
    str, typer.Option("--rpc", envvar="IPLEDGER_RPC_URL", help="JSON-RPC URL of a ledger node.")
]
ManifestOption = Annotated[
    Path | None,
    typer.Option(
        envvar="IPLEDGER_MANIFEST",
        help="Deployment manifest (default: ~/.ipledger/deployments/CHAIN_ID.json).",
    ),
]
KeyFileOption = Annotated[
    Path, typer.Option(help="An office key (keystore JSON or hex): the office records on chain.")
]
PasswordFileOption = Annotated[
    Path | None,
    typer.Option(
        help=f"Office keystore password file (or set {KEY_PASSWORD_ENV} or "
        f"{KEY_PASSWORD_FILE_ENV})."
    ),
]
ParticipantIdOption = Annotated[int, typer.Option(help="The participant id the office assigns.")]
LegalNameOption = Annotated[str, typer.Option(help="Legal name, as in the identity documents.")]
RegistrationOption = Annotated[
    str, typer.Option(help="Company or person registration number in its country.")
]
CountryOption = Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country code, e.g. KR.")]
RoleOption = Annotated[
    list[str],
    typer.Option("--role", help="A role (repeat): PARTICIPANT, BANK, VALUATOR, REVIEWER, OFFICE."),
]
PublicKeyOption = Annotated[
    str,
    typer.Option(
        help="The primary key's public key, hex (from `ipledger wallet address --public-key`)."
    ),
]
ExtraKeyOption = Annotated[
    list[str] | None,
    typer.Option("--key", help="A further address to bind (repeat); the primary key comes first."),
]
ValidDaysOption = Annotated[int, typer.Option(help="Days the certificate is valid.", min=1)]


def _expected() -> tuple[type[Exception], ...]:
    """What a command may run into; each is printed as one line, never as a traceback.

    A function, not a tuple, so that the modules defining them load only when a command runs:
    an `except` clause evaluates it only when an exception reaches it.
    """
    from ledger.certificates import CertificateError
    from ledger.compiler import CompilationError
    from ledger.errors import LedgerError
    from registry_api.identity.authority import AuthorityError
    from registry_api.identity.service import IdentityError
    from wallets.signer import KeyFileError

    return (
        AuthorityError,
        CertificateError,
        IdentityError,
        PasswordUnavailable,
        KeyFileError,
        LedgerError,
        CompilationError,
        OSError,
        ValueError,
    )


def _ca_password(file: Path | None, *, confirm: bool = False) -> bytes:
    return password_from(
        file,
        CA_PASSWORD_ENV,
        lambda: str(typer.prompt("CA key password", hide_input=True, confirmation_prompt=confirm)),
        purpose="the CA key",
    ).encode()


def _office_key(key_file: Path, password_file: Path | None) -> LocalSigner:
    from wallets.signer import LocalSigner

    return LocalSigner.from_key_file(key_file, key_password(password_file))


def _open_ledger(rpc: str, manifest: Path | None, sender: LocalSigner | None = None) -> Ledger:
    from ledger.backends.rpc import RpcBackend
    from ledger.compiler import load_artifacts
    from ledger.deploy import open_ledger
    from ledger.manifest import DeploymentManifest, find_manifest

    backend = RpcBackend(rpc)
    try:
        chain_id = backend.chain_id
    except OSError:  # requests' connection errors are OSErrors; their text is a page long
        raise fail(f"cannot reach a ledger node at {rpc}") from None
    path = find_manifest(chain_id, manifest, tell=errors.print)
    artifacts = load_artifacts()
    return open_ledger(backend, DeploymentManifest.load(path), artifacts, sender)


def _roles(names: list[str]) -> Role:
    from ledger.certificates import CertificateError
    from ledger.types import Role

    roles = Role(0)
    for name in names:
        try:
            roles |= Role[name.strip().upper()]
        except KeyError:
            known = ", ".join(r.name for r in Role if r.name)
            raise CertificateError(f"unknown role {name!r} (known: {known})") from None
    return roles


def _public_key(text: str) -> bytes:
    from ledger.certificates import CertificateError

    try:
        return bytes.fromhex(text.strip().removeprefix("0x"))
    except ValueError:
        raise CertificateError("the public key must be hex") from None


def _identity(
    participant_id: int,
    legal_name: str,
    registration_number: str,
    country: str,
    role: list[str],
    public_key: bytes,
    keys: list[str] | None,
) -> ParticipantIdentity:
    from eth_utils.address import to_checksum_address

    from ledger.certificates import ParticipantIdentity
    from registry_api.identity.authority import primary_address

    primary = primary_address(public_key)
    extra = [to_checksum_address(k) for k in keys or []]
    return ParticipantIdentity(
        participant_id=participant_id,
        legal_name=legal_name,
        registration_number=registration_number,
        country=country.upper(),
        roles=_roles(role),
        keys=(primary, *(k for k in extra if k != primary)),
    )


def _validity(days: int) -> tuple[datetime.datetime, datetime.datetime]:
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    return now, now + datetime.timedelta(days=days)


def _show_certificate(certificate: ParticipantCertificate, path: Path | None) -> None:
    from rich.table import Table

    from ledger.types import Role

    identity = certificate.identity
    table = Table("field", title=f"certificate of participant {identity.participant_id}")
    table.add_column("value", overflow="fold")
    # Names and numbers are the participant's words: shown as they read, never as markup.
    table.add_row("legal name", markup_safe(identity.legal_name))
    table.add_row("registration number", markup_safe(identity.registration_number))
    table.add_row("country", markup_safe(identity.country))
    table.add_row("roles", ", ".join(r.name for r in Role if r in identity.roles and r.name))
    table.add_row("keys at issue", "\n".join(identity.keys))
    table.add_row("valid", f"{certificate.not_before:%Y-%m-%d} to {certificate.not_after:%Y-%m-%d}")
    table.add_row("SHA-256 (on chain)", "0x" + certificate.fingerprint.hex())
    if path is not None:
        table.add_row("file", markup_safe(str(path)))
    console.print(table)


@identity_app.command("init-ca")
def identity_init_ca(
    ca_dir: CaDirOption,
    name: Annotated[
        str, typer.Option(help="The office's name, e.g. Korean Intellectual Property Office.")
    ],
    country: CountryOption,
    registration_number: Annotated[str, typer.Option(help="The office's official identifier.")],
    valid_years: Annotated[int, typer.Option(help="Years the root is valid.", min=1)] = 20,
    ca_password_file: CaPasswordOption = None,
) -> None:
    """Create the office's root key (encrypted PEM) and self-signed root certificate."""
    from registry_api.identity.authority import AuthorityError, CaDirectory, CertificateAuthority

    try:
        store = CaDirectory(ca_dir)
        if store.exists():
            raise AuthorityError(f"a CA already exists in {ca_dir}")
        authority = CertificateAuthority.generate(
            name,
            country.upper(),
            registration_number,
            now=datetime.datetime.now(datetime.UTC).replace(microsecond=0),
            valid_years=valid_years,
        )
        store.init(authority, _ca_password(ca_password_file, confirm=True))
    except _expected() as exc:
        raise fail(str(exc)) from None
    console.print(f"office root: {store.root_path} (publish it: counterparties verify against it)")
    console.print(f"root key:    {store.key_path} (encrypted; keep it offline and backed up)")


@identity_app.command("issue")
def identity_issue(
    ca_dir: CaDirOption,
    participant_id: ParticipantIdOption,
    legal_name: LegalNameOption,
    registration_number: RegistrationOption,
    country: CountryOption,
    role: RoleOption,
    public_key: PublicKeyOption,
    key: ExtraKeyOption = None,
    valid_days: ValidDaysOption = PARTICIPANT_VALID_DAYS,
    out: Annotated[Path | None, typer.Option(help="Also write the certificate (PEM) here.")] = None,
    ca_password_file: CaPasswordOption = None,
) -> None:
    """Issue a participant certificate (kept in the CA directory); enrol it separately."""
    from registry_api.identity.authority import CaDirectory

    try:
        store = CaDirectory(ca_dir)
        identity = _identity(
            participant_id,
            legal_name,
            registration_number,
            country,
            role,
            _public_key(public_key),
            key,
        )
        authority = store.open(_ca_password(ca_password_file))
        not_before, not_after = _validity(valid_days)
        certificate = authority.issue(
            identity, _public_key(public_key), not_before=not_before, not_after=not_after
        )
        path = store.record(certificate)
        if out is not None:
            out.write_text(certificate.pem())
    except _expected() as exc:
        raise fail(str(exc)) from None
    _show_certificate(certificate, out or path)


@identity_app.command("enrol")
def identity_enrol(
    ca_dir: CaDirOption,
    participant_id: ParticipantIdOption,
    legal_name: LegalNameOption,
    registration_number: RegistrationOption,
    country: CountryOption,
    role: RoleOption,
    public_key: PublicKeyOption,
    key_file: KeyFileOption,
    rpc: RpcOption = "http://127.0.0.1:8545",
    manifest: ManifestOption = None,
    key: ExtraKeyOption = None,
    valid_days: ValidDaysOption = PARTICIPANT_VALID_DAYS,
    ca_password_file: CaPasswordOption = None,
    password_file: PasswordFileOption = None,
) -> None:
    """Issue a participant certificate and enrol the participant on chain.

    Run it once the participant is identified off chain; the chain gets the certificate's
    fingerprint and end of validity, the roles and the keys.
    """
    from registry_api.identity.authority import CaDirectory
    from registry_api.identity.enrolment import enrol

    try:
        store = CaDirectory(ca_dir)
        raw_key = _public_key(public_key)
        identity = _identity(
            participant_id, legal_name, registration_number, country, role, raw_key, key
        )
        authority = store.open(_ca_password(ca_password_file))
        ledger = _open_ledger(rpc, manifest, _office_key(key_file, password_file))
        not_before, not_after = _validity(valid_days)
        certified = enrol(
            ledger, authority, store, identity, raw_key, not_before=not_before, not_after=not_after
        )
    except _expected() as exc:
        raise fail(str(exc)) from None
    _show_certificate(certified.certificate, None)
    console.print(
        f"enrolled participant {participant_id} in transaction 0x{certified.transaction_hash.hex()}"
    )


@identity_app.command("renew")
def identity_renew(
    participant_id: Annotated[int, typer.Argument(help="The participant to renew.")],
    ca_dir: CaDirOption,
    key_file: KeyFileOption,
    rpc: RpcOption = "http://127.0.0.1:8545",
    manifest: ManifestOption = None,
    public_key: Annotated[
        str | None, typer.Option(help="The primary key's public key, if it changed.")
    ] = None,
    valid_days: ValidDaysOption = PARTICIPANT_VALID_DAYS,
    ca_password_file: CaPasswordOption = None,
    password_file: PasswordFileOption = None,
) -> None:
    """Issue a new certificate with the roles and keys on chain now, and record it on chain."""
    from registry_api.identity.authority import CaDirectory
    from registry_api.identity.enrolment import renew

    try:
        store = CaDirectory(ca_dir)
        authority = store.open(_ca_password(ca_password_file))
        ledger = _open_ledger(rpc, manifest, _office_key(key_file, password_file))
        not_before, not_after = _validity(valid_days)
        certified = renew(
            ledger,
            authority,
            store,
            participant_id,
            public_key=_public_key(public_key) if public_key else None,
            not_before=not_before,
            not_after=not_after,
        )
    except _expected() as exc:
        raise fail(str(exc)) from None
    _show_certificate(certified.certificate, None)
    console.print(f"renewed in transaction 0x{certified.transaction_hash.hex()}")


@identity_app.command("verify")
def identity_verify(
    reference: Annotated[
        str, typer.Argument(help="The counterparty: an address or a participant id.")
    ],
    rpc: RpcOption = "http://127.0.0.1:8545",
    manifest: ManifestOption = None,
    certificates: Annotated[
        Path | None,
        typer.Option(
            help="Its certificate, or a directory of certificates (default: CA_DIR/issued)."
        ),
    ] = None,
    root: Annotated[
        Path | None, typer.Option(help="The office root certificate (default: CA_DIR/root.pem).")
    ] = None,
    ca_dir: Annotated[
        Path | None, typer.Option("--ca-dir", envvar="IPLEDGER_CA_DIR", help="The CA directory.")
    ] = None,
) -> None:
    """Identify a counterparty by address or participant id, on your own.

    Checks the certificate chain to the office root, the fingerprint on chain, that the address
    is bound to the participant now and that the participant is active; exits 1 naming each
    check that failed.
    """
    from ledger.certificates import CertificateDirectory, CertificateError, load_root
    from registry_api.identity.authority import CaDirectory
    from registry_api.identity.service import IdentityService

    try:
        if root is None and ca_dir is None:
            raise CertificateError("give the office root (--root) or the CA directory (--ca-dir)")
        if certificates is None and ca_dir is None:
            raise CertificateError("give the certificate (--certificates) or --ca-dir")
        office_root = load_root(root) if root else CaDirectory(ca_dir or Path()).root()
        source = CertificateDirectory(certificates or CaDirectory(ca_dir or Path()).issued_path)
        ledger = _open_ledger(rpc, manifest)
        report = IdentityService(ledger.participants, source, office_root).identify(reference)
    except _expected() as exc:
        raise fail(str(exc)) from None
    _show_report(report)
    if not report.verified:
        raise fail(report.summary())
    console.print(f"[green]{markup_safe(report.summary())}[/green]", soft_wrap=True)


def _show_report(report: IdentityReport) -> None:
    from rich.table import Table

    certificate = report.certificate
    if certificate is not None:
        # A certificate under check may be forged: its text is shown, never obeyed.
        console.print(
            markup_safe(
                f"{certificate.legal_name} ({certificate.country}, "
                f"reg. {certificate.registration_number}), "
                f"participant {certificate.participant_id}, roles {', '.join(certificate.roles)}"
            ),
            soft_wrap=True,
            highlight=False,
        )
    table = Table("check", "outcome", "detail", title=f"identity of {markup_safe(report.query)}")
    colours = {"passed": "green", "failed": "red", "skipped": "yellow"}
    for check in report.checks:
        colour = colours[check.outcome]
        table.add_row(
            check.name.value, f"[{colour}]{check.outcome}[/{colour}]", markup_safe(check.detail)
        )
    console.print(table)
