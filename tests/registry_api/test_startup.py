"""Start-up of `ipledger`: the commands that need no node answer before the heavy libraries load.

Each measurement runs a fresh interpreter (an import in this process is cached). The budget
scales with a load factor measured in the same test, just before each run: a fixed CPU-bound
Python job's wall time over its time on an idle machine (1 when idle, about 3 with six busy
processes on two cores), so that a loaded machine (the whole suite beside another job) does not
fail a fast command, while a command that imports web3 again (2.5 s) still fails.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from wallets.keystore import Keystore, WalletDirectory

#: What `ipledger --help` and the wallet commands without a node may take on an idle machine.
BUDGET_SECONDS = 0.5
#: The load factor's job, and its wall time on an idle machine of this kind (2 cores): pure
#: computation, so that its slowdown is the machine's.
REFERENCE_JOB = "sum(i * i for i in range(1_000_000))"
REFERENCE_IDLE_SECONDS = 0.08
#: Libraries that take seconds to import and that only commands talking to a chain, a database
#: or the web need.
HEAVY = ("web3", "eth", "eth_account", "fastapi", "sqlalchemy", "solcx", "uvicorn", "py_ecc")
RUNS = 3


def _run(arguments: list[str], env: dict[str, str]) -> float:
    """The wall time of one run of a child process."""
    started = time.perf_counter()
    subprocess.run(arguments, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def _idle_seconds(arguments: list[str], env: dict[str, str]) -> float:
    """The median over RUNS of a command's wall time divided by the load factor measured just
    before it (load comes and goes: a factor measured apart from the run would not fit it)."""
    times = []
    for _ in range(RUNS):
        reference = _run([sys.executable, "-c", REFERENCE_JOB], env)
        factor = max(1.0, reference / REFERENCE_IDLE_SECONDS)
        times.append(_run(arguments, env) / factor)
    return statistics.median(times)


def _ipledger(*arguments: str) -> list[str]:
    return [sys.executable, "-c", "from registry_api.cli import app; app()", *arguments]


def _environment(wallet_dir: Path) -> dict[str, str]:
    return {**os.environ, "IPLEDGER_WALLET_DIR": str(wallet_dir), "COLUMNS": "120"}


def test_importing_the_command_line_loads_no_chain_database_or_web_library() -> None:
    probe = (
        "import json, sys; import registry_api.cli; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    )

    assert json.loads(result.stdout) == [], result.stdout


def test_help_and_wallet_list_answer_within_half_a_second_scaled_by_the_load(
    tmp_path: Path,
) -> None:
    wallets = WalletDirectory(tmp_path / "wallets")
    Keystore.encrypt(b"\x01" * 32, "a long password", scrypt_n=2).save(wallets.root / "acme.json")
    env = _environment(wallets.root)
    listed = subprocess.run(
        _ipledger("wallet", "list"), env=env, check=True, capture_output=True, text=True
    )
    assert "acme" in listed.stdout  # the command measured does its work

    help_time = _idle_seconds(_ipledger("--help"), env)
    list_time = _idle_seconds(_ipledger("wallet", "list"), env)

    assert help_time < BUDGET_SECONDS, f"ipledger --help took {help_time:.2f} s unloaded"
    assert list_time < BUDGET_SECONDS, f"ipledger wallet list took {list_time:.2f} s unloaded"
