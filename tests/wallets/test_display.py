"""Outside text on a terminal: every character shown, none obeyed."""

from __future__ import annotations

import codecs
import io
import string
import unicodedata

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from wallets.display import markup_safe, visible


@given(st.text())
def test_shown_text_holds_only_printable_characters_and_spaces(text: str) -> None:
    shown = visible(text)

    assert all(c.isprintable() or unicodedata.category(c) == "Zs" for c in shown), shown


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)))
def test_shown_ascii_reads_back_as_the_original(text: str) -> None:
    assert codecs.decode(visible(text), "unicode_escape") == text


@given(st.text(alphabet=st.sampled_from(string.printable + "[]/\\\x1b\u202e") | st.characters()))
def test_rich_prints_markup_safe_text_exactly_as_visible_text(text: str) -> None:
    out = io.StringIO()
    Console(file=out, width=10_000, color_system=None).print(
        markup_safe(text), soft_wrap=True, highlight=False, end=""
    )

    assert out.getvalue() == visible(text)
