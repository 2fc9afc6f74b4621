"""A right the mirror cannot store, put on chain behind the API's back: the mirror stops before
its block and says why in /v1/health, on both backends, instead of moving past it."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from ledger.backends.base import DevelopmentFeatureUnavailable
from ledger.types import AssetInput, AssetKind, Share
from tests.registry_api.service.conftest import Service

OFFICE_ID = 1


def health(service: Service) -> dict[str, Any]:
    response = service.client.get("/v1/health")
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def until(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    """Wait for a condition the service's threads bring about (polled, bounded)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


def test_a_title_with_nul_put_on_chain_stops_the_mirror_with_the_reason_until_it_is_gone(
    service: Service,
) -> None:
    registry = service.registry
    until(lambda: health(service)["mirrored_block"] == health(service)["head"], "caught up")
    assert health(service)["mirror_stopped"] is None
    try:
        before: str | None = registry.backend.snapshot()
    except DevelopmentFeatureUnavailable:  # the embedded chain keeps a real register
        before = None
    now = int(registry.backend.w3.eth.get_block("latest")["timestamp"])

    # The office's own key, straight to the contract: the API would refuse this title.
    registered = registry.ledger.assets.register_asset(
        AssetInput(
            jurisdiction=b"KR",
            kind=AssetKind.PATENT,
            number="NUL-1",
            title="Gripper\x00with compliant fingers",
            document_hash=hashlib.sha256(b"NUL-1").digest(),
            filing_date=now - 86_400,
            registration_date=0,
            expiry_date=0,
            owners=(Share(OFFICE_ID, 10_000),),
        )
    )
    block, index = registered.receipt.block_number, registered.events[0].log.log_index
    right = f"/v1/rights/0x{registered.event.asset_id.hex()}"

    until(lambda: health(service)["mirror_stopped"] is not None, "the mirror stops")
    answer = health(service)
    stopped = answer["mirror_stopped"]
    assert (stopped["block_number"], stopped["log_index"]) == (block, index)
    assert stopped["contract"] == registry.ledger.manifest.contracts["IPAssetRegistry"].address
    assert "AssetRegistered.title holds U+0000" in stopped["reason"]
    assert answer["mirrored_block"] < block  # the checkpoint stays before the block
    assert answer["status"] == "degraded"
    assert service.client.get(right).status_code == 404  # not there yet, and health says why

    # On a chain that keeps a real register (the embedded one, Besu) the block stays, and the
    # mirror waits there until an operator acts (registry_api.mirror.apply says what): it stays
    # stopped. On a dev chain the block can be taken back, and the mirror goes on by itself.
    if before is None:
        assert health(service)["mirror_stopped"] == stopped
        return
    registry.backend.revert(before)
    until(lambda: health(service)["mirror_stopped"] is None, "the mirror resumes")
    until(lambda: health(service)["mirrored_block"] == health(service)["head"], "caught up again")
