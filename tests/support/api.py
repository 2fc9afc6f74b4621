"""The registry API as the service's tests drive it: sign in, write and wait, enrol, a right's
body, and what a refusal's message must look like."""

from __future__ import annotations

import hashlib
import re
import uuid

import httpx

from wallets.signer import LocalSigner

#: The hash of a right's specification, for bodies that need one.
DOCUMENT = "0x" + hashlib.sha256(b"specification").hexdigest()


def sign_in(client: httpx.Client, key: LocalSigner) -> dict[str, str]:
    """Headers with a bearer token for `key`."""
    challenge = client.post("/v1/auth/challenge", json={"address": key.address})
    assert challenge.status_code == 200, challenge.text
    signature = key.sign_message(challenge.json()["message"])
    token = client.post(
        "/v1/auth/token",
        json={"nonce": challenge.json()["nonce"], "signature": "0x" + signature.hex()},
    )
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def write(
    client: httpx.Client, path: str, headers: dict[str, str], body: object
) -> dict[str, object]:
    """POST a write and wait until it is queryable; return its final operation."""
    response = client.post(
        path,
        json=body,
        params={"wait": "true"},
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 202, response.text
    operation: dict[str, object] = response.json()
    assert operation["status"] == "applied", operation
    return operation


def enrol(
    client: httpx.Client, office: dict[str, str], pid: int, key: LocalSigner, name: str
) -> None:
    """Enrol participant `pid` with `key` as a plain participant, and wait until it is."""
    write(
        client,
        "/v1/participants",
        office,
        {
            "participant_id": pid,
            "legal_name": name,
            "registration_number": f"REG-{pid}",
            "country": "KR",
            "roles": ["participant"],
            "keys": [key.address],
            "public_key": "0x" + key.public_key.hex(),
        },
    )


def right_body(number: str, owners: list[tuple[int, int]]) -> dict[str, object]:
    """A patent of KR with this number and these (participant, bps) owners."""
    return {
        "jurisdiction": "KR",
        "kind": "patent",
        "number": number,
        "title": "Gripper with compliant fingers",
        "document_hash": DOCUMENT,
        "filing_date": "2023-03-01",
        "owners": [{"participant_id": pid, "bps": bps} for pid, bps in owners],
    }


def assert_sentence(message: object) -> None:
    """Words for a person: no traceback, no exception repr, no internals."""
    assert isinstance(message, str), message
    assert len(message.split()) >= 2, message
    assert "\n" not in message, message
    for internal in ("Traceback", 'File "', "sqlalchemy", "sqlite3", "psycopg", "web3"):
        assert internal not in message, message
    assert not re.match(r"^[A-Za-z_]\w*\(", message), f"an exception's repr: {message}"
