"""Errors of the HTTP API: one root carrying its status; one handler renders them all.

Every refusal is a 4xx with a machine-readable `code` and a human `message` (and `details` where
they help); a 5xx means a fault of the service, never of the request, and shows no internals.
The node or the database down, hung or locked is a 503 with its code (`node_unavailable`,
`database_unavailable`), in bounded time; every 5xx closes the connection (`Connection: close`)
so that a client does not reuse a connection to a service that is failing.
Contract refusals keep the custom error's name as their code and its arguments as details; their
family says the status (forbidden 403, not found 404, conflict 409, refused 422).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import ClassVar

import httpx
import requests
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from web3.exceptions import ProviderConnectionError

from ledger.chain import ReceiptTimeout
from ledger.errors import ContractError, LedgerError
from ledger.typed_data import TypedDataError
from registry_api.db.session import DatabaseFileGone
from registry_api.faults import database_fault, node_fault
from registry_api.headers import NOSNIFF
from registry_api.identity.service import IdentityError
from registry_api.relayer.dispatcher import error_details

log = logging.getLogger(__name__)

_FAMILY_STATUS = {"forbidden": 403, "not_found": 404, "conflict": 409, "refused": 422}
#: Codes of the statuses that routing, body parsing and identification raise on their own.
_STATUS_CODE = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}
#: Who a contract error's name says refused, by its prefix.
_REFUSERS = {
    "IPAssetRegistry": "the IP asset registry",
    "ParticipantRegistry": "the participant registry",
    "Approval": "the approval check",
    "AccessControl": "access control",
}


class ApiError(Exception):
    """A refusal (or a fault) with its HTTP status, a stable code and a sentence."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, details: Mapping[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = dict(details or {})

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries besides the body."""
        return {}


class BadRequest(ApiError):
    pass


class MalformedJson(BadRequest):
    """A body that does not parse as JSON, named by the line and column where parsing stopped."""

    code = "malformed_json"

    @classmethod
    def at(cls, document: str, position: int, problem: str) -> MalformedJson:
        # json's own error computes line and column from the offset the parser stopped at.
        where = json.JSONDecodeError(problem, document, position)
        return cls(
            f"the body is not JSON: line {where.lineno}, column {where.colno}: {problem}",
            {"line": where.lineno, "column": where.colno},
        )


class Unauthenticated(ApiError):
    status_code = 401
    code = "unauthenticated"


class Forbidden(ApiError):
    status_code = 403
    code = "forbidden"


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class Conflict(ApiError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    status_code = 413
    code = "payload_too_large"


class Unprocessable(ApiError):
    status_code = 422
    code = "unprocessable"


class IdempotencyKeyReused(Unprocessable):
    """The key of an earlier write, with another request (IETF idempotency-key draft: 422)."""

    code = "idempotency_key_reused"


class RateLimited(ApiError):
    """Too many requests from one client; `Retry-After` says when the next one is counted."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many requests from this client: try again in {retry_after} s",
            {"retry_after": retry_after},
        )
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ServiceUnavailable(ApiError):
    status_code = 503
    code = "service_unavailable"


class NodeUnavailable(ServiceUnavailable):
    """The chain's node is down or did not answer within `node_timeout_seconds`."""

    code = "node_unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    """The database is locked past `database_timeout_seconds`, unreachable, or gone."""

    code = "database_unavailable"


#: What the node's faults are raised as, by the HTTP clients that web3 uses.
NODE_FAULTS: tuple[type[Exception], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    httpx.TransportError,
    ProviderConnectionError,
)


def body(code: str, message: str, details: Mapping[str, object] | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "details": dict(details or {})}}


def install_handlers(app: FastAPI) -> None:
    """Render every error the API can raise, once, in one shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, error: ApiError) -> JSONResponse:
        response = answer(error.status_code, body(error.code, error.message, error.details))
        response.headers.update(error.headers)
        return response

    @app.exception_handler(ContractError)
    async def _contract_error(_request: Request, error: ContractError) -> JSONResponse:
        status = _FAMILY_STATUS.get(error.family, 422)
        return JSONResponse(
            body(type(error).__name__, contract_sentence(error), error_details(error)), status
        )

    @app.exception_handler(IdentityError)
    async def _identity(_request: Request, error: IdentityError) -> JSONResponse:
        status = error.http_status
        return answer(status, body(_STATUS_CODE.get(status, "bad_request"), str(error)))

    @app.exception_handler(TypedDataError)
    async def _typed_data(_request: Request, error: TypedDataError) -> JSONResponse:
        return JSONResponse(body("invalid_typed_data", str(error)), 422)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        malformed = _malformed_json(error)
        if malformed is not None:  # a syntax error is the client's bytes, not the schema: 400
            return await _api_error(request, malformed)
        problems = [
            {"location": [str(part) for part in item.get("loc", ())], "problem": item.get("msg")}
            for item in error.errors()
        ]
        return JSONResponse(
            body(
                "invalid_request", "the request does not match the schema", {"problems": problems}
            ),
            422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODE.get(error.status_code, "http_error")
        response = answer(error.status_code, body(code, str(error.detail)))
        response.headers.update(error.headers or {})
        return response

    @app.exception_handler(ReceiptTimeout)
    async def _timeout(_request: Request, error: ReceiptTimeout) -> JSONResponse:
        return answer(503, body("chain_timeout", str(error)))

    @app.exception_handler(LedgerError)
    async def _ledger(_request: Request, error: LedgerError) -> JSONResponse:
        log.error("ledger error: %s", error)
        return answer(502, body("ledger_error", str(error)))

    async def _node(request: Request, error: Exception) -> JSONResponse:
        # A fault of the node, not of this service: one line, no traceback.
        words = node_fault(error) or "the chain's node failed"
        log.warning("%s %s: %s", request.method, request.url.path, words)
        return await _api_error(request, NodeUnavailable(f"{words}: try again later"))

    for fault in NODE_FAULTS:
        app.add_exception_handler(fault, _node)

    async def _database(request: Request, error: Exception) -> JSONResponse:
        words = database_fault(error)
        if words is None:  # an error of ours (SQL, a constraint): a bug
            return await _fault(request, error)
        log.warning("%s %s: %s", request.method, request.url.path, words)
        return await _api_error(request, DatabaseUnavailable(f"{words}: try again later"))

    for fault in (DBAPIError, DatabaseFileGone):
        app.add_exception_handler(fault, _database)

    @app.exception_handler(Exception)
    async def _fault(request: Request, error: Exception) -> JSONResponse:
        if node_fault(error) is not None:  # wrapped in another exception on its way up
            return await _node(request, error)
        if database_fault(error) is not None:
            return await _database(request, error)
        log.exception("unhandled error")
        return answer(500, body("internal_error", "the service failed; the fault is logged"))


def _malformed_json(error: RequestValidationError) -> MalformedJson | None:
    """The body's JSON syntax error, as FastAPI reports it (type `json_invalid`, the offset last
    in `loc`, json's message in `ctx`), or None for any other validation error."""
    for item in error.errors():
        if item.get("type") != "json_invalid":
            continue
        location = item.get("loc", ())
        position = location[-1] if location and isinstance(location[-1], int) else 0
        problem = str(item.get("ctx", {}).get("error", "not JSON"))
        document = error.body if isinstance(error.body, str) else ""
        return MalformedJson.at(document, position, problem)
    return None


def answer(status: int, payload: Mapping[str, object]) -> JSONResponse:
    """An error's answer; after a 5xx the connection is closed, not kept for the next request.

    A 500 is rendered outside every middleware (Starlette's outermost layer), so it carries the
    security headers itself.
    """
    headers = {"Connection": "close", **NOSNIFF} if status >= 500 else None
    return JSONResponse(dict(payload), status, headers)


def contract_sentence(error: ContractError) -> str:
    """A contract's refusal in words: who refused, what (the error's own docstring, or its name
    in words), and its values; the code and the details carry the same for machines."""
    name = type(error).__name__
    refuser, rest = "the contract", name
    for prefix, who in _REFUSERS.items():
        if name.startswith(prefix) and name != prefix:
            refuser, rest = who, name[len(prefix) :]
            break
    documented = type(error).__dict__.get("__doc__")
    if documented:
        what = documented.strip().splitlines()[0].rstrip(".")
        what = what[0].lower() + what[1:]
    else:
        what = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", rest).lower()
    values = ", ".join(f"{key} {value}" for key, value in error_details(error).items())
    return f"refused by {refuser}: {what}" + (f" ({values})" if values else "")
