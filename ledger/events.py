"""Pure decoding of contract logs into one dataclass per event.

The hot path of the mirror: topics are sliced and the data decoded with `eth_abi` directly,
which is some 30 times faster than web3's per-log machinery. Fields are the event's arguments in
ABI order (names in snake case); `DecodedLog` adds where the log sits on the chain.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from eth_abi.abi import decode as abi_decode
from eth_typing import ABI, ChecksumAddress
from eth_utils.abi import event_signature_to_log_topic

from ledger.codec import (
    Converter,
    checksum_address,
    converter,
    fast_decoder,
    identity,
    python_name,
)
from ledger.types import AssetKind, AssetStatus, Role, Share


@dataclass(frozen=True)
class Log:
    """A log as the node returns it."""

    address: ChecksumAddress
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    block_hash: bytes
    transaction_hash: bytes
    log_index: int


# --- ParticipantRegistry ---


@dataclass(frozen=True)
class ParticipantEnrolled:
    participant_id: int
    roles: Role
    certificate_fingerprint: bytes
    certificate_not_after: int
    keys: tuple[ChecksumAddress, ...]
    office: ChecksumAddress


@dataclass(frozen=True)
class ParticipantSuspended:
    participant_id: int
    reason_code: int
    office: ChecksumAddress


@dataclass(frozen=True)
class ParticipantReinstated:
    participant_id: int
    office: ChecksumAddress


@dataclass(frozen=True)
class ParticipantRevoked:
    participant_id: int
    reason_code: int
    office: ChecksumAddress


@dataclass(frozen=True)
class ParticipantRolesChanged:
    participant_id: int
    roles: Role
    office: ChecksumAddress


@dataclass(frozen=True)
class CertificateRenewed:
    participant_id: int
    certificate_fingerprint: bytes
    certificate_not_after: int
    office: ChecksumAddress


@dataclass(frozen=True)
class KeyRotated:
    participant_id: int
    old_key: ChecksumAddress
    new_key: ChecksumAddress
    office: ChecksumAddress


@dataclass(frozen=True)
class KeyRecovered:
    participant_id: int
    lost_key: ChecksumAddress
    new_key: ChecksumAddress
    office: ChecksumAddress


# --- IPAssetRegistry ---


@dataclass(frozen=True)
class AssetRegistered:
    asset_id: bytes
    jurisdiction: bytes
    kind: AssetKind
    number: str
    title: str
    document_hash: bytes
    filing_date: int
    registration_date: int
    expiry_date: int
    owners: tuple[Share, ...]
    office: ChecksumAddress


@dataclass(frozen=True)
class AssetStatusChanged:
    asset_id: bytes
    previous_status: AssetStatus
    status: AssetStatus
    reason_code: int
    office: ChecksumAddress


@dataclass(frozen=True)
class AssignmentFiled:
    assignment_id: bytes
    asset_id: bytes
    assignor: int
    assignee: int
    share_bps: int
    terms_hash: bytes
    nonce: int
    deadline: int
    signers: tuple[ChecksumAddress, ...]
    filer: ChecksumAddress


@dataclass(frozen=True)
class AssignmentRegistered:
    assignment_id: bytes
    asset_id: bytes
    owners: tuple[Share, ...]
    office: ChecksumAddress


@dataclass(frozen=True)
class AssignmentRejected:
    assignment_id: bytes
    reason_code: int
    office: ChecksumAddress


# --- Governance events emitted by OpenZeppelin bases ---


@dataclass(frozen=True)
class RoleGranted:
    role: bytes
    account: ChecksumAddress
    sender: ChecksumAddress


@dataclass(frozen=True)
class RoleRevoked:
    role: bytes
    account: ChecksumAddress
    sender: ChecksumAddress


@dataclass(frozen=True)
class RoleAdminChanged:
    role: bytes
    previous_admin_role: bytes
    new_admin_role: bytes


@dataclass(frozen=True)
class EIP712DomainChanged:
    pass


Event = (
    ParticipantEnrolled
    | ParticipantSuspended
    | ParticipantReinstated
    | ParticipantRevoked
    | ParticipantRolesChanged
    | CertificateRenewed
    | KeyRotated
    | KeyRecovered
    | AssetRegistered
    | AssetStatusChanged
    | AssignmentFiled
    | AssignmentRegistered
    | AssignmentRejected
    | RoleGranted
    | RoleRevoked
    | RoleAdminChanged
    | EIP712DomainChanged
)
EVENT_CLASSES: tuple[type[Event], ...] = typing.get_args(Event)

E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class DecodedLog:
    """An event and where it was emitted."""

    event: Event
    log: Log


class UndecodableLog(Exception):
    """A log that no known event matches, or whose payload does not decode."""

    def __init__(self, log: Log, reason: str) -> None:
        self.log = log
        self.reason = reason
        super().__init__(f"log {log.log_index} of block {log.block_number}: {reason}")


@dataclass(frozen=True)
class _EventSpec:
    name: str
    build: Callable[..., Event]
    topic_count: int
    #: Per field, in order: (from a topic, index among topics or data values, converter).
    fields: tuple[tuple[bool, int, Converter], ...]
    data_types: tuple[str, ...]
    fast: Callable[[bytes], tuple[object, ...]] | None

    def decode(self, log: Log) -> Event:
        topics = log.topics
        if len(topics) != self.topic_count:
            raise UndecodableLog(log, f"{self.name} with {len(topics)} topics")
        try:
            data = self._decode_data(log.data)
        except Exception as exc:
            raise UndecodableLog(log, f"{self.name} data: {exc}") from exc
        # A list, not a generator: this runs for every log of a backfill.
        return self.build(
            *[convert(topics[n] if in_topic else data[n]) for in_topic, n, convert in self.fields]
        )

    def _decode_data(self, data: bytes) -> tuple[object, ...]:
        if self.fast is not None:
            try:
                return self.fast(data)
            except (ValueError, UnicodeDecodeError):
                pass  # eth-abi decides, and names the problem
        return tuple(abi_decode(list(self.data_types), data))


def _topic_converter(abi_type: str, annotation: object) -> Converter:
    """Decodes an indexed value from its topic into the field's type."""
    if abi_type == "address":
        return lambda topic: checksum_address(typing.cast(bytes, topic)[12:])
    if abi_type.startswith(("uint", "int", "bool")):
        convert = converter(annotation)
        return lambda topic: convert(abi_decode([abi_type], typing.cast(bytes, topic))[0])
    return lambda topic: bytes(typing.cast(bytes, topic))  # bytes32; dynamic values are hashes


def _data_converter(annotation: object) -> Converter:
    """Turns a decoded data value into the field's type."""
    if annotation is bytes:
        return identity  # both decoders give `bytes` for bytesN and bytes
    return converter(annotation)


def _abi_type(entry: dict[str, object]) -> str:
    abi_type = str(entry["type"])
    if abi_type.startswith("tuple"):
        components = typing.cast(list[dict[str, object]], entry["components"])
        return "(" + ",".join(_abi_type(c) for c in components) + ")" + abi_type[5:]
    return abi_type


class EventDecoder:
    """Decodes the logs of a set of contracts into event dataclasses, by topic 0."""

    def __init__(self, abis: Iterable[ABI]) -> None:
        classes = {cls.__name__: cls for cls in EVENT_CLASSES}
        self._specs: dict[bytes, _EventSpec] = {}
        for abi in abis:
            for entry in abi:
                if entry.get("type") != "event":
                    continue
                spec = self._spec(classes, typing.cast(dict[str, object], entry))
                self._specs[event_signature_to_log_topic(self._signature(entry))] = spec

    @staticmethod
    def _signature(entry: object) -> str:
        item = typing.cast(dict[str, object], entry)
        inputs = typing.cast(list[dict[str, object]], item["inputs"])
        return f"{item['name']}({','.join(_abi_type(i) for i in inputs)})"

    @staticmethod
    def _spec(classes: dict[str, type[Event]], entry: dict[str, object]) -> _EventSpec:
        name = str(entry["name"])
        inputs = typing.cast(list[dict[str, object]], entry["inputs"])
        cls = classes.get(name)
        names = tuple(python_name(str(i["name"])) for i in inputs)
        if cls is None or tuple(f.name for f in dataclasses.fields(cls)) != names:
            raise TypeError(f"no matching Python dataclass for event {name}")
        hints = typing.get_type_hints(cls)
        annotations = [hints[f.name] for f in dataclasses.fields(cls)]
        fields: list[tuple[bool, int, Converter]] = []
        topics = data_values = 0
        for entry, annotation in zip(inputs, annotations, strict=True):
            if entry["indexed"]:
                topics += 1
                fields.append((True, topics, _topic_converter(_abi_type(entry), annotation)))
            else:
                fields.append((False, data_values, _data_converter(annotation)))
                data_values += 1
        data_types = tuple(_abi_type(i) for i in inputs if not i["indexed"])
        return _EventSpec(
            name=name,
            build=cls,
            topic_count=topics + 1,
            fields=tuple(fields),
            data_types=data_types,
            fast=fast_decoder(data_types),
        )

    @property
    def topics(self) -> tuple[bytes, ...]:
        """Topic 0 of every event this decoder knows."""
        return tuple(self._specs)

    def decode(self, log: Log) -> DecodedLog:
        """The event in `log`; raises `UndecodableLog` for an unknown or malformed one."""
        if not log.topics:
            raise UndecodableLog(log, "anonymous log")
        spec = self._specs.get(log.topics[0])
        if spec is None:
            raise UndecodableLog(log, f"unknown topic 0x{log.topics[0].hex()}")
        return DecodedLog(spec.decode(log), log)

    def decode_all(self, logs: Iterable[Log]) -> Iterator[DecodedLog]:
        for log in logs:
            yield self.decode(log)


def only(decoded: Iterable[DecodedLog], cls: type[E]) -> E:
    """The one event of type `cls` among `decoded`; a transaction emits exactly one per change."""
    found = [d.event for d in decoded if isinstance(d.event, cls)]
    if len(found) != 1:
        raise LookupError(f"expected one {cls.__name__}, found {len(found)}")
    return typing.cast(E, found[0])


def all_of(decoded: Iterable[DecodedLog], cls: type[E]) -> list[E]:
    """Every event of type `cls` among `decoded`, in log order."""
    return [typing.cast(E, d.event) for d in decoded if isinstance(d.event, cls)]
