"""Errors of the ledger library: one root, one subclass per contract custom error.

A contract's custom error is decoded by its selector into the class of the same name, whose
annotated attributes are the error's arguments in order (ABI names in snake case). Every class
also belongs to one family (`Forbidden`, `NotFound`, `Conflict`, `Refused`) that says what kind
of refusal it is, so that callers (the HTTP API) can map families rather than every error.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from eth_abi.abi import decode as abi_decode
from eth_typing import ABI, ChecksumAddress
from eth_utils.abi import function_signature_to_4byte_selector

from ledger.codec import converter, python_name
from ledger.types import AssetStatus, AssignmentStatus, ParticipantStatus


class LedgerError(Exception):
    """Root of everything the ledger library raises on purpose."""


class TransactionFailed(LedgerError):
    """A transaction was mined but failed without a decodable reason (out of gas...)."""

    def __init__(self, transaction_hash: bytes, gas_used: int) -> None:
        self.transaction_hash = transaction_hash
        self.gas_used = gas_used
        super().__init__(f"transaction 0x{transaction_hash.hex()} failed using {gas_used} gas")


class ContractError(LedgerError):
    """A revert from a contract; subclasses name the custom error and carry its arguments."""

    family: ClassVar[str] = "refused"

    def __init__(self, *values: object) -> None:
        names = self.field_names()
        if len(values) != len(names):
            raise TypeError(f"{type(self).__name__} takes {len(names)} values, got {len(values)}")
        for name, value in zip(names, values, strict=True):
            setattr(self, name, value)
        super().__init__(*values)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        own = inspect.get_annotations(cls)  # not the base classes'
        return tuple(name for name, hint in own.items() if not str(hint).startswith("ClassVar"))

    def __str__(self) -> str:
        shown = ", ".join(f"{name}={_show(getattr(self, name))}" for name in self.field_names())
        return f"{type(self).__name__}({shown})"


class Forbidden(ContractError):
    """The caller or signer may not do this."""

    family = "forbidden"


class NotFound(ContractError):
    """The thing acted on does not exist."""

    family = "not_found"


class Conflict(ContractError):
    """The thing acted on is in a state that does not allow this (already done, replayed)."""

    family = "conflict"


class Refused(ContractError):
    """The request breaks a rule of the register (bad value, missing consent, expired)."""

    family = "refused"


class UnknownContractError(ContractError):
    """A revert whose selector no contract of this ledger declares."""

    data: bytes


class RevertedWithReason(ContractError):
    """A revert with a string reason (`Error(string)`)."""

    reason: str


class Panicked(ContractError):
    """A Solidity panic (`Panic(uint256)`): an assertion or arithmetic failure, a bug."""

    code: int


# --- Typed approvals (shared by every contract that takes EIP-712 signatures) ---


class ApprovalExpired(Refused):
    deadline: int
    timestamp: int


class ApprovalWrongChain(Refused):
    signed_chain_id: int
    chain_id: int


class ApprovalWrongContract(Refused):
    signed_contract: ChecksumAddress
    verifying_contract: ChecksumAddress


class ApprovalInvalidSignature(Forbidden):
    signer: ChecksumAddress
    digest: bytes


class AccessControlUnauthorizedAccount(Forbidden):
    account: ChecksumAddress
    needed_role: bytes


class AccessControlBadConfirmation(Refused):
    pass


class InvalidShortString(Refused):
    """OpenZeppelin ShortStrings, raised only by a constructor given an over-long EIP-712 name."""


class StringTooLong(Refused):
    str: str


# --- ParticipantRegistry ---


class ParticipantRegistryNotOffice(Forbidden):
    caller: ChecksumAddress


class ParticipantRegistryUnknownParticipant(NotFound):
    participant_id: int


class ParticipantRegistryAlreadyEnrolled(Conflict):
    participant_id: int


class ParticipantRegistryInvalidParticipantId(Refused):
    participant_id: int


class ParticipantRegistryInvalidRoles(Refused):
    roles: int


class ParticipantRegistryInvalidCertificate(Refused):
    fingerprint: bytes
    not_after: int


class ParticipantRegistryInvalidKeyCount(Refused):
    count: int


class ParticipantRegistryInvalidKey(Refused):
    key: ChecksumAddress


class ParticipantRegistryKeyBound(Conflict):
    key: ChecksumAddress
    participant_id: int


class ParticipantRegistryKeyRetired(Conflict):
    key: ChecksumAddress


class ParticipantRegistryKeyNotBound(Forbidden):
    key: ChecksumAddress
    participant_id: int


class ParticipantRegistryInvalidStatus(Conflict):
    participant_id: int
    status: ParticipantStatus


class ParticipantRegistrySelfAction(Forbidden):
    participant_id: int


class ParticipantRegistryInvalidReason(Refused):
    reason_code: int


class ParticipantRegistryCertificateExpired(Refused):
    """The participant's certificate has expired: it cannot act until the office renews it."""

    participant_id: int
    not_after: int


class ParticipantRegistryInvalidNonce(Conflict):
    """The approval names another nonce than the key's next one: a replay, or made stale."""

    key: ChecksumAddress
    current_nonce: int


# --- IPAssetRegistry ---


class IPAssetRegistryNotOffice(Forbidden):
    caller: ChecksumAddress


class IPAssetRegistryAlreadyRegistered(Conflict):
    asset_id: bytes


class IPAssetRegistryUnknownAsset(NotFound):
    asset_id: bytes


class IPAssetRegistryInvalidIdentifier(Refused):
    jurisdiction: bytes
    number: str


class IPAssetRegistryInvalidTitle(Refused):
    length: int


class IPAssetRegistryInvalidDates(Refused):
    filing_date: int
    registration_date: int
    expiry_date: int


class IPAssetRegistryInvalidOwnerCount(Refused):
    count: int


class IPAssetRegistryInvalidShares(Refused):
    total_bps: int


class IPAssetRegistryZeroShare(Refused):
    participant_id: int


class IPAssetRegistryDuplicateOwner(Refused):
    participant_id: int


class IPAssetRegistryOwnerNotActive(Refused):
    participant_id: int


class IPAssetRegistryEmptyBatch(Refused):
    pass


class IPAssetRegistryInvalidStatusTransition(Conflict):
    asset_id: bytes
    previous_status: AssetStatus
    status: AssetStatus


class IPAssetRegistryInvalidReason(Refused):
    reason_code: int


class IPAssetRegistryAssignmentAlreadyFiled(Conflict):
    assignment_id: bytes
    status: AssignmentStatus


class IPAssetRegistryAssignmentNotFiled(Conflict):
    assignment_id: bytes
    status: AssignmentStatus


class IPAssetRegistrySignersMismatch(Refused):
    assignment_id: bytes


class IPAssetRegistryInvalidShare(Refused):
    share_bps: int


class IPAssetRegistrySameParty(Refused):
    participant_id: int


class IPAssetRegistryMissingSignature(Refused):
    count: int


class IPAssetRegistryWrongSigner(Forbidden):
    """A signature is by a key that is not (or no longer) bound to the party it stands for."""

    signer: ChecksumAddress
    expected: int
    bound_to: int


class IPAssetRegistryPartyNotActive(Refused):
    participant_id: int


class IPAssetRegistryRightNotInForce(Refused):
    asset_id: bytes
    status: AssetStatus


class IPAssetRegistryShareTooHigh(Refused):
    asset_id: bytes
    held: int
    asked: int


class IPAssetRegistryMissingConsent(Refused):
    """A co-owner of the right has not signed the assignment."""

    asset_id: bytes
    co_owner: int


class IPAssetRegistryUnexpectedSigner(Refused):
    signer: ChecksumAddress
    participant_id: int


_ERROR_STRING = function_signature_to_4byte_selector("Error(string)")
_PANIC = function_signature_to_4byte_selector("Panic(uint256)")


@dataclass(frozen=True)
class _ErrorSpec:
    cls: type[ContractError]
    types: tuple[str, ...]


def _all_error_classes() -> dict[str, type[ContractError]]:
    found: dict[str, type[ContractError]] = {}
    pending: list[type[ContractError]] = [ContractError]
    while pending:
        cls = pending.pop()
        found[cls.__name__] = cls
        pending.extend(cls.__subclasses__())
    return found


class ErrorDecoder:
    """Decodes revert data into typed errors, for the errors declared in a set of ABIs."""

    def __init__(self, abis: Iterable[ABI]) -> None:
        classes = _all_error_classes()
        self._specs: dict[bytes, _ErrorSpec] = {}
        for abi in abis:
            for element in abi:
                if element.get("type") != "error":
                    continue
                entry = typing.cast(dict[str, object], element)
                name = str(entry["name"])
                inputs = typing.cast(list[dict[str, str]], entry.get("inputs", []))
                types = tuple(item["type"] for item in inputs)
                cls = classes.get(name)
                if cls is None or cls.field_names() != tuple(
                    python_name(i["name"]) for i in inputs
                ):
                    raise TypeError(f"no matching Python class for contract error {name}{types}")
                selector = function_signature_to_4byte_selector(f"{name}({','.join(types)})")
                self._specs[selector] = _ErrorSpec(cls, types)

    def decode(self, data: bytes) -> ContractError:
        """The typed error for `data` (the revert payload)."""
        selector, payload = data[:4], data[4:]
        try:
            if selector == _ERROR_STRING:
                return RevertedWithReason(*abi_decode(["string"], payload))
            if selector == _PANIC:
                return Panicked(*abi_decode(["uint256"], payload))
            spec = self._specs.get(selector)
            if spec is None:
                return UnknownContractError(data)
            values = abi_decode(list(spec.types), payload)
        except Exception:  # malformed revert data is reported, not raised
            return UnknownContractError(data)
        hints = typing.get_type_hints(spec.cls)
        return spec.cls(
            *(converter(hints[n])(v) for n, v in zip(spec.cls.field_names(), values, strict=True))
        )


def _show(value: object) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return repr(value)
