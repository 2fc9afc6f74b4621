"""Security headers: nosniff on every answer, no-store on sign-in answers, a strict policy on
HTML (the docs pages allow only their own inline script and the CDN)."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ledger.artifacts import ArtifactSet
from registry_api.app import create_app
from tests.registry_api.service.conftest import Service, _embedded
from tests.support.api import sign_in
from wallets.signer import LocalSigner

ON_EMBEDDED = pytest.mark.parametrize("service", ["embedded-sqlite"], indirect=True)


@ON_EMBEDDED
def test_every_answer_says_nosniff(service: Service) -> None:
    client = service.client
    answers = [
        client.get("/v1/health"),
        client.get("/openapi.json"),
        client.get("/v1/rights/0x" + "00" * 32),  # 404
        client.delete("/v1/health"),  # 405
        client.post("/v1/auth/challenge", content=b"[" * 100),  # the body guard's own 400
        client.post("/v1/auth/challenge", json={"address": "nope"}),  # 422
        client.get("/docs"),
    ]

    for answer in answers:
        assert answer.headers.get("x-content-type-options") == "nosniff", answer.request.url


@ON_EMBEDDED
def test_challenges_and_tokens_are_not_stored_by_caches(service: Service) -> None:
    client = service.client
    challenge = client.post("/v1/auth/challenge", json={"address": service.office.address})
    signature = service.office.sign_message(challenge.json()["message"])
    token = client.post(
        "/v1/auth/token",
        json={"nonce": challenge.json()["nonce"], "signature": "0x" + signature.hex()},
    )
    refused = client.post("/v1/auth/token", json={"nonce": "0" * 32, "signature": "0x00"})

    for answer in (challenge, token, refused):
        assert answer.headers.get("cache-control") == "no-store", answer.text
    assert token.status_code == 200, token.text
    assert "no-store" not in client.get("/v1/health").headers.get("cache-control", "")
    assert sign_in(client, service.office)  # the header does not get in the way of signing in


@ON_EMBEDDED
@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_docs_pages_run_only_their_own_inline_code(service: Service, path: str) -> None:
    answer = service.client.get(path)

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    policy = answer.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert directives["frame-ancestors"] == "'none'"
    for kind, content in re.findall(r"<(script|style)>(.*?)</\1>", answer.text, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(content.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in directives[f"{kind}-src"].split(), kind
    assert "openapi.json" in answer.text


def test_behind_a_tls_proxy_sign_in_messages_name_the_public_site(
    tmp_path: Path, artifacts: ArtifactSet
) -> None:
    registry, _office = _embedded(tmp_path, artifacts, public_url="https://registry.example.org")
    try:
        with TestClient(create_app(registry)) as client:
            address = LocalSigner.generate().address
            answer = client.post("/v1/auth/challenge", json={"address": address})
    finally:
        registry.close()

    message = answer.json()["message"]
    assert message.startswith("registry.example.org wants you to sign in")
    assert "\nURI: https://registry.example.org\n" in message
