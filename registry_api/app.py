"""The HTTP API of the registry: `create_app(registry)`, versioned under /v1, OpenAPI at
/openapi.json, docs at /docs."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI

from registry_api.desk import Desk
from registry_api.errors import body, install_handlers
from registry_api.mirror import queries
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

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Paths that take file uploads, with their own (larger) limit.
UPLOAD_PATHS = ("/v1/rights/import", "/v1/rights/bulk")


def create_app(registry: Registry) -> FastAPI:
    app = FastAPI(
        title="IP Rights Ledger registry",
        version="1",
        description=(
            "The office's registry of IP rights: public reads of the register (mirrored from "
            "the chain), and writes that the office signs and relays. Writes take an "
            "Idempotency-Key header and answer 202 with the operation they became; "
            "?wait=true answers once the write is queryable."
        ),
    )
    app.state.registry = registry
    app.state.desk = Desk(registry)
    install_handlers(app)
    for router in (auth, deployment, participants, rights, assignments, keys, operations):
        app.include_router(router.router, prefix="/v1")

    @app.get("/v1/health", tags=["service"])
    def health() -> dict[str, object]:
        """The chain's head, how far the mirror has got, and the outbox's queue."""
        with registry.read_sessions() as session:
            mirrored = queries.mirror_status(session, registry.chain_id)
            queued = queued_count(session, registry.outbox.sender)
        return {
            "chain_id": registry.chain_id,
            "head": int(registry.backend.w3.eth.block_number),
            "mirrored_block": mirrored.block_number,
            "operations_in_flight": queued,
        }

    settings = registry.settings
    app.add_middleware(
        BodyLimit, limit=settings.max_request_bytes, upload_limit=settings.max_upload_bytes
    )
    return app


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuses request bodies over the limit with 413, whether announced or streamed."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if scope["path"] in UPLOAD_PATHS else self.limit
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await _refuse(send, limit)
                return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not started:
                await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    payload = json.dumps(
        body("payload_too_large", f"the request body is larger than {limit} bytes")
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
