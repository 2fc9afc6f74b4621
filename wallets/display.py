"""Text from outside (the chain, the registry service, a certificate) made safe to show.

A right's title or a legal name is written by someone else. On a terminal, a newline in it
forges a line of what a signer reads (a fake share), an ESC sequence hides or rewrites text, a
bidi override reverses it, and in Rich a `[...]` is markup (`[/bold]` even crashes the
printer). `visible` writes every such character as a Python-style escape; `markup_safe` also
escapes Rich markup, for text printed through a Rich console.
"""

from __future__ import annotations

import unicodedata

from rich.markup import escape

#: Unicode categories that change a terminal's output rather than add to it, or whose look
#: nobody can promise: controls (C0, DEL, C1), format characters (bidi overrides and isolates,
#: zero-width ones), line and paragraph separators, lone surrogates, private-use and
#: unassigned code points.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def visible(text: str) -> str:
    """`text` with each control, format or separator character written as an escape.

    A backslash is doubled, so that text cannot pass a literal `\\n` off as a shown newline.
    """
    return "".join(_visible_char(char) for char in text)


def markup_safe(text: str) -> str:
    """`text` made visible and escaped for Rich markup: printed exactly as it reads."""
    return escape(visible(text))


def _visible_char(char: str) -> str:
    if char in _SHORT:
        return _SHORT[char]
    if unicodedata.category(char) not in _HIDDEN_CATEGORIES:
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
