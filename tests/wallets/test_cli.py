"""`ipledger wallet`: keys on the holder's machine, and signing what it has read.

The signing tests run against anvil: the CLI reaches the chain over JSON-RPC as a wallet does,
and what it signs is then filed and registered by the contract.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import typing
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from typer.testing import CliRunner

from ledger.backends.base import ChainBackend
from ledger.backends.rpc import RpcBackend
from ledger.certificates import ParticipantIdentity
from ledger.typed_data import Assignment, Domain, sign
from ledger.types import AssetInput, AssetKind, Role, Share, SignedBy
from registry_api.cli import app
from registry_api.identity.authority import CertificateAuthority
from registry_api.identity.enrolment import enrol
from tests.conftest import BETA_ID, Parties, certify
from wallets.signer import LocalSigner

runner = CliRunner()
PASSWORD = "correct horse battery"
KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
NO_ENV = {
    "IPLEDGER_KEY_PASSWORD": None,
    "IPLEDGER_KEY_PASSWORD_FILE": None,
    "IPLEDGER_WALLET_DIR": None,
    "IPLEDGER_OFFICE_ROOT": None,
    "IPLEDGER_MANIFEST": None,
}
GAMMA_ID = 20
TITLE = "Compliant gripper for fruit harvesting"

on_anvil = pytest.mark.parametrize(
    "backend", [pytest.param("anvil", marks=pytest.mark.anvil)], indirect=True
)


def wallet(*args: str, input: str | None = None) -> typing.Any:
    return runner.invoke(app, ["wallet", *args], input=input, env=NO_ENV)


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password"
    path.write_text(PASSWORD + "\n")
    return path


def test_a_wallet_is_created_listed_and_shows_its_address_and_public_key(
    tmp_path: Path, password_file: Path
) -> None:
    wallets = str(tmp_path / "wallets")

    created = wallet("new", "acme", "--wallet-dir", wallets, "--password-file", str(password_file))
    listed = wallet("list", "--wallet-dir", wallets)
    address = wallet("address", "--wallet-dir", wallets)
    public = wallet(
        "address", "--public-key", "--wallet-dir", wallets, "--password-file", str(password_file)
    )

    assert created.exit_code == 0, created.output
    shown = address.stdout.strip()
    assert f"address: {shown}" in created.stdout
    assert "acme" in listed.stdout
    assert shown in listed.stdout
    assert public.exit_code == 0, public.output
    public_key = bytes.fromhex(public.stdout.split()[1][2:])
    assert to_checksum_address(keccak(public_key[1:])[-20:]) == shown


def test_wallet_commands_take_the_password_from_the_file_named_by_ipledger_key_password_file(
    tmp_path: Path, password_file: Path
) -> None:
    wallets = str(tmp_path / "wallets")
    env = {**NO_ENV, "IPLEDGER_KEY_PASSWORD_FILE": str(password_file)}

    created = runner.invoke(app, ["wallet", "new", "acme", "--wallet-dir", wallets], env=env)
    public = runner.invoke(
        app, ["wallet", "address", "--public-key", "--wallet-dir", wallets], env=env
    )

    assert created.exit_code == 0, created.output
    assert public.exit_code == 0, public.output
    assert len(public.stdout.split()) == 2  # the address and the public key, no prompt


def test_a_hex_key_typed_at_the_prompt_is_imported_and_never_echoed(tmp_path: Path) -> None:
    wallets = str(tmp_path / "wallets")

    imported = wallet(
        "import", "beta", "--wallet-dir", wallets, input=f"{KEY.hex()}\n{PASSWORD}\n{PASSWORD}\n"
    )

    assert imported.exit_code == 0, imported.output
    assert LocalSigner(KEY).address in imported.stdout
    assert KEY.hex() not in imported.output
    assert PASSWORD not in imported.output


def test_a_wrong_password_is_one_clear_line_without_the_key(
    tmp_path: Path, password_file: Path
) -> None:
    wallets = str(tmp_path / "wallets")
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY.hex())
    wallet("import", "acme", "--key-file", str(key_file), "--wallet-dir", wallets,
           "--password-file", str(password_file))  # fmt: skip
    wrong = tmp_path / "wrong"
    wrong.write_text("not the password")

    result = wallet(
        "address", "--public-key", "--wallet-dir", wallets, "--password-file", str(wrong)
    )

    assert result.exit_code == 1
    assert "error: wrong password for wallet 'acme'" in result.output
    assert "Traceback" not in result.output
    assert KEY.hex() not in result.output


def test_a_corrupted_keystore_is_one_clear_line(tmp_path: Path, password_file: Path) -> None:
    wallets = tmp_path / "wallets"
    wallet("new", "acme", "--wallet-dir", str(wallets), "--password-file", str(password_file))
    path = wallets / "acme.json"
    document = json.loads(path.read_text())
    document["crypto"]["kdf"] = "argon2"
    path.write_text(json.dumps(document))

    result = wallet("list", "--wallet-dir", str(wallets))
    signing = wallet("sign", str(path), "--wallet", "acme", "--wallet-dir", str(wallets))

    assert "no wallets" in result.output  # a file that is not a keystore is not listed
    assert signing.exit_code == 1
    assert "no wallet 'acme'" in signing.output


def test_a_short_password_is_refused_for_a_new_wallet(tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_text("1234")

    result = wallet("new", "acme", "--wallet-dir", str(tmp_path), "--password-file", str(short))

    assert result.exit_code == 1
    assert "at least 8 characters" in result.output


# --- Against a node ---


@dataclass(frozen=True)
class Signing:
    """A wallet enrolled as Gamma, owner of a patent, and what the CLI needs to reach the chain."""

    world: Parties
    url: str
    options: list[str]
    right: bytes
    gamma: str
    tmp: Path

    def draft(self, deadline_in: int = 7 * 86_400, **changes: object) -> tuple[Domain, Assignment]:
        domain, assignment = self.world.ledger.assets.build_assignment(
            self.world.ledger.participants,
            asset_id=self.right,
            assignor=GAMMA_ID,
            assignee=BETA_ID,
            share_bps=10_000,
            terms_hash=hashlib.sha256(b"deed").digest(),
            assignor_key=self.gamma,  # type: ignore[arg-type]
            deadline=self.world.now() + deadline_in,
        )
        return domain, assignment

    def file(self, domain: Domain, assignment: Assignment) -> Path:
        path = self.tmp / "assignment.json"
        path.write_text(json.dumps(assignment.typed_data(domain)))
        return path

    def sign(self, typed_data: Path, *extra: str, input: str | None = None) -> typing.Any:
        return wallet("sign", str(typed_data), *self.options, *extra, input=input)


@pytest.fixture
def signing(
    world: Parties, backend: ChainBackend, office_ca: CertificateAuthority, tmp_path: Path,
    password_file: Path,
) -> Signing:  # fmt: skip
    url = typing.cast(RpcBackend, backend).url
    wallets = str(tmp_path / "wallets")
    created = wallet("new", "gamma", "--wallet-dir", wallets, "--password-file", str(password_file))
    assert created.exit_code == 0, created.output
    shown = wallet(
        "address", "--public-key", "--wallet-dir", wallets, "--password-file", str(password_file)
    ).stdout.split()
    gamma, public_key = shown[0], bytes.fromhex(shown[1][2:])
    # The office identified Gamma off chain; it certifies and enrols its wallet's key.
    now = datetime.datetime.fromtimestamp(world.now(), datetime.UTC)
    enrolled = enrol(
        world.ledger, office_ca, None,
        ParticipantIdentity(GAMMA_ID, "Gamma Materials GmbH", "HRB 123456", "DE",
                            Role.PARTICIPANT, (gamma,)),
        public_key, not_before=now, not_after=now + datetime.timedelta(days=365),
    )  # fmt: skip
    certificates = tmp_path / "certificates"
    certificates.mkdir()
    (certificates / "gamma.pem").write_text(enrolled.certificate.pem())
    beta = certify(world, office_ca, BETA_ID, world.beta, "Beta Devices Co")
    (certificates / "beta.pem").write_text(beta.pem())
    root = tmp_path / "office-root.pem"
    root.write_bytes(office_ca.root.public_bytes(Encoding.PEM))
    manifest = tmp_path / "manifest.json"
    world.ledger.manifest.save(manifest)
    right = world.ledger.assets.register_asset(
        AssetInput(
            jurisdiction=b"KR", kind=AssetKind.PATENT, number="1020240123456", title=TITLE,
            document_hash=hashlib.sha256(b"specification").digest(),
            filing_date=1_700_000_000, registration_date=1_720_000_000,
            expiry_date=2_300_000_000, owners=(Share(GAMMA_ID, 10_000),),
        )
    ).event.asset_id  # fmt: skip
    options = [
        "--rpc", url, "--manifest", str(manifest), "--certificates", str(certificates),
        "--office-root", str(root), "--wallet-dir", wallets, "--password-file", str(password_file),
    ]  # fmt: skip
    return Signing(world, url, options, right, gamma, tmp_path)


@on_anvil
def test_an_assignment_signed_with_the_cli_is_filed_and_registered_by_the_contract(
    signing: Signing,
) -> None:
    world = signing.world
    domain, assignment = signing.draft()
    out = signing.tmp / "signature.json"

    result = signing.sign(signing.file(domain, assignment), "--yes", "--out", str(out))

    assert result.exit_code == 0, result.output
    shown = " ".join(result.stdout.split())
    assert f'KR patent 1020240123456 "{TITLE}"' in shown
    assert f"assignor Gamma Materials GmbH (participant {GAMMA_ID})" in shown
    assert f"assignee Beta Devices Co (participant {BETA_ID})" in shown
    assert "share 100% of the whole right" in shown
    deadline = datetime.datetime.fromtimestamp(assignment.deadline, datetime.UTC)
    assert f"deadline {deadline:%Y-%m-%d %H:%M} UTC (in 7 days)" in shown
    assert f"chain chain {world.ledger.chain.chain_id}, IPAssetRegistry at" in shown
    assert "warning" not in shown
    assert "unverified" not in shown
    signed = json.loads(out.read_text())
    assert signed["signer"] == signing.gamma
    assert f"signature: {signed['signature']}" in shown
    assert signed["digest"] == "0x" + world.ledger.assets.assignment_digest(assignment).hex()

    signatures = [
        SignedBy(signing.gamma, bytes.fromhex(signed["signature"][2:])),  # type: ignore[arg-type]
        sign(world.beta, assignment, domain),
    ]
    filed = world.ledger.connect(world.beta).assets.file_assignment(assignment, signatures)
    registered = world.ledger.assets.register_assignment(assignment, filed.event.signers)
    assert registered.event.owners == (Share(BETA_ID, 10_000),)


@on_anvil
def test_without_the_office_root_the_review_says_that_names_are_unverified(
    signing: Signing,
) -> None:
    at = signing.options.index("--office-root")
    options = signing.options[:at] + signing.options[at + 2 :]

    result = wallet("sign", str(signing.file(*signing.draft())), *options, "--yes")

    assert result.exit_code == 0, result.output
    shown = " ".join(result.stdout.split())
    assert "Gamma Materials GmbH" in shown
    assert shown.count("names are unverified") == 1


@on_anvil
def test_the_cli_asks_before_signing_and_signs_nothing_when_told_no(signing: Signing) -> None:
    result = signing.sign(signing.file(*signing.draft()), input="n\n")

    assert result.exit_code == 1
    assert "Sign this?" in result.output
    assert "error: not signed" in result.output
    assert "signature:" not in result.output


@on_anvil
@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("expired", "the deadline passed on"),
        ("other chain", "is for chain 1, but the deployment manifest names chain 31337: refusing"),
        ("other contract", "but the deployment's IPAssetRegistry is at 0x"),
    ],
)
def test_the_cli_refuses_expired_typed_data_and_another_chain_or_contract(
    signing: Signing, how: str, message: str
) -> None:
    domain, assignment = signing.draft(deadline_in=-60 if how == "expired" else 86_400)
    typed = signing.file(domain, assignment)
    data = json.loads(typed.read_text())
    if how == "other chain":
        data["domain"]["chainId"] = data["message"]["chainId"] = 1
    elif how == "other contract":
        other = signing.world.ledger.manifest.address_of("ParticipantRegistry")
        data["domain"]["verifyingContract"] = data["message"]["verifyingContract"] = other
    typed.write_text(json.dumps(data))

    result = signing.sign(typed, "--yes")

    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
    assert "signature:" not in result.output
    assert "Traceback" not in result.output


@on_anvil
def test_the_wallet_rotates_its_key_through_the_office_and_switches(
    signing: Signing, tmp_path: Path
) -> None:
    world = signing.world
    office_key = tmp_path / "office.key"
    office_key.write_text(world.office._account.key.hex())  # the office on this machine
    options = [o for o in signing.options if o not in ("--yes",)]
    chain_options = options[: options.index("--wallet-dir")]
    wallet_options = options[options.index("--wallet-dir") :]

    result = wallet(
        "rotate", *chain_options, *wallet_options, "--office-key-file", str(office_key), "--yes"
    )

    assert result.exit_code == 0, result.output
    new = wallet("address", *wallet_options[:2]).stdout.strip()
    assert new != signing.gamma
    assert f"Gamma Materials GmbH (participant {GAMMA_ID})" in result.stdout
    assert world.ledger.participants.participant_of(new) == GAMMA_ID
    assert world.ledger.participants.is_retired(signing.gamma)  # type: ignore[arg-type]


@on_anvil
def test_markup_and_control_characters_from_the_chain_are_shown_as_they_are_not_obeyed(
    signing: Signing, office_ca: CertificateAuthority
) -> None:
    world = signing.world
    # `[/bold]` crashed Rich's markup parser, `[conceal]` hid text, a newline forged a share
    # line, ESC sequences drive the terminal: all of it is a right's title or a legal name.
    title = "Gripper[/bold] [conceal]secret[/conceal]\n  share        1% of the whole right\x1b[2J"
    right = world.ledger.assets.register_asset(
        AssetInput(
            jurisdiction=b"KR", kind=AssetKind.PATENT, number="1020240999999", title=title,
            document_hash=hashlib.sha256(b"specification").digest(),
            filing_date=1_700_000_000, registration_date=1_720_000_000,
            expiry_date=2_300_000_000, owners=(Share(GAMMA_ID, 10_000),),
        )
    ).event.asset_id  # fmt: skip
    # (A certificate's names hold no control character: the office CA refuses them at issue.)
    beta = certify(world, office_ca, BETA_ID, world.beta, "[bold red]Beta[/] [conceal]Co[/conceal]")
    (signing.tmp / "certificates" / "beta.pem").write_text(beta.pem())
    domain, assignment = signing.draft()
    assignment = dataclasses.replace(assignment, asset_id=right)

    result = signing.sign(signing.file(domain, assignment), "--yes")

    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output
    assert "\x07" not in result.output
    assert (
        '"Gripper[/bold] [conceal]secret[/conceal]\\n  share        1% of the whole right'
        '\\x1b[2J"' in result.stdout
    )
    assert f"[bold red]Beta[/] [conceal]Co[/conceal] (participant {BETA_ID})" in result.stdout
    shares = [line for line in result.stdout.splitlines() if line.strip().startswith("share")]
    assert shares == ["  share        100% of the whole right (10,000 of 10,000 basis points)"]
    assert "signature: 0x" in result.stdout
