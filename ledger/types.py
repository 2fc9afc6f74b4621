"""The ledger's values as Python types: the contracts' enums and structs, mirrored one to one."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag

from eth_typing import ChecksumAddress

#: Basis points of a whole right: shares of its owners always sum to this.
TOTAL_BPS = 10_000
MAX_OWNERS = 16


class Role(IntFlag):
    """Roles of a participant (ParticipantRegistry.ROLE_*)."""

    OFFICE = 1 << 0
    VALUATOR = 1 << 1
    REVIEWER = 1 << 2
    BANK = 1 << 3
    PARTICIPANT = 1 << 4


class ParticipantStatus(IntEnum):
    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2
    REVOKED = 3


class AssetKind(IntEnum):
    PATENT = 0
    UTILITY_MODEL = 1
    DESIGN = 2
    TRADEMARK = 3
    COPYRIGHT = 4
    IDEA = 5


class AssetStatus(IntEnum):
    NONE = 0
    REGISTERED = 1
    LAPSED = 2
    EXPIRED = 3
    REVOKED = 4


class AssignmentStatus(IntEnum):
    NONE = 0
    FILED = 1
    REGISTERED = 2
    REJECTED = 3


@dataclass(frozen=True)
class Share:
    """An owner's share of a right, in basis points of the whole."""

    participant_id: int
    bps: int


@dataclass(frozen=True)
class Participant:
    status: ParticipantStatus
    roles: Role
    certificate_not_after: int
    primary_key: ChecksumAddress
    certificate_fingerprint: bytes


@dataclass(frozen=True)
class AssetInput:
    """A right as the office registers it."""

    jurisdiction: bytes
    kind: AssetKind
    number: str
    title: str
    document_hash: bytes
    filing_date: int
    registration_date: int
    expiry_date: int
    owners: tuple[Share, ...]


@dataclass(frozen=True)
class Asset:
    """A right as the registry holds it."""

    kind: AssetKind
    status: AssetStatus
    filing_date: int
    registration_date: int
    expiry_date: int
    document_hash: bytes
    owners: tuple[Share, ...]


@dataclass(frozen=True)
class AssignmentRecord:
    status: AssignmentStatus
    filed_at: int
    signers_hash: bytes


@dataclass(frozen=True)
class SignedBy:
    """A signature and the key that made it."""

    signer: ChecksumAddress
    signature: bytes
