"""Path and query parameters shared by the routers, validated before any route runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query

HEX32 = r"^0x[0-9a-fA-F]{64}$"


def _asset_id(asset_id: Annotated[str, Path(pattern=HEX32)]) -> bytes:
    return bytes.fromhex(asset_id[2:])


def _assignment_id(assignment_id: Annotated[str, Path(pattern=HEX32)]) -> bytes:
    return bytes.fromhex(assignment_id[2:])


AssetId = Annotated[bytes, Depends(_asset_id)]
AssignmentId = Annotated[bytes, Depends(_assignment_id)]
ParticipantIdPath = Annotated[int, Path(ge=1, le=2**64 - 1)]
Cursor = Annotated[str | None, Query(pattern=r"^\d{1,20}\.\d{1,10}$", description="next_cursor")]
Limit = Annotated[int, Query(ge=1, le=200)]

#: The answer of a write: the operation it became, accepted into the outbox.
ACCEPTED: dict[int | str, dict[str, object]] = {
    202: {"description": "Accepted into the outbox: the operation and where it is"}
}
