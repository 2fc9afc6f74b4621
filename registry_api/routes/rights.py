"""Rights: registration (one, bulk JSON, CSV upload) and status by the office; public reads."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, File, Path, Query, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from registry_api import schemas
from registry_api.db.models import ImportRow, OperationRow
from registry_api.dependencies import BufferedBody, OfficeWrite, SessionDep
from registry_api.errors import NotFound, PayloadTooLarge, Unprocessable
from registry_api.mirror import queries
from registry_api.routes.operations import import_view
from registry_api.routes.params import ACCEPTED, ACCEPTED_IMPORT, AssetId, Cursor, Limit

# The CSV upload is a form: its body is read before parsing, for the idempotency hash.
router = APIRouter(prefix="/rights", tags=["rights"], route_class=BufferedBody)

CSV_COLUMNS = (
    "jurisdiction",
    "kind",
    "number",
    "title",
    "document_hash",
    "filing_date",
    "registration_date",
    "expiry_date",
    "owners",
)
#: CSV uploads are read whole: bounded here (the request limit of uploads is the hard one).
MAX_CSV_BYTES = 20 << 20


@router.post("", status_code=202, responses=ACCEPTED)
def register(body: schemas.RightInput, write: OfficeWrite) -> JSONResponse:
    """Register a right with its owners (office)."""
    return write.accept_one(
        lambda: write.desk.register_rights(write.session, write.principal, [body])[1][0]
    )


@router.post("/bulk", status_code=202, responses=ACCEPTED_IMPORT)
def register_bulk(body: schemas.BulkRightsRequest, write: OfficeWrite) -> JSONResponse:
    """Register many rights: sent in batches, one transaction each; follow /v1/imports/{id}."""
    return _import(write, body.rights)


@router.post("/import", status_code=202, responses=ACCEPTED_IMPORT)
def register_csv(
    write: OfficeWrite,
    file: Annotated[UploadFile, File(description="CSV with a header: " + ",".join(CSV_COLUMNS))],
) -> JSONResponse:
    """Register the rights of a CSV file (owners as `id:bps;id:bps`); as /rights/bulk."""
    data = file.file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise PayloadTooLarge(f"the file is larger than {MAX_CSV_BYTES} bytes")
    return _import(write, parse_csv(data))


def _import(write: OfficeWrite, rights: list[schemas.RightInput]) -> JSONResponse:
    """One right is one operation; more are an import of batches, answered as the import."""

    def act() -> Sequence[OperationRow]:
        return write.desk.register_rights(write.session, write.principal, rights)[1]

    def render(rows: Sequence[OperationRow]) -> BaseModel:
        imported = rows[0].import_id and write.session.get(ImportRow, rows[0].import_id)
        if not imported:
            return write.desk.view(write.session, rows[0])
        return import_view(write.session, write.desk, imported)

    return write.accept(act, render)


def parse_csv(data: bytes) -> list[schemas.RightInput]:
    """Rights from CSV; every bad row is reported with its line number."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable("the file is not UTF-8 text") from exc
    try:
        return _rights_of(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as exc:  # e.g. a stray carriage return in an unquoted field
        raise Unprocessable(f"the file is not valid CSV: {exc}") from exc


def _rights_of(reader: csv.DictReader[str]) -> list[schemas.RightInput]:
    if reader.fieldnames is None or tuple(reader.fieldnames) != CSV_COLUMNS:
        raise Unprocessable(
            "the header must be exactly: " + ",".join(CSV_COLUMNS),
            {"header": list(reader.fieldnames or [])},
        )
    rights: list[schemas.RightInput] = []
    problems: list[dict[str, object]] = []
    for row in reader:
        # The JSON bulk request's cap, checked as the rows stream in: a longer file is refused
        # before its rows are validated, and before any chain work.
        if len(rights) + len(problems) == schemas.MAX_BULK_RIGHTS:
            raise Unprocessable(
                f"the file has more than {schemas.MAX_BULK_RIGHTS:,} rights: split it into "
                "several imports",
                {"limit": schemas.MAX_BULK_RIGHTS},
            )
        line = reader.line_num
        try:
            rights.append(
                schemas.RightInput.model_validate(
                    {
                        **{k: v for k, v in row.items() if k != "owners" and v not in ("", None)},
                        "owners": _owners(row.get("owners") or ""),
                    }
                )
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            problems.append({"line": line, "problem": f"{where}: {first['msg']}".lstrip(": ")})
        except ValueError as exc:  # the owners column
            problems.append({"line": line, "problem": f"owners: {exc}"})
    if problems:
        raise Unprocessable(
            f"{len(problems)} rows of the file are invalid", {"rows": problems[:100]}
        )
    if not rights:
        raise Unprocessable("the file has no rights")
    return rights


def _owners(text: str) -> list[dict[str, int]]:
    owners = []
    for part in text.split(";"):
        participant, _, bps = part.partition(":")
        owners.append({"participant_id": int(participant), "bps": int(bps)})
    return owners


@router.get("", response_model=schemas.Page[schemas.RightView])
def rights(
    session: SessionDep,
    q: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Words of the title")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> schemas.Page[schemas.RightView]:
    """The register, newest last; or a full-text search over titles."""
    page = (
        queries.search_rights(session, q, cursor, limit)
        if q
        else queries.rights_page(session, cursor, limit)
    )
    return schemas.Page[schemas.RightView](
        items=[schemas.RightView.of(right) for right in page.items], next_cursor=page.next_cursor
    )


@router.get("/by-number/{jurisdiction}/{number}", response_model=list[schemas.RightView])
def by_number(
    jurisdiction: Annotated[str, Path(pattern=r"^[A-Z]{2}$")],
    number: Annotated[str, Path(pattern=r"^[A-Z0-9./-]{1,32}$")],
    session: SessionDep,
) -> list[schemas.RightView]:
    """The rights with this official number in this jurisdiction (one per kind at most)."""
    return [
        schemas.RightView.of(right)
        for right in queries.rights_by_number(session, jurisdiction, number)
    ]


@router.get("/{asset_id}", response_model=schemas.RightView)
def right(asset_id: AssetId, session: SessionDep) -> schemas.RightView:
    found = queries.right_by_id(session, asset_id)
    if found is None:
        raise NotFound(f"no right 0x{asset_id.hex()} in the register")
    return schemas.RightView.of(found)


@router.get("/{asset_id}/owners", response_model=list[schemas.OwnerView])
def owners(asset_id: AssetId, session: SessionDep) -> list[schemas.OwnerView]:
    if queries.right_by_id(session, asset_id) is None:
        raise NotFound(f"no right 0x{asset_id.hex()} in the register")
    return [
        schemas.OwnerView(participant_id=o.participant_id, bps=o.bps)
        for o in queries.owners_of(session, asset_id)
    ]


@router.get("/{asset_id}/title", response_model=list[schemas.TitleEntryView])
def chain_of_title(asset_id: AssetId, session: SessionDep) -> list[schemas.TitleEntryView]:
    """Every registration, assignment and status change of the right, in chain order."""
    entries = queries.chain_of_title(session, asset_id)
    if not entries:
        raise NotFound(f"no right 0x{asset_id.hex()} in the register")
    return [schemas.title_entry(entry) for entry in entries]


@router.post("/{asset_id}/status", status_code=202, responses=ACCEPTED)
def status(asset_id: AssetId, body: schemas.RightStatusRequest, write: OfficeWrite) -> JSONResponse:
    """Move a right to another status, with a reason code (office)."""
    return write.accept_one(
        lambda: write.desk.right_status(write.session, write.principal, asset_id, body)
    )
