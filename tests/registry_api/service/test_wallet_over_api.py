"""A rights holder's wallet against the registry API alone: sign in, review and sign typed data
(legal names and the official number shown, checked against the office root), rotate a key."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
from typer.testing import CliRunner

from registry_api.cli import app
from tests.registry_api.service.conftest import Service
from tests.support.api import enrol, sign_in, write
from wallets.keystore import WalletDirectory

runner = CliRunner()
ACME, BETA, UNIVERSITY = 10, 11, 12
PASSWORD = "wallet password 1"


def _wallet(root: Path, name: str, password_file: Path) -> WalletDirectory:
    result = runner.invoke(
        app,
        ["wallet", "new", name, "--wallet-dir", str(root), "--password-file", str(password_file)],
    )
    assert result.exit_code == 0, result.output
    return WalletDirectory(root)


def test_wallets_sign_in_review_sign_and_rotate_through_the_registry(
    service: Service, served: str, tmp_path: Path
) -> None:
    client = service.client
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD)
    wallets = {
        name: _wallet(tmp_path / name, name, password_file) for name in ("acme", "beta", "uni")
    }
    keys = {name: w.keystore(w.find(name)).unlock(PASSWORD) for name, w in wallets.items()}
    office = sign_in(client, service.office)
    for pid, name, legal in (
        (ACME, "acme", "Acme Robotics Ltd"),
        (BETA, "beta", "Beta Devices Co"),
        (UNIVERSITY, "uni", "Hanbit University"),
    ):
        enrol(client, office, pid, keys[name], legal)
    right = write(
        client,
        "/v1/rights",
        office,
        {
            "jurisdiction": "KR",
            "kind": "patent",
            "number": "10-2024-0000777",
            "title": "Soft gripper",
            "document_hash": "0x" + hashlib.sha256(b"spec").hexdigest(),
            "filing_date": "2023-01-02",
            "owners": [
                {"participant_id": ACME, "bps": 5000},
                {"participant_id": UNIVERSITY, "bps": 5000},
            ],
        },
    )["subject"]["asset_ids"][0]  # type: ignore[index]

    login = runner.invoke(
        app,
        [
            "wallet",
            "login",
            "--registry",
            served,
            "--wallet-dir",
            str(tmp_path / "acme"),
            "--password-file",
            str(password_file),
        ],
    )
    assert login.exit_code == 0, login.output
    me = httpx.get(
        f"{served}/v1/auth/me", headers={"Authorization": f"Bearer {login.output.strip()}"}
    )
    assert me.json()["participant_id"] == ACME

    acme_session = sign_in(client, keys["acme"])
    draft = client.post(
        "/v1/assignments/typed-data",
        headers=acme_session,
        json={
            "asset_id": right,
            "assignor": ACME,
            "assignee": BETA,
            "share_bps": 5000,
            "terms_hash": "0x" + hashlib.sha256(b"deed").hexdigest(),
            "assignor_key": keys["acme"].address,
        },
    ).json()
    typed_data = tmp_path / "assignment.json"
    typed_data.write_text(json.dumps(draft["typed_data"]))
    root = service.registry.ca.root_path if service.registry.ca else None
    assert root is not None
    signatures = []
    for name in ("acme", "beta", "uni"):
        out = tmp_path / f"{name}.sig.json"
        signed = runner.invoke(
            app,
            [
                "wallet", "sign", str(typed_data), "--registry", served,
                "--office-root", str(root), "--yes", "--out", str(out),
                "--wallet-dir", str(tmp_path / name), "--password-file", str(password_file),
            ],
        )  # fmt: skip
        assert signed.exit_code == 0, signed.output
        shown = " ".join(signed.output.split())
        assert "KR patent 10-2024-0000777" in shown
        assert "Acme Robotics Ltd (participant 10)" in shown
        assert "Beta Devices Co (participant 11)" in shown
        saved = json.loads(out.read_text())
        signatures.append({"signer": saved["signer"], "signature": saved["signature"]})
    filed = write(
        client,
        "/v1/assignments",
        acme_session,
        {"typed_data": draft["typed_data"], "signatures": signatures},
    )
    write(client, f"/v1/assignments/{filed['subject']['assignment_id']}/register", office, None)  # type: ignore[index]
    owners = client.get(f"/v1/rights/{right}/owners").json()
    assert sorted((o["participant_id"], o["bps"]) for o in owners) == [
        (BETA, 5000),
        (UNIVERSITY, 5000),
    ]

    # Typed data for another chain is refused before anything is signed.
    tampered = dict(draft["typed_data"])
    tampered["domain"] = {**draft["typed_data"]["domain"], "chainId": 1}
    tampered["message"] = {**draft["typed_data"]["message"], "chainId": 1}
    typed_data.write_text(json.dumps(tampered))
    refused = runner.invoke(
        app,
        [
            "wallet",
            "sign",
            str(typed_data),
            "--registry",
            served,
            "--yes",
            "--wallet-dir",
            str(tmp_path / "beta"),
            "--password-file",
            str(password_file),
        ],
    )
    assert refused.exit_code == 1
    assert "refusing to sign" in refused.output

    # Beta rotates its key through the registry; the wallet then signs with the new key.
    old = keys["beta"].address
    rotated = runner.invoke(
        app,
        [
            "wallet",
            "rotate",
            "--registry",
            served,
            "--yes",
            "--wallet-dir",
            str(tmp_path / "beta"),
            "--password-file",
            str(password_file),
        ],
    )
    assert rotated.exit_code == 0, rotated.output
    new = wallets["beta"].find("beta").address
    assert new != old
    assert client.get(f"/v1/keys/{new}").json()["participant_id"] == BETA
    assert client.get(f"/v1/keys/{old}").json()["retired"] is True
