"""What every command shares: where the repository's files are, and how to print and fail."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent.parent
CONTRACTS_DIR = ROOT / "contracts"
ARTIFACTS = ROOT / "build" / "artifacts.json"
PASSWORD_ENV = "IPLEDGER_KEY_PASSWORD"

console = Console()
errors = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    """Print an error (never a traceback) and give the exit to raise."""
    errors.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


def key_password(password_file: Path | None) -> str | None:
    """A keystore password: from a file, else from IPLEDGER_KEY_PASSWORD, else none."""
    if password_file is not None:
        return password_file.read_text().rstrip("\n")
    return os.environ.get(PASSWORD_ENV)
