"""What a wallet shows before signing: decoded with the ledger's EIP-712 definitions, checked
against the deployment, told with official numbers and legal names."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib

import pytest

from ledger.certificates import CertificateList
from ledger.typed_data import Assignment, Domain, sign
from ledger.types import AssetInput, AssetKind, Share
from registry_api.identity.authority import CertificateAuthority
from tests.conftest import ACME_ID, BETA_ID, UNIVERSITY_ID, Parties, certify
from wallets.lookup import ChainLookup
from wallets.review import LedgerDeployment, Review, SigningRefused, review

pytestmark = pytest.mark.parametrize("backend", ["embedded"], indirect=True)

DAY = 86_400
TITLE = "Gripper with compliant fingers for fruit harvesting"


def register_right(world: Parties) -> bytes:
    return world.ledger.assets.register_asset(
        AssetInput(
            jurisdiction=b"KR",
            kind=AssetKind.PATENT,
            number="1020240123456",
            title=TITLE,
            document_hash=hashlib.sha256(b"specification").digest(),
            filing_date=1_700_000_000,
            registration_date=1_720_000_000,
            expiry_date=2_300_000_000,
            owners=(Share(ACME_ID, 5000), Share(UNIVERSITY_ID, 5000)),
        )
    ).event.asset_id


@pytest.fixture
def lookup(world: Parties, office_ca: CertificateAuthority) -> ChainLookup:
    """Acme and Beta hold office certificates; the university's is not in the directory."""
    certificates = [
        certify(world, office_ca, ACME_ID, world.acme, "Acme Robotics Ltd"),
        certify(world, office_ca, BETA_ID, world.beta, "Beta Devices Co"),
    ]
    now = datetime.datetime.fromtimestamp(world.now(), datetime.UTC)
    return ChainLookup(world.ledger, CertificateList(certificates), office_ca.root, now=now)


def drafted(world: Parties, right: bytes, deadline_in: int = 7 * DAY) -> tuple[Domain, Assignment]:
    return world.ledger.assets.build_assignment(
        world.ledger.participants,
        asset_id=right,
        assignor=ACME_ID,
        assignee=BETA_ID,
        share_bps=5000,
        terms_hash=hashlib.sha256(b"deed").digest(),
        assignor_key=world.acme.address,
        deadline=world.now() + deadline_in,
    )


def lines(shown: Review) -> dict[str, str]:
    return dict(shown.lines)


def test_an_assignment_is_told_with_official_number_legal_names_share_deadline_chain(
    world: Parties, lookup: ChainLookup
) -> None:
    domain, assignment = drafted(world, register_right(world))

    shown = review(
        assignment.typed_data(domain),
        LedgerDeployment(world.ledger),
        lookup,
        world.acme.address,
        world.now(),
    )

    told = lines(shown)
    assert told["what"] == "Assignment of 50% of a right"
    assert told["right"] == f'KR patent 1020240123456 "{TITLE}"'
    assert told["assignor"] == f"Acme Robotics Ltd (participant {ACME_ID})"
    assert told["assignee"] == f"Beta Devices Co (participant {BETA_ID})"
    assert told["share"] == "50% of the whole right (5,000 of 10,000 basis points)"
    deadline = datetime.datetime.fromtimestamp(assignment.deadline, datetime.UTC)
    assert told["deadline"] == f"{deadline:%Y-%m-%d %H:%M} UTC (in 7 days)"
    registry = world.ledger.manifest.address_of("IPAssetRegistry")
    assert told["chain"] == f"chain {world.ledger.chain.chain_id}, IPAssetRegistry at {registry}"
    assert told["you sign as"] == f"the assignor ({world.acme.address})"
    assert shown.warnings == ()


def test_what_is_signed_is_the_struct_decoded_with_the_contracts_definitions(
    world: Parties, lookup: ChainLookup
) -> None:
    domain, assignment = drafted(world, register_right(world))
    given = assignment.typed_data(domain)
    given["message"] = {**given["message"], "shareBps": "0x1388"}  # type: ignore[dict-item]

    shown = review(given, LedgerDeployment(world.ledger), lookup, world.acme.address, world.now())

    assert shown.struct == assignment
    assert shown.domain == domain
    assert shown.typed_data() == assignment.typed_data(domain)
    assert shown.struct.digest(shown.domain) == world.ledger.assets.assignment_digest(assignment)
    assert (
        world.acme.sign_typed_data(shown.typed_data())
        == sign(world.acme, assignment, domain).signature
    )


def test_typed_data_that_differs_from_the_ledgers_definition_is_refused(
    world: Parties, lookup: ChainLookup
) -> None:
    domain, assignment = drafted(world, register_right(world))
    given = assignment.typed_data(domain)
    given["types"]["Assignment"][6]["type"] = "uint256"  # type: ignore[index]

    with pytest.raises(SigningRefused, match="does not match the ledger's definition"):
        review(given, LedgerDeployment(world.ledger), lookup, world.acme.address, world.now())
    with pytest.raises(SigningRefused, match="unknown typed data 'Permit'"):
        review(
            {**given, "primaryType": "Permit"},
            LedgerDeployment(world.ledger),
            lookup,
            world.acme.address,
            0,
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("chain", r"is for chain 1, but the deployment manifest names chain \d+: refusing"),
        ("contract", "but the deployment's IPAssetRegistry is at 0x[0-9a-fA-F]{40}: refusing"),
        ("deadline", r"the deadline passed on .* refusing to sign an expired approval"),
        ("domain", "is not the one IPAssetRegistry reports: refusing"),
    ],
)
def test_typed_data_for_another_chain_contract_or_past_deadline_is_refused(
    world: Parties, lookup: ChainLookup, change: str, message: str
) -> None:
    domain, assignment = drafted(world, register_right(world))
    if change == "chain":
        domain = dataclasses.replace(domain, chain_id=1)
        assignment = dataclasses.replace(assignment, chain_id=1)
    elif change == "contract":
        other = world.ledger.manifest.address_of("ParticipantRegistry")
        domain = dataclasses.replace(domain, verifying_contract=other)
        assignment = dataclasses.replace(assignment, verifying_contract=other)
    elif change == "deadline":
        assignment = dataclasses.replace(assignment, deadline=world.now() - 60)
    else:
        domain = dataclasses.replace(domain, version="2")

    with pytest.raises(SigningRefused, match=message):
        review(
            assignment.typed_data(domain),
            LedgerDeployment(world.ledger),
            lookup,
            world.acme.address,
            world.now(),
        )


def test_a_party_without_a_certificate_and_an_unknown_right_are_flagged(
    world: Parties, lookup: ChainLookup
) -> None:
    domain, assignment = drafted(world, hashlib.sha256(b"no such right").digest())
    assignment = dataclasses.replace(assignment, assignee=UNIVERSITY_ID)
    world.ledger.participants.suspend(UNIVERSITY_ID, 7)

    shown = review(
        assignment.typed_data(domain),
        LedgerDeployment(world.ledger),
        lookup,
        world.beta.address,
        world.now(),
    )

    told = lines(shown)
    assert told["assignee"] == (
        f"participant {UNIVERSITY_ID} (no certificate) [NOT ACTIVE: suspended]"
    )
    assert told["right"].endswith("(no such right on this ledger)")
    assert told["you sign as"].startswith("a co-owner consenting")
    assert "the right is not registered on this ledger" in shown.warnings
    assert "the assignee is not identified by a certificate: no certificate" in shown.warnings
    assert "the assignee is not active (suspended): the office will refuse" in shown.warnings


def test_a_key_rotation_is_told_with_the_participant_and_both_keys(
    world: Parties, lookup: ChainLookup
) -> None:
    domain, rotation = world.ledger.participants.build_key_rotation(
        ACME_ID, world.acme.address, world.beta.address, world.now() + DAY
    )

    shown = review(
        rotation.typed_data(domain),
        LedgerDeployment(world.ledger),
        lookup,
        world.acme.address,
        world.now(),
    )

    told = lines(shown)
    assert told["participant"] == f"Acme Robotics Ltd (participant {ACME_ID})"
    assert told["what"] == f"Key rotation: {world.acme.address} is replaced by {world.beta.address}"
    assert shown.contract == "ParticipantRegistry"


def test_control_characters_from_the_chain_and_certificates_are_shown_visibly(
    world: Parties, office_ca: CertificateAuthority
) -> None:
    # A title whose newline forges a review line, whose ESC sequence hides text on a terminal
    # and whose right-to-left override reverses what follows; a legal name likewise.
    title = "Gripper\n  share        1% of the whole right\x1b[8mhidden\x1b[0m \u202eevil\x85"
    right = world.ledger.assets.register_asset(
        AssetInput(
            jurisdiction=b"KR",
            kind=AssetKind.PATENT,
            number="1020240999999",
            title=title,
            document_hash=hashlib.sha256(b"specification").digest(),
            filing_date=1_700_000_000,
            registration_date=1_720_000_000,
            expiry_date=2_300_000_000,
            owners=(Share(ACME_ID, 10_000),),
        )
    ).event.asset_id
    certificates = [
        # (no C0/C1 control: the office CA refuses those in a certificate's names)
        certify(world, office_ca, ACME_ID, world.acme, "Acme Robotics\u2066 Ltd\\n"),
        certify(world, office_ca, BETA_ID, world.beta, "Beta Devices Co"),
    ]
    now = datetime.datetime.fromtimestamp(world.now(), datetime.UTC)
    lookup = ChainLookup(world.ledger, CertificateList(certificates), office_ca.root, now=now)
    domain, assignment = drafted(world, right)

    shown = review(
        assignment.typed_data(domain),
        LedgerDeployment(world.ledger),
        lookup,
        world.acme.address,
        world.now(),
    )

    told = lines(shown)
    assert told["right"] == (
        'KR patent 1020240999999 "Gripper\\n  share        1% of the whole right'
        '\\x1b[8mhidden\\x1b[0m \\u202eevil\\x85"'
    )
    # A backslash is doubled, so that a name cannot pass itself off as a shown control.
    assert told["assignor"] == f"Acme Robotics\\u2066 Ltd\\\\n (participant {ACME_ID})"
    for label, value in shown.lines:
        assert value.isprintable(), (label, value)
