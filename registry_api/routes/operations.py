"""Operations (accepted writes) and imports (bulk registrations): where each one is."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from registry_api import schemas
from registry_api.db.models import ImportRow, OperationRow
from registry_api.dependencies import DeskDep, SessionDep
from registry_api.errors import NotFound
from registry_api.relayer.outbox import operations_of_import

router = APIRouter(tags=["operations"])

Uuid = Annotated[
    str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
]


@router.get("/operations/{operation_id}", response_model=schemas.OperationView)
def operation(operation_id: Uuid, session: SessionDep, desk: DeskDep) -> schemas.OperationView:
    """Queued, sent, mined, applied (queryable), or failed with the contract's reason."""
    row = session.get(OperationRow, operation_id)
    if row is None:
        raise NotFound(f"no operation {operation_id}")
    return desk.view(session, row)


@router.get("/imports/{import_id}", response_model=schemas.ImportView)
def bulk_import(import_id: Uuid, session: SessionDep, desk: DeskDep) -> schemas.ImportView:
    """A bulk registration's batches and how far each has got."""
    row = session.get(ImportRow, import_id)
    if row is None:
        raise NotFound(f"no import {import_id}")
    return import_view(session, desk, row)


def import_view(session: SessionDep, desk: DeskDep, row: ImportRow) -> schemas.ImportView:
    views = [desk.view(session, op) for op in operations_of_import(session, row.id)]
    progress: dict[str, int] = {}
    for view in views:
        progress[view.status] = progress.get(view.status, 0) + 1
    done = all(view.status in ("applied", "failed") for view in views)
    return schemas.ImportView(
        id=row.id,
        rights=row.rights,
        batches=row.batches,
        progress=progress,
        done=done,
        operations=views,
    )
