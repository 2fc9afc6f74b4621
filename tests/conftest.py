"""Shared fixtures: compiled contracts, chains (in-process and anvil), a deployed ledger.

Contract behaviour runs on both backends: the in-process py-evm chain and an anvil node started
from node_modules. Each backend gets one deployment per session; every test runs between a
snapshot and a revert, so tests share nothing and may run in any order.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import random
from collections.abc import Generator, Iterator
from dataclasses import dataclass

import pytest

from ledger.artifacts import ArtifactSet
from ledger.backends.anvil import AnvilNode, AnvilUnavailable
from ledger.backends.base import ChainBackend
from ledger.backends.embedded import EmbeddedBackend
from ledger.certificates import ParticipantCertificate, ParticipantIdentity
from ledger.compiler import Toolchain, load_artifacts
from ledger.deploy import Ledger, OfficeBootstrap, deploy_ledger
from ledger.types import Role
from registry_api.identity.authority import CertificateAuthority
from wallets.signer import LocalSigner

IN_CI = os.environ.get("CI", "").lower() == "true"
YEAR = 365 * 24 * 3600

OFFICE_ID = 1
ACME_ID = 10  # a company
BETA_ID = 11  # another company
UNIVERSITY_ID = 12
BANK_ID = 13


@pytest.fixture(scope="session")
def artifacts() -> ArtifactSet:
    return load_artifacts()


def start_anvil() -> AnvilNode:
    """An anvil node; skipped where anvil is not installed, except in CI where it must run."""
    try:
        return AnvilNode(chain_id=31_337).start()
    except AnvilUnavailable as exc:
        if IN_CI:  # CI must run the anvil suite, never skip it
            raise
        pytest.skip(f"anvil not installed: {exc}")


@pytest.fixture(
    scope="session", params=["embedded", pytest.param("anvil", marks=pytest.mark.anvil)]
)
def backend(request: pytest.FixtureRequest) -> Iterator[ChainBackend]:
    if request.param == "embedded":
        chain: ChainBackend = EmbeddedBackend()
        yield chain
        chain.close()
        return
    node = start_anvil()
    try:
        chain = node.backend()
        yield chain
        chain.close()
    finally:
        node.stop()


@dataclass(frozen=True)
class Parties:
    """The deployed ledger and the keys of the people in the tests."""

    ledger: Ledger
    office: LocalSigner
    acme: LocalSigner
    beta: LocalSigner
    university: LocalSigner
    bank: LocalSigner
    outsider: LocalSigner  # a key bound to nobody

    def now(self) -> int:
        return int(self.ledger.chain.backend.w3.eth.get_block("latest")["timestamp"])


def fingerprint(label: str) -> bytes:
    """A stand-in certificate fingerprint: SHA-256 of a label."""
    return hashlib.sha256(label.encode()).digest()


@pytest.fixture(scope="session")
def deployed(backend: ChainBackend, artifacts: ArtifactSet) -> Parties:
    office = LocalSigner.generate()
    now = int(backend.w3.eth.get_block("latest")["timestamp"])
    ledger = deploy_ledger(
        backend,
        office,
        artifacts,
        OfficeBootstrap(OFFICE_ID, fingerprint("office"), now + 10 * YEAR, (office.address,)),
    )
    parties = Parties(
        ledger=ledger,
        office=office,
        acme=LocalSigner.generate(),
        beta=LocalSigner.generate(),
        university=LocalSigner.generate(),
        bank=LocalSigner.generate(),
        outsider=LocalSigner.generate(),
    )
    for participant_id, signer, roles in [
        (ACME_ID, parties.acme, Role.PARTICIPANT),
        (BETA_ID, parties.beta, Role.PARTICIPANT),
        (UNIVERSITY_ID, parties.university, Role.PARTICIPANT),
        (BANK_ID, parties.bank, Role.BANK | Role.PARTICIPANT),
    ]:
        ledger.participants.enrol(
            participant_id, roles, fingerprint(signer.address), now + 5 * YEAR, [signer.address]
        )
    return parties


@pytest.fixture
def world(deployed: Parties, backend: ChainBackend) -> Iterator[Parties]:
    """The deployed ledger, reverted to its freshly deployed state after the test."""
    snapshot = backend.snapshot()
    try:
        yield deployed
    finally:
        backend.revert(snapshot)


#: Replays a kill or crash test's random choices: `IPLEDGER_TEST_SEED=<seed> pytest <test>`.
SEED_ENV = "IPLEDGER_TEST_SEED"


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """The seed of a test's random choices (kill points, sleeps), printed in its report.

    Taken from IPLEDGER_TEST_SEED when set, so that a failure seen once can be run again as it
    happened; otherwise drawn fresh, so that every run tries other moments.
    """
    given = os.environ.get(SEED_ENV)
    value = int(given) if given else random.SystemRandom().randrange(1 << 32)
    request.node.user_properties.append(("seed", value))
    return value


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    for name, value in item.user_properties:
        if name == "seed" and report.when == "call":
            report.sections.append(
                ("seed", f"seed {value}: run again with {SEED_ENV}={value} pytest {item.nodeid}")
            )
    return report


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    return Toolchain.discover()


@pytest.fixture(scope="session")
def office_ca() -> CertificateAuthority:
    """The office's certificate authority (in memory), valid since yesterday."""
    yesterday = datetime.datetime.now(datetime.UTC).replace(microsecond=0) - datetime.timedelta(
        days=1
    )
    return CertificateAuthority.generate(
        "Korean Intellectual Property Office", "KR", "KR-IPO-0001", now=yesterday
    )


def certify(
    world: Parties,
    authority: CertificateAuthority,
    participant_id: int,
    signer: LocalSigner,
    legal_name: str,
    *,
    days: int = 365,
) -> ParticipantCertificate:
    """Issue a real certificate to an enrolled party and record it on chain (a renewal)."""
    now = datetime.datetime.fromtimestamp(world.now(), datetime.UTC)
    record = world.ledger.participants.participant(participant_id)
    certificate = authority.issue(
        ParticipantIdentity(
            participant_id=participant_id,
            legal_name=legal_name,
            registration_number=f"110111-{participant_id:07d}",
            country="KR",
            roles=record.roles,
            keys=(signer.address,),
        ),
        signer.public_key,
        not_before=now - datetime.timedelta(hours=1),
        not_after=now + datetime.timedelta(days=days),
    )
    world.ledger.participants.renew_certificate(
        participant_id, certificate.fingerprint, int(certificate.not_after.timestamp())
    )
    return certificate
