"""`ipledger demo` (`make demo`): the recordal flow end to end on an in-process chain."""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

import typer
from eth_typing import ChecksumAddress
from rich.console import Console
from rich.table import Table

from ledger.artifacts import ArtifactSet
from ledger.assets import asset_id, canonical_number
from ledger.backends.embedded import EmbeddedBackend
from ledger.certificates import CertificateList, ParticipantCertificate, ParticipantIdentity
from ledger.deploy import Ledger, OfficeBootstrap, deploy_ledger
from ledger.errors import ContractError, IPAssetRegistryMissingConsent
from ledger.typed_data import Assignment, sign
from ledger.types import AssetInput, AssetKind, Role, Share
from registry_api.commands.console import fail
from registry_api.identity import CA_PASSWORD_ENV
from registry_api.identity.authority import (
    AuthorityError,
    CaDirectory,
    CertificateAuthority,
)
from registry_api.identity.service import IdentityService
from wallets.passwords import PasswordUnavailable, password_from
from wallets.signer import LocalSigner

OFFICE, ACME, BETA, UNIVERSITY = 1, 10, 11, 12
NAMES = {
    OFFICE: "IP Office",
    ACME: "Acme Robotics Ltd",
    BETA: "Beta Devices Co",
    UNIVERSITY: "Hanbit University",
}
REGISTRATION_NUMBERS = {
    OFFICE: "KR-IPO-0001",
    ACME: "110111-0000001",
    BETA: "110111-0000002",
    UNIVERSITY: "124-82-00003",
}


def run_demo(
    console: Console, artifacts: ArtifactSet, authority: CertificateAuthority | None = None
) -> None:
    """Enrol, register, assign with countersignatures and consent, register; print each step.

    Certificates come from `authority`, the office CA, or from a throwaway CA made for the run.
    """
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    if authority is None:
        authority = CertificateAuthority.generate(
            NAMES[OFFICE], "KR", REGISTRATION_NUMBERS[OFFICE], now=now
        )
        console.print("office CA: a throwaway one made for this run (give --ca-dir for yours)")
    backend = EmbeddedBackend()
    keys = {pid: LocalSigner.generate() for pid in NAMES}
    # The office identified each party off chain; its certificate binds that to its key.
    certificates = {
        pid: _certify(authority, pid, keys[pid], Role.OFFICE if pid == OFFICE else None, now)
        for pid in NAMES
    }
    office_cert = certificates[OFFICE]
    steps = Table(
        "step", "who", "transaction", "gas", title="IP Rights Ledger: an assignment recordal"
    )

    ledger = deploy_ledger(
        backend,
        keys[OFFICE],
        artifacts,
        OfficeBootstrap(
            OFFICE,
            office_cert.fingerprint,
            int(office_cert.not_after.timestamp()),
            (keys[OFFICE].address,),
        ),
    )
    for name, deployment in ledger.manifest.contracts.items():
        steps.add_row("deploy", NAMES[OFFICE], f"{name} at {deployment.address}", "")

    for pid in (ACME, BETA, UNIVERSITY):
        # Only the certificate's fingerprint and end of validity go on chain.
        certificate = certificates[pid]
        enrolled = ledger.participants.enrol(
            pid,
            Role.PARTICIPANT,
            certificate.fingerprint,
            int(certificate.not_after.timestamp()),
            [keys[pid].address],
        )
        steps.add_row(
            "enrol",
            NAMES[OFFICE],
            f"participant {pid}: {NAMES[pid]}",
            _gas(enrolled.receipt.gas_used),
        )

    number = canonical_number("10-2024-0123456")
    chain_now = int(backend.w3.eth.get_block("latest")["timestamp"])
    registered = ledger.assets.register_asset(
        AssetInput(
            jurisdiction=b"KR",
            kind=AssetKind.PATENT,
            number=number,
            title="Gripper with compliant fingers for fruit harvesting",
            document_hash=hashlib.sha256(b"specification of KR 10-2024-0123456").digest(),
            filing_date=chain_now - 400 * 86400,
            registration_date=chain_now - 30 * 86400,
            expiry_date=chain_now + 19 * 365 * 86400,
            owners=(Share(ACME, 5000), Share(UNIVERSITY, 5000)),
        )
    )
    right = registered.event.asset_id
    assert right == asset_id(b"KR", AssetKind.PATENT, number)
    steps.add_row(
        "register",
        NAMES[OFFICE],
        f"patent KR {number}, Acme 50% + University 50%",
        _gas(registered.receipt.gas_used),
    )

    domain, assignment = ledger.assets.build_assignment(
        ledger.participants,
        asset_id=right,
        assignor=ACME,
        assignee=BETA,
        share_bps=5000,
        terms_hash=hashlib.sha256(b"deed of assignment, Acme to Beta").digest(),
        assignor_key=keys[ACME].address,
        deadline=chain_now + 7 * 86400,
    )
    # Before signing, Beta identifies its counterparties from their certificates and the chain.
    identities = IdentityService(
        ledger.participants, CertificateList(list(certificates.values())), authority.root
    )
    for pid in (ACME, UNIVERSITY):
        report = identities.identify(keys[pid].address)
        who = report.certificate.legal_name if report.certificate else f"participant {pid}"
        verdict = (
            "verified: certificate signed by the office root and on chain, key bound, active"
            if report.verified
            else report.summary()
        )
        steps.add_row("identify", NAMES[BETA], f"{who}: {verdict}", "")

    signatures = [sign(keys[pid], assignment, domain) for pid in (ACME, BETA)]
    refusal = _refused(ledger, assignment, [s.signer for s in signatures])
    steps.add_row(
        "check", NAMES[OFFICE], f"examined without the co-owner's signature: {refusal}", ""
    )

    signatures.append(sign(keys[UNIVERSITY], assignment, domain))
    filed = ledger.connect(keys[BETA]).assets.file_assignment(assignment, signatures)
    steps.add_row(
        "file",
        NAMES[BETA],
        f"assignment 0x{filed.event.assignment_id.hex()[:16]}... signed by Acme, Beta, University",
        _gas(filed.receipt.gas_used),
    )
    recorded = ledger.assets.register_assignment(assignment, filed.event.signers)
    owners = ", ".join(f"{NAMES[s.participant_id]} {s.bps / 100:g}%" for s in recorded.event.owners)
    steps.add_row(
        "register",
        NAMES[OFFICE],
        f"assignment registered; owners now {owners}",
        _gas(recorded.receipt.gas_used),
    )

    console.print(steps)
    console.print(
        f"chain id {backend.chain_id}, {backend.w3.eth.block_number} blocks, all in this process."
    )


def open_authority(ca_dir: Path, ca_password_file: Path | None) -> CertificateAuthority:
    """The office CA in `ca_dir`, its key unlocked (exits with the reason if it cannot be)."""
    try:
        return CaDirectory(ca_dir).open(
            password_from(
                ca_password_file,
                CA_PASSWORD_ENV,
                lambda: str(typer.prompt("CA key password", hide_input=True)),
                purpose="the CA key",
            ).encode()
        )
    except (AuthorityError, PasswordUnavailable, OSError) as exc:
        raise fail(str(exc)) from None


def _certify(
    authority: CertificateAuthority,
    pid: int,
    key: LocalSigner,
    role: Role | None,
    now: datetime.datetime,
) -> ParticipantCertificate:
    identity = ParticipantIdentity(
        participant_id=pid,
        legal_name=NAMES[pid],
        registration_number=REGISTRATION_NUMBERS[pid],
        country="KR",
        roles=role or Role.PARTICIPANT,
        keys=(key.address,),
    )
    return authority.issue(
        identity, key.public_key, not_before=now, not_after=now + datetime.timedelta(days=730)
    )


def _refused(ledger: Ledger, assignment: Assignment, signers: list[ChecksumAddress]) -> str:
    try:
        ledger.assets.check_assignment(assignment, signers)
    except IPAssetRegistryMissingConsent as refusal:
        return f"refused: {NAMES[refusal.co_owner]} has not consented"
    except ContractError as refusal:
        return f"refused: {refusal}"
    return "accepted"


def _gas(gas: int) -> str:
    return f"{gas:,}"
