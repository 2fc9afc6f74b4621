"""Path and query parameters shared by the routers, validated before any route runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query

from registry_api import schemas

HEX32 = r"^0x[0-9a-fA-F]{64}$"


def _asset_id(asset_id: Annotated[str, Path(pattern=HEX32)]) -> bytes:
    return bytes.fromhex(asset_id[2:])


def _assignment_id(assignment_id: Annotated[str, Path(pattern=HEX32)]) -> bytes:
    return bytes.fromhex(assignment_id[2:])


AssetId = Annotated[bytes, Depends(_asset_id)]
AssignmentId = Annotated[bytes, Depends(_assignment_id)]
ParticipantIdPath = Annotated[int, Path(ge=1, le=schemas.MAX_PARTICIPANT_ID)]
#: A block number and a log index, within the database's signed 64-bit and 32-bit integers.
Cursor = Annotated[str | None, Query(pattern=r"^\d{1,18}\.\d{1,9}$", description="next_cursor")]
Limit = Annotated[int, Query(ge=1, le=200)]

#: The answer of a write: the operation it became, accepted into the outbox.
ACCEPTED: dict[int | str, dict[str, object]] = {
    202: {
        "model": schemas.OperationView,
        "description": "Accepted into the outbox: the operation and where it is",
    }
}
#: The answer of a bulk registration: one right is one operation, more are an import.
ACCEPTED_IMPORT: dict[int | str, dict[str, object]] = {
    202: {
        "model": schemas.OperationView | schemas.ImportView,
        "description": "Accepted into the outbox: the operation, or the import and its batches",
    }
}
#: Every route's refusals and faults, in the one shape the error handlers render.
ERRORS: dict[int | str, dict[str, object]] = {
    "4XX": {
        "model": schemas.ErrorBody,
        "description": (
            "Refused: the request cannot be done. A body that is not JSON is 400 "
            "`malformed_json` (the message and details name its line and column); one that does "
            "not match the schema is 422 `invalid_request`"
        ),
    },
    "5XX": {"model": schemas.ErrorBody, "description": "A fault of the service or the chain"},
}
