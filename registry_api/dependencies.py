"""What routes depend on: the registry, one database session per request, who is calling, and
the envelope of a write (idempotency key, wait)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry_api import idempotency
from registry_api.auth import Principal
from registry_api.db.models import OperationRow
from registry_api.desk import Desk, request_hash
from registry_api.errors import Forbidden, Unauthenticated
from registry_api.registry import Registry

_bearer = HTTPBearer(auto_error=False, description="A token from POST /v1/auth/token")


def registry(request: Request) -> Registry:
    return request.app.state.registry  # type: ignore[no-any-return]


def desk(request: Request) -> Desk:
    return request.app.state.desk  # type: ignore[no-any-return]


def session(registry: Annotated[Registry, Depends(registry)]) -> Iterator[Session]:
    """A reading request's session, closed before the answer is sent."""
    with registry.read_sessions() as opened:
        yield opened


def writer_session(registry: Annotated[Registry, Depends(registry)]) -> Iterator[Session]:
    """A writing request's session, committed by the route. On SQLite its first statement takes
    the write lock until the commit: ask the node before it, never while it is held."""
    with registry.sessions() as opened:
        try:
            yield opened
        except BaseException:
            opened.rollback()
            raise


def sign_in_rate_limit(request: Request) -> None:
    """Count the request against its client's sign-in budget (429 past it).

    The client is the peer address; behind a reverse proxy, run uvicorn with --proxy-headers and
    --forwarded-allow-ips so that it is the caller's, not the proxy's.
    """
    client = request.client.host if request.client is not None else "unknown"
    request.app.state.sign_in_rate_limit.hit("sign-in", client)


SessionDep = Annotated[Session, Depends(session, scope="function")]
WriterSessionDep = Annotated[Session, Depends(writer_session, scope="function")]
RegistryDep = Annotated[Registry, Depends(registry)]
DeskDep = Annotated[Desk, Depends(desk)]


def principal(
    registry: RegistryDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The signed-in participant, with its roles read from the chain now."""
    if credentials is None:
        raise Unauthenticated("sign in first: POST /v1/auth/challenge, then /v1/auth/token")
    return registry.sign_in.principal(credentials.credentials)


def office(caller: Annotated[Principal, Depends(principal)]) -> Principal:
    if not caller.is_office:
        raise Forbidden("only the office may do this")
    return caller


PrincipalDep = Annotated[Principal, Depends(principal)]
OfficeDep = Annotated[Principal, Depends(office)]


@dataclass
class Write:
    """A write's envelope: who asks, with which Idempotency-Key, whether to wait."""

    session: Session
    principal: Principal
    desk: Desk
    key: str
    request_hash: bytes
    wait: bool
    wait_seconds: float

    def accept_one(self, act: Callable[[], OperationRow]) -> JSONResponse:
        """`accept` for a write that is one operation, answered with its status."""
        return self.accept(lambda: [act()], lambda rows: self.desk.view(self.session, rows[0]))

    def accept(
        self,
        act: Callable[[], Sequence[OperationRow]],
        render: Callable[[Sequence[OperationRow]], BaseModel],
    ) -> JSONResponse:
        """Replay the first answer to this key, or accept the write, commit it, answer 202.

        The first answer is looked up in a read session: the write transaction begins only
        when `act` has asked the chain (see `Desk.relay`) and writes the outbox. Two requests
        with the same key both get past the lookup; the second one's commit fails on the key
        and it replays the first one's answer.
        """
        address = self.principal.address
        with self.desk.registry.read_sessions() as reading:
            replayed = idempotency.replay(reading, address, self.key, self.request_hash)
        if replayed is None:
            rows = act()
            body = render(rows).model_dump(mode="json")
            idempotency.remember(self.session, address, self.key, self.request_hash, 202, body)
            try:
                self.session.commit()
            except IntegrityError:  # the same key, accepted by a concurrent request first
                self.session.rollback()
                replayed = idempotency.replay(self.session, address, self.key, self.request_hash)
                if replayed is None:
                    raise
        if replayed is not None:
            if not self.wait:
                return JSONResponse(replayed.body, replayed.status_code)
            # A retry that asks to wait gets the same operations, once they are queryable; the
            # transaction ends first (on SQLite it holds the lock the relayer needs).
            self.session.rollback()
            return self._waited(idempotency.operation_ids(replayed.body), render)
        if not self.wait:
            return JSONResponse(body, 202)
        return self._waited([row.id for row in rows], render)

    def _waited(
        self, ids: Sequence[str], render: Callable[[Sequence[OperationRow]], BaseModel]
    ) -> JSONResponse:
        """The answer once the operations are applied or failed (or the wait has run out)."""
        self.desk.wait(ids, self.wait_seconds)
        self.session.expire_all()
        refreshed = [self.session.get(OperationRow, row_id) for row_id in ids]
        return JSONResponse(
            render([row for row in refreshed if row is not None]).model_dump(mode="json"), 202
        )


async def _raw_body(request: Request) -> bytes:
    return await request.body()


class BufferedBody(APIRoute):
    """A route whose body is read whole before FastAPI parses it.

    FastAPI parses a multipart form from the request's stream, which leaves nothing for
    `_raw_body` to read (Starlette: "Stream consumed"); a body read first is kept and serves both.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def buffered(request: Request) -> Response:
            await request.body()
            return await handler(request)

        return buffered


def write_envelope(
    request: Request,
    session: WriterSessionDep,
    desk: DeskDep,
    registry: RegistryDep,
    body: Annotated[bytes, Depends(_raw_body)],
    idempotency_key: Annotated[
        str,
        Header(
            description="Required on every write: retrying with the same key and request "
            "returns the first answer and sends nothing again. Printable ASCII, no spaces at "
            "either end.",
            max_length=idempotency.MAX_KEY_LENGTH,
            pattern=r"^[!-~]([ -~]*[!-~])?$",
        ),
    ],
    wait: Annotated[
        bool, Query(description="Answer once the write is queryable (or failed).")
    ] = False,
) -> tuple[Session, Desk, str, bytes, bool, float]:
    digest = request_hash(request.method.encode(), request.url.path.encode(), body)
    return session, desk, idempotency_key, digest, wait, registry.settings.wait_seconds


EnvelopeDep = Annotated[tuple[Session, Desk, str, bytes, bool, float], Depends(write_envelope)]


def office_write(envelope: EnvelopeDep, caller: OfficeDep) -> Write:
    session, desk, key, digest, wait, seconds = envelope
    return Write(session, caller, desk, key, digest, wait, seconds)


def participant_write(envelope: EnvelopeDep, caller: PrincipalDep) -> Write:
    session, desk, key, digest, wait, seconds = envelope
    return Write(session, caller, desk, key, digest, wait, seconds)


OfficeWrite = Annotated[Write, Depends(office_write)]
ParticipantWrite = Annotated[Write, Depends(participant_write)]
