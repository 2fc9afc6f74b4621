"""Assignments: typed data to sign, submission of signatures, the office's decision, reads."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from registry_api import schemas
from registry_api.dependencies import (
    DeskDep,
    OfficeWrite,
    ParticipantWrite,
    PrincipalDep,
    SessionDep,
)
from registry_api.errors import NotFound
from registry_api.mirror import queries
from registry_api.routes.params import ACCEPTED, AssignmentId, Cursor, Limit

router = APIRouter(prefix="/assignments", tags=["assignments"])


@router.post("/typed-data", response_model=schemas.TypedDataView)
def typed_data(
    body: schemas.AssignmentDraftRequest, _caller: PrincipalDep, session: SessionDep, desk: DeskDep
) -> schemas.TypedDataView:
    """The EIP-712 assignment for the parties to sign, and who must sign it, in order."""
    return desk.assignment_draft(session, body)


@router.post("", status_code=202, responses=ACCEPTED)
def file(body: schemas.AssignmentSubmission, write: ParticipantWrite) -> JSONResponse:
    """File a signed assignment: assignor's signature first, assignee's, then co-owners'."""
    return write.accept_one(
        lambda: write.desk.file_assignment(write.session, write.principal, body)
    )


@router.get("/pending", response_model=schemas.Page[schemas.AssignmentView])
def pending(
    session: SessionDep, cursor: Cursor = None, limit: Limit = 50
) -> schemas.Page[schemas.AssignmentView]:
    """Filed assignments awaiting the office's decision, oldest first."""
    page = queries.pending_assignments(session, cursor, limit)
    return schemas.Page[schemas.AssignmentView](
        items=[schemas.AssignmentView.of(a) for a in page.items], next_cursor=page.next_cursor
    )


@router.get("/{assignment_id}", response_model=schemas.AssignmentView)
def assignment(assignment_id: AssignmentId, session: SessionDep) -> schemas.AssignmentView:
    found = queries.assignment_by_id(session, assignment_id)
    if found is None:
        raise NotFound(f"no assignment 0x{assignment_id.hex()} in the register")
    return schemas.AssignmentView.of(found, queries.assignment_decision(session, found))


@router.post("/{assignment_id}/register", status_code=202, responses=ACCEPTED)
def register(assignment_id: AssignmentId, write: OfficeWrite) -> JSONResponse:
    """Register a filed assignment, after the chain examines it again (office)."""
    return write.accept_one(
        lambda: write.desk.register_assignment(write.session, write.principal, assignment_id)
    )


@router.post("/{assignment_id}/reject", status_code=202, responses=ACCEPTED)
def reject(
    assignment_id: AssignmentId, body: schemas.RejectRequest, write: OfficeWrite
) -> JSONResponse:
    """Reject a filed assignment with a reason code (office)."""
    return write.accept_one(
        lambda: write.desk.reject_assignment(
            write.session, write.principal, assignment_id, body.reason_code
        )
    )
