"""A ledger history for the mirror's benchmark and fault tests, sent fast as raw transactions.

Participants are enrolled, rights registered in bulk (100 a transaction: 100 events), some rights
lapse and come back, and some are assigned (signed by both parties, filed, then registered or
rejected by the office). Transactions are signed locally, fully specified, and sent in JSON-RPC
batches; every receipt is checked.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from web3 import HTTPProvider
from web3.exceptions import TimeExhausted
from web3.types import RPCEndpoint, TxReceipt

from ledger.artifacts import ArtifactSet
from ledger.assets import asset_id
from ledger.codec import to_abi
from ledger.deploy import Ledger
from ledger.manifest import LEDGER_CONTRACTS
from ledger.typed_data import Assignment, sign
from ledger.types import AssetInput, AssetKind, AssetStatus, Role, Share
from wallets.signer import LocalSigner

YEAR = 365 * 24 * 3600
FIRST_PARTICIPANT = 10
#: Gas limits: generous (gas is free), under anvil's 30M block gas limit.
GAS_PER_RIGHT = 110_000
GAS_CALL = 1_000_000
RECEIPT_TIMEOUT_SECONDS = 120.0
STALL_SECONDS = 1.5
#: anvil refuses JSON-RPC requests over a few megabytes: batches stay well under.
BATCH_REQUEST_BYTES = 400_000

ADJECTIVES = (
    "adaptive", "compact", "flexible", "modular", "portable", "wireless", "optical", "thermal",
    "acoustic", "magnetic", "hybrid", "autonomous", "biodegradable", "transparent", "low-power",
    "high-voltage", "multilayer", "rotary", "linear", "digital", "analog", "organic", "ceramic",
    "polymer", "quantum", "solar", "hydraulic", "pneumatic", "embedded", "distributed",
)  # fmt: skip
NOUNS = (
    "battery", "electrode", "antenna", "sensor", "actuator", "valve", "pump", "turbine", "rotor",
    "stator", "gearbox", "bearing", "catalyst", "membrane", "filter", "lens", "mirror", "laser",
    "diode", "transistor", "capacitor", "inductor", "resistor", "circuit", "processor", "memory",
    "display", "camera", "speaker", "microphone", "keyboard", "robot", "gripper", "drone",
    "vehicle", "engine", "brake", "steering", "suspension", "tyre", "wheel", "chassis", "seat",
    "helmet", "garment", "fabric", "fibre", "yarn", "needle", "syringe", "catheter", "stent",
    "implant", "prosthesis", "vaccine", "antibody", "enzyme", "protein", "peptide", "compound",
    "polymerase", "reactor", "furnace", "boiler", "heat-exchanger", "compressor", "refrigerator",
    "container", "package", "bottle", "closure", "label", "printer", "scanner", "encoder",
    "decoder", "codec", "modem", "router", "switch", "server", "network", "protocol", "database",
    "algorithm", "interface", "controller", "regulator", "converter", "inverter", "charger",
    "cable", "connector", "housing", "hinge", "fastener", "adhesive", "coating", "paint", "glass",
    "concrete", "brick", "beam", "column", "bridge", "tunnel", "pipeline", "drill", "saw",
    "blade", "mould", "extruder", "loom", "kiln", "oven", "blender", "kettle", "toaster",
    "harvester", "tractor", "irrigation", "greenhouse", "fertiliser", "seed", "fruit",
)  # fmt: skip


def make_title(rng: random.Random) -> str:
    """A patent-like title from a fixed vocabulary (30 adjectives, 130 nouns)."""
    first, second, third = rng.sample(NOUNS, 3)
    return f"{rng.choice(ADJECTIVES)} {first} for a {second} with {third}".capitalize()


def make_right(rng: random.Random, number: int, owners: tuple[Share, ...], now: int) -> AssetInput:
    return AssetInput(
        jurisdiction=b"KR",
        kind=AssetKind.PATENT,
        number=f"10-{2000 + number % 25}-{number:07d}",
        title=make_title(rng),
        document_hash=hashlib.sha256(f"specification {number}".encode()).digest(),
        filing_date=now - 400 * 86400,
        registration_date=now - 30 * 86400,
        expiry_date=now + 19 * YEAR,
        owners=owners,
    )


class RawSender:
    """Signs fully specified transactions for one key and sends them in JSON-RPC batches."""

    def __init__(self, ledger: Ledger, signer: LocalSigner, artifacts: ArtifactSet) -> None:
        self._ledger = ledger
        self._signer = signer
        self._w3 = ledger.chain.backend.w3
        self._nonce = int(self._w3.eth.get_transaction_count(signer.address, "pending"))
        self._pending: list[bytes] = []
        self._contracts = {
            name: self._w3.eth.contract(
                address=ledger.manifest.address_of(name), abi=artifacts.get(name).abi
            )
            for name in LEDGER_CONTRACTS
        }

    def call(self, contract: str, function: str, *args: object, gas: int = GAS_CALL) -> None:
        """Queue a transaction calling `function` of `contract`."""
        target = self._contracts[contract]
        data = target.encode_abi(function, args=[to_abi(a) for a in args])
        transaction: dict[str, object] = {
            "chainId": self._ledger.chain.chain_id,
            "nonce": self._nonce,
            "gas": gas,
            "gasPrice": 0,
            "value": 0,
            "to": target.address,
            "data": bytes(HexBytes(data)),
        }
        self._nonce += 1
        self._pending.append(self._signer.sign_transaction(transaction))

    def send_pending(self) -> bytes:
        """Send the queued transactions one by one without waiting; the last one's hash."""
        raw, self._pending = self._pending, []
        hashes = [self._w3.eth.send_raw_transaction(tx) for tx in raw]
        return bytes(hashes[-1])

    def flush(self) -> int:
        """Send the queued transactions, wait for them, check them; return how many logs."""
        raw, self._pending = self._pending, []
        if not raw:
            return 0
        provider = self._w3.provider
        if isinstance(provider, HTTPProvider):
            hashes = []
            for chunk in _chunks(raw, BATCH_REQUEST_BYTES):
                answers = provider.make_batch_request(
                    [(RPCEndpoint("eth_sendRawTransaction"), ["0x" + tx.hex()]) for tx in chunk]
                )
                if not isinstance(answers, list):
                    raise RuntimeError(f"batch refused: {answers}")
                for answer in cast(list[dict[str, object]], answers):
                    if "error" in answer:
                        raise RuntimeError(f"transaction refused: {answer['error']}")
                    hashes.append(HexBytes(cast(str, answer["result"])))
        else:
            hashes = [self._w3.eth.send_raw_transaction(tx) for tx in raw]
        logs = 0
        deadline = time.monotonic() + RECEIPT_TIMEOUT_SECONDS
        for tx_hash in hashes:
            receipt = self._receipt(tx_hash, deadline)
            if receipt["status"] != 1:
                raise RuntimeError(f"transaction {tx_hash.to_0x_hex()} reverted")
            logs += len(receipt["logs"])
        return logs

    def _receipt(self, tx_hash: HexBytes, deadline: float) -> TxReceipt:
        # anvil's automine packs concurrently sent transactions into blocks and leaves what does
        # not fit pending until the next transaction arrives: mine a block when it stalls.
        while True:
            try:
                return self._w3.eth.wait_for_transaction_receipt(
                    tx_hash, timeout=STALL_SECONDS, poll_latency=0.02
                )
            except TimeExhausted:
                if time.monotonic() > deadline:
                    raise
                self._w3.provider.make_request(RPCEndpoint("evm_mine"), [])


def _chunks(raw: list[bytes], max_bytes: int) -> list[list[bytes]]:
    chunks: list[list[bytes]] = [[]]
    size = 0
    for tx in raw:
        if chunks[-1] and size + len(tx) > max_bytes:
            chunks.append([])
            size = 0
        chunks[-1].append(tx)
        size += len(tx)
    return chunks


@dataclass
class Workload:
    """What was sent: the keys of the participants, the rights, and how many logs were emitted."""

    ledger: Ledger
    office: LocalSigner
    artifacts: ArtifactSet
    keys: dict[int, LocalSigner]
    rights: list[bytes] = field(default_factory=list)
    logs: int = 0

    def sender(self) -> RawSender:
        return RawSender(self.ledger, self.office, self.artifacts)


def enrol_participants(
    ledger: Ledger, office: LocalSigner, artifacts: ArtifactSet, count: int, now: int
) -> Workload:
    keys = {FIRST_PARTICIPANT + n: LocalSigner.generate() for n in range(count)}
    sender = RawSender(ledger, office, artifacts)
    for pid, key in keys.items():
        fingerprint = hashlib.sha256(key.address.encode()).digest()
        sender.call(
            "ParticipantRegistry",
            "enrol",
            pid,
            Role.PARTICIPANT,
            fingerprint,
            now + 10 * YEAR,
            [key.address],
        )
    workload = Workload(ledger, office, artifacts, keys)
    workload.logs += sender.flush()
    return workload


def register_rights(
    workload: Workload,
    count: int,
    *,
    per_transaction: int = 100,
    rng: random.Random,
    now: int,
    first_number: int = 1,
    flush_every: int = 50,
    on_sent: Callable[[int], None] | None = None,
) -> None:
    """Register `count` rights in bulk; a fifth of them co-owned half and half."""
    sender = workload.sender()
    participants = sorted(workload.keys)
    for batches, start in enumerate(range(0, count, per_transaction), start=1):
        batch = []
        for number in range(
            first_number + start, first_number + min(count, start + per_transaction)
        ):
            owner, co_owner = rng.sample(participants, 2)
            owners = (
                (Share(owner, 5_000), Share(co_owner, 5_000))
                if rng.random() < 0.2
                else (Share(owner, 10_000),)
            )
            right = make_right(rng, number, owners, now)
            batch.append(right)
            workload.rights.append(asset_id(right.jurisdiction, right.kind, right.number))
        sender.call(
            "IPAssetRegistry", "registerAssets", batch, gas=GAS_PER_RIGHT * len(batch) + 200_000
        )
        if batches % flush_every == 0:
            workload.logs += sender.flush()
            if on_sent is not None:
                on_sent(len(workload.rights))
    workload.logs += sender.flush()
    if on_sent is not None:
        on_sent(len(workload.rights))


def change_statuses(workload: Workload, rights: Sequence[bytes], *, rng: random.Random) -> None:
    """Let the rights lapse; restore every other one."""
    sender = workload.sender()
    for n, right in enumerate(rights):
        sender.call("IPAssetRegistry", "setAssetStatus", right, AssetStatus.LAPSED, 1 + n % 7)
        if n % 2 == 0:
            sender.call("IPAssetRegistry", "setAssetStatus", right, AssetStatus.REGISTERED, 9)
    workload.logs += sender.flush()


def assign(
    workload: Workload,
    rights: Sequence[tuple[bytes, int]],
    *,
    rng: random.Random,
    now: int,
    reject_every: int = 4,
) -> None:
    """Assign each (right, sole owner): both sign, the office files, then registers or rejects."""
    ledger = workload.ledger
    domain = ledger.assets.domain()
    nonces: dict[ChecksumAddress, int] = {}
    sender = workload.sender()
    decisions: list[tuple[Assignment, list[ChecksumAddress], bool]] = []
    for n, (right, owner) in enumerate(rights):
        assignee = rng.choice([pid for pid in workload.keys if pid != owner])
        owner_key = workload.keys[owner]
        nonce = nonces.get(owner_key.address)
        if nonce is None:
            nonce = ledger.participants.nonce_of(owner_key.address)
        nonces[owner_key.address] = nonce + 1
        assignment = Assignment(
            deadline=now + YEAR,
            chain_id=domain.chain_id,
            verifying_contract=domain.verifying_contract,
            asset_id=right,
            assignor=owner,
            assignee=assignee,
            share_bps=rng.choice((10_000, 5_000)),
            terms_hash=hashlib.sha256(f"deed {n}".encode()).digest(),
            nonce=nonce,
        )
        signatures = [
            sign(owner_key, assignment, domain),
            sign(workload.keys[assignee], assignment, domain),
        ]
        sender.call("IPAssetRegistry", "fileAssignment", assignment, signatures)
        decisions.append((assignment, [s.signer for s in signatures], n % reject_every != 0))
    workload.logs += sender.flush()
    for assignment, signers, accepted in decisions:
        if accepted:
            sender.call("IPAssetRegistry", "registerAssignment", assignment, signers)
        else:
            sender.call("IPAssetRegistry", "rejectAssignment", assignment.digest(domain), 3)
    workload.logs += sender.flush()


def populate(
    ledger: Ledger,
    office: LocalSigner,
    artifacts: ArtifactSet,
    *,
    rights: int,
    participants: int = 20,
    assignments: int = 100,
    status_changes: int = 100,
    seed: int = 7,
    on_sent: Callable[[int], None] | None = None,
) -> Workload:
    """A history of `rights` registrations plus status changes and assignments."""
    rng = random.Random(seed)
    now = int(ledger.chain.backend.w3.eth.get_block("latest")["timestamp"])
    workload = enrol_participants(ledger, office, artifacts, participants, now)
    register_rights(workload, rights, rng=rng, now=now, on_sent=on_sent)
    chosen = rng.sample(workload.rights, min(len(workload.rights), status_changes + assignments))
    change_statuses(workload, chosen[:status_changes], rng=rng)
    sole: list[tuple[bytes, int]] = []
    for right in chosen[status_changes:]:
        owners = ledger.assets.owners_of(right)
        if len(owners) == 1 and ledger.assets.is_in_force(right):
            sole.append((right, owners[0].participant_id))
    assign(workload, sole, rng=rng, now=now)
    return workload
