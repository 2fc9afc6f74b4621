"""The API's request and response bodies (pydantic), and their conversions.

Hashes, ids and signatures travel as 0x-hex strings; addresses in checksum case; dates as ISO
dates (a right's dates are days); enums by lower-case name. Every field is bounded, so that bad
input is refused by validation with a 422 and never reaches a contract or the database.
"""

from __future__ import annotations

import datetime
import re
from typing import Annotated, Generic, Literal, TypeVar

from eth_typing import ChecksumAddress
from eth_utils.address import is_address, to_checksum_address
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

from ledger.types import AssetKind, AssetStatus, AssignmentStatus, ParticipantStatus, Role
from registry_api.mirror import queries

T = TypeVar("T")

_HEX32 = re.compile(r"0x[0-9a-fA-F]{64}")
_HEX = re.compile(r"0x(?:[0-9a-fA-F]{2})*")
MAX_SIGNATURE_BYTES = 1_024


def _parse_hash32(value: object) -> bytes:
    if isinstance(value, bytes) and len(value) == 32:
        return value
    if isinstance(value, str) and _HEX32.fullmatch(value):
        return bytes.fromhex(value[2:])
    raise ValueError("expected 0x followed by 64 hex digits")


def _parse_hex(value: object) -> bytes:
    if (
        isinstance(value, str)
        and _HEX.fullmatch(value)
        and len(value) <= 2 + 2 * MAX_SIGNATURE_BYTES
    ):
        return bytes.fromhex(value[2:])
    raise ValueError(f"expected 0x-hex of at most {MAX_SIGNATURE_BYTES} bytes")


def _parse_address(value: object) -> ChecksumAddress:
    if isinstance(value, str) and len(value) == 42 and is_address(value):
        return to_checksum_address(value)
    raise ValueError("expected an address: 0x followed by 40 hex digits")


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


Hash32 = Annotated[
    bytes,
    BeforeValidator(_parse_hash32),
    PlainSerializer(_hex, return_type=str),
    WithJsonSchema({"type": "string", "pattern": "^0x[0-9a-fA-F]{64}$"}),
]
HexData = Annotated[
    bytes,
    BeforeValidator(_parse_hex),
    PlainSerializer(_hex, return_type=str),
    WithJsonSchema({"type": "string", "pattern": "^0x([0-9a-fA-F]{2})*$", "maxLength": 2050}),
]
Address = Annotated[
    ChecksumAddress,
    BeforeValidator(_parse_address),
    WithJsonSchema({"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"}),
]
#: The chain takes any uint64, but the mirror keeps ids in signed 64-bit columns (BIGINT): a
#: larger id would be accepted on chain and then stop the mirror, so the API refuses it.
MAX_PARTICIPANT_ID = 2**63 - 1
ParticipantId = Annotated[int, Field(ge=1, le=MAX_PARTICIPANT_ID)]
ReasonCode = Annotated[int, Field(ge=1, le=65_535)]
Bps = Annotated[int, Field(ge=1, le=10_000)]
Jurisdiction = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
OfficialNumber = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9./-]{1,32}$")]
#: C0 and C1 control characters, DEL among them. No text field of the register holds more than a
#: line, so none may carry one: PostgreSQL cannot store U+0000 at all (the mirror would stop on
#: it), a newline or an escape sequence forges lines in a terminal or a log, and the chain would
#: keep them for ever. Lone surrogates are refused by pydantic itself (not Unicode text).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]*$"


def _single_line(value: str) -> str:
    found = _CONTROL.search(value)
    if found is not None:
        raise ValueError(
            f"control character U+{ord(found.group()):04X} at position {found.start()} "
            "is not allowed: the text must be a single printable line"
        )
    return value


#: The validation of free text, and its pattern in the OpenAPI schema (for clients and fuzzers).
SingleLine = AfterValidator(_single_line)
Title = Annotated[
    str,
    StringConstraints(min_length=1, max_length=1_024),
    SingleLine,
    Field(json_schema_extra={"pattern": _NO_CONTROL}),
]
#: Attributes of the participant's X.509 subject: at most 64 characters (RFC 5280 upper bounds),
#: not blank; the registration number is an X.520 serialNumber, a PrintableString.
LegalName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"\S"),
    SingleLine,
    Field(
        json_schema_extra={
            "pattern": r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
        }
    ),
]
RegistrationNumber = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9'()+,./:=?-][A-Za-z0-9 '()+,./:=?-]{0,63}$")
]
#: A day as the chain stores it, in unix seconds: none before 1970.
Day = Annotated[datetime.date, Field(ge=datetime.date(1970, 1, 1))]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]

KindName = Literal["patent", "utility_model", "design", "trademark", "copyright", "idea"]
RightStatusName = Literal["registered", "lapsed", "expired", "revoked"]
RoleName = Literal["office", "valuator", "reviewer", "bank", "participant"]


def kind_of(name: KindName) -> AssetKind:
    return AssetKind[name.upper()]


def roles_of(names: list[RoleName]) -> Role:
    roles = Role(0)
    for name in names:
        roles |= Role[name.upper()]
    return roles


def role_names(roles: Role) -> list[str]:
    return [role.name.lower() for role in Role if role in roles and role.name is not None]


def date_seconds(day: datetime.date | None) -> int:
    """A day as the chain stores it: midnight UTC in unix seconds (0 for none)."""
    if day is None:
        return 0
    return int(datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC).timestamp())


def seconds_date(seconds: int) -> datetime.date | None:
    if seconds == 0:
        return None
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).date()


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- sign-in ---


class ChallengeRequest(Strict):
    address: Address


class ChallengeView(Strict):
    nonce: str
    message: str
    expires_at: datetime.datetime


class TokenRequest(Strict):
    nonce: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    signature: HexData


class TokenView(Strict):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime.datetime
    participant_id: int


# --- operations ---


class ErrorView(Strict):
    code: str
    message: str
    details: dict[str, object]


class ErrorBody(Strict):
    """Every refusal (4xx) and fault (5xx): a stable code, a sentence, details."""

    error: ErrorView


class OperationView(Strict):
    id: str
    kind: str
    #: queued, sent, mined, applied (mined and queryable in the mirror) or failed.
    status: Literal["queued", "sent", "mined", "applied", "failed"]
    nonce: int
    transaction_hash: Hash32
    block_number: int | None
    subject: dict[str, object]
    error: ErrorView | None
    created_at: datetime.datetime
    finished_at: datetime.datetime | None


class ImportView(Strict):
    id: str
    rights: int
    batches: int
    #: How many batches reached each status.
    progress: dict[str, int]
    done: bool
    operations: list[OperationView]


# --- participants ---


class EnrolRequest(Strict):
    """A participant the office has identified off chain: what its certificate will bind."""

    participant_id: ParticipantId
    legal_name: LegalName
    registration_number: RegistrationNumber
    country: Country
    roles: Annotated[list[RoleName], Field(min_length=1, max_length=5)]
    keys: Annotated[list[Address], Field(min_length=1, max_length=8)]
    #: The public key of the first key (64 or 65 bytes): the certificate's subject key.
    public_key: HexData
    valid_days: Annotated[int, Field(ge=1, le=3_650)] = 730


class StatusChangeRequest(Strict):
    reason_code: ReasonCode


class RecoverKeyRequest(Strict):
    lost_key: Address
    new_key: Address


class ParticipantView(Strict):
    participant_id: int
    status: str
    roles: list[str]
    certificate_fingerprint: Hash32
    certificate_not_after: datetime.datetime
    keys: list[str]
    retired_keys: list[str]

    @classmethod
    def of(cls, participant: queries.Participant) -> ParticipantView:
        return cls(
            participant_id=participant.participant_id,
            status=ParticipantStatus(participant.status).name.lower(),
            roles=role_names(participant.roles),
            certificate_fingerprint=participant.certificate_fingerprint,
            certificate_not_after=datetime.datetime.fromtimestamp(
                participant.certificate_not_after, datetime.UTC
            ),
            keys=list(participant.keys),
            retired_keys=list(participant.retired_keys),
        )


# --- rights ---


class ShareInput(Strict):
    participant_id: ParticipantId
    bps: Bps


class RightInput(Strict):
    jurisdiction: Jurisdiction
    kind: KindName
    number: OfficialNumber
    title: Title
    document_hash: Hash32
    filing_date: Day
    registration_date: Day | None = None
    expiry_date: Day | None = None
    owners: Annotated[list[ShareInput], Field(min_length=1, max_length=16)]


#: Rights in one bulk request or one CSV import: each becomes batches of transactions, so that
#: the count bounds the chain work (and the time) that one request can ask for.
MAX_BULK_RIGHTS = 10_000


class BulkRightsRequest(Strict):
    rights: Annotated[list[RightInput], Field(min_length=1, max_length=MAX_BULK_RIGHTS)]


class RightStatusRequest(Strict):
    status: RightStatusName
    reason_code: ReasonCode


class OwnerView(Strict):
    participant_id: int
    bps: int


class RightView(Strict):
    asset_id: Hash32
    jurisdiction: str
    kind: str
    number: str
    title: str
    document_hash: Hash32
    filing_date: datetime.date | None
    registration_date: datetime.date | None
    expiry_date: datetime.date | None
    status: str
    owners: list[OwnerView]
    registered_by: str
    registered_block: int

    @classmethod
    def of(cls, right: queries.Right) -> RightView:
        return cls(
            asset_id=right.asset_id,
            jurisdiction=right.jurisdiction,
            kind=AssetKind(right.kind).name.lower(),
            number=right.number,
            title=right.title,
            document_hash=right.document_hash,
            filing_date=seconds_date(right.filing_date),
            registration_date=seconds_date(right.registration_date),
            expiry_date=seconds_date(right.expiry_date),
            status=AssetStatus(right.status).name.lower(),
            owners=[OwnerView(participant_id=o.participant_id, bps=o.bps) for o in right.owners],
            registered_by=right.registered_by,
            registered_block=right.registered_at.block_number,
        )


class Page(Strict, Generic[T]):
    items: list[T]
    next_cursor: str | None


# --- chain of title ---


class TitleEntryView(Strict):
    """One step of a right's history: registration, an assignment (filed, decided), a status."""

    kind: Literal["registration", "assignment", "status"]
    block_number: int
    transaction_hash: Hash32
    office: str | None = None
    owners: list[OwnerView] | None = None
    assignment: AssignmentView | None = None
    previous_status: str | None = None
    status: str | None = None
    reason_code: int | None = None


class DecisionView(Strict):
    status: str
    office: str
    reason_code: int | None
    block_number: int
    transaction_hash: Hash32
    owners_after: list[OwnerView]


class AssignmentView(Strict):
    assignment_id: Hash32
    asset_id: Hash32
    assignor: int
    assignee: int
    share_bps: int
    terms_hash: Hash32
    status: str
    reason_code: int | None
    filer: str
    signers: list[str]
    filed_block: int
    decision: DecisionView | None = None

    @classmethod
    def of(cls, a: queries.Assignment, decision: queries.Decision | None = None) -> AssignmentView:
        return cls(
            assignment_id=a.assignment_id,
            asset_id=a.asset_id,
            assignor=a.assignor,
            assignee=a.assignee,
            share_bps=a.share_bps,
            terms_hash=a.terms_hash,
            status=AssignmentStatus(a.status).name.lower(),
            reason_code=a.reason_code,
            filer=a.filer,
            signers=list(a.signers),
            filed_block=a.filed_at.block_number,
            decision=None
            if decision is None
            else DecisionView(
                status=AssignmentStatus(decision.status).name.lower(),
                office=decision.office,
                reason_code=decision.reason_code,
                block_number=decision.position.block_number,
                transaction_hash=decision.transaction_hash,
                owners_after=[
                    OwnerView(participant_id=o.participant_id, bps=o.bps)
                    for o in decision.owners_after
                ],
            ),
        )


def title_entry(entry: queries.TitleEntry) -> TitleEntryView:
    if isinstance(entry, queries.Registration):
        return TitleEntryView(
            kind="registration",
            block_number=entry.position.block_number,
            transaction_hash=entry.transaction_hash,
            office=entry.office,
            owners=[OwnerView(participant_id=o.participant_id, bps=o.bps) for o in entry.owners],
        )
    if isinstance(entry, queries.AssignmentEntry):
        return TitleEntryView(
            kind="assignment",
            block_number=entry.position.block_number,
            transaction_hash=entry.transaction_hash,
            assignment=AssignmentView.of(entry.assignment, entry.decision),
        )
    return TitleEntryView(
        kind="status",
        block_number=entry.position.block_number,
        transaction_hash=entry.transaction_hash,
        office=entry.office,
        previous_status=AssetStatus(entry.previous_status).name.lower(),
        status=AssetStatus(entry.status).name.lower(),
        reason_code=entry.reason_code,
    )


# --- assignments and key rotations: typed data to sign, then signatures ---


class AssignmentDraftRequest(Strict):
    asset_id: Hash32
    assignor: ParticipantId
    assignee: ParticipantId
    share_bps: Bps
    #: SHA-256 of the assignment deed, kept by the parties off chain.
    terms_hash: Hash32
    #: The assignor's key that will sign first (its nonce goes into the assignment).
    assignor_key: Address
    #: How long the parties have to sign and file it.
    valid_seconds: Annotated[int, Field(ge=60, le=90 * 86_400)] = 7 * 86_400


class KeyRotationDraftRequest(Strict):
    participant_id: ParticipantId
    current_key: Address
    new_key: Address
    valid_seconds: Annotated[int, Field(ge=60, le=30 * 86_400)] = 86_400


class TypedDataView(Strict):
    """What to sign (eth_signTypedData_v4), its digest, and who must sign it, in order."""

    typed_data: dict[str, object]
    digest: Hash32
    signers: list[SignerNeeded]


class SignerNeeded(Strict):
    participant_id: int
    role: Literal["assignor", "assignee", "co_owner", "key_holder"]


class SignatureInput(Strict):
    signer: Address
    signature: HexData


class AssignmentSubmission(Strict):
    typed_data: dict[str, object]
    signatures: Annotated[list[SignatureInput], Field(min_length=2, max_length=17)]


class KeyRotationSubmission(Strict):
    typed_data: dict[str, object]
    signature: HexData


class RejectRequest(Strict):
    reason_code: ReasonCode


# Bodies that name a model defined after them.
TitleEntryView.model_rebuild()
TypedDataView.model_rebuild()
