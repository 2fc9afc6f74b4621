"""`ipledger wallet sign` reads typed data from a file: nested JSON there is refused in words, as a
process of its own shows (a crash of the C stack would kill it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

IPLEDGER = Path(sys.executable).parent / "ipledger"


def test_typed_data_nested_too_deep_is_refused_in_one_line(tmp_path: Path) -> None:
    wallets, password = tmp_path / "wallets", tmp_path / "password"
    password.write_text("correct horse battery staple\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPLEDGER_")}
    base = [str(IPLEDGER), "wallet"]
    options = ["--wallet-dir", str(wallets), "--password-file", str(password)]
    created = subprocess.run([*base, "new", "acme", *options], env=env, capture_output=True)
    assert created.returncode == 0, created.stderr
    deep = tmp_path / "deep.json"
    deep.write_bytes(b'{"types": ' + b"[" * 200_000 + b"}")

    signing = subprocess.run(
        [*base, "sign", str(deep), "--wallet", "acme", "--yes", *options],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert signing.returncode == 1, (signing.returncode, signing.stderr[-2000:])
    assert "nests deeper than 32 levels" in signing.stdout + signing.stderr
    assert "Traceback" not in signing.stdout + signing.stderr
