"""Identifying a counterparty: certificate chain, fingerprint on chain, key bound, active.

Each way an identity can fail is a check that says what failed and why.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from ledger.certificates import (
    CertificateDirectory,
    CertificateList,
    CertificateSource,
    CheckName,
    IdentityNotVerified,
    Outcome,
    ParticipantCertificate,
)
from registry_api.identity.authority import CertificateAuthority
from registry_api.identity.service import (
    IdentityReport,
    IdentityService,
    InvalidReference,
    UnknownParticipant,
)
from tests.conftest import ACME_ID, BETA_ID, Parties, certify
from wallets.rotation import OfficeOnChain, sign_rotation
from wallets.signer import LocalSigner

# Identity is about certificates and reads of the registry: the in-process chain is enough.
pytestmark = pytest.mark.parametrize("backend", ["embedded"], indirect=True)

ACME = "Acme Robotics Ltd"


def chain_clock(world: Parties) -> Callable[[], datetime.datetime]:
    return lambda: datetime.datetime.fromtimestamp(world.now(), datetime.UTC)


def service(
    world: Parties,
    ca: CertificateAuthority,
    certificates: CertificateSource,
    clock: Callable[[], datetime.datetime] | None = None,
) -> IdentityService:
    return IdentityService(
        world.ledger.participants, certificates, ca.root, clock or chain_clock(world)
    )


def outcomes(report: IdentityReport) -> dict[str, str]:
    return {check.name.value: check.outcome for check in report.checks}


def detail(report: IdentityReport, name: CheckName) -> str:
    return next(c.detail for c in report.checks if c.name is name)


def only_failed(report: IdentityReport) -> list[str]:
    return [name.value for name in report.failed]


def test_a_certified_active_counterparty_is_verified_by_address_and_by_id(
    world: Parties, office_ca: CertificateAuthority
) -> None:
    certificate = certify(world, office_ca, ACME_ID, world.acme, ACME)
    identities = service(world, office_ca, CertificateList([certificate]))

    by_address = identities.identify(world.acme.address)
    by_id = identities.identify(str(ACME_ID))

    assert by_address.verified
    assert by_id.verified
    assert set(outcomes(by_address).values()) == {"passed"}
    assert outcomes(by_id)["key-binding"] == "skipped"
    assert by_address.certificate is not None
    assert by_address.certificate.legal_name == ACME
    assert by_address.certificate.fingerprint == "0x" + certificate.fingerprint.hex()
    assert by_address.summary() == f"identity verified: participant {ACME_ID}"
    # What the API returns: JSON, the certificate PEM included.
    assert json.loads(by_address.model_dump_json())["certificate"]["pem"].startswith("-----BEGIN")


def test_a_tampered_certificate_fails_the_chain_to_the_office_root(
    world: Parties, office_ca: CertificateAuthority
) -> None:
    genuine = certify(world, office_ca, ACME_ID, world.acme, ACME)
    der = genuine.certificate.public_bytes(serialization.Encoding.DER)
    tampered = ParticipantCertificate.parse(der.replace(ACME.encode(), b"Acme Robotics Ltc"))

    report = service(world, office_ca, CertificateList([tampered])).identify(world.acme.address)

    assert not report.verified
    assert "chain-to-root" in only_failed(report)
    assert "the certificate was altered" in detail(report, CheckName.CHAIN)
    assert "fingerprint" in only_failed(report)  # and it is not the certificate on record


@pytest.mark.parametrize(
    ("other_name", "reason"),
    [
        ("Korean Intellectual Property Office", "issued by another authority under the same name"),
        ("Some Other Registry", "not by the office root"),
    ],
)
def test_a_certificate_from_another_ca_fails_the_chain_even_if_the_chain_records_it(
    world: Parties, office_ca: CertificateAuthority, other_name: str, reason: str
) -> None:
    now = datetime.datetime.fromtimestamp(world.now(), datetime.UTC)
    impostor = CertificateAuthority.generate(
        other_name, "KR", "KR-IPO-0001", now=now - datetime.timedelta(days=1)
    )
    forged = certify(world, impostor, ACME_ID, world.acme, ACME)  # its fingerprint on chain

    report = service(world, office_ca, CertificateList([forged])).identify(world.acme.address)

    assert only_failed(report) == ["chain-to-root"]
    assert reason in detail(report, CheckName.CHAIN)


def test_an_expired_certificate_fails_the_validity_check(
    world: Parties, office_ca: CertificateAuthority
) -> None:
    certificate = certify(world, office_ca, ACME_ID, world.acme, ACME, days=30)
    later = certificate.not_after + datetime.timedelta(days=1)

    report = service(world, office_ca, CertificateList([certificate]), lambda: later).identify(
        world.acme.address
    )

    assert only_failed(report) == ["validity"]
    assert detail(report, CheckName.VALIDITY).startswith(
        f"expired on {certificate.not_after:%Y-%m-%d}"
    )


def test_a_certificate_that_is_not_the_one_on_chain_fails_the_fingerprint_check(
    world: Parties, office_ca: CertificateAuthority
) -> None:
    on_record = certify(world, office_ca, ACME_ID, world.acme, ACME)
    reissued = office_ca.issue(
        on_record.identity,
        world.acme.public_key,
        not_before=on_record.not_before,
        not_after=on_record.not_after,
    )  # properly issued, never recorded on chain

    report = service(world, office_ca, CertificateList([reissued])).identify(world.acme.address)

    assert only_failed(report) == ["fingerprint"]
    assert f"0x{on_record.fingerprint.hex()}" in detail(report, CheckName.FINGERPRINT)


def test_an_address_rotated_away_fails_the_key_binding_check(
    world: Parties, office_ca: CertificateAuthority
) -> None:
    certificate = certify(world, office_ca, ACME_ID, world.acme, ACME)
    new_key = LocalSigner.generate()
    signed = sign_rotation(
        world.acme, ACME_ID, new_key.address, world.ledger.participants, world.now() + 3600
    )
    OfficeOnChain(world.ledger.participants).submit_rotation(signed.rotation, signed.signature)
    identities = service(world, office_ca, CertificateList([certificate]))

    old = identities.identify(world.acme.address)
    new = identities.identify(new_key.address)

    assert old.participant_id == ACME_ID  # found through the certificate that names it
    assert only_failed(old) == ["key-binding"]
    assert "rotated away" in detail(old, CheckName.KEY)
    assert new.verified
    assert "bound after the certificate was issued" in detail(new, CheckName.KEY)


def test_a_suspended_participant_fails_the_status_check(
    world: Parties, office_ca: CertificateAuthority
) -> None:
    certificate = certify(world, office_ca, ACME_ID, world.acme, ACME)
    world.ledger.participants.suspend(ACME_ID, 7)

    report = service(world, office_ca, CertificateList([certificate])).identify(world.acme.address)

    assert only_failed(report) == ["participant-status"]
    assert detail(report, CheckName.STATUS) == f"participant {ACME_ID} is suspended"
    assert report.summary() == (
        f"identity NOT verified: participant-status: participant {ACME_ID} is suspended"
    )


def test_a_revoked_participant_fails_the_status_check(
    world: Parties, office_ca: CertificateAuthority
) -> None:
    certificate = certify(world, office_ca, ACME_ID, world.acme, ACME)
    world.ledger.participants.revoke(ACME_ID, 3)

    report = service(world, office_ca, CertificateList([certificate])).identify(str(ACME_ID))

    assert only_failed(report) == ["participant-status"]
    assert detail(report, CheckName.STATUS) == f"participant {ACME_ID} is revoked"


def test_the_certificate_of_another_participant_does_not_identify_an_address(
    world: Parties, office_ca: CertificateAuthority, tmp_path: Path
) -> None:
    certify(world, office_ca, ACME_ID, world.acme, ACME)
    beta = certify(world, office_ca, BETA_ID, world.beta, "Beta Devices Co")
    # The counterparty sends Beta's certificate with Acme's address.
    (tmp_path / "beta.pem").write_text(beta.pem())

    report = service(world, office_ca, CertificateDirectory(tmp_path / "beta.pem")).identify(
        world.acme.address
    )

    assert report.participant_id == ACME_ID
    assert only_failed(report) == ["certificate"]
    assert (
        detail(report, CheckName.CERTIFICATE) == f"no certificate of participant {ACME_ID} is known"
    )


def test_a_file_that_is_not_a_certificate_fails_the_certificate_check(
    world: Parties, office_ca: CertificateAuthority, tmp_path: Path
) -> None:
    certify(world, office_ca, ACME_ID, world.acme, ACME)
    bad = tmp_path / "acme.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")

    report = service(world, office_ca, CertificateDirectory(bad)).identify(str(ACME_ID))

    assert only_failed(report) == ["certificate"]
    assert "is not an X.509 certificate" in detail(report, CheckName.CERTIFICATE)
    assert {c.outcome for c in report.checks[1:]} == {Outcome.SKIPPED.value}


def test_references_that_name_nobody_are_refused(
    world: Parties, office_ca: CertificateAuthority
) -> None:
    identities = service(world, office_ca, CertificateList([]))

    with pytest.raises(InvalidReference):
        identities.identify("acme")
    with pytest.raises(UnknownParticipant, match="not bound to any participant"):
        identities.identify(world.outsider.address)
    with pytest.raises(UnknownParticipant, match="no participant 999"):
        identities.identify("999")
    assert InvalidReference.http_status == 400
    assert UnknownParticipant.http_status == 404


def test_a_verdict_raises_naming_each_failed_check(
    world: Parties, office_ca: CertificateAuthority
) -> None:
    from ledger.certificates import read_chain, read_key, verify

    certificate = certify(world, office_ca, ACME_ID, world.acme, ACME)
    world.ledger.participants.suspend(ACME_ID, 7)
    verdict = verify(
        certificate,
        root=office_ca.root,
        record=read_chain(world.ledger.participants, ACME_ID),
        key=read_key(world.ledger.participants, world.beta.address),
        now=chain_clock(world)(),
    )

    with pytest.raises(IdentityNotVerified) as refused:
        verdict.require_verified()
    assert str(refused.value) == (
        f"identity not verified: key-binding: {world.beta.address} is bound to participant "
        f"{BETA_ID}, not {ACME_ID}; participant-status: participant {ACME_ID} is suspended"
    )
