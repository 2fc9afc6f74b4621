"""What a wallet shows before it signs: typed data decoded, checked, and told in words.

Typed data is decoded with the ledger's own EIP-712 definitions (ledger.typed_data, the ones
whose type hashes are tested equal to the contracts'), and what is signed is that decoded
struct encoded again, never the file as given: what the signer reads is what it signs.
"""

from __future__ import annotations

import datetime
import typing
from dataclasses import dataclass
from typing import Protocol

from eth_typing import ChecksumAddress

from ledger.deploy import Ledger
from ledger.signer import TypedDataJSON
from ledger.typed_data import Assignment, Domain, KeyRotation, TypedDataError, TypedStruct
from ledger.types import TOTAL_BPS, AssetStatus
from wallets.display import visible
from wallets.lookup import Lookup, PartyFacts

#: The structs a wallet signs, and the contract of the deployment that verifies each.
SIGNABLE: dict[str, tuple[type[TypedStruct], str]] = {
    Assignment.PRIMARY_TYPE: (Assignment, "IPAssetRegistry"),
    KeyRotation.PRIMARY_TYPE: (KeyRotation, "ParticipantRegistry"),
}


class SigningRefused(ValueError):
    """Typed data that the wallet will not sign; the message says why."""


class Deployment(Protocol):
    """The deployment a wallet signs for: its chain and its contracts' EIP-712 domains."""

    @property
    def chain_id(self) -> int: ...

    def address_of(self, contract: str) -> ChecksumAddress:
        """Where the deployment's `contract` is."""
        ...

    def domain_of(self, contract: str) -> Domain:
        """The EIP-712 domain `contract` reports."""
        ...


class LedgerDeployment:
    """A Deployment read from a node, for a deployment manifest."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    @property
    def chain_id(self) -> int:
        return self._ledger.manifest.chain_id

    def address_of(self, contract: str) -> ChecksumAddress:
        return self._ledger.manifest.address_of(contract)

    def domain_of(self, contract: str) -> Domain:
        client = self._ledger.assets if contract == "IPAssetRegistry" else self._ledger.participants
        return client.domain()


@dataclass(frozen=True)
class Review:
    """Decoded typed data, the contract that will check it, and what it means."""

    struct: TypedStruct
    domain: Domain
    contract: str
    #: (label, value) pairs in reading order; control characters in values written visibly.
    lines: tuple[tuple[str, str], ...]
    #: What the signer should know before signing (a party not identified, a right unknown).
    warnings: tuple[str, ...]

    def typed_data(self) -> dict[str, object]:
        """The typed data to sign: the decoded struct, encoded again."""
        return self.struct.typed_data(self.domain)


def decode(data: TypedDataJSON) -> tuple[Domain, TypedStruct, str]:
    """The domain, the struct and the verifying contract's name; SigningRefused if unknown."""
    primary = data.get("primaryType")
    if not isinstance(primary, str) or primary not in SIGNABLE:
        known = ", ".join(SIGNABLE)
        raise SigningRefused(f"unknown typed data {primary!r}: this wallet signs {known}")
    struct_type, contract = SIGNABLE[primary]
    try:
        domain, struct = struct_type.from_typed_data(data)
    except TypedDataError as exc:
        raise SigningRefused(f"typed data does not match the ledger's definition: {exc}") from None
    return domain, struct, contract


def review(
    data: TypedDataJSON,
    deployment: Deployment,
    lookup: Lookup,
    signer: ChecksumAddress,
    now: int,
) -> Review:
    """Decode and check typed data against the deployment and the chain's time `now`; say
    what it means. SigningRefused for another chain, another contract, or a passed deadline."""
    domain, struct, contract = decode(data)
    chain_id = deployment.chain_id
    chain_ids = {domain.chain_id, _number(struct, "chain_id")}
    if chain_ids != {chain_id}:
        other = ", ".join(str(c) for c in sorted(chain_ids - {chain_id}))
        raise SigningRefused(
            f"the typed data is for chain {other}, but the deployment manifest names chain "
            f"{chain_id}: refusing to sign"
        )
    expected = deployment.address_of(contract)
    contracts = {domain.verifying_contract, _address(struct, "verifying_contract")}
    if contracts != {expected}:
        other = ", ".join(str(c) for c in sorted(contracts - {expected}))
        raise SigningRefused(
            f"the typed data is for contract {other}, but the deployment's {contract} is at "
            f"{expected}: refusing to sign"
        )
    if domain != deployment.domain_of(contract):
        raise SigningRefused(
            f"the EIP-712 domain ({domain.name!r}, version {domain.version!r}) is not the one "
            f"{contract} reports: refusing to sign"
        )
    deadline = _number(struct, "deadline")
    if deadline < now:
        raise SigningRefused(
            f"the deadline passed on {_when(deadline)} (chain time {_when(now)}): "
            "refusing to sign an expired approval"
        )
    common = (
        ("deadline", f"{_when(deadline)} ({_remaining(deadline - now)})"),
        ("chain", f"chain {chain_id}, {contract} at {expected}"),
    )
    if isinstance(struct, Assignment):
        lines, warnings = _assignment(struct, lookup, signer)
    else:
        assert isinstance(struct, KeyRotation)
        lines, warnings = _rotation(struct, lookup, signer)
    # Titles, numbers and legal names are written by others: a newline in one would forge a
    # line of this review, so every control character is shown, never obeyed.
    told = tuple((label, visible(value)) for label, value in (*lines, *common))
    return Review(struct, domain, contract, told, tuple(visible(w) for w in warnings))


def _assignment(
    assignment: Assignment, lookup: Lookup, signer: ChecksumAddress
) -> tuple[list[tuple[str, str]], list[str]]:
    warnings: list[str] = []
    right = lookup.right(assignment.asset_id)
    if right is None:
        right_text = f"0x{assignment.asset_id.hex()} (no such right on this ledger)"
        warnings.append("the right is not registered on this ledger")
    else:
        right_text = right.label
        if right.status is not AssetStatus.REGISTERED:
            right_text += f" [{right.status.name.lower()}]"
            warnings.append(f"the right is {right.status.name.lower()}, not in force")
    assignor, assignee = lookup.party(assignment.assignor), lookup.party(assignment.assignee)
    warnings += _party_warnings("assignor", assignor) + _party_warnings("assignee", assignee)
    signer_id = lookup.participant_of(signer)
    if signer_id == assignment.assignor:
        capacity = "the assignor"
    elif signer_id == assignment.assignee:
        capacity = "the assignee"
    elif signer_id:
        capacity = "a co-owner consenting"
    else:
        capacity = "a key bound to no participant"
        warnings.append(
            f"your key {signer} is not bound to any participant: its signature counts for nothing"
        )
    share = assignment.share_bps
    lines = [
        ("what", f"Assignment of {_percent(share)} of a right"),
        ("right", right_text),
        ("assignor", assignor.label),
        ("assignee", assignee.label),
        (
            "share",
            f"{_percent(share)} of the whole right ({share:,} of {TOTAL_BPS:,} basis points)",
        ),
        ("terms", f"document SHA-256 0x{assignment.terms_hash.hex()}"),
        ("you sign as", f"{capacity} ({signer})"),
    ]
    return lines, warnings


def _rotation(
    rotation: KeyRotation, lookup: Lookup, signer: ChecksumAddress
) -> tuple[list[tuple[str, str]], list[str]]:
    party = lookup.party(rotation.participant_id)
    warnings = _party_warnings("participant", party)
    if signer != rotation.current_key:
        warnings.append(f"only the current key {rotation.current_key} can sign this rotation")
    lines = [
        ("what", f"Key rotation: {rotation.current_key} is replaced by {rotation.new_key}"),
        ("participant", party.label),
        ("current key", f"{rotation.current_key} (retired for good once rotated)"),
        ("new key", rotation.new_key),
        ("you sign as", str(signer)),
    ]
    return lines, warnings


def _party_warnings(role: str, party: PartyFacts) -> list[str]:
    warnings = []
    if party.legal_name is None:
        warnings.append(f"the {role} is not identified by a certificate: {party.note}")
    if not party.active:
        warnings.append(f"the {role} is not active ({party.standing}): the office will refuse")
    return warnings


def _number(struct: TypedStruct, name: str) -> int:
    # Every signed struct starts with deadline, chain_id and verifying_contract (the recipe of
    # contracts/ITypedApprovals.sol); the base class does not declare them.
    return typing.cast(int, getattr(struct, name))


def _address(struct: TypedStruct, name: str) -> ChecksumAddress:
    return typing.cast(ChecksumAddress, getattr(struct, name))


def _percent(bps: int) -> str:
    return f"{bps / 100:g}%"


def _when(timestamp: int) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _remaining(seconds: int) -> str:
    if seconds >= 2 * 86_400:
        return f"in {seconds // 86_400} days"
    if seconds >= 2 * 3_600:
        return f"in {seconds // 3_600} hours"
    return f"in {max(seconds, 0) // 60} minutes"
