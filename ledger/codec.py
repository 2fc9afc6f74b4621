"""Conversion between ABI values (tuples, ints, bytes) and the ledger's Python types."""

from __future__ import annotations

import dataclasses
import enum
import keyword
import re
import typing
from collections.abc import Callable
from functools import cache

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

Converter = Callable[[object], object]


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
        return lambda value: to_checksum_address(typing.cast(str, value))
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
