"""The office CA: its root, the participant certificate profile, enrolment and renewal."""

from __future__ import annotations

import dataclasses
import datetime
import stat
from pathlib import Path

import pytest
from cryptography import x509

from ledger.certificates import (
    LEDGER_ARC,
    CertificateError,
    ParticipantCertificate,
    ParticipantIdentity,
)
from ledger.types import ParticipantStatus, Role
from registry_api.identity.authority import AuthorityError, CaDirectory, CertificateAuthority
from registry_api.identity.enrolment import bound_keys, enrol, renew
from registry_api.identity.service import IdentityService
from tests.conftest import ACME_ID, Parties, certify
from wallets.rotation import OfficeOnChain, sign_rotation
from wallets.signer import LocalSigner

PASSWORD = b"ca password, kept offline"
NOW = datetime.datetime(2026, 11, 23, tzinfo=datetime.UTC)


def gamma_identity(key: LocalSigner, participant_id: int = 20) -> ParticipantIdentity:
    return ParticipantIdentity(
        participant_id=participant_id,
        legal_name="Gamma Materials GmbH",
        registration_number="HRB 123456",
        country="DE",
        roles=Role.PARTICIPANT | Role.BANK,
        keys=(key.address, LocalSigner.generate().address),
    )


def test_the_ca_keeps_its_root_key_encrypted_and_private(tmp_path: Path) -> None:
    authority = CertificateAuthority.generate("IP Office", "KR", "KR-IPO-0001", now=NOW)
    store = CaDirectory(tmp_path / "ca")
    store.init(authority, PASSWORD)

    assert b"ENCRYPTED PRIVATE KEY" in store.key_path.read_bytes()
    assert stat.S_IMODE(store.key_path.stat().st_mode) == 0o600
    assert store.open(PASSWORD).root == authority.root
    with pytest.raises(AuthorityError, match="wrong password for the CA key"):
        store.open(b"guess")
    with pytest.raises(AuthorityError, match="a CA already exists"):
        store.init(authority, PASSWORD)
    assert "PRIVATE" not in repr(authority)


def test_the_root_is_a_certificate_authority_and_nothing_more() -> None:
    root = CertificateAuthority.generate("IP Office", "KR", "KR-IPO-0001", now=NOW).root

    constraints = root.extensions.get_extension_for_class(x509.BasicConstraints)
    usage = root.extensions.get_extension_for_class(x509.KeyUsage).value
    assert constraints.critical
    assert constraints.value.ca
    assert constraints.value.path_length == 0
    assert usage.key_cert_sign
    assert usage.crl_sign
    assert not usage.digital_signature


def test_a_participant_certificate_binds_identity_roles_and_keys_in_extensions() -> None:
    authority = CertificateAuthority.generate("IP Office", "KR", "KR-IPO-0001", now=NOW)
    key = LocalSigner.generate()
    identity = gamma_identity(key)

    issued = authority.issue(
        identity, key.public_key, not_before=NOW, not_after=NOW + datetime.timedelta(days=365)
    )
    reread = ParticipantCertificate.parse(issued.pem().encode())

    assert reread.identity == identity
    assert reread.key_address == key.address  # the subject key is the primary ledger key
    assert reread.fingerprint == issued.fingerprint
    oids = {e.oid.dotted_string: e.critical for e in reread.certificate.extensions}
    assert oids[f"{LEDGER_ARC}.1"] is False  # generic tools still check the chain
    assert {f"{LEDGER_ARC}.2", f"{LEDGER_ARC}.3"} <= set(oids)
    constraints = reread.certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert not constraints.value.ca
    subject = reread.certificate.subject.rfc4514_string()
    assert subject == "C=DE,2.5.4.5=HRB 123456,CN=Gamma Materials GmbH"


def test_the_office_refuses_a_public_key_that_is_not_the_primary_key() -> None:
    authority = CertificateAuthority.generate("IP Office", "KR", "KR-IPO-0001", now=NOW)
    key, other = LocalSigner.generate(), LocalSigner.generate()

    with pytest.raises(AuthorityError, match=f"not of the first key {key.address}"):
        authority.issue(
            gamma_identity(key),
            other.public_key,
            not_before=NOW,
            not_after=NOW + datetime.timedelta(days=1),
        )
    with pytest.raises(AuthorityError, match="cannot outlive the office root"):
        authority.issue(
            gamma_identity(key),
            key.public_key,
            not_before=NOW,
            not_after=NOW + datetime.timedelta(days=365 * 30),
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"country": "Korea"}, "not an ISO 3166 alpha-2 code"),
        ({"roles": Role(0)}, "invalid roles"),
        ({"keys": ()}, "between 1 and 8 distinct keys"),
        ({"legal_name": " "}, "a legal name and a registration number are required"),
        ({"legal_name": "Acme\nShare: 10000 bps"}, "legal name holds control character U\\+000A"),
        ({"legal_name": "Acme\x1b[2J"}, "legal name holds control character U\\+001B"),
        ({"registration_number": "REG\x00"}, "registration number holds control character"),
    ],
)
def test_an_incomplete_identity_is_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(CertificateError, match=message):
        dataclasses.replace(gamma_identity(LocalSigner.generate()), **change)  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_enrolment_issues_the_certificate_and_records_its_fingerprint(
    world: Parties, office_ca: CertificateAuthority, tmp_path: Path
) -> None:
    store = CaDirectory(tmp_path / "ca")
    store.init(office_ca, PASSWORD)
    key = LocalSigner.generate()
    now = datetime.datetime.fromtimestamp(world.now(), datetime.UTC)

    certified = enrol(
        world.ledger,
        office_ca,
        store,
        gamma_identity(key),
        key.public_key,
        not_before=now,
        not_after=now + datetime.timedelta(days=730),
    )

    record = world.ledger.participants.participant(20)
    assert record.status is ParticipantStatus.ACTIVE
    assert record.certificate_fingerprint == certified.certificate.fingerprint
    assert record.roles == Role.PARTICIPANT | Role.BANK
    assert record.certificate_not_after == int(certified.certificate.not_after.timestamp())
    assert store.issued().certificates_of(20) == [certified.certificate]
    report = IdentityService(
        world.ledger.participants, store.issued(), office_ca.root, lambda: now
    ).identify(key.address)
    assert report.verified, report.summary()
    with pytest.raises(AuthorityError, match="already enrolled"):
        enrol(
            world.ledger, office_ca, store, gamma_identity(key), key.public_key,
            not_before=now, not_after=now + datetime.timedelta(days=1),
        )  # fmt: skip


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_renewal_after_a_rotation_binds_the_keys_on_chain_now(
    world: Parties, office_ca: CertificateAuthority, tmp_path: Path
) -> None:
    store = CaDirectory(tmp_path / "ca")
    store.init(office_ca, PASSWORD)
    store.record(certify(world, office_ca, ACME_ID, world.acme, "Acme Robotics Ltd"))
    new_key = LocalSigner.generate()
    signed = sign_rotation(
        world.acme, ACME_ID, new_key.address, world.ledger.participants, world.now() + 3600
    )
    OfficeOnChain(world.ledger.participants).submit_rotation(signed.rotation, signed.signature)
    now = datetime.datetime.fromtimestamp(world.now(), datetime.UTC)
    later = now + datetime.timedelta(days=365)

    with pytest.raises(AuthorityError, match=f"the primary key is now {new_key.address}"):
        renew(
            world.ledger, office_ca, store, ACME_ID, public_key=None,
            not_before=now, not_after=later,
        )  # fmt: skip
    renewed = renew(
        world.ledger, office_ca, store, ACME_ID, public_key=new_key.public_key,
        not_before=now, not_after=later,
    )  # fmt: skip

    assert bound_keys(world.ledger, ACME_ID) == (new_key.address,)
    assert renewed.certificate.identity.keys == (new_key.address,)
    assert renewed.certificate.identity.legal_name == "Acme Robotics Ltd"
    on_chain = world.ledger.participants.participant(ACME_ID).certificate_fingerprint
    assert on_chain == renewed.certificate.fingerprint
    report = IdentityService(
        world.ledger.participants, store.issued(), office_ca.root, lambda: now
    ).identify(new_key.address)
    assert report.verified, report.summary()


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_a_revoked_participant_gets_no_new_certificate(
    world: Parties, office_ca: CertificateAuthority, tmp_path: Path
) -> None:
    store = CaDirectory(tmp_path / "ca")
    store.init(office_ca, PASSWORD)
    store.record(certify(world, office_ca, ACME_ID, world.acme, "Acme Robotics Ltd"))
    world.ledger.participants.revoke(ACME_ID, 3)
    now = datetime.datetime.fromtimestamp(world.now(), datetime.UTC)

    with pytest.raises(AuthorityError, match=f"participant {ACME_ID} is revoked"):
        renew(
            world.ledger, office_ca, store, ACME_ID, public_key=None,
            not_before=now, not_after=now + datetime.timedelta(days=365),
        )  # fmt: skip
    assert len(store.issued().certificates_of(ACME_ID)) == 1
