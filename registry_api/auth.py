"""Sign-in by signature: a challenge in the shape of EIP-4361, a short-lived JWT, roles from chain.

The service writes the message and keeps it; the client signs it (EIP-191 `personal_sign`) with a
key bound to its participant and sends back the nonce and the signature. Nothing the client sends
is parsed as a message, so there is nothing to forge: the signature must be over the stored text,
by the address it names, before it expires, once. The token says who signed in; what they may
do is read from the participant registry at each request, so a suspension takes effect at once.
"""

from __future__ import annotations

import datetime
import secrets
import time
from dataclasses import dataclass

import jwt
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ledger.participants import ParticipantRegistryClient
from ledger.types import Role
from registry_api.db.models import SignInChallenge
from registry_api.errors import Forbidden, Unauthenticated

ALGORITHM = "HS256"
AUDIENCE = "ipledger-registry"
STATEMENT = "Sign in to the IP Rights Ledger registry."


@dataclass(frozen=True)
class Principal:
    """Who is calling, and in which roles the participant registry holds them now."""

    address: ChecksumAddress
    participant_id: int
    roles: Role

    @property
    def is_office(self) -> bool:
        return Role.OFFICE in self.roles


@dataclass(frozen=True)
class Challenge:
    nonce: str
    message: str
    expires_at: float


@dataclass(frozen=True)
class Token:
    access_token: str
    expires_at: float
    participant_id: int


class SignIn:
    """Issues challenges and tokens, and reads who a token belongs to."""

    def __init__(
        self,
        secret: bytes,
        participants: ParticipantRegistryClient,
        *,
        domain: str,
        uri: str,
        chain_id: int,
        challenge_seconds: int,
        token_seconds: int,
        challenges_per_address: int,
    ) -> None:
        self._secret = secret
        self._participants = participants
        self._domain = domain
        self._uri = uri
        self._chain_id = chain_id
        self._challenge_seconds = challenge_seconds
        self._token_seconds = token_seconds
        self._challenges_per_address = challenges_per_address

    def challenge(self, session: Session, address: ChecksumAddress) -> Challenge:
        """A fresh message for `address` to sign, replacing its oldest beyond the cap; the caller
        commits."""
        now = time.time()
        # Anyone may ask for any address, so the cap replaces rather than refuses: a refusal would
        # let a stranger lock the address out. Two concurrent requests on PostgreSQL may leave
        # one more for a moment; the next request trims it.
        outstanding = (
            select(SignInChallenge.nonce)
            .where(
                SignInChallenge.address == address,
                SignInChallenge.expires_at >= now,
                SignInChallenge.used.is_(False),
            )
            .order_by(SignInChallenge.expires_at.desc(), SignInChallenge.nonce)
            .offset(self._challenges_per_address - 1)
        )
        session.execute(delete(SignInChallenge).where(SignInChallenge.nonce.in_(outstanding)))
        nonce = secrets.token_hex(16)
        expires_at = now + self._challenge_seconds
        message = (
            f"{self._domain} wants you to sign in with your Ethereum account:\n"
            f"{address}\n\n"
            f"{STATEMENT}\n\n"
            f"URI: {self._uri}\n"
            "Version: 1\n"
            f"Chain ID: {self._chain_id}\n"
            f"Nonce: {nonce}\n"
            f"Issued At: {_iso(now)}\n"
            f"Expiration Time: {_iso(expires_at)}"
        )
        session.add(
            SignInChallenge(
                nonce=nonce, address=address, message=message, expires_at=expires_at, used=False
            )
        )
        return Challenge(nonce, message, expires_at)

    def token(self, reading: Session, writing: Session, nonce: str, signature: bytes) -> Token:
        """A token for the signer of challenge `nonce`; the challenge is used up in `writing`
        (the caller commits).

        The challenge is read, and the signer's roles asked of the chain, before `writing`
        begins: on SQLite a write transaction holds the only write lock, which a slow node
        must not hold too. Using it up is then one conditional update, so that of two
        requests with the same signature only one gets a token.
        """
        challenge = reading.get(SignInChallenge, nonce)
        if challenge is None or challenge.used:
            raise Unauthenticated("unknown or already used sign-in challenge")
        if challenge.expires_at < time.time():
            raise Unauthenticated("the sign-in challenge has expired: ask for a new one")
        try:
            signer = Account.recover_message(
                encode_defunct(text=challenge.message), signature=signature
            )
        except Exception as exc:  # malformed signatures of every kind
            raise Unauthenticated("the signature is not a valid signature") from exc
        if signer != challenge.address:
            raise Unauthenticated("the signature is not by the address that asked to sign in")
        principal = self._principal(signer)
        used = writing.execute(
            update(SignInChallenge)
            .where(SignInChallenge.nonce == nonce, SignInChallenge.used.is_(False))
            # A used challenge is expired at once too: the purge takes it by its expiry.
            .values(used=True, expires_at=min(challenge.expires_at, time.time()))
        )
        if used.rowcount != 1:  # type: ignore[attr-defined]
            raise Unauthenticated("unknown or already used sign-in challenge")
        now = time.time()
        expires_at = now + self._token_seconds
        claims = {
            "sub": principal.address,
            "pid": principal.participant_id,
            "aud": AUDIENCE,
            "iat": int(now),
            "exp": int(expires_at),
            "jti": secrets.token_hex(8),
        }
        return Token(
            jwt.encode(claims, self._secret, ALGORITHM), expires_at, principal.participant_id
        )

    def principal(self, token: str) -> Principal:
        """Who holds `token`, with their roles as the chain has them now."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                options={"require": ["sub", "exp", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the token has expired: sign in again") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("the token is not valid") from exc
        return self._principal(to_checksum_address(str(claims["sub"])))

    def _principal(self, address: ChecksumAddress) -> Principal:
        participant_id, active = self._participants.key_status(address)
        if participant_id == 0:
            raise Forbidden("this key is not bound to any participant")
        if not active:
            raise Forbidden(f"participant {participant_id} is not active")
        roles = self._participants.participant(participant_id).roles
        return Principal(address, participant_id, roles)


def purge_challenges(session: Session, now: float, batch: int) -> int:
    """Delete up to `batch` challenges expired (or used) before `now`; how many. The caller
    commits."""
    spent = select(SignInChallenge.nonce).where(SignInChallenge.expires_at < now).limit(batch)
    deleted = session.execute(delete(SignInChallenge).where(SignInChallenge.nonce.in_(spent)))
    return int(deleted.rowcount)  # type: ignore[attr-defined]


def _iso(timestamp: float) -> str:
    moment = datetime.datetime.fromtimestamp(int(timestamp), datetime.UTC)
    return moment.isoformat().replace("+00:00", "Z")
