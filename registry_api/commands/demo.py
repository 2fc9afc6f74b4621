"""`make run` until the registry service exists: the recordal flow on an in-process chain."""

from __future__ import annotations

import datetime
import hashlib

from eth_typing import ChecksumAddress
from rich.console import Console
from rich.table import Table

from ledger.artifacts import ArtifactSet
from ledger.assets import asset_id, canonical_number
from ledger.backends.embedded import EmbeddedBackend
from ledger.deploy import Ledger, OfficeBootstrap, deploy_ledger
from ledger.errors import ContractError, IPAssetRegistryMissingConsent
from ledger.typed_data import Assignment, sign
from ledger.types import AssetInput, AssetKind, Role, Share
from registry_api.identity.certificates import self_signed
from wallets.signer import LocalSigner

OFFICE, ACME, BETA, UNIVERSITY = 1, 10, 11, 12
NAMES = {
    OFFICE: "IP Office",
    ACME: "Acme Robotics Ltd",
    BETA: "Beta Devices Co",
    UNIVERSITY: "Hanbit University",
}


def run_demo(console: Console, artifacts: ArtifactSet) -> None:
    """Enrol, register, assign with countersignatures and consent, register; print each step."""
    now = datetime.datetime.now(datetime.UTC)
    backend = EmbeddedBackend()
    keys = {pid: LocalSigner.generate() for pid in NAMES}
    office_cert = self_signed(NAMES[OFFICE], valid_days=5 * 365, now=now).facts
    steps = Table(
        "step", "who", "transaction", "gas", title="IP Rights Ledger: an assignment recordal"
    )

    ledger = deploy_ledger(
        backend,
        keys[OFFICE],
        artifacts,
        OfficeBootstrap(
            OFFICE, office_cert.fingerprint, office_cert.not_after, (keys[OFFICE].address,)
        ),
    )
    for name, deployment in ledger.manifest.contracts.items():
        steps.add_row("deploy", NAMES[OFFICE], f"{name} at {deployment.address}", "")

    for pid in (ACME, BETA, UNIVERSITY):
        # Each party's certificate (self-signed stand-ins here); only its fingerprint goes on chain.
        facts = self_signed(NAMES[pid], valid_days=2 * 365, now=now).facts
        enrolled = ledger.participants.enrol(
            pid, Role.PARTICIPANT, facts.fingerprint, facts.not_after, [keys[pid].address]
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
