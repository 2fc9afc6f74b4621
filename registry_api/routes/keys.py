"""Key rotation: the current key signs, the office records it."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from registry_api import schemas
from registry_api.dependencies import DeskDep, ParticipantWrite, PrincipalDep
from registry_api.routes.params import ACCEPTED

router = APIRouter(prefix="/keys", tags=["keys"])


@router.post("/rotation/typed-data", response_model=schemas.TypedDataView)
def rotation_typed_data(
    body: schemas.KeyRotationDraftRequest, _caller: PrincipalDep, desk: DeskDep
) -> schemas.TypedDataView:
    """The EIP-712 key rotation for the current key to sign, with its next nonce."""
    return desk.key_rotation_draft(body)


@router.post("/rotation", status_code=202, responses=ACCEPTED)
def rotate(body: schemas.KeyRotationSubmission, write: ParticipantWrite) -> JSONResponse:
    """Submit a rotation signed by the current key; the office records it."""
    return write.accept_one(lambda: write.desk.rotate_key(write.session, write.principal, body))
