"""Pure decoding of reverts and logs, and that Python knows every error and event."""

from __future__ import annotations

import json
import typing

import pytest
from eth_abi.abi import encode
from eth_utils.abi import event_signature_to_log_topic, function_signature_to_4byte_selector

from ledger.artifacts import ArtifactSet
from ledger.errors import (
    Conflict,
    ContractError,
    ErrorDecoder,
    Forbidden,
    IPAssetRegistryShareTooHigh,
    NotFound,
    Panicked,
    ParticipantRegistryInvalidStatus,
    Refused,
    RevertedWithReason,
    UnknownContractError,
)
from ledger.events import EVENT_CLASSES, AssetStatusChanged, EventDecoder, Log, UndecodableLog
from ledger.types import AssetStatus, ParticipantStatus

ASSET = bytes.fromhex("ab" * 32)
OFFICE = "0x1111111111111111111111111111111111111111"
GENERIC = {
    ContractError,
    Forbidden,
    NotFound,
    Conflict,
    Refused,
    UnknownContractError,
    RevertedWithReason,
    Panicked,
}


@pytest.fixture(scope="module")
def errors(artifacts: ArtifactSet) -> ErrorDecoder:
    return ErrorDecoder(a.abi for a in artifacts.contracts.values())


@pytest.fixture(scope="module")
def events(artifacts: ArtifactSet) -> EventDecoder:
    return EventDecoder(a.abi for a in artifacts.contracts.values())


def _selector(signature: str) -> bytes:
    return function_signature_to_4byte_selector(signature)


def _subclasses(cls: type[ContractError]) -> set[type[ContractError]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_a_custom_error_decodes_into_its_class_with_typed_arguments(errors: ErrorDecoder) -> None:
    data = _selector("IPAssetRegistryShareTooHigh(bytes32,uint16,uint16)") + encode(
        ["bytes32", "uint16", "uint16"], [ASSET, 2500, 5000]
    )

    error = errors.decode(data)

    assert isinstance(error, IPAssetRegistryShareTooHigh)
    assert (error.asset_id, error.held, error.asked) == (ASSET, 2500, 5000)
    assert error.family == "refused"
    assert (
        str(error) == f"IPAssetRegistryShareTooHigh(asset_id=0x{'ab' * 32}, held=2500, asked=5000)"
    )


def test_enum_arguments_decode_into_enums(errors: ErrorDecoder) -> None:
    data = _selector("ParticipantRegistryInvalidStatus(uint64,uint8)") + encode(
        ["uint64", "uint8"], [7, 2]
    )

    error = errors.decode(data)

    assert isinstance(error, ParticipantRegistryInvalidStatus)
    assert error.status is ParticipantStatus.SUSPENDED


def test_reason_strings_panics_and_unknown_selectors_are_reported(errors: ErrorDecoder) -> None:
    reason = errors.decode(_selector("Error(string)") + encode(["string"], ["no"]))
    panic = errors.decode(_selector("Panic(uint256)") + encode(["uint256"], [0x11]))
    unknown = errors.decode(bytes.fromhex("deadbeef") + bytes(32))

    assert isinstance(reason, RevertedWithReason)
    assert reason.reason == "no"
    assert isinstance(panic, Panicked)
    assert panic.code == 0x11
    assert isinstance(unknown, UnknownContractError)
    assert unknown.data.startswith(b"\xde\xad")


def test_malformed_revert_data_is_reported_not_raised(errors: ErrorDecoder) -> None:
    truncated = _selector("IPAssetRegistryShareTooHigh(bytes32,uint16,uint16)") + bytes(10)
    assert isinstance(errors.decode(truncated), UnknownContractError)
    assert isinstance(errors.decode(b"\x01"), UnknownContractError)


def test_every_python_error_class_is_declared_by_a_contract(artifacts: ArtifactSet) -> None:
    declared = {
        str(entry["name"])
        for artifact in artifacts.contracts.values()
        for entry in artifact.abi
        if entry["type"] == "error"
    }
    defined = {cls.__name__ for cls in _subclasses(ContractError) - GENERIC}
    assert defined == declared
    assert {str(entry["name"]) for entry in artifacts.error_abi_json} == declared


def test_the_combined_error_abi_is_written_with_the_artifacts_and_decodes_every_error(
    artifacts: ArtifactSet,
) -> None:
    written = json.loads(artifacts.model_dump_json())["error_abi_json"]
    assert written == json.loads(json.dumps(artifacts.error_abi))
    assert ArtifactSet.model_validate_json(artifacts.model_dump_json()) == artifacts
    decoder = ErrorDecoder([artifacts.error_abi])
    for entry in artifacts.error_abi_json:
        inputs = typing.cast(list[dict[str, str]], entry["inputs"])
        types = [i["type"] for i in inputs]
        zeros = [_zero(t) for t in types]
        data = _selector(f"{entry['name']}({','.join(types)})") + encode(types, zeros)
        assert type(decoder.decode(data)).__name__ == entry["name"]


def test_every_contract_event_has_a_dataclass(artifacts: ArtifactSet) -> None:
    declared = {
        str(entry["name"])
        for artifact in artifacts.contracts.values()
        for entry in artifact.abi
        if entry["type"] == "event"
    }
    assert {cls.__name__ for cls in EVENT_CLASSES} == declared


def _zero(abi_type: str) -> object:
    if abi_type == "string":
        return ""
    if abi_type.startswith("bytes"):
        return bytes(int(abi_type[5:] or 0))
    if abi_type == "address":
        return "0x" + "00" * 20
    return False if abi_type == "bool" else 0


def _status_log(data: bytes, topics: int = 3) -> Log:
    topic0 = event_signature_to_log_topic("AssetStatusChanged(bytes32,uint8,uint8,uint16,address)")
    all_topics = (topic0, ASSET, bytes(12) + bytes.fromhex(OFFICE[2:]))
    return Log(OFFICE, all_topics[:topics], data, 5, bytes(32), bytes(32), 0)  # type: ignore[arg-type]


def test_a_log_decodes_into_its_event_with_indexed_and_data_fields(events: EventDecoder) -> None:
    decoded = events.decode(_status_log(encode(["uint8", "uint8", "uint16"], [1, 2, 77])))

    assert decoded.event == AssetStatusChanged(
        asset_id=ASSET,
        previous_status=AssetStatus.REGISTERED,
        status=AssetStatus.LAPSED,
        reason_code=77,
        office=OFFICE,  # type: ignore[arg-type]
    )
    assert decoded.log.block_number == 5


def test_unknown_and_malformed_logs_are_undecodable(events: EventDecoder) -> None:
    good = encode(["uint8", "uint8", "uint16"], [1, 2, 77])
    unknown = Log(OFFICE, (bytes(32),), b"", 1, bytes(32), bytes(32), 0)  # type: ignore[arg-type]
    anonymous = Log(OFFICE, (), b"", 1, bytes(32), bytes(32), 0)  # type: ignore[arg-type]

    for log in (unknown, anonymous, _status_log(good[:40]), _status_log(good, topics=2)):
        with pytest.raises(UndecodableLog):
            events.decode(log)
