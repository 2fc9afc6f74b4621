"""The writer the crash test kills: registers rights one by one, prints each acknowledged one.

    python -m tests.embedded_chain.crash_writer DATA_DIR FIRST_NUMBER

It holds the chain in its own process (as the registry service does) and prints a right's id
only after the node has acknowledged its registration, that is after the block with it was
committed. Its parent kills it with SIGKILL at random moments.
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

from embedded_chain.datadir import DataDir
from ledger.backends.embedded import EmbeddedBackend
from ledger.compiler import load_artifacts
from ledger.deploy import open_ledger
from ledger.manifest import DeploymentManifest
from ledger.types import AssetInput, AssetKind, Share
from wallets.signer import LocalSigner

OWNER = 10  # ACME, enrolled by the template chain


def right(number: int, now: int) -> AssetInput:
    return AssetInput(
        jurisdiction=b"KR",
        kind=AssetKind.PATENT,
        number=f"10-2026-{number:09d}",
        title=f"Crash-tested invention {number}",
        document_hash=hashlib.sha256(f"document {number}".encode()).digest(),
        filing_date=now - 400 * 86400,
        registration_date=now - 30 * 86400,
        expiry_date=now + 10 * 365 * 86400,
        owners=(Share(OWNER, 10_000),),
    )


def main() -> None:
    data_dir, first, office_key = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    artifacts = load_artifacts()
    manifest = DeploymentManifest.load(DataDir(data_dir).manifest)
    backend = EmbeddedBackend.open(data_dir, manifest.account_rules)
    ledger = open_ledger(backend, manifest, artifacts, LocalSigner(office_key))
    print("open", backend.w3.eth.block_number, flush=True)
    now = int(time.time())
    number = first
    while True:
        registered = ledger.assets.register_asset(right(number, now))
        print("ack", number, "0x" + registered.event.asset_id.hex(), flush=True)
        number += 1


if __name__ == "__main__":
    main()
