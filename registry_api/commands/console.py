"""What every command shares: how to print and fail, and the keystores' password."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from wallets.display import markup_safe
from wallets.passwords import PasswordUnavailable, key_password_from

console = Console()
errors = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    """Print an error (never a traceback) and give the exit to raise.

    The message is printed as it reads: errors quote the chain, certificates and files.
    """
    errors.print(f"[red]error:[/red] {markup_safe(message)}")
    return typer.Exit(code=1)


def key_password(password_file: Path | None) -> str | None:
    """A keystore password: from a file, else IPLEDGER_KEY_PASSWORD(_FILE), else none."""
    try:
        return key_password_from(password_file, None, purpose="the key")
    except PasswordUnavailable:
        return None
