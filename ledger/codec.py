"""Conversion between ABI values (tuples, ints, bytes) and the ledger's Python types."""

from __future__ import annotations

import dataclasses
import enum
import keyword
import re
import typing
from collections.abc import Callable
from functools import cache, lru_cache

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

Converter = Callable[[object], object]


@lru_cache(maxsize=65_536)
def checksum_address(value: str | bytes) -> ChecksumAddress:
    """`to_checksum_address`, remembered: a keccak per address is the decoder's main cost, and
    the same few addresses (the office, the contracts) recur in every log."""
    return to_checksum_address(value)


def snake_case(name: str) -> str:
    """`certificateNotAfter` -> `certificate_not_after`, as ABI names become Python names."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def python_name(abi_name: str) -> str:
    """The attribute name for an ABI argument: snake case, with `_` after Python keywords."""
    name = snake_case(abi_name)
    return name + "_" if keyword.iskeyword(name) else name


def camel_case(name: str) -> str:
    """`certificate_not_after` -> `certificateNotAfter`."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def identity(value: object) -> object:
    """A converter that keeps the value (numbers and text decode as they are)."""
    return value


@cache
def converter(annotation: object) -> Converter:
    """A function turning a decoded ABI value into a value of type `annotation`."""
    origin = typing.get_origin(annotation)
    if origin is tuple:
        item = converter(typing.get_args(annotation)[0])
        return lambda value: tuple([item(v) for v in typing.cast(tuple[object, ...], value)])
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return record_converter(annotation)
    if annotation is bytes:
        return lambda value: bytes(typing.cast(bytes, value))
    if annotation is ChecksumAddress:  # eth-abi decodes addresses in lower case
        return lambda value: checksum_address(typing.cast(str, value))
    return identity


def record_converter(cls: type) -> Converter:
    """A function building a `cls` dataclass from an ABI tuple of its fields, in order."""
    hints = typing.get_type_hints(cls)
    converters = [converter(hints[f.name]) for f in dataclasses.fields(cls)]
    count = len(converters)

    def convert(value: object) -> object:
        values = typing.cast(tuple[object, ...], value)
        if len(values) != count:
            raise ValueError(f"{cls.__name__} takes {count} values, not {len(values)}")
        return cls(*[conv(v) for conv, v in zip(converters, values, strict=True)])

    if all(conv is identity for conv in converters):
        # Records of plain numbers (shares): the fields are the values, in order.

        def convert_plain(value: object) -> object:
            values = typing.cast(tuple[object, ...], value)
            if len(values) != count:
                raise ValueError(f"{cls.__name__} takes {count} values, not {len(values)}")
            return cls(*values)

        return convert_plain
    return convert


def to_abi(value: object) -> object:
    """A Python value (dataclass, enum, tuple) as the nested tuples web3 and eth-abi encode."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple(to_abi(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, enum.Enum):
        return int(value.value)
    if isinstance(value, tuple | list):
        return [to_abi(v) for v in value]
    return value


# --- A fast ABI decoder for the shapes events use (the mirror's hot path) ---

_WORD = 32
Reader = Callable[[bytes, int], object]


def fast_decoder(abi_types: typing.Sequence[str]) -> Callable[[bytes], tuple[object, ...]] | None:
    """A decoder of `abi_types` several times faster than eth-abi's, or None if a type is not
    one it handles (static elementary types, static tuples of them, `bytes`, `string`, and
    arrays of static types).

    It checks what eth-abi checks in strict mode (bounds, value ranges, zero padding) and
    raises ValueError on anything else; callers fall back to eth-abi for the precise error.
    """
    # (head position, dynamic, reader). Static readers read within bounds their caller checked.
    plan: list[tuple[int, bool, Reader]] = []
    for position, abi_type in enumerate(abi_types):
        static = _static_reader(abi_type)
        if static is not None:
            size, read = static
            # Static tuples take several head words: only one word per value is handled.
            if size != _WORD:
                return None
            plan.append((position * _WORD, False, read))
            continue
        dynamic = _dynamic_reader(abi_type)
        if dynamic is None:
            return None
        plan.append((position * _WORD, True, dynamic))
    head_size = len(plan) * _WORD

    def decode(data: bytes) -> tuple[object, ...]:
        if len(data) < head_size:
            raise ValueError(f"{len(data)} bytes, shorter than the {head_size}-byte head")
        # A list comprehension, not a generator: the decoder runs for every log of a backfill.
        return tuple(
            [read(data, _offset(data, head) if dynamic else head) for head, dynamic, read in plan]
        )

    return decode


def _word(data: bytes, at: int) -> bytes:
    if at < 0 or at + _WORD > len(data):
        raise ValueError(f"read past the end of {len(data)} bytes at {at}")
    return data[at : at + _WORD]


def _offset(data: bytes, at: int) -> int:
    offset = int.from_bytes(data[at : at + _WORD], "big")
    if offset > len(data):
        raise ValueError(f"offset {offset} past the end of {len(data)} bytes")
    return offset


def _components(abi_type: str) -> list[str]:
    inner = abi_type[1:-1]
    return inner.split(",") if inner else []


def _static_reader(abi_type: str) -> tuple[int, Reader] | None:
    """(size, reader) of a static type, or None. The reader does not check bounds."""
    if abi_type.startswith("(") and abi_type.endswith(")"):
        parts = _components(abi_type)
        if any("(" in p or "[" in p for p in parts):
            return None
        elementary = [_elementary_reader(p) for p in parts]
        if any(r is None for r in elementary):
            return None
        fields = [(n * _WORD, typing.cast(Reader, r)) for n, r in enumerate(elementary)]

        def read_tuple(data: bytes, at: int) -> object:
            return tuple([read(data, at + offset) for offset, read in fields])

        return _WORD * len(fields), read_tuple
    reader = _elementary_reader(abi_type)
    return None if reader is None else (_WORD, reader)


def _elementary_reader(abi_type: str) -> Reader | None:
    """A reader of one word at `at`; the caller has checked that the word is in `data`."""
    if (abi_type.startswith("uint") and abi_type[4:].isdigit()) or abi_type == "uint":
        limit = 1 << int(abi_type[4:] or 256)

        def read_uint(data: bytes, at: int) -> object:
            value = int.from_bytes(data[at : at + _WORD], "big")
            if value >= limit:
                raise ValueError(f"{value} does not fit {abi_type}")
            return value

        return read_uint
    if abi_type == "address":

        def read_address(data: bytes, at: int) -> object:
            if any(data[at : at + 12]):
                raise ValueError("address with non-zero padding")
            return "0x" + data[at + 12 : at + _WORD].hex()

        return read_address
    if abi_type == "bool":

        def read_bool(data: bytes, at: int) -> object:
            value = int.from_bytes(data[at : at + _WORD], "big")
            if value > 1:
                raise ValueError(f"{value} is not a bool")
            return value == 1

        return read_bool
    if abi_type.startswith("bytes") and abi_type[5:].isdigit():
        size = int(abi_type[5:])

        def read_fixed_bytes(data: bytes, at: int) -> object:
            if any(data[at + size : at + _WORD]):
                raise ValueError(f"{abi_type} with non-zero padding")
            return data[at : at + size]

        return read_fixed_bytes
    return None


def _dynamic_reader(abi_type: str) -> Reader | None:
    if abi_type in ("bytes", "string"):

        def read_bytes(data: bytes, at: int) -> object:
            length = int.from_bytes(_word(data, at), "big")
            start = at + _WORD
            end = start + length
            padded = start + (length + _WORD - 1) // _WORD * _WORD
            if padded > len(data):
                raise ValueError(f"{abi_type} of {length} bytes past the end")
            if any(data[end:padded]):
                raise ValueError(f"{abi_type} with non-zero padding")
            value = data[start:end]
            return value.decode("utf-8") if abi_type == "string" else value

        return read_bytes
    if abi_type.endswith("[]"):
        item = _static_reader(abi_type[:-2])
        if item is None:
            return None
        size, read_item = item

        def read_array(data: bytes, at: int) -> object:
            count = int.from_bytes(_word(data, at), "big")
            start = at + _WORD
            if start + count * size > len(data):
                raise ValueError(f"array of {count} items past the end")
            return tuple([read_item(data, start + n * size) for n in range(count)])

        return read_array
    return None
