"""The office's own setup: its certificate authority, its key and certificate, its embedded chain.

`ipledger serve` creates all of it on first start in the data directory, so that `make run`
needs nothing else:

    D/ca/                  the office CA: root certificate, encrypted root key, issued certificates
    D/keystore/office.json the office's key (Web3 Secret Storage, scrypt): the relayer signs with it
    D/key-password         generated only when no password was given (mode 0600): move it out,
                           or set IPLEDGER_KEY_PASSWORD, before the data directory is shared
    D/chain.sqlite, D/manifest.json ...  the embedded chain (see embedded_chain/datadir.py)
"""

from __future__ import annotations

import datetime
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_typing import ChecksumAddress

from embedded_chain.datadir import DataDir, initialize
from embedded_chain.genesis import DEFAULT_CHAIN_ID, ChainConfig
from embedded_chain.node import Node
from ledger.artifacts import ArtifactSet
from ledger.backends.embedded import EmbeddedBackend
from ledger.certificates import ParticipantCertificate, ParticipantIdentity
from ledger.deploy import OfficeBootstrap, deploy_ledger
from ledger.manifest import DeploymentManifest
from ledger.types import Role
from registry_api.identity.authority import CaDirectory, CertificateAuthority
from wallets.keystore import Keystore, parse_private_key
from wallets.signer import LocalSigner

#: The office's own participant certificate: five years.
OFFICE_VALID_DAYS = 5 * 365
PASSWORD_FILE = "key-password"
CA_DIR = "ca"


@dataclass(frozen=True)
class OfficeIdentity:
    """Who the office is, as its root certificate and its own participant certificate say."""

    name: str = "IP Office"
    country: str = "KR"
    registration_number: str = "IPO-0001"
    participant_id: int = 1


def account_rules(data_dir: DataDir) -> ChecksumAddress | None:
    """What the office's embedded node asks who may send: its participant registry, once the
    manifest in `data_dir` says where it is deployed; None before (the validator alone)."""
    if not data_dir.manifest.exists():
        return None
    return DeploymentManifest.load(data_dir.manifest).account_rules


def office_certificate(
    authority: CertificateAuthority, office_id: int, key: LocalSigner, now: datetime.datetime
) -> ParticipantCertificate:
    """The office's own participant certificate, issued by its CA to its key."""
    identity = ParticipantIdentity(
        participant_id=office_id,
        legal_name=authority.office_name,
        registration_number=authority.office_registration_number,
        country=authority.office_country,
        roles=Role.OFFICE,
        keys=(key.address,),
    )
    return authority.issue(
        identity,
        key.public_key,
        not_before=now,
        not_after=now + datetime.timedelta(days=OFFICE_VALID_DAYS),
    )


def stored_password(data_dir: Path) -> str | None:
    """The password generated at creation, if the office kept it in the data directory."""
    path = data_dir / PASSWORD_FILE
    return path.read_text().strip() if path.is_file() else None


def office_keystore(key_file: Path, password: str) -> Keystore:
    """The office's key from a keystore (it must open with `password`) or a hex key file."""
    text = key_file.read_text()
    if text.lstrip().startswith("{"):
        keystore = Keystore.parse(text, str(key_file))
        keystore.unlock(password, str(key_file))
        return keystore
    return Keystore.encrypt(parse_private_key(text), password)


def create_embedded_office(
    data_dir: Path,
    password: str | None,
    artifacts: ArtifactSet,
    *,
    identity: OfficeIdentity | None = None,
    chain_id: int = DEFAULT_CHAIN_ID,
    keystore: Keystore | None = None,
) -> str:
    """Create the office's CA, key, certificate and chain in `data_dir`; return the password.

    All or nothing (the chain is built under a temporary name, then renamed into place). Without
    a password one is generated and kept in D/key-password; without a keystore (which the
    password must open) a new key is made.
    """
    identity = identity or OfficeIdentity()
    generated = password is None
    secret = password if password is not None else secrets.token_urlsafe(24)
    if keystore is None:
        keystore = Keystore.encrypt(bytes(Account.create().key), secret)
    office = keystore.unlock(secret)
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)

    def populate(node: Node, target: DataDir) -> None:
        if generated:
            _write_secret(target.root / PASSWORD_FILE, secret)
        keystore.save(target.keystore)
        ca = CaDirectory(target.root / CA_DIR)
        authority = CertificateAuthority.generate(
            identity.name, identity.country, identity.registration_number, now=now
        )
        ca.init(authority, secret.encode())
        certificate = office_certificate(authority, identity.participant_id, office, now)
        ca.record(certificate)
        bootstrap = OfficeBootstrap(
            identity.participant_id,
            certificate.fingerprint,
            int(certificate.not_after.timestamp()),
            (office.address,),
        )
        ledger = deploy_ledger(EmbeddedBackend(node), office, artifacts, bootstrap)
        ledger.manifest.save(target.manifest)

    config = ChainConfig(
        chain_id=chain_id, validator=office.address, genesis_timestamp=int(time.time())
    )
    initialize(data_dir, config, populate)
    return secret


def _write_secret(path: Path, secret: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
