"""The assignment flow through HTTP only, as the office, two companies and a university do it."""

from __future__ import annotations

import hashlib

from ledger.assets import asset_id
from ledger.types import AssetKind
from tests.registry_api.service.conftest import Service
from tests.support.api import enrol, sign_in, write
from wallets.signer import LocalSigner

ACME, BETA, UNIVERSITY = 10, 11, 12


def test_an_assignment_of_half_a_co_owned_patent_is_recorded_end_to_end(service: Service) -> None:
    client = service.client
    acme, beta, university = LocalSigner.generate(), LocalSigner.generate(), LocalSigner.generate()
    office = sign_in(client, service.office)

    enrol(client, office, ACME, acme, "Acme Robotics Ltd")
    enrol(client, office, BETA, beta, "Beta Devices Co")
    enrol(client, office, UNIVERSITY, university, "Hanbit University")
    registered = write(
        client,
        "/v1/rights",
        office,
        {
            "jurisdiction": "KR",
            "kind": "patent",
            "number": "10-2024-0123456",
            "title": "Gripper with compliant fingers for fruit harvesting",
            "document_hash": "0x" + hashlib.sha256(b"specification").hexdigest(),
            "filing_date": "2023-03-01",
            "registration_date": "2024-06-15",
            "expiry_date": "2043-03-01",
            "owners": [
                {"participant_id": ACME, "bps": 5000},
                {"participant_id": UNIVERSITY, "bps": 5000},
            ],
        },
    )
    right = "0x" + asset_id(b"KR", AssetKind.PATENT, "10-2024-0123456").hex()
    assert registered["subject"] == {"asset_ids": [right]}

    # Acme prepares the assignment; the three parties sign it with their own keys.
    acme_session = sign_in(client, acme)
    draft = client.post(
        "/v1/assignments/typed-data",
        headers=acme_session,
        json={
            "asset_id": right,
            "assignor": ACME,
            "assignee": BETA,
            "share_bps": 5000,
            "terms_hash": "0x" + hashlib.sha256(b"deed of assignment").hexdigest(),
            "assignor_key": acme.address,
        },
    )
    assert draft.status_code == 200, draft.text
    assert [s["participant_id"] for s in draft.json()["signers"]] == [ACME, BETA, UNIVERSITY]
    typed_data = draft.json()["typed_data"]
    signatures = [
        {"signer": key.address, "signature": "0x" + key.sign_typed_data(typed_data).hex()}
        for key in (acme, beta, university)
    ]
    filed = write(
        client,
        "/v1/assignments",
        acme_session,
        {"typed_data": typed_data, "signatures": signatures},
    )
    assignment = str(filed["subject"]["assignment_id"])  # type: ignore[index]
    assert assignment == draft.json()["digest"]

    pending = client.get("/v1/assignments/pending").json()["items"]
    assert [a["assignment_id"] for a in pending] == [assignment]
    assert client.get(f"/v1/assignments/{assignment}").json()["decision"] is None
    write(client, f"/v1/assignments/{assignment}/register", office, None)

    title = client.get(f"/v1/rights/{right}/title")
    assert title.status_code == 200, title.text
    steps = title.json()
    assert [step["kind"] for step in steps] == ["registration", "assignment"]
    decided = steps[1]["assignment"]
    assert decided["status"] == "registered"
    assert decided["signers"] == [acme.address, beta.address, university.address]
    assert sorted((o["participant_id"], o["bps"]) for o in decided["decision"]["owners_after"]) == [
        (BETA, 5000),
        (UNIVERSITY, 5000),
    ]
    read = client.get(f"/v1/assignments/{assignment}")
    assert read.status_code == 200, read.text
    assert read.json()["status"] == "registered"
    assert read.json()["decision"] == decided["decision"]
    owners = client.get(f"/v1/rights/{right}/owners").json()
    assert sorted((o["participant_id"], o["bps"]) for o in owners) == [
        (BETA, 5000),
        (UNIVERSITY, 5000),
    ]
    identity = client.get(f"/v1/participants/{beta.address}/identity")
    assert identity.status_code == 200, identity.text
