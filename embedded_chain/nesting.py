"""Nesting an attacker cannot use to crash the process: JSON depth bounded before any parse, and
a recursion limit that every thread's C stack can take.

Why both: json.loads, repr, == and pickle recurse in C, one level of C stack per level of nesting,
and stop only at Python's recursion limit. py_ecc raises that limit to 100,000 when imported (py-evm
to 12,288), where a JSON text of 200 KB of "[" overflows an 8 MiB stack: a segfault, not a
RecursionError. So every parser of outside JSON checks depth first (`loads`, `JsonDepth`), and a
process that serves requests calls `bound_recursion()` before it starts its threads.
"""

from __future__ import annotations

import json
import re
import resource
import sys
import threading

#: Deepest nesting of JSON from outside (a request, a typed data file, a node's answer). The API's
#: bodies, JSON-RPC requests and EIP-712 typed data nest a few levels.
MAX_JSON_DEPTH = 32

#: What the EVM needs. Measured (CPython 3.11, py-evm 0.12): a contract that CALLs itself to the
#: EVM's deepest stack (1,024 calls) ran at a limit of 6,500 and raised RecursionError at 6,000,
#: about six Python levels a call. py-evm's own figure, 12,288, leaves room for the caller's frames
#: (the server, web3, the relayer).
RECURSION_LIMIT = 12_288

#: C stack of every thread. Measured on x86-64, C stack per recursion level: recursion through a
#: Python `__getattr__` ~740 bytes (at 12,288 levels 9.1 MB: it crashed an 8 MiB thread at 11,500
#: levels and raised RecursionError on 12 MiB), a `property` ~630, `==` on nested lists ~180,
#: json.loads ~130; the EVM's 1,024 calls took ~0.7 MiB. 16 MiB holds the worst seen with 1.8x to
#: spare; it is address space, touched only as deep as a thread goes.
STACK_BYTES = 16 << 20

_JSON_TOKENS = re.compile(rb'["\\\[\]{}]')


class JsonTooDeep(ValueError):
    """JSON nested deeper than the bound: refused before it is parsed."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"the JSON nests deeper than {max_depth} levels")
        self.max_depth = max_depth


class JsonDepth:
    """How deep a JSON text nests, fed in chunks as it streams in (strings are skipped)."""

    def __init__(self) -> None:
        self.depth = 0
        self.deepest = 0
        self._in_string = False
        self._escaped = False  # the chunk before ended with a backslash in a string

    def feed(self, chunk: bytes) -> int:
        """The deepest nesting so far."""
        skip = 0 if self._escaped else -1
        self._escaped = False
        for match in _JSON_TOKENS.finditer(chunk):
            at = match.start()
            if at == skip:
                continue
            token = chunk[at : at + 1]
            if self._in_string:
                if token == b"\\":  # the next byte is escaped, perhaps in the next chunk
                    skip = at + 1
                    self._escaped = skip == len(chunk)
                elif token == b'"':
                    self._in_string = False
            elif token == b'"':
                self._in_string = True
            elif token in b"[{":
                self.depth += 1
                self.deepest = max(self.deepest, self.depth)
            else:
                self.depth -= 1
        return self.deepest


def loads(text: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> object:
    """json.loads, refusing (JsonTooDeep, a ValueError) a text nested deeper than `max_depth`."""
    data = text.encode() if isinstance(text, str) else text
    if JsonDepth().feed(data) > max_depth:
        raise JsonTooDeep(max_depth)
    return json.loads(data)


def bound_recursion() -> None:
    """Set the recursion limit to what the EVM needs, and give threads a stack that holds it.

    Threads started from now on get STACK_BYTES; the main thread's stack grows up to RLIMIT_STACK,
    raised here when the hard limit allows (read when the stack grows, so it applies at once), and
    the recursion limit is lowered in proportion when it does not.
    """
    # Their imports raise the limit (py_ecc to 100,000): imported first, so that ours is the last.
    import eth  # noqa: F401
    import py_ecc  # noqa: F401

    threading.stack_size(STACK_BYTES)
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    main_stack = soft
    if soft != resource.RLIM_INFINITY and soft < STACK_BYTES:
        main_stack = STACK_BYTES if hard == resource.RLIM_INFINITY else min(hard, STACK_BYTES)
        resource.setrlimit(resource.RLIMIT_STACK, (main_stack, hard))
    limit = RECURSION_LIMIT
    if main_stack != resource.RLIM_INFINITY and main_stack < STACK_BYTES:
        limit = RECURSION_LIMIT * main_stack // STACK_BYTES
    sys.setrecursionlimit(limit)
