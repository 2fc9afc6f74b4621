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


@cache
def converter(annotation: object) -> Converter:
    """A function turning a decoded ABI value into a value of type `annotation`."""
    origin = typing.get_origin(annotation)
    if origin is tuple:
        item = converter(typing.get_args(annotation)[0])
        return lambda value: tuple(item(v) for v in typing.cast(tuple[object, ...], value))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        enum_type = annotation
        return lambda value: enum_type(value)
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return record_converter(annotation)
    if annotation is bytes:
        return lambda value: bytes(typing.cast(bytes, value))
    if annotation is ChecksumAddress:  # eth-abi decodes addresses in lower case
        return lambda value: checksum_address(typing.cast(str, value))
    return lambda value: value


def record_converter(cls: type) -> Converter:
    """A function building a `cls` dataclass from an ABI tuple of its fields, in order."""
    hints = typing.get_type_hints(cls)
    fields = [(f.name, converter(hints[f.name])) for f in dataclasses.fields(cls)]

    def convert(value: object) -> object:
        values = typing.cast(tuple[object, ...], value)
        return cls(**{name: conv(v) for (name, conv), v in zip(fields, values, strict=True)})

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
    readers: list[tuple[bool, Reader]] = []
    for abi_type in abi_types:
        static = _static_reader(abi_type)
        if static is not None:
            readers.append((False, static[1]))
            continue
        dynamic = _dynamic_reader(abi_type)
        if dynamic is None:
            return None
        readers.append((True, dynamic))

    def decode(data: bytes) -> tuple[object, ...]:
        values = []
        for position, (dynamic, read) in enumerate(readers):
            head = position * _WORD
            if dynamic:
                values.append(read(data, _offset(data, head)))
            else:
                values.append(read(data, head))
        return tuple(values)

    # Static tuples take several head words: only the one-word-per-value layout is handled.
    if any(
        not dynamic and _static_size(t) != _WORD
        for (dynamic, _), t in zip(readers, abi_types, strict=True)
    ):
        return None
    return decode


def _word(data: bytes, at: int) -> bytes:
    if at < 0 or at + _WORD > len(data):
        raise ValueError(f"read past the end of {len(data)} bytes at {at}")
    return data[at : at + _WORD]


def _offset(data: bytes, at: int) -> int:
    offset = int.from_bytes(_word(data, at), "big")
    if offset > len(data):
        raise ValueError(f"offset {offset} past the end of {len(data)} bytes")
    return offset


def _static_size(abi_type: str) -> int:
    if abi_type.startswith("(") and abi_type.endswith(")"):
        return _WORD * len(_components(abi_type))
    return _WORD


def _components(abi_type: str) -> list[str]:
    inner = abi_type[1:-1]
    return inner.split(",") if inner else []


def _static_reader(abi_type: str) -> tuple[int, Reader] | None:
    """(size, reader) of a static type, or None."""
    if abi_type.startswith("(") and abi_type.endswith(")"):
        parts = _components(abi_type)
        if any("(" in p or "[" in p for p in parts):
            return None
        elementary = [_elementary_reader(p) for p in parts]
        if any(r is None for r in elementary):
            return None
        readers = typing.cast(list[Reader], elementary)

        def read_tuple(data: bytes, at: int) -> object:
            return tuple(r(data, at + n * _WORD) for n, r in enumerate(readers))

        return _WORD * len(readers), read_tuple
    reader = _elementary_reader(abi_type)
    return None if reader is None else (_WORD, reader)


def _elementary_reader(abi_type: str) -> Reader | None:
    if (abi_type.startswith("uint") and abi_type[4:].isdigit()) or abi_type == "uint":
        limit = 1 << int(abi_type[4:] or 256)

        def read_uint(data: bytes, at: int) -> object:
            value = int.from_bytes(_word(data, at), "big")
            if value >= limit:
                raise ValueError(f"{value} does not fit {abi_type}")
            return value

        return read_uint
    if abi_type == "address":

        def read_address(data: bytes, at: int) -> object:
            word = _word(data, at)
            if any(word[:12]):
                raise ValueError("address with non-zero padding")
            return "0x" + word[12:].hex()

        return read_address
    if abi_type == "bool":

        def read_bool(data: bytes, at: int) -> object:
            value = int.from_bytes(_word(data, at), "big")
            if value > 1:
                raise ValueError(f"{value} is not a bool")
            return value == 1

        return read_bool
    if abi_type.startswith("bytes") and abi_type[5:].isdigit():
        size = int(abi_type[5:])

        def read_fixed_bytes(data: bytes, at: int) -> object:
            word = _word(data, at)
            if any(word[size:]):
                raise ValueError(f"{abi_type} with non-zero padding")
            return word[:size]

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
            return tuple(read_item(data, start + n * size) for n in range(count))

        return read_array
    return None
