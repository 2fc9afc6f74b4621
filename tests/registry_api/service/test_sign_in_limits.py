"""Sign-in is not a free write: challenges are capped per address and purged when spent, old
idempotency records are purged after their retention, and /v1/auth/* is rate-limited per client."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledger.artifacts import ArtifactSet
from registry_api.app import create_app
from registry_api.db.models import IdempotencyRecord, SignInChallenge
from registry_api.registry import Registry
from tests.registry_api.service.conftest import Service, _embedded
from tests.support.api import sign_in
from wallets.signer import LocalSigner

RIGHT = {
    "jurisdiction": "KR",
    "kind": "patent",
    "number": "10-2024-0999999",
    "title": "Gripper with compliant fingers",
    "document_hash": "0x" + "11" * 32,
    "filing_date": "2023-03-01",
    "owners": [{"participant_id": 1, "bps": 10_000}],
}


def challenges(registry: Registry, address: str | None = None) -> int:
    """How many sign-in challenges the database holds (for `address`, if given)."""
    query = select(func.count()).select_from(SignInChallenge)
    if address is not None:
        query = query.where(SignInChallenge.address == address)
    with registry.read_sessions() as session:
        return int(session.scalar(query) or 0)


def idempotency_records(registry: Registry) -> int:
    with registry.read_sessions() as session:
        return int(session.scalar(select(func.count()).select_from(IdempotencyRecord)) or 0)


@pytest.fixture
def throttled(tmp_path: Path, artifacts: ArtifactSet) -> Iterator[Registry]:
    """A registry (not started: sign-in needs no thread) allowing 10 sign-in requests a minute."""
    registry, _office = _embedded(tmp_path, artifacts, auth_rate_limit="10/minute")
    try:
        yield registry
    finally:
        registry.close()


def test_a_thousand_challenges_for_one_address_leave_only_the_newest_five(
    service: Service,
) -> None:
    key = service.office
    issued = []
    for _ in range(1_000):
        response = service.client.post("/v1/auth/challenge", json={"address": key.address})
        assert response.status_code == 200, response.text
        issued.append(response.json())
    assert challenges(service.registry, key.address) == 5
    # The oldest are replaced: a client always gets a challenge, and the newest one signs in.
    oldest, newest = issued[0], issued[-1]
    for challenge, status in ((oldest, 401), (newest, 200)):
        signature = "0x" + key.sign_message(challenge["message"]).hex()
        response = service.client.post(
            "/v1/auth/token", json={"nonce": challenge["nonce"], "signature": signature}
        )
        assert response.status_code == status, response.text


def test_a_thousand_challenges_from_one_client_write_no_more_rows_than_its_limit(
    throttled: Registry,
) -> None:
    with TestClient(create_app(throttled)) as client:
        statuses = [
            client.post(
                "/v1/auth/challenge", json={"address": Account.create().address}
            ).status_code
            for _ in range(1_000)
        ]
    assert statuses.count(200) == 10
    assert statuses.count(429) == 990
    assert challenges(throttled) == 10


def test_the_request_past_the_limit_waits_for_retry_after_and_another_client_does_not(
    throttled: Registry,
) -> None:
    app = create_app(throttled)
    key = LocalSigner.generate()
    with TestClient(app, client=("192.0.2.1", 50_000)) as client:
        for _ in range(10):
            answer = client.post("/v1/auth/challenge", json={"address": key.address})
            assert answer.status_code == 200, answer.text
        refused = client.post("/v1/auth/challenge", json={"address": key.address})
        assert refused.status_code == 429, refused.text
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        error = refused.json()["error"]
        assert error["code"] == "rate_limited"
        assert "try again in" in error["message"]
        assert error["details"] == {"retry_after": int(refused.headers["Retry-After"])}
        # Every /v1/auth/* route shares the client's budget; other routes do not.
        assert client.post("/v1/auth/token", json={}).status_code == 429
        assert client.get("/v1/auth/me").status_code == 429
        assert client.get("/v1/deployment").status_code == 200
    with TestClient(app, client=("192.0.2.2", 50_000)) as other:
        answer = other.post("/v1/auth/challenge", json={"address": key.address})
        assert answer.status_code == 200, answer.text


def test_the_purge_removes_spent_challenges_and_old_idempotency_records_and_keeps_live_ones(
    service: Service,
) -> None:
    registry, client = service.registry, service.client
    office = sign_in(client, service.office)  # a used challenge
    waiting = client.post("/v1/auth/challenge", json={"address": service.office.address})
    assert waiting.status_code == 200, waiting.text
    key = str(uuid.uuid4())
    headers = {**office, "Idempotency-Key": key}
    first = client.post("/v1/rights", json=RIGHT, headers=headers, params={"wait": "true"})
    assert first.status_code == 202, first.text
    assert (challenges(registry), idempotency_records(registry)) == (2, 1)

    now = time.time()
    assert registry.purge(now=now).challenges == 1  # the used one
    assert (challenges(registry), idempotency_records(registry)) == (1, 1)
    expired = now + registry.settings.challenge_seconds + 1
    assert registry.purge(now=expired).challenges == 1
    assert (challenges(registry), idempotency_records(registry)) == (0, 1)
    # Within its retention a retry is answered as the first time...
    replayed = client.post("/v1/rights", json=RIGHT, headers=headers)
    assert (replayed.status_code, replayed.json()["id"]) == (202, first.json()["id"])
    retained = now + registry.settings.idempotency_retention_seconds - 1
    assert registry.purge(now=retained).idempotency_records == 0
    # ...after it, the same key is a new request (here: a right already registered).
    past = now + registry.settings.idempotency_retention_seconds + 1
    assert registry.purge(now=past).idempotency_records == 1
    assert idempotency_records(registry) == 0
    again = client.post("/v1/rights", json=RIGHT, headers=headers)
    assert again.json().get("id") != first.json()["id"], again.text


def test_the_purge_works_through_any_number_of_rows_in_small_batches(service: Service) -> None:
    registry, client = service.registry, service.client
    for _ in range(12):
        response = client.post("/v1/auth/challenge", json={"address": Account.create().address})
        assert response.status_code == 200, response.text
    later = time.time() + registry.settings.challenge_seconds + 1
    assert registry.purge(now=later, batch=5).challenges == 12
    assert challenges(registry) == 0


def test_the_running_service_purges_on_its_own(tmp_path: Path, artifacts: ArtifactSet) -> None:
    registry, office = _embedded(tmp_path, artifacts, purge_seconds=0.05)
    registry.start()
    try:
        with TestClient(create_app(registry)) as client:
            sign_in(client, office)
            deadline = time.monotonic() + 10
            while challenges(registry) and time.monotonic() < deadline:
                time.sleep(0.02)  # waiting on the condition, polled
            assert challenges(registry) == 0
    finally:
        registry.close()
