"""Sign-in: a challenge to sign with a participant key, then a short-lived token."""

from __future__ import annotations

import datetime

from fastapi import APIRouter, Depends

from registry_api import schemas
from registry_api.dependencies import (
    PrincipalDep,
    RegistryDep,
    SessionDep,
    WriterSessionDep,
    sign_in_rate_limit,
)

# Counted before anything else runs: a refused request opens no session and writes nothing.
router = APIRouter(
    prefix="/auth",
    tags=["sign-in"],
    dependencies=[Depends(sign_in_rate_limit)],
    responses={
        429: {
            "model": schemas.ErrorBody,
            "description": "Too many sign-in requests from this client (`rate_limited`)",
            "headers": {
                "Retry-After": {
                    "description": "Seconds until a request is counted again",
                    "schema": {"type": "integer"},
                }
            },
        }
    },
)


@router.post("/challenge", response_model=schemas.ChallengeView)
def challenge(
    body: schemas.ChallengeRequest, registry: RegistryDep, session: WriterSessionDep
) -> schemas.ChallengeView:
    """A message for the key to sign (EIP-191 personal_sign), valid for a few minutes."""
    issued = registry.sign_in.challenge(session, body.address)
    session.commit()
    return schemas.ChallengeView(
        nonce=issued.nonce, message=issued.message, expires_at=_moment(issued.expires_at)
    )


@router.post("/token", response_model=schemas.TokenView)
def token(
    body: schemas.TokenRequest,
    registry: RegistryDep,
    reading: SessionDep,
    writing: WriterSessionDep,
) -> schemas.TokenView:
    """A bearer token for the key that signed the challenge, if it is an active participant's."""
    issued = registry.sign_in.token(reading, writing, body.nonce, body.signature)
    writing.commit()
    return schemas.TokenView(
        access_token=issued.access_token,
        expires_at=_moment(issued.expires_at),
        participant_id=issued.participant_id,
    )


@router.get("/me")
def me(caller: PrincipalDep) -> dict[str, object]:
    """Who the token belongs to, with the roles the chain gives them now."""
    return {
        "address": caller.address,
        "participant_id": caller.participant_id,
        "roles": schemas.role_names(caller.roles),
    }


def _moment(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC)
