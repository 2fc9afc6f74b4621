"""Participants: enrolment and status by the office, public records, identity checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from registry_api import schemas
from registry_api.dependencies import OfficeWrite, RegistryDep, SessionDep
from registry_api.errors import NotFound, ServiceUnavailable
from registry_api.identity.service import IdentityReport
from registry_api.mirror import queries
from registry_api.routes.params import ACCEPTED, Cursor, Limit, ParticipantIdPath

router = APIRouter(prefix="/participants", tags=["participants"])


@router.post("", status_code=202, responses=ACCEPTED)
def enrol(body: schemas.EnrolRequest, write: OfficeWrite) -> JSONResponse:
    """Issue the identified participant's certificate and enrol it (office).

    A participant with the OFFICE role is enrolled only by the founding office (the participant
    the relayer's key is bound to); any office participant enrols the other roles.
    """
    return write.accept_one(lambda: write.desk.enrol(write.session, write.principal, body))


@router.post("/{participant_id}/suspend", status_code=202, responses=ACCEPTED)
def suspend(
    participant_id: ParticipantIdPath, body: schemas.StatusChangeRequest, write: OfficeWrite
) -> JSONResponse:
    """Suspend a participant: its keys stop working at once (office, not on itself)."""
    return write.accept_one(
        lambda: write.desk.participant_status(
            write.session, write.principal, participant_id, "suspend", body.reason_code
        )
    )


@router.post("/{participant_id}/reinstate", status_code=202, responses=ACCEPTED)
def reinstate(participant_id: ParticipantIdPath, write: OfficeWrite) -> JSONResponse:
    """Lift a suspension (office, not on itself)."""
    return write.accept_one(
        lambda: write.desk.participant_status(
            write.session, write.principal, participant_id, "reinstate", 0
        )
    )


@router.post("/{participant_id}/revoke", status_code=202, responses=ACCEPTED)
def revoke(
    participant_id: ParticipantIdPath, body: schemas.StatusChangeRequest, write: OfficeWrite
) -> JSONResponse:
    """Revoke a participant for good (office, not on itself)."""
    return write.accept_one(
        lambda: write.desk.participant_status(
            write.session, write.principal, participant_id, "revoke", body.reason_code
        )
    )


@router.post("/{participant_id}/keys/recover", status_code=202, responses=ACCEPTED)
def recover_key(
    participant_id: ParticipantIdPath, body: schemas.RecoverKeyRequest, write: OfficeWrite
) -> JSONResponse:
    """Replace a participant's lost key, after re-identifying it (office, not on itself)."""
    return write.accept_one(
        lambda: write.desk.recover_key(write.session, write.principal, participant_id, body)
    )


@router.get("/{participant_id}", response_model=schemas.ParticipantView)
def participant(participant_id: ParticipantIdPath, session: SessionDep) -> schemas.ParticipantView:
    """A participant's public record: status, roles, certificate fingerprint, keys."""
    found = queries.participant_by_id(session, participant_id)
    if found is None:
        raise NotFound(f"no participant {participant_id}")
    return schemas.ParticipantView.of(found)


@router.get("/{participant_id}/rights", response_model=schemas.Page[schemas.RightView])
def rights_of(
    participant_id: ParticipantIdPath,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> schemas.Page[schemas.RightView]:
    """The rights a participant holds a share of."""
    page = queries.rights_of(session, participant_id, cursor, limit)
    return schemas.Page[schemas.RightView](
        items=[schemas.RightView.of(right) for right in page.items], next_cursor=page.next_cursor
    )


@router.get("/{reference}/identity", response_model=IdentityReport)
def identity(
    reference: Annotated[str, Path(pattern=r"^(0x[0-9a-fA-F]{40}|[1-9][0-9]{0,19})$")],
    registry: RegistryDep,
) -> IdentityReport:
    """Identify a counterparty by participant id or address: certificate and a verdict."""
    if registry.ca is None:
        raise ServiceUnavailable(
            "the office CA is not open here: identities cannot be checked against its certificates"
        )
    return registry.identity().identify(reference)
