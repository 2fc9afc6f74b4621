"""Gas of each ledger operation next to OpenZeppelin's ERC-721, measured in the same run.

    python -m bench.gas [--json]

The yardstick is OpenZeppelin's ERC-721 as its Wizard writes a mintable token (`safeMint`,
onlyOwner), compiled from bench/contracts with the same compiler and settings and deployed on the
same in-process chain (gas is deterministic; it is the same on anvil or Besu for the same EVM).

- "an ERC-721 mint": `safeMint` of a token to an address that holds none.
- "an ERC-721 transfer": `safeTransferFrom` of a token to an address that holds none, by a holder
  that keeps another token. When the holder gives away its last token, the emptied balance slot
  refunds 4,800 gas; that case is reported too, without a target.
- An assignment is compared whole (a right passes entirely to a new owner, as a token does);
  a partial one creates a co-owner entry and is reported without a target.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from hexbytes import HexBytes

from bench.figures import Figure, arguments, report
from ledger.artifacts import ArtifactSet
from ledger.backends.embedded import EmbeddedBackend
from ledger.chain import Chain
from ledger.compiler import compile_sources, load_artifacts
from ledger.deploy import Ledger, OfficeBootstrap, deploy_contract, deploy_ledger
from ledger.typed_data import sign
from ledger.types import AssetInput, AssetKind, Role, Share
from wallets.signer import LocalSigner

ROOT = Path(__file__).resolve().parent.parent
YEAR = 365 * 24 * 3600
TITLE = "Method and apparatus for encoding a video stream with adaptive block partitioning"


class Erc721Yardstick:
    """OpenZeppelin's ERC-721 on the same chain, sent through the same transaction path."""

    def __init__(self, chain: Chain, owner: LocalSigner, artifacts: ArtifactSet) -> None:
        artifact = artifacts.get("ReferenceERC721")
        self._chain = chain
        self._owner = owner
        address = deploy_contract(chain, owner, artifact, [owner.address]).address
        self._token = chain.backend.w3.eth.contract(address=address, abi=artifact.abi)
        self._next_id = 1

    def mint(self, holder: LocalSigner) -> tuple[int, int]:
        token_id = self._next_id
        self._next_id += 1
        return token_id, self._send(
            self._owner, self._token.encode_abi("safeMint", [holder.address, token_id])
        )

    def transfer(self, holder: LocalSigner, to: LocalSigner, token_id: int) -> int:
        data = self._token.encode_abi(
            "safeTransferFrom(address,address,uint256)", [holder.address, to.address, token_id]
        )
        return self._send(holder, data)

    def _send(self, sender: LocalSigner, data: str) -> int:
        return self._chain.transact(sender, self._token.address, bytes(HexBytes(data))).gas_used


def _right(number: int, owner: int, now: int) -> AssetInput:
    return AssetInput(
        jurisdiction=b"KR",
        kind=AssetKind.PATENT,
        number=f"10-2024-{number:07d}",
        title=TITLE,
        document_hash=hashlib.sha256(f"specification {number}".encode()).digest(),
        filing_date=now - 400 * 86400,
        registration_date=now - 30 * 86400,
        expiry_date=now + 19 * YEAR,
        owners=(Share(owner, 10_000),),
    )


def _assign(
    ledger: Ledger,
    keys: dict[int, LocalSigner],
    right: bytes,
    assignor: int,
    assignee: int,
    share: int,
    now: int,
) -> tuple[int, int]:
    domain, assignment = ledger.assets.build_assignment(
        ledger.participants,
        asset_id=right,
        assignor=assignor,
        assignee=assignee,
        share_bps=share,
        terms_hash=hashlib.sha256(b"deed").digest(),
        assignor_key=keys[assignor].address,
        deadline=now + 86400,
    )
    signatures = [
        sign(keys[assignor], assignment, domain),
        sign(keys[assignee], assignment, domain),
    ]
    filed = ledger.assets.file_assignment(assignment, signatures)
    registered = ledger.assets.register_assignment(assignment, filed.event.signers)
    return filed.receipt.gas_used, registered.receipt.gas_used


def measure() -> list[Figure]:
    artifacts = load_artifacts()
    yardstick_artifacts = compile_sources(
        ROOT / "bench" / "contracts", ROOT / "build" / "bench-artifacts.json"
    )
    backend = EmbeddedBackend()
    office = LocalSigner.generate()
    now = int(backend.w3.eth.get_block("latest")["timestamp"])
    ledger = deploy_ledger(
        backend,
        office,
        artifacts,
        OfficeBootstrap(1, hashlib.sha256(b"office").digest(), now + 10 * YEAR, (office.address,)),
    )

    erc721 = Erc721Yardstick(ledger.chain, office, yardstick_artifacts)
    alice, bob, carol = LocalSigner.generate(), LocalSigner.generate(), LocalSigner.generate()
    first, mint = erc721.mint(alice)
    kept, _ = erc721.mint(alice)
    transfer = erc721.transfer(alice, bob, first)  # alice keeps `kept`
    transfer_last = erc721.transfer(alice, carol, kept)  # alice's last token: refund

    keys = {pid: LocalSigner.generate() for pid in range(10, 14)}
    enrol = 0
    for pid, key in keys.items():
        enrol = ledger.participants.enrol(
            pid,
            Role.PARTICIPANT,
            hashlib.sha256(key.address.encode()).digest(),
            now + 5 * YEAR,
            [key.address],
        ).receipt.gas_used

    register_one = ledger.assets.register_asset(_right(1, 10, now)).receipt.gas_used
    bulk: dict[int, float] = {}
    number = 1000
    for size in (1, 10, 100):
        batch = [_right(number + i, 10, now) for i in range(size)]
        number += size
        bulk[size] = ledger.assets.register_assets(batch).receipt.gas_used / size

    right = ledger.assets.register_asset(_right(2, 10, now)).event.asset_id
    file_whole, register_whole = _assign(ledger, keys, right, 10, 11, 10_000, now)
    file_part, register_part = _assign(ledger, keys, right, 11, 12, 5_000, now)

    new_key = LocalSigner.generate()
    domain, rotation = ledger.participants.build_key_rotation(
        13, keys[13].address, new_key.address, now + 86400
    )
    rotate = ledger.participants.rotate_key(
        rotation, sign(keys[13], rotation, domain).signature
    ).receipt.gas_used

    whole = file_whole + register_whole
    return [
        Figure("gas.erc721_mint", mint, "gas", note="OZ safeMint to a new holder"),
        Figure("gas.erc721_transfer", transfer, "gas", note="OZ safeTransferFrom to a new holder"),
        Figure(
            "gas.erc721_transfer_last_token",
            transfer_last,
            "gas",
            note="holder's last token: 4,800 refund",
        ),
        Figure("gas.enrol", enrol, "gas", note="participant with one key"),
        Figure("gas.register_one", register_one, "gas"),
        *(
            Figure(f"gas.register_bulk_{n}_per_right", g, "gas", note=f"{n} rights a transaction")
            for n, g in bulk.items()
        ),
        Figure("gas.file_assignment", file_whole, "gas", note="whole right, two signatures"),
        Figure("gas.register_assignment", register_whole, "gas"),
        Figure("gas.file_and_register_assignment", whole, "gas"),
        Figure(
            "gas.file_and_register_partial_assignment",
            file_part + register_part,
            "gas",
            note="half a right to a new co-owner",
        ),
        Figure("gas.key_rotation", rotate, "gas"),
        Figure("ratio.register_one_vs_erc721_mint", register_one / mint, "x", target=2.0),
        *(
            Figure(
                f"ratio.register_bulk_{n}_per_right_vs_erc721_mint",
                g / mint,
                "x",
                target=1.0 if n == 100 else None,
            )
            for n, g in bulk.items()
        ),
        Figure("ratio.assignment_vs_erc721_transfer", whole / transfer, "x", target=2.5),
        Figure("ratio.assignment_vs_erc721_transfer_last_token", whole / transfer_last, "x"),
    ]


def main() -> None:
    args = arguments(__doc__ or "")
    report("Gas per operation vs OpenZeppelin ERC-721 (same run)", measure(), as_json=args.json)


if __name__ == "__main__":
    main()
