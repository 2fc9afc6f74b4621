"""The HTTP API of the registry: `create_app(registry)`, versioned under /v1, OpenAPI at
/openapi.json, docs at /docs."""

from __future__ import annotations

import dataclasses
import email.message
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from embedded_chain.nesting import MAX_JSON_DEPTH, JsonDepth, bound_recursion
from registry_api.desk import Desk
from registry_api.errors import body, install_handlers
from registry_api.faults import database_fault, node_fault
from registry_api.headers import SecurityHeaders, install_docs
from registry_api.mirror import queries
from registry_api.rate_limit import RateLimit
from registry_api.registry import Registry
from registry_api.relayer.outbox import queued_count
from registry_api.routes import (
    assignments,
    auth,
    deployment,
    keys,
    operations,
    participants,
    rights,
)
from registry_api.routes.params import ERRORS

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Paths that take file uploads, with their own (larger) limit.
UPLOAD_PATHS = ("/v1/rights/import", "/v1/rights/bulk")


class Part(BaseModel):
    """Whether a part the service needs answers, and if not, why, in words."""

    up: bool
    problem: str | None


def create_app(registry: Registry) -> FastAPI:
    bound_recursion()  # before the server starts the threads that answer requests
    app = FastAPI(
        title="IP Rights Ledger registry",
        version="1",
        description=(
            "The office's registry of IP rights: public reads of the register (mirrored from "
            "the chain), and writes that the office signs and relays. Writes take an "
            "Idempotency-Key header and answer 202 with the operation they became; "
            "?wait=true answers once the write is queryable."
        ),
        responses=ERRORS,
        docs_url=None,  # served by install_docs, under a Content-Security-Policy
        redoc_url=None,
    )
    install_docs(app, app.openapi_url or "/openapi.json")
    app.state.registry = registry
    app.state.desk = Desk(registry)
    app.state.sign_in_rate_limit = RateLimit(
        registry.settings.auth_rate_limit, registry.settings.auth_rate_limit_storage
    )
    install_handlers(app)
    for router in (auth, deployment, participants, rights, assignments, keys, operations):
        app.include_router(router.router, prefix="/v1")

    @app.get("/v1/health", tags=["service"])
    def health() -> dict[str, object]:
        """The chain's head, how far the mirror has got (or why it stopped), the outbox's queue,
        and whether the node and the database answer.

        Always 200 while the service itself runs: a node or a database that is down is reported
        (`status` "degraded", the part's `up` false and its `problem` in words), and what it
        would have told is null; a mirror stopped before a log it cannot apply is "degraded"
        too. The node is shared by every instance, so taking an instance out of a load balancer
        for it would not help; read `status` to alert.
        """
        node = database = Part(up=True, problem=None)
        head = mirrored = queued = None
        try:
            head = int(registry.backend.w3.eth.block_number)
        except Exception as exc:  # every failure of the node is reported, none raised
            node = Part(up=False, problem=node_fault(exc) or "the chain's node failed")
        try:
            with registry.read_sessions() as session:
                mirrored = queries.mirror_status(session, registry.chain_id).block_number
                queued = queued_count(session, registry.outbox.sender)
        except Exception as exc:
            database = Part(up=False, problem=database_fault(exc) or "the database failed")
        fault = registry.indexer.fault
        return {
            "status": "ok" if node.up and database.up and fault is None else "degraded",
            "chain_id": registry.chain_id,
            "head": head,
            "mirrored_block": mirrored,
            # The log the mirror cannot apply, and why: it waits before that block (null: running).
            "mirror_stopped": None if fault is None else dataclasses.asdict(fault),
            "operations_in_flight": queued,
            "node": node.model_dump(),
            "database": database.model_dump(),
        }

    settings = registry.settings
    app.add_middleware(
        BodyLimit, limit=settings.max_request_bytes, upload_limit=settings.max_upload_bytes
    )
    app.add_middleware(SecurityHeaders)  # the outermost: on the body guard's refusals too
    return app


class _Refused(HTTPException):
    """A body refused while it streams in; rendered by the API's error handler."""


class BodyLimit:
    """Refuses request bodies over the size limit with 413, whether announced or streamed, and
    JSON bodies nested deeper than MAX_JSON_DEPTH with 400, before anything parses them."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if scope["path"] in UPLOAD_PATHS else self.limit
        too_large = f"the request body is larger than {limit} bytes"
        headers = scope.get("headers", ())
        for framing in (b"content-type", b"content-length"):
            # The framework reads the first of repeated headers, a proxy may read the last: a
            # body judged by one and parsed by the other is how a nested body got past this guard.
            repeats = sum(1 for name, _ in headers if name == framing)
            if repeats > 1:
                title = framing.decode().title()
                await _refuse(
                    send, 400, "bad_request", f"the request has {repeats} {title} headers: send one"
                )
                return
        content_type: bytes | None = None
        for name, value in headers:
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await _refuse(send, 413, "payload_too_large", too_large)
                return
            if name == b"content-type":
                content_type = value
        depth = JsonDepth() if parsed_as_json(content_type) else None
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > limit:
                    raise _Refused(413, too_large)
                if depth is not None and depth.feed(chunk) > MAX_JSON_DEPTH:
                    raise _Refused(400, f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _Refused as refusal:  # read outside the routes' error handling
            if not started:
                code = "payload_too_large" if refusal.status_code == 413 else "bad_request"
                await _refuse(send, refusal.status_code, code, refusal.detail)


def parsed_as_json(content_type: bytes | None) -> bool:
    """Whether FastAPI parses a body with this Content-Type as JSON: its own test, the same way
    (fastapi/routing.py): none or empty, or application/json or application/*+json by email's
    parser; Starlette decodes header values as Latin-1."""
    if not content_type:
        return True
    message = email.message.Message()
    message["content-type"] = content_type.decode("latin-1")
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    payload = json.dumps(body(code, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
