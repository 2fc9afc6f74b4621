"""Fixtures of the registry service's tests: a running registry (relayer and mirror threads) on
the embedded chain with SQLite, or on anvil with PostgreSQL, and an HTTP client of its API."""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from eth_account import Account
from fastapi.testclient import TestClient

from ledger.artifacts import ArtifactSet
from ledger.backends.anvil import AnvilNode, free_port
from ledger.deploy import OfficeBootstrap, deploy_ledger
from registry_api.app import create_app
from registry_api.identity.authority import CaDirectory, CertificateAuthority
from registry_api.office import OfficeIdentity, office_certificate, stored_password
from registry_api.registry import Registry, open_registry
from registry_api.settings import Settings
from tests.conftest import start_anvil
from tests.registry_api.mirror.conftest import PostgresServer, postgres
from wallets import keystore
from wallets.keystore import Keystore
from wallets.signer import LocalSigner

__all__ = ["PostgresServer", "postgres"]

CA_PASSWORD = "office-ca-password"
#: The suites here sign in hundreds of times from one client (TestClient, or 127.0.0.1): they set
#: the sign-in rate limit out of their reach, as an operator would for a trusted client.
UNTHROTTLED = "1000000/minute"


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keystores of the tests' office and wallets at a trivial scrypt cost (never in production)."""
    monkeypatch.setattr(keystore, "SCRYPT_N", 2)


@dataclass
class Service:
    """A running registry, its API client, and the office's key (to sign in as the office)."""

    registry: Registry
    client: TestClient
    office: LocalSigner


def _embedded(
    tmp_path: Path, artifacts: ArtifactSet, **overrides: Any
) -> tuple[Registry, LocalSigner]:
    """The registry on the embedded chain and SQLite; `overrides` are further settings."""
    chosen: dict[str, Any] = {"auth_rate_limit": UNTHROTTLED, **overrides}
    settings = Settings(data_dir=tmp_path / "data", chain="embedded", **chosen)
    registry = open_registry(settings, artifacts=artifacts)
    password = stored_password(settings.data_dir)
    assert password is not None
    office = Keystore.load(settings.data_dir / "keystore" / "office.json").unlock(password)
    return registry, office


def _on_anvil(
    tmp_path: Path, artifacts: ArtifactSet, anvil: AnvilNode, database_url: str, **overrides: Any
) -> tuple[Registry, LocalSigner]:
    """The registry on anvil; `overrides` are further settings (another `rpc_url`, timeouts)."""
    private_key = bytes(Account.create().key)
    office = LocalSigner(private_key)
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    ca = CaDirectory(tmp_path / "ca")
    authority = CertificateAuthority.generate("IP Office", "KR", "IPO-0001", now=now)
    ca.init(authority, CA_PASSWORD.encode())
    certificate = office_certificate(authority, OfficeIdentity().participant_id, office, now)
    ca.record(certificate)
    ledger = deploy_ledger(
        anvil.backend(),
        office,
        artifacts,
        OfficeBootstrap(
            1, certificate.fingerprint, int(certificate.not_after.timestamp()), (office.address,)
        ),
    )
    manifest = tmp_path / "manifest.json"
    ledger.manifest.save(manifest)
    key_file = tmp_path / "office.key"
    key_file.write_text(private_key.hex())
    settings = Settings(
        **{
            "data_dir": tmp_path / "data",
            "chain": "rpc",
            "rpc_url": anvil.url,
            "manifest": manifest,
            "office_key_file": key_file,
            "ca_dir": ca.path,
            "key_password": CA_PASSWORD,
            "database_url": database_url,
            "auth_rate_limit": UNTHROTTLED,
            **overrides,
        }
    )
    return open_registry(settings, artifacts=artifacts), office


@pytest.fixture(
    params=["embedded-sqlite", pytest.param("anvil-postgresql", marks=pytest.mark.anvil)]
)
def service(
    request: pytest.FixtureRequest, tmp_path: Path, artifacts: ArtifactSet
) -> Iterator[Service]:
    anvil: AnvilNode | None = None
    if request.param == "embedded-sqlite":
        registry, office = _embedded(tmp_path, artifacts)
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        anvil = start_anvil()
        registry, office = _on_anvil(tmp_path, artifacts, anvil, server.new_database())
    registry.start()
    try:
        with TestClient(create_app(registry)) as client:
            yield Service(registry, client, office)
    finally:
        registry.close()
        if anvil is not None:
            anvil.stop()


@pytest.fixture
def served(service: Service) -> Iterator[str]:
    """The service's API on a real port (for clients that speak HTTP on their own: the CLI)."""
    config = uvicorn.Config(
        service.client.app, host="127.0.0.1", port=free_port(), log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
