"""Bad input of every kind through HTTP: a 4xx with a machine-readable code and a human sentence,
never a 5xx or a stack trace, and a refused write sends nothing (the outbox is unchanged).

One registry per backend serves the whole module; every test that changes the register uses
parties and rights of its own, so the tests share no state and may run in any order.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ledger.artifacts import ArtifactSet
from ledger.assets import asset_id
from ledger.backends.anvil import AnvilNode
from ledger.types import AssetKind
from registry_api.app import create_app
from registry_api.auth import ALGORITHM, AUDIENCE
from registry_api.db.models import OperationRow, SignInChallenge
from registry_api.registry import TOKEN_SECRET_FILE, Registry
from registry_api.routes.rights import parse_csv
from tests.conftest import start_anvil
from tests.registry_api.mirror.conftest import PostgresServer
from tests.registry_api.service.conftest import _embedded, _on_anvil
from tests.support.api import DOCUMENT, assert_sentence, enrol, right_body, sign_in, write
from wallets import keystore
from wallets.signer import LocalSigner

Headers = dict[str, str]

ACME, BETA, UNIVERSITY, OUTSIDER_ID = 10, 11, 12, 13
DEED = "0x" + hashlib.sha256(b"deed of assignment").hexdigest()
UNKNOWN_ID = "0x" + "ab" * 32
#: Official numbers of the rights the tests register, unique within the module's registry.
_numbers = count(1)


@dataclass
class World:
    """A running registry with three enrolled companies and a right co-owned by two of them."""

    registry: Registry
    client: TestClient
    office: Headers
    acme: LocalSigner
    beta: LocalSigner
    university: LocalSigner
    #: Acme 5,000 bps and the university 5,000 bps.
    co_owned: str

    def signed_in(self, key: LocalSigner) -> Headers:
        return sign_in(self.client, key)

    def operations(self) -> int:
        """How many operations the outbox holds (every write ever accepted)."""
        with self.registry.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(OperationRow)) or 0)

    @contextmanager
    def nothing_sent(self) -> Iterator[None]:
        before = self.operations()
        yield
        assert self.operations() == before, "a refused request reached the outbox"

    def post(
        self, path: str, headers: Headers, body: object, key: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """POST a write with an Idempotency-Key (a fresh one unless given)."""
        response: httpx.Response = self.client.post(
            path,
            json=body,
            headers={**headers, "Idempotency-Key": key or str(uuid.uuid4())},
            **kwargs,
        )
        return response

    def register_right(self, owners: list[tuple[int, int]]) -> str:
        """Register a new right with these (participant, bps) owners; its asset id."""
        number = f"10-2024-{next(_numbers):07d}"
        write(self.client, "/v1/rights", self.office, right_body(number, owners))
        return "0x" + asset_id(b"KR", AssetKind.PATENT, number).hex()

    def enrol(self, participant_id: int, name: str) -> LocalSigner:
        key = LocalSigner.generate()
        enrol(self.client, self.office, participant_id, key, name)
        return key

    def draft(
        self, caller: Headers, right: str, assignor: LocalSigner, share_bps: int, assignor_id: int
    ) -> dict[str, Any]:
        """The typed data of an assignment to Beta, as the API builds it."""
        response = self.client.post(
            "/v1/assignments/typed-data",
            headers=caller,
            json={
                "asset_id": right,
                "assignor": assignor_id,
                "assignee": BETA,
                "share_bps": share_bps,
                "terms_hash": DEED,
                "assignor_key": assignor.address,
            },
        )
        assert response.status_code == 200, response.text
        typed_data: dict[str, Any] = response.json()["typed_data"]
        return typed_data


def signatures(typed_data: dict[str, Any], *keys: LocalSigner) -> list[dict[str, str]]:
    return [
        {"signer": key.address, "signature": "0x" + key.sign_typed_data(typed_data).hex()}
        for key in keys
    ]


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert a refusal in the API's one shape; its details."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert_sentence(error["message"])
    details: dict[str, Any] = error["details"]
    return details


@pytest.fixture(
    scope="module",
    params=["embedded-sqlite", pytest.param("anvil-postgresql", marks=pytest.mark.anvil)],
)
def world(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    artifacts: ArtifactSet,
) -> Iterator[World]:
    anvil: AnvilNode | None = None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(keystore, "SCRYPT_N", 2)  # the office's keystore, at a trivial cost
        tmp_path = tmp_path_factory.mktemp("refusals")
        if request.param == "embedded-sqlite":
            registry, office_key = _embedded(tmp_path, artifacts)
        else:
            server: PostgresServer = request.getfixturevalue("postgres")
            anvil = start_anvil()
            registry, office_key = _on_anvil(tmp_path, artifacts, anvil, server.new_database())
    registry.start()
    try:
        with TestClient(create_app(registry)) as client:
            office = sign_in(client, office_key)
            keys = {}
            for pid, name in ((ACME, "Acme"), (BETA, "Beta"), (UNIVERSITY, "Hanbit University")):
                keys[pid] = LocalSigner.generate()
                enrol(client, office, pid, keys[pid], name)
            world = World(
                registry, client, office, keys[ACME], keys[BETA], keys[UNIVERSITY], co_owned=""
            )
            world.co_owned = world.register_right([(ACME, 5000), (UNIVERSITY, 5000)])
            yield world
    finally:
        registry.close()
        if anvil is not None:
            anvil.stop()


# --- sign-in ---


def challenge(world: World, key: LocalSigner) -> dict[str, Any]:
    response = world.client.post("/v1/auth/challenge", json={"address": key.address})
    assert response.status_code == 200, response.text
    issued: dict[str, Any] = response.json()
    return issued


def token(world: World, nonce: str, signature: bytes | str) -> httpx.Response:
    text = signature if isinstance(signature, str) else "0x" + signature.hex()
    response: httpx.Response = world.client.post(
        "/v1/auth/token", json={"nonce": nonce, "signature": text}
    )
    return response


def test_a_signature_over_another_message_is_refused(world: World) -> None:
    issued = challenge(world, world.acme)
    forged = world.acme.sign_message(issued["message"].replace("Nonce:", "Nonce: 0"))
    refused(token(world, issued["nonce"], forged), 401, "unauthenticated")


def test_a_signature_by_another_key_is_refused(world: World) -> None:
    issued = challenge(world, world.acme)
    by_beta = world.beta.sign_message(issued["message"])
    refused(token(world, issued["nonce"], by_beta), 401, "unauthenticated")


@pytest.mark.parametrize("signature", ["0x", "0x1234", "0x" + "00" * 65, "0x" + "ff" * 65])
def test_a_malformed_signature_is_refused(world: World, signature: str) -> None:
    issued = challenge(world, world.acme)
    refused(token(world, issued["nonce"], signature), 401, "unauthenticated")


def test_a_challenge_signs_in_once(world: World) -> None:
    issued = challenge(world, world.acme)
    signature = world.acme.sign_message(issued["message"])
    assert token(world, issued["nonce"], signature).status_code == 200
    refused(token(world, issued["nonce"], signature), 401, "unauthenticated")


def test_an_expired_challenge_is_refused(world: World) -> None:
    issued = challenge(world, world.acme)
    with world.registry.sessions.begin() as session:  # as if its five minutes had passed
        stored = session.get(SignInChallenge, issued["nonce"])
        assert stored is not None
        stored.expires_at = time.time() - 1
    signature = world.acme.sign_message(issued["message"])
    details = refused(token(world, issued["nonce"], signature), 401, "unauthenticated")
    assert details == {}


def test_an_unknown_challenge_is_refused(world: World) -> None:
    refused(token(world, uuid.uuid4().hex, "0x" + "00" * 65), 401, "unauthenticated")


def test_a_key_bound_to_nobody_cannot_sign_in(world: World) -> None:
    stranger = LocalSigner.generate()
    issued = challenge(world, stranger)
    response = token(world, issued["nonce"], stranger.sign_message(issued["message"]))
    refused(response, 403, "forbidden")


def _token_for(world: World, key: LocalSigner, *, exp: int, secret: bytes | None = None) -> str:
    if secret is None:
        secret = (Path(world.registry.settings.data_dir) / TOKEN_SECRET_FILE).read_bytes().strip()
    claims = {"sub": key.address, "pid": ACME, "aud": AUDIENCE, "iat": exp - 900, "exp": exp}
    return jwt.encode(claims, secret, ALGORITHM)


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer garbage",
        "Bearer a.b.c",
        "Basic dXNlcjpwYXNz",
        "expired",
        "another secret",
    ],
)
def test_a_missing_garbage_or_expired_token_is_unauthenticated(
    world: World, authorization: str | None
) -> None:
    now = int(time.time())
    if authorization == "expired":
        authorization = f"Bearer {_token_for(world, world.acme, exp=now - 60)}"
    elif authorization == "another secret":
        authorization = f"Bearer {_token_for(world, world.acme, exp=now + 600, secret=b'x' * 32)}"
    headers = {} if authorization is None else {"Authorization": authorization}
    refused(world.client.get("/v1/auth/me", headers=headers), 401, "unauthenticated")
    with world.nothing_sent():
        response = world.post("/v1/rights", headers, right_body("1", [(ACME, 10_000)]))
        refused(response, 401, "unauthenticated")


def test_a_valid_token_made_here_is_accepted(world: World) -> None:
    """The forged-token cases above fail for the reason they name, not for a wrong recipe."""
    valid = _token_for(world, world.acme, exp=int(time.time()) + 600)
    response = world.client.get("/v1/auth/me", headers={"Authorization": f"Bearer {valid}"})
    assert response.status_code == 200, response.text
    assert response.json()["participant_id"] == ACME


# --- roles ---

OFFICE_WRITES = [
    ("/v1/participants", "enrol"),
    (f"/v1/participants/{ACME}/suspend", {"reason_code": 1}),
    (f"/v1/participants/{ACME}/reinstate", None),
    (f"/v1/participants/{ACME}/revoke", {"reason_code": 1}),
    (
        f"/v1/participants/{ACME}/keys/recover",
        {"lost_key": "0x" + "11" * 20, "new_key": "0x" + "22" * 20},
    ),
    ("/v1/rights", right_body("PART-1", [(ACME, 10_000)])),
    ("/v1/rights/bulk", {"rights": [right_body("PART-2", [(ACME, 10_000)])]}),
    (f"/v1/rights/{UNKNOWN_ID}/status", {"status": "lapsed", "reason_code": 1}),
    (f"/v1/assignments/{UNKNOWN_ID}/register", None),
    (f"/v1/assignments/{UNKNOWN_ID}/reject", {"reason_code": 1}),
]


@pytest.mark.parametrize(("path", "body"), OFFICE_WRITES, ids=[p for p, _ in OFFICE_WRITES])
def test_a_participant_calling_an_office_write_is_forbidden(
    world: World, path: str, body: object
) -> None:
    if body == "enrol":
        key = LocalSigner.generate()
        body = {
            "participant_id": 99,
            "legal_name": "Gamma Ltd",
            "registration_number": "REG-99",
            "country": "KR",
            "roles": ["office"],
            "keys": [key.address],
            "public_key": "0x" + key.public_key.hex(),
        }
    acme = world.signed_in(world.acme)
    with world.nothing_sent():
        refused(world.post(path, acme, body), 403, "forbidden")


def test_a_participant_uploading_rights_is_forbidden(world: World) -> None:
    acme = world.signed_in(world.acme)
    with world.nothing_sent():
        response = world.client.post(
            "/v1/rights/import",
            files={"file": ("rights.csv", b"anything", "text/csv")},
            headers={**acme, "Idempotency-Key": str(uuid.uuid4())},
        )
        refused(response, 403, "forbidden")


def enrolment(participant_id: int, key: LocalSigner, roles: list[str]) -> dict[str, object]:
    return {
        "participant_id": participant_id,
        "legal_name": f"Office branch {participant_id}",
        "registration_number": f"REG-{participant_id}",
        "country": "KR",
        "roles": roles,
        "keys": [key.address],
        "public_key": "0x" + key.public_key.hex(),
    }


#: Ids of office participants the tests enrol, one each so that no test sees another's acts
#: (from 200: the ids below are the other tests').
_branch_ids = count(200)


@dataclass(frozen=True)
class Branch:
    """An office participant other than the founding office, signed in."""

    participant_id: int
    key: LocalSigner
    headers: Headers


@pytest.fixture
def branch(world: World) -> Branch:
    """A participant enrolled with the OFFICE role by the founding office; signed in."""
    participant_id, key = next(_branch_ids), LocalSigner.generate()
    write(
        world.client, "/v1/participants", world.office, enrolment(participant_id, key, ["office"])
    )
    return Branch(participant_id, key, world.signed_in(key))


SELF_ACTS = [
    ("suspend", {"reason_code": 1}),
    ("reinstate", None),
    ("revoke", {"reason_code": 1}),
    ("keys/recover", "recover"),
]


@pytest.mark.parametrize(("act", "body"), SELF_ACTS, ids=[a for a, _ in SELF_ACTS])
def test_an_office_participant_cannot_act_on_itself(
    world: World, branch: Branch, act: str, body: object
) -> None:
    # Every office participant acts through the relayer's key, so the contract sees the
    # founding office acting on the branch: the service must check the caller itself.
    if body == "recover":
        body = {"lost_key": branch.key.address, "new_key": LocalSigner.generate().address}
    path = f"/v1/participants/{branch.participant_id}/{act}"
    with world.nothing_sent():
        response = world.post(path, branch.headers, body)
    details = refused(response, 403, "forbidden")
    assert details == {"participant_id": branch.participant_id}
    assert "its own participant" in response.json()["error"]["message"]
    record = world.client.get(f"/v1/participants/{branch.participant_id}").json()
    assert record["status"] == "active"
    assert record["keys"] == [branch.key.address]


def test_only_the_founding_office_enrols_an_office(world: World, branch: Branch) -> None:
    office, bank = next(_branch_ids), next(_branch_ids)
    with world.nothing_sent():
        response = world.post(
            "/v1/participants",
            branch.headers,
            enrolment(office, LocalSigner.generate(), ["office"]),
        )
    refused(response, 403, "forbidden")
    assert "founding office" in response.json()["error"]["message"]
    # The branch still enrols participants without the OFFICE role.
    enrolled = enrolment(bank, LocalSigner.generate(), ["bank"])
    write(world.client, "/v1/participants", branch.headers, enrolled)


# --- unknown things ---


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/rights/{UNKNOWN_ID}",
        f"/v1/rights/{UNKNOWN_ID}/owners",
        f"/v1/rights/{UNKNOWN_ID}/title",
        f"/v1/assignments/{UNKNOWN_ID}",
        "/v1/participants/999",
        "/v1/participants/999/identity",
        f"/v1/participants/{'0x' + '12' * 20}/identity",
        # Fixed ids: the parameters name the tests, which must be the same in every worker.
        "/v1/operations/3f0c8d52-6a41-4a7e-9d0b-2c5e7f1a9b63",
        "/v1/imports/8b1e4f27-0d93-4c56-a8e2-71f3b9c04d15",
        "/v1/no-such-thing",
    ],
)
def test_reading_an_unknown_thing_is_not_found(world: World, path: str) -> None:
    refused(world.client.get(path), 404, "not_found")


def test_an_unknown_right_cannot_be_drafted_registered_or_changed(world: World) -> None:
    acme = world.signed_in(world.acme)
    with world.nothing_sent():
        draft = world.client.post(
            "/v1/assignments/typed-data",
            headers=acme,
            json={
                "asset_id": UNKNOWN_ID,
                "assignor": ACME,
                "assignee": BETA,
                "share_bps": 100,
                "terms_hash": DEED,
                "assignor_key": world.acme.address,
            },
        )
        refused(draft, 404, "not_found")
        status = world.post(
            f"/v1/rights/{UNKNOWN_ID}/status", world.office, {"status": "lapsed", "reason_code": 3}
        )
        details = refused(status, 404, "IPAssetRegistryUnknownAsset")
        assert details == {"asset_id": UNKNOWN_ID}
        refused(
            world.post(f"/v1/assignments/{UNKNOWN_ID}/register", world.office, None),
            404,
            "not_found",
        )


def test_suspending_an_unknown_participant_is_not_found(world: World) -> None:
    with world.nothing_sent():
        response = world.post("/v1/participants/4242/suspend", world.office, {"reason_code": 1})
        assert refused(response, 404, "ParticipantRegistryUnknownParticipant") == {
            "participant_id": 4242
        }


def test_a_wrong_method_is_not_allowed(world: World) -> None:
    refused(world.client.delete(f"/v1/rights/{UNKNOWN_ID}"), 405, "method_not_allowed")


# --- assignments: the chain's refusals, named and with their values ---


def test_assigning_more_than_the_share_held_is_refused_with_the_shares(world: World) -> None:
    right = world.register_right([(ACME, 5000), (UNIVERSITY, 5000)])
    acme = world.signed_in(world.acme)
    typed_data = world.draft(acme, right, world.acme, 6000, ACME)
    body = {
        "typed_data": typed_data,
        "signatures": signatures(typed_data, world.acme, world.beta, world.university),
    }
    with world.nothing_sent():
        details = refused(
            world.post("/v1/assignments", acme, body), 422, "IPAssetRegistryShareTooHigh"
        )
    assert details == {"asset_id": right, "held": 5000, "asked": 6000}


@pytest.mark.parametrize("doom", ["share too high", "consent missing"])
def test_a_filing_that_could_not_be_registered_is_refused_before_it_uses_the_nonce(
    world: World, doom: str
) -> None:
    # Filing checks only the formalities and uses up the assignor's nonce: a filing the office
    # could only reject would make the parties sign again for nothing.
    right = world.register_right([(ACME, 5000), (UNIVERSITY, 5000)])
    acme = world.signed_in(world.acme)
    share, code = (
        (6000, "IPAssetRegistryShareTooHigh")
        if doom == "share too high"
        else (5000, "IPAssetRegistryMissingConsent")
    )
    typed_data = world.draft(acme, right, world.acme, share, ACME)
    keys = (world.acme, world.beta) + ((world.university,) if doom == "share too high" else ())
    body = {"typed_data": typed_data, "signatures": signatures(typed_data, *keys)}

    with world.nothing_sent():
        response = world.post("/v1/assignments", acme, body)

    refused(response, 422, code)
    assert "refused by the IP asset registry" in response.json()["error"]["message"]
    again = world.draft(acme, right, world.acme, 5000, ACME)
    assert again["message"]["nonce"] == typed_data["message"]["nonce"]
    body = {
        "typed_data": again,
        "signatures": signatures(again, world.acme, world.beta, world.university),
    }
    write(world.client, "/v1/assignments", acme, body)


def test_an_assignment_past_its_deadline_is_refused(world: World) -> None:
    acme = world.signed_in(world.acme)
    typed_data = world.draft(acme, world.co_owned, world.acme, 1000, ACME)
    typed_data["message"]["deadline"] = int(time.time()) - 3600
    body = {
        "typed_data": typed_data,
        "signatures": signatures(typed_data, world.acme, world.beta, world.university),
    }
    with world.nothing_sent():
        details = refused(world.post("/v1/assignments", acme, body), 422, "ApprovalExpired")
    assert details["deadline"] == typed_data["message"]["deadline"]
    assert details["timestamp"] > details["deadline"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("chainId", 1), ("verifyingContract", "0x" + "12" * 20), ("name", "Another registry")],
)
def test_typed_data_for_another_chain_or_contract_is_refused(
    world: World, field: str, value: object
) -> None:
    acme = world.signed_in(world.acme)
    typed_data = world.draft(acme, world.co_owned, world.acme, 1000, ACME)
    if field == "verifyingContract":
        value = LocalSigner.generate().address  # a checksummed address of no contract here
    typed_data["domain"][field] = value
    body = {
        "typed_data": typed_data,
        "signatures": signatures(typed_data, world.acme, world.beta, world.university),
    }
    with world.nothing_sent():
        refused(world.post("/v1/assignments", acme, body), 422, "unprocessable")


def test_a_key_rotation_for_another_chain_is_refused(world: World) -> None:
    acme = world.signed_in(world.acme)
    draft = world.client.post(
        "/v1/keys/rotation/typed-data",
        headers=acme,
        json={
            "participant_id": ACME,
            "current_key": world.acme.address,
            "new_key": LocalSigner.generate().address,
        },
    )
    assert draft.status_code == 200, draft.text
    typed_data = draft.json()["typed_data"]
    typed_data["domain"]["chainId"] = 1
    signature = "0x" + world.acme.sign_typed_data(typed_data).hex()
    with world.nothing_sent():
        response = world.post(
            "/v1/keys/rotation", acme, {"typed_data": typed_data, "signature": signature}
        )
        refused(response, 422, "unprocessable")


@pytest.mark.parametrize(
    "damage",
    [
        "primary type",
        "no types",
        "types as a list",
        "extra type",
        "salted domain",
        "domain as a list",
        "message missing a field",
        "deadline as text",
        "share over uint16",
        "asset id too short",
    ],
)
def test_malformed_typed_data_is_refused(world: World, damage: str) -> None:
    acme = world.signed_in(world.acme)
    typed_data = world.draft(acme, world.co_owned, world.acme, 1000, ACME)
    sigs = signatures(typed_data, world.acme, world.beta, world.university)
    message = typed_data["message"]
    if damage == "primary type":
        typed_data["primaryType"] = "KeyRotation"
    elif damage == "no types":
        del typed_data["types"]
    elif damage == "types as a list":
        typed_data["types"] = [1, 2]
    elif damage == "extra type":
        typed_data["types"]["Extra"] = [{"name": "x", "type": "uint256"}]
    elif damage == "salted domain":
        typed_data["types"]["EIP712Domain"].append({"name": "salt", "type": "bytes32"})
    elif damage == "domain as a list":
        typed_data["domain"] = ["x"]
    elif damage == "message missing a field":
        del message["nonce"]
    elif damage == "deadline as text":
        message["deadline"] = "tomorrow"
    elif damage == "share over uint16":
        message["shareBps"] = 70_000
    else:
        message["assetId"] = "0x1234"
    with world.nothing_sent():
        response = world.post(
            "/v1/assignments", acme, {"typed_data": typed_data, "signatures": sigs}
        )
        refused(response, 422, "invalid_typed_data")


def test_a_signature_by_a_key_that_is_not_the_partys_is_refused(world: World) -> None:
    acme = world.signed_in(world.acme)
    typed_data = world.draft(acme, world.co_owned, world.acme, 1000, ACME)
    stranger = LocalSigner.generate()
    body = {
        "typed_data": typed_data,
        "signatures": signatures(typed_data, world.acme, stranger, world.university),
    }
    with world.nothing_sent():
        details = refused(
            world.post("/v1/assignments", acme, body), 403, "IPAssetRegistryWrongSigner"
        )
    assert details == {"signer": stranger.address, "expected": BETA, "bound_to": 0}


def test_a_suspended_party_cannot_sign_in_and_its_assignment_is_refused(world: World) -> None:
    party_id = 30
    party = world.enrol(party_id, "Delta Materials Ltd")
    right = world.register_right([(party_id, 10_000)])
    session = world.signed_in(party)
    typed_data = world.draft(session, right, party, 2500, party_id)
    body = {"typed_data": typed_data, "signatures": signatures(typed_data, party, world.beta)}

    write(world.client, f"/v1/participants/{party_id}/suspend", world.office, {"reason_code": 7})

    issued = challenge(world, party)
    signed = token(world, issued["nonce"], party.sign_message(issued["message"]))
    refused(signed, 403, "forbidden")
    refused(world.client.get("/v1/auth/me", headers=session), 403, "forbidden")
    with world.nothing_sent():
        refused(world.post("/v1/assignments", session, body), 403, "forbidden")
        # Filed by the other party, the chain refuses it: the assignor is not active.
        beta = world.signed_in(world.beta)
        details = refused(
            world.post("/v1/assignments", beta, body), 422, "IPAssetRegistryPartyNotActive"
        )
    assert details == {"participant_id": party_id}


# --- idempotency ---


def test_a_replayed_write_gets_the_first_answer_and_sends_nothing(world: World) -> None:
    key = str(uuid.uuid4())
    body = right_body(f"IDEM-{next(_numbers)}", [(ACME, 10_000)])
    first = world.post("/v1/rights", world.office, body, key=key)
    assert first.status_code == 202, first.text
    with world.nothing_sent():
        again = world.post("/v1/rights", world.office, body, key=key)
        assert (again.status_code, again.json()) == (202, first.json())
        # A retry that asks to wait gets the same operation, once it is queryable.
        waited = world.post("/v1/rights", world.office, body, key=key, params={"wait": "true"})
        assert waited.status_code == 202, waited.text
        assert waited.json()["id"] == first.json()["id"]
        assert waited.json()["status"] == "applied"
        nonce = world.registry.backend.w3.eth.get_transaction_count(world.registry.outbox.sender)
        last = world.post("/v1/rights", world.office, body, key=key)
        assert (last.status_code, last.json()) == (202, first.json())
    assert world.registry.backend.w3.eth.get_transaction_count(world.registry.outbox.sender) == (
        nonce
    )


def test_a_replayed_import_gets_the_same_import(world: World) -> None:
    key = str(uuid.uuid4())
    rights = [right_body(f"IDEM-{next(_numbers)}", [(ACME, 10_000)]) for _ in range(2)]
    first = world.post("/v1/rights/bulk", world.office, {"rights": rights}, key=key)
    assert first.status_code == 202, first.text
    with world.nothing_sent():
        waited = world.post(
            "/v1/rights/bulk", world.office, {"rights": rights}, key=key, params={"wait": "true"}
        )
    assert waited.status_code == 202, waited.text
    assert waited.json()["id"] == first.json()["id"]
    assert waited.json()["done"] is True
    assert waited.json()["progress"] == {"applied": 1}


def test_an_idempotency_key_reused_for_another_request_is_refused(world: World) -> None:
    key = str(uuid.uuid4())
    number = f"IDEM-{next(_numbers)}"
    first = world.post("/v1/rights", world.office, right_body(number, [(ACME, 10_000)]), key=key)
    assert first.status_code == 202, first.text
    with world.nothing_sent():
        other_body = right_body(number + "B", [(ACME, 10_000)])
        response = world.post("/v1/rights", world.office, other_body, key=key)
        assert refused(response, 422, "idempotency_key_reused") == {"idempotency_key": key}
        other_path = world.post(
            f"/v1/participants/{ACME}/suspend", world.office, {"reason_code": 1}, key=key
        )
        refused(other_path, 422, "idempotency_key_reused")


def test_the_same_key_of_another_caller_is_another_key(world: World) -> None:
    key = str(uuid.uuid4())
    acme = world.signed_in(world.acme)
    refused(
        world.post("/v1/rights", acme, right_body("1", [(ACME, 10_000)]), key=key), 403, "forbidden"
    )
    body = right_body(f"IDEM-{next(_numbers)}", [(ACME, 10_000)])
    assert world.post("/v1/rights", world.office, body, key=key).status_code == 202


@pytest.mark.parametrize(
    "key",
    [None, b"", b"   ", b"k" * 256, b"bad\xe9key", b"tab\tkey"],
    ids=["absent", "empty", "blank", "too long", "not ascii", "control character"],
)
def test_a_write_without_a_usable_idempotency_key_is_refused(
    world: World, key: bytes | None
) -> None:
    headers: dict[str, str | bytes] = dict(world.office)
    if key is not None:
        headers["Idempotency-Key"] = key
    with world.nothing_sent():
        response = world.client.post(
            "/v1/rights", json=right_body("NOKEY-1", [(ACME, 10_000)]), headers=headers
        )
        details = refused(response, 422, "invalid_request")
    assert details["problems"][0]["location"] == ["header", "idempotency-key"]


# --- size limits ---

LIMIT = 1 << 20


def _oversized_right() -> bytes:
    body = right_body("BIG-1", [(ACME, 10_000)])
    body["title"] = "x" * (LIMIT + 1)
    return json.dumps(body).encode()


def test_a_body_over_the_limit_is_refused(world: World) -> None:
    headers = {**world.office, "Idempotency-Key": str(uuid.uuid4())}
    with world.nothing_sent():
        response = world.client.post(
            "/v1/rights",
            content=_oversized_right(),
            headers={**headers, "Content-Type": "application/json"},
        )
        refused(response, 413, "payload_too_large")


def test_a_body_over_the_limit_without_a_length_is_refused(world: World) -> None:
    data = _oversized_right()

    def chunks() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding chunked
        for start in range(0, len(data), 64 << 10):
            yield data[start : start + (64 << 10)]

    headers = {**world.office, "Idempotency-Key": str(uuid.uuid4())}
    with world.nothing_sent():
        for path in ("/v1/rights", f"/v1/assignments/{UNKNOWN_ID}/register"):
            response = world.client.post(
                path, content=chunks(), headers={**headers, "Content-Type": "application/json"}
            )
            assert "content-length" not in response.request.headers
            refused(response, 413, "payload_too_large")


def _asgi_post(world: World, path: str, chunks: list[bytes], headers: Headers) -> tuple[int, bytes]:
    """POST straight through the ASGI app, the body streamed in `chunks`, with `headers`."""
    app = world.client.app
    sent: list[dict[str, Any]] = []
    incoming = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "state": {},
    }
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(start["status"]), body


@pytest.mark.parametrize("length", ["absent", "lying"])
def test_a_streamed_body_over_the_limit_is_refused(world: World, length: str) -> None:
    data = _oversized_right()
    chunks = [data[i : i + 4096] for i in range(0, len(data), 4096)]
    headers = {
        **world.office,
        "Idempotency-Key": str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    if length == "lying":
        headers["Content-Length"] = "100"
    with world.nothing_sent():
        status, body = _asgi_post(world, "/v1/rights", chunks, headers)
    assert status == 413
    error = httpx.Response(413, content=body).json()["error"]
    assert error["code"] == "payload_too_large"
    assert_sentence(error["message"])


def test_an_upload_over_its_limit_is_refused(world: World) -> None:
    limit = world.registry.settings.max_upload_bytes
    headers = {**world.office, "Idempotency-Key": str(uuid.uuid4())}
    with world.nothing_sent():
        response = world.client.post(
            "/v1/rights/import",
            files={"file": ("rights.csv", b"x" * (limit + 1), "text/csv")},
            headers=headers,
        )
        refused(response, 413, "payload_too_large")


# --- malformed requests ---


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"{not json", 400, "malformed_json"),
        (b"", 422, "invalid_request"),
        (b"[]", 422, "invalid_request"),
        (b'"a string"', 422, "invalid_request"),
        (b"null", 422, "invalid_request"),
        (b'{"a": 1', 400, "malformed_json"),
        (b'{"a": 1,}', 400, "malformed_json"),
        (b"\xff\xfe{}", 400, "malformed_json"),
        (b"[" * 33 + b"]" * 33, 400, "bad_request"),
        (b"[" * 100_000 + b"]" * 100_000, 400, "bad_request"),
        (b'{"title": "' + b"[" * 100_000 + b'"}', 422, "invalid_request"),
    ],
    ids=[
        "not json",
        "empty",
        "array",
        "string",
        "null",
        "truncated",
        "trailing comma",
        "not utf-8",
        "deeper than 32",
        "deep enough to overflow the C stack",
        "brackets in a string",
    ],
)
def test_a_body_that_is_not_the_json_object_asked_for_is_refused(
    world: World, content: bytes, status: int, code: str
) -> None:
    headers = {
        **world.office,
        "Idempotency-Key": str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    with world.nothing_sent():
        response = world.client.post("/v1/rights", content=content, headers=headers)
        assert 400 <= response.status_code < 500, response.text
        refused(response, status, code)


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b'{"a":', "line 1, column 6"),
        (b'{"a": 1,}', "line 1, column 9"),
        (b'{\n  "title": "x",\n  "kind": patent\n}', "line 3, column 11"),
    ],
    ids=["truncated", "trailing comma", "bare word on line 3"],
)
def test_a_body_that_is_not_json_is_a_400_naming_the_line_and_column(
    world: World, content: bytes, where: str
) -> None:
    headers = {
        **world.office,
        "Idempotency-Key": str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    response = world.client.post("/v1/rights", content=content, headers=headers)

    refused(response, 400, "malformed_json")
    message = response.json()["error"]["message"]
    assert message.startswith(f"the body is not JSON: {where}: "), message


def test_the_openapi_document_lists_the_400_of_a_body_that_is_not_json(world: World) -> None:
    document = world.client.get("/openapi.json").json()
    post = document["paths"]["/v1/rights"]["post"]

    assert "400" in post["responses"] or "4XX" in post["responses"], post["responses"]
    assert "malformed_json" in json.dumps(document), "the code is not documented"


BAD_RIGHTS: list[tuple[str, dict[str, object]]] = [
    ("participant id as text", {"owners": [{"participant_id": "ten", "bps": 10_000}]}),
    ("bps as text", {"owners": [{"participant_id": ACME, "bps": "all"}]}),
    ("bps over 10,000", {"owners": [{"participant_id": ACME, "bps": 10_001}]}),
    ("bps zero", {"owners": [{"participant_id": ACME, "bps": 0}]}),
    ("bps fractional", {"owners": [{"participant_id": ACME, "bps": 5000.5}]}),
    ("participant id zero", {"owners": [{"participant_id": 0, "bps": 10_000}]}),
    ("participant id over uint64", {"owners": [{"participant_id": 2**64, "bps": 10_000}]}),
    ("participant id over int64", {"owners": [{"participant_id": 2**63, "bps": 10_000}]}),
    ("participant id huge", {"owners": [{"participant_id": 10**400, "bps": 10_000}]}),
    ("no owners", {"owners": []}),
    ("seventeen owners", {"owners": [{"participant_id": i, "bps": 1} for i in range(1, 18)]}),
    ("kind unknown", {"kind": "recipe"}),
    ("jurisdiction lower case", {"jurisdiction": "kr"}),
    ("number with spaces", {"number": "10 2024"}),
    ("empty title", {"title": ""}),
    ("title too long", {"title": "x" * 1025}),
    ("document hash short", {"document_hash": "0x1234"}),
    ("document hash not hex", {"document_hash": "0x" + "zz" * 32}),
    ("date malformed", {"filing_date": "01/03/2023"}),
    ("date impossible", {"filing_date": "2023-02-30"}),
    ("date before 1970", {"filing_date": "1960-01-01"}),
    ("date of year one", {"filing_date": "0001-01-01"}),
    ("unknown field", {"colour": "blue"}),
    ("null title", {"title": None}),
]


@pytest.mark.parametrize(("name", "change"), BAD_RIGHTS, ids=[n for n, _ in BAD_RIGHTS])
def test_a_right_with_a_bad_field_is_refused(
    world: World, name: str, change: dict[str, object]
) -> None:
    body = {**right_body(f"BAD-{next(_numbers)}", [(ACME, 10_000)]), **change}
    with world.nothing_sent():
        details = refused(world.post("/v1/rights", world.office, body), 422, "invalid_request")
    assert details["problems"], details
    for problem in details["problems"]:
        assert problem["location"][0] == "body"
        assert_sentence(problem["problem"])


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/participants/{acme}/suspend", {"reason_code": 0}),
        ("/v1/participants/{acme}/suspend", {"reason_code": 65_536}),
        ("/v1/participants/{acme}/suspend", {"reason_code": "one"}),
        ("/v1/participants/{acme}/suspend", {"reason_code": 1.5}),
        ("/v1/participants/{acme}/suspend", {"reason_code": True, "extra": 1}),
        ("/v1/participants/{acme}/suspend", {}),
        ("/v1/participants/{acme}/keys/recover", {"lost_key": "0x12", "new_key": "0x34"}),
        ("/v1/rights/bulk", {"rights": []}),
        ("/v1/rights/{right}/status", {"status": "stolen", "reason_code": 1}),
        ("/v1/assignments/{right}/reject", {"reason_code": -1}),
    ],
)
def test_an_office_write_with_a_bad_field_is_refused(
    world: World, path: str, body: dict[str, object]
) -> None:
    path = path.format(acme=ACME, right=world.co_owned)
    with world.nothing_sent():
        refused(world.post(path, world.office, body), 422, "invalid_request")


@pytest.mark.parametrize(
    "change",
    [
        {"participant_id": 2**63},
        {"legal_name": ""},
        {"legal_name": "x" * 201},
        {"country": "Korea"},
        {"roles": []},
        {"roles": ["king"]},
        {"keys": []},
        {"keys": ["0x" + "11" * 20] * 9},
        {"public_key": "0x" + "00" * 2000},
        {"valid_days": 0},
        {"valid_days": 100_000},
    ],
)
def test_an_enrolment_with_a_bad_field_is_refused(world: World, change: dict[str, object]) -> None:
    key = LocalSigner.generate()
    body = {
        "participant_id": 50,
        "legal_name": "Epsilon Ltd",
        "registration_number": "REG-50",
        "country": "KR",
        "roles": ["participant"],
        "keys": [key.address],
        "public_key": "0x" + key.public_key.hex(),
        **change,
    }
    with world.nothing_sent():
        refused(world.post("/v1/participants", world.office, body), 422, "invalid_request")


#: Control characters (C0, DEL, C1) and a lone surrogate, inside otherwise good text.
CONTROL_TEXTS = {
    "nul": "Gripper\u0000with fingers",
    "newline": "Gripper\nShare: 100% to Mallory",
    "carriage return": "Gripper\r",
    "tab": "Gripper\twith fingers",
    "escape": "Gripper \u001b[8mhidden",
    "delete": "Gripper\u007f",
    "c1 next line": "Gripper\u0085with fingers",
    "c1 csi": "Gripper\u009b8m",
    "lone surrogate": "Gripper\ud800",
}


def post_escaped(world: World, path: str, body: object) -> httpx.Response:
    """POST JSON with non-ASCII as \\u escapes: a lone surrogate travels only that way."""
    headers = {**world.office, "Content-Type": "application/json"}
    return world.post(path, headers, None, content=json.dumps(body).encode())


@pytest.mark.parametrize("text", CONTROL_TEXTS.values(), ids=CONTROL_TEXTS.keys())
def test_a_title_with_a_control_character_is_refused_naming_the_field(
    world: World, text: str
) -> None:
    single = {**right_body(f"CTL-{next(_numbers)}", [(ACME, 10_000)]), "title": text}
    bulk = {"rights": [right_body(f"CTL-{next(_numbers)}", [(ACME, 10_000)]), single]}
    with world.nothing_sent():
        details = refused(post_escaped(world, "/v1/rights", single), 422, "invalid_request")
        assert [p["location"] for p in details["problems"]] == [["body", "title"]]
        details = refused(post_escaped(world, "/v1/rights/bulk", bulk), 422, "invalid_request")
        assert [p["location"] for p in details["problems"]] == [["body", "rights", "1", "title"]]


@pytest.mark.parametrize("text", CONTROL_TEXTS.values(), ids=CONTROL_TEXTS.keys())
def test_a_legal_name_with_a_control_character_is_refused_naming_the_field(
    world: World, text: str
) -> None:
    key = LocalSigner.generate()
    body = {
        "participant_id": 52,
        "legal_name": text[:60],
        "registration_number": "REG-52",
        "country": "KR",
        "roles": ["participant"],
        "keys": [key.address],
        "public_key": "0x" + key.public_key.hex(),
    }
    with world.nothing_sent():
        details = refused(post_escaped(world, "/v1/participants", body), 422, "invalid_request")
    assert [p["location"] for p in details["problems"]] == [["body", "legal_name"]]


def test_printable_unicode_text_is_still_accepted(world: World) -> None:
    number = f"UNI-{next(_numbers)}"
    title = "과일 수확용 그리퍼 — Greifer mit nachgiebigen Fingern (№ 7) 🍎"
    body = {**right_body(number, [(ACME, 10_000)]), "title": title}
    write(world.client, "/v1/rights", world.office, body)
    right = world.client.get(f"/v1/rights/0x{asset_id(b'KR', AssetKind.PATENT, number).hex()}")
    assert right.status_code == 200, right.text
    assert right.json()["title"] == title


def test_an_enrolment_whose_certificate_cannot_be_issued_is_refused(world: World) -> None:
    key, other = LocalSigner.generate(), LocalSigner.generate()
    body = {
        "participant_id": 51,
        "legal_name": "Zeta Ltd",
        "registration_number": "REG-51",
        "country": "KR",
        "roles": ["participant"],
        "keys": [key.address, key.address],  # a certificate binds distinct keys
        "public_key": "0x" + key.public_key.hex(),
    }
    with world.nothing_sent():
        refused(world.post("/v1/participants", world.office, body), 422, "unprocessable")
        wrong_key = {**body, "keys": [key.address], "public_key": "0x" + other.public_key.hex()}
        refused(world.post("/v1/participants", world.office, wrong_key), 422, "unprocessable")


def test_a_deeply_nested_body_is_refused_wherever_it_goes(world: World) -> None:
    acme = world.signed_in(world.acme)
    # Written as text: at this depth json.dumps would stop at the service's recursion limit.
    deep = b"[" * 20_000 + b"1" + b"]" * 20_000
    content = b'{"typed_data": {"types": ' + deep + b'}, "signatures": []}'
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    with world.nothing_sent():
        for path, caller in (
            ("/v1/assignments", acme),
            (f"/v1/assignments/{UNKNOWN_ID}/register", world.office),  # a body nobody asked for
            ("/v1/auth/challenge", {}),
        ):
            response = world.client.post(
                path,
                content=content,
                headers={**caller, **headers, "Content-Type": "application/json"},
            )
            refused(response, 400, "bad_request")


@pytest.mark.parametrize(
    "change",
    [
        {"share_bps": 0},
        {"share_bps": 10_001},
        {"assignor": 0},
        {"assignee": -3},
        {"valid_seconds": 1},
        {"valid_seconds": 10**12},
        {"assignor_key": "0xnot-an-address"},
        {"terms_hash": ""},
        {"extra": True},
    ],
)
def test_an_assignment_draft_with_a_bad_field_is_refused(
    world: World, change: dict[str, object]
) -> None:
    acme = world.signed_in(world.acme)
    body = {
        "asset_id": world.co_owned,
        "assignor": ACME,
        "assignee": BETA,
        "share_bps": 100,
        "terms_hash": DEED,
        "assignor_key": world.acme.address,
        **change,
    }
    response = world.client.post("/v1/assignments/typed-data", headers=acme, json=body)
    refused(response, 422, "invalid_request")


def test_an_assignment_with_bad_signatures_is_refused(world: World) -> None:
    acme = world.signed_in(world.acme)
    typed_data = world.draft(acme, world.co_owned, world.acme, 1000, ACME)
    good = signatures(typed_data, world.acme, world.beta, world.university)
    one_only = {"typed_data": typed_data, "signatures": good[:1]}
    not_hex = {"typed_data": typed_data, "signatures": [*good[:2], {**good[2], "signature": "xyz"}]}
    with world.nothing_sent():
        refused(world.post("/v1/assignments", acme, one_only), 422, "invalid_request")
        refused(world.post("/v1/assignments", acme, not_hex), 422, "invalid_request")
        swapped = {"typed_data": typed_data, "signatures": [good[0], good[2], good[1]]}
        details = refused(
            world.post("/v1/assignments", acme, swapped), 403, "IPAssetRegistryWrongSigner"
        )
        assert details == {
            "signer": world.university.address,
            "expected": BETA,
            "bound_to": UNIVERSITY,
        }


@pytest.mark.parametrize(
    "path",
    [
        "/v1/rights/0x12",
        "/v1/rights/" + "ab" * 32,
        "/v1/rights/0x" + "zz" * 32,
        "/v1/rights/0x" + "ab" * 33,
        "/v1/rights/0x" + "ab" * 32 + "/title%00",
        "/v1/rights/by-number/kr/10-2024-1",
        "/v1/rights/by-number/KR/" + "1" * 33,
        "/v1/assignments/xyz",
        "/v1/participants/abc",
        "/v1/participants/0",
        "/v1/participants/-1",
        "/v1/participants/1.5",
        f"/v1/participants/{2**63}",
        f"/v1/participants/{2**64}",
        f"/v1/participants/{2**63}/rights",
        "/v1/participants/99999999999999999999/identity",
        "/v1/participants/0x12/identity",
        "/v1/operations/not-a-uuid",
        "/v1/operations/A5789FBB-4653-46A1-A1F6-6167A16ECF13",
        "/v1/imports/%27%3B--",
        "/v1/rights?limit=0",
        "/v1/rights?limit=201",
        "/v1/rights?limit=many",
        "/v1/rights?cursor=abc",
        "/v1/rights?cursor=99999999999999999999.1",
        "/v1/rights?cursor=1.99999999999",
        "/v1/assignments/pending?cursor=9223372036854775808.0",
        f"/v1/participants/{ACME}/rights?cursor=1.2.3",
        "/v1/rights?q=" + "x" * 201,
        "/v1/rights?q=",
    ],
)
def test_a_malformed_path_or_query_is_refused(world: World, path: str) -> None:
    response = world.client.get(path)
    codes = {400: "bad_request", 404: "not_found", 422: "invalid_request"}
    assert response.status_code in codes, response.text  # 404: no route matches the path
    refused(response, response.status_code, codes[response.status_code])


@pytest.mark.parametrize(
    "query", ['"', "*", "NEAR(a b)", "a OR b", "title:x", "-x", "^", "\u0000", "x' OR '1'='1"]
)
def test_a_search_for_odd_text_answers(world: World, query: str) -> None:
    response = world.client.get("/v1/rights", params={"q": query})
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []


# --- CSV imports ---

CSV_HEADER = (
    b"jurisdiction,kind,number,title,document_hash,filing_date,registration_date,expiry_date,"
    b"owners\n"
)


def _import(world: World, data: bytes) -> httpx.Response:
    response: httpx.Response = world.client.post(
        "/v1/rights/import",
        files={"file": ("rights.csv", data, "text/csv")},
        headers={**world.office, "Idempotency-Key": str(uuid.uuid4())},
    )
    return response


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "header"),
        (b"a,b,c\n1,2,3\n", "header"),
        (CSV_HEADER, "no rights"),
        (b"\xff\xfe" + CSV_HEADER, "utf-8"),
        (CSV_HEADER + b"KR,patent,1,t," + DOCUMENT.encode() + b",2020-01-01,,,10:abc\n", "rows"),
        (CSV_HEADER + b"KR,patent,1,t," + DOCUMENT.encode() + b",2020-01-01,,,10\n", "rows"),
        (CSV_HEADER + b"KR,patent,1,t,0x12,2020-01-01,,,10:10000\n", "rows"),
        (
            CSV_HEADER + b"KR,patent,1,t," + DOCUMENT.encode() + b",2020-01-01,,,10:10000,x\n",
            "rows",
        ),
        (CSV_HEADER + b"KR,patent\n", "rows"),
        (
            CSV_HEADER
            + b"KR,patent,1,t,"
            + DOCUMENT.encode()
            + b",2020-01-01,,,"
            + str(2**70).encode()
            + b":10000\n",
            "rows",
        ),
        (CSV_HEADER + b'KR,"' + b"x" * 140_000 + b'"\n', "not valid CSV"),
    ],
    ids=[
        "empty",
        "other header",
        "no rows",
        "not utf-8",
        "bps not a number",
        "no bps",
        "short hash",
        "extra column",
        "short row",
        "huge participant",
        "field over the csv module's limit",
    ],
)
def test_a_bad_csv_upload_is_refused(world: World, data: bytes, problem: str) -> None:
    with world.nothing_sent():
        response = _import(world, data)
        refused(response, 422, "unprocessable")
        assert problem.lower() in response.json()["error"]["message"].lower()


def _csv_row(title: bytes) -> bytes:
    return b'KR,patent,CSV-%d,"%s",%s,2020-01-01,,,%d:10000\n' % (
        next(_numbers),
        title,
        DOCUMENT.encode(),
        ACME,
    )


@pytest.mark.parametrize(
    "text", [t for t in CONTROL_TEXTS.values() if t != "Gripper\ud800"],
    ids=[k for k in CONTROL_TEXTS if k != "lone surrogate"],
)  # fmt: skip
def test_a_csv_row_with_a_control_character_is_refused_with_its_line_and_field(
    world: World, text: str
) -> None:
    data = CSV_HEADER + _csv_row(b"Seed drill") + _csv_row(text.encode())
    with world.nothing_sent():
        response = _import(world, data)
    details = refused(response, 422, "unprocessable")
    [row] = details["rows"]
    # A newline inside the quoted title ends the record on the next line of the file.
    assert row["line"] == 3 + text.count("\n") + text.count("\r")
    assert row["problem"].startswith("title: ")
    assert "control character" in row["problem"]


def test_a_csv_upload_of_more_rights_than_a_bulk_request_is_refused_before_any_chain_work(
    world: World,
) -> None:
    rows = b"".join(
        b"KR,patent,CAP-%d,Seed drill,%s,2020-01-01,,,%d:10000\n" % (n, DOCUMENT.encode(), ACME)
        for n in range(10_001)
    )
    with world.nothing_sent():
        response = _import(world, CSV_HEADER + rows)
    details = refused(response, 422, "unprocessable")
    assert "10,000" in response.json()["error"]["message"]
    assert details == {"limit": 10_000}


def test_a_csv_of_exactly_the_bulk_cap_parses() -> None:
    rows = b"".join(
        b"KR,patent,CAP-%d,Seed drill,%s,2020-01-01,,,%d:10000\n" % (n, DOCUMENT.encode(), ACME)
        for n in range(10_000)
    )
    assert len(parse_csv(CSV_HEADER + rows)) == 10_000


def test_a_good_csv_upload_is_accepted(world: World) -> None:
    rows = b"".join(
        b"KR,patent,CSV-%d,Seed drill,%s,2020-01-01,,,%d:10000\n"
        % (next(_numbers), DOCUMENT.encode(), ACME)
        for _ in range(2)
    )
    response = _import(world, CSV_HEADER + rows)
    assert response.status_code == 202, response.text
    assert response.json()["rights"] == 2


def test_an_upload_without_a_file_is_refused(world: World) -> None:
    headers = {**world.office, "Idempotency-Key": str(uuid.uuid4())}
    with world.nothing_sent():
        response = world.client.post("/v1/rights/import", data={"other": "x"}, headers=headers)
        refused(response, 422, "invalid_request")
        broken = world.client.post(
            "/v1/rights/import",
            content=b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc',
            headers={**headers, "Content-Type": "multipart/form-data; boundary=xyz"},
        )
        assert 400 <= broken.status_code < 500, broken.text
