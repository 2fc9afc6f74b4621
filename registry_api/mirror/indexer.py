"""The indexer loop: read ranges of logs, apply each range with its checkpoint, follow reorgs.

`Indexer.step` does one unit of work: it checks that the checkpoint block is still canonical
(else it finds the common ancestor among the remembered block hashes and rolls back to it),
fetches the next range of logs, checks that the range belongs to the chain it read (hash of the
range's last block before and after, parent links and log block hashes within the reorg window),
and applies it in one transaction with the new checkpoint. `sync` steps until caught up; `follow`
keeps going. The registry service runs the same loop in its process (`Indexer.follow` with a stop
event, or `step` from its own scheduler).
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from ledger.artifacts import ArtifactSet
from ledger.events import EventDecoder, Log
from ledger.manifest import DeploymentManifest
from registry_api.faults import LoopFaults, node_fault
from registry_api.mirror.apply import (
    Applied,
    Batch,
    BlockRef,
    DeepReorg,
    LedgerContracts,
    LogFault,
    PreparedLog,
    UnappliableLog,
    apply_batch,
    prepare_logs,
    read_state,
    recent_blocks,
    rollback_to,
)
from registry_api.mirror.source import BlockHeader, ChainSource, RangeSizer, RpcSource
from registry_api.settings import Settings

log = logging.getLogger(__name__)

#: Consecutive failures of the node after which `follow` waits this many poll intervals at most.
MAX_BACKOFF_POLLS = 50


@dataclass(frozen=True)
class IndexerOptions:
    confirmations: int = 0
    reorg_window: int = 64
    batch_blocks: int = 10
    max_batch_blocks: int = 10_000
    batch_logs: int = 5_000
    poll_seconds: float = 0.1

    @classmethod
    def from_settings(cls, settings: Settings) -> IndexerOptions:
        return cls(
            confirmations=settings.confirmations,
            reorg_window=settings.reorg_window,
            batch_blocks=settings.batch_blocks,
            max_batch_blocks=settings.max_batch_blocks,
            batch_logs=settings.batch_logs,
            poll_seconds=settings.poll_seconds,
        )


def ledger_contracts(manifest: DeploymentManifest, artifacts: ArtifactSet) -> LedgerContracts:
    """The deployment's contracts by address, and a decoder of all their events."""
    names = {deployment.address: name for name, deployment in manifest.contracts.items()}
    return LedgerContracts(names, EventDecoder(artifacts.get(name).abi for name in names.values()))


@dataclass(frozen=True)
class _Read:
    batch: Batch
    prepared: list[PreparedLog]


@dataclass(frozen=True)
class Step:
    """What one step did."""

    caught_up: bool = False
    #: Blocks `first..last` were applied.
    first: int | None = None
    last: int | None = None
    applied: Applied | None = None
    #: A reorg was found and the mirror rolled back to this block.
    rolled_back_to: int | None = None
    undone: int = 0
    #: The chain changed while the range was read: nothing was applied, try again.
    retry: bool = False
    head: int = 0


@dataclass
class SyncReport:
    blocks: int = 0
    events: int = 0
    not_applied: int = 0
    reorgs: int = 0
    head: int = 0
    steps: list[Step] = field(default_factory=list)

    def add(self, step: Step) -> None:
        self.head = step.head
        if step.applied is not None and step.first is not None and step.last is not None:
            self.blocks += step.last - step.first + 1
            self.events += step.applied.events
            self.not_applied += len(step.applied.not_applied)
        if step.rolled_back_to is not None:
            self.reorgs += 1


class Indexer:
    """Keeps the SQL mirror of one deployment equal to the chain."""

    def __init__(
        self,
        source: ChainSource,
        sessions: sessionmaker[Session],
        contracts: LedgerContracts,
        *,
        chain_id: int,
        start_block: int,
        options: IndexerOptions | None = None,
    ) -> None:
        self.source = source
        self.sessions = sessions
        self.contracts = contracts
        self.chain_id = chain_id
        self.start_block = start_block
        self.options = options or IndexerOptions()
        self._ahead: Future[_Read | None] | None = None
        #: Why `follow` is stopped before a block, while it is (read by the service's health).
        self.fault: LogFault | None = None
        self.sizer = RangeSizer(
            self.options.batch_blocks, self.options.max_batch_blocks, self.options.batch_logs
        )
        #: Failed steps of `follow`, each lasting fault logged once.
        self.faults = LoopFaults(log, "mirror")

    @classmethod
    def for_deployment(
        cls,
        w3: Web3,
        manifest: DeploymentManifest,
        artifacts: ArtifactSet,
        sessions: sessionmaker[Session],
        options: IndexerOptions | None = None,
    ) -> Indexer:
        """An indexer of the deployment in `manifest`, reading the node behind `w3`."""
        contracts = ledger_contracts(manifest, artifacts)
        source = RpcSource(w3, list(contracts.names), contracts.decoder.topics)
        return cls(
            source,
            sessions,
            contracts,
            chain_id=manifest.chain_id,
            start_block=manifest.block_number,
            options=options,
        )

    def step(self) -> Step:
        """Apply the next range of blocks, or roll back a reorg, or report being caught up."""
        return self._step(None)

    def sync(self, on_step: Callable[[Step], None] | None = None) -> SyncReport:
        """Step until the mirror has caught up with the chain (less the confirmations).

        Far from the head, the next range is read and decoded in a second thread while the
        current one is written: the database works while Python decodes.
        """
        report = SyncReport()
        with _frozen_heap(), ThreadPoolExecutor(1, thread_name_prefix="mirror-read") as pool:
            try:
                while True:
                    step = self._step(pool)
                    report.add(step)
                    if on_step is not None:
                        on_step(step)
                    if step.caught_up:
                        return report
            finally:
                self._ahead = None

    def _step(self, pool: ThreadPoolExecutor | None) -> Step:
        options = self.options
        with self.sessions() as session:
            state = read_state(session, self.chain_id)
        head = self.source.head()
        target = head - options.confirmations
        if state is None:
            first = self.start_block
        else:
            checkpoint = self.source.block(state.head.number)
            if checkpoint is None or checkpoint.hash != state.head.hash:
                self._ahead = None
                return self._roll_back(head)
            first = state.head.number + 1
        if first > target:
            return Step(caught_up=True, head=head)

        ahead, self._ahead = self._ahead, None
        read = ahead.result() if ahead is not None else None
        if read is None or read.batch.first_block != first:
            parent = state.head.hash if state is not None else None
            read = self._read(first, head, target, parent)
        if read is None:
            return Step(retry=True, head=head)
        last = read.batch.last.number
        # Blocks deeper than the reorg window need no parent links: read the next range now.
        safe_until = min(target, head - options.reorg_window)
        if pool is not None and last < safe_until:
            self._ahead = pool.submit(self._read, last + 1, head, safe_until, None)
        with self.sessions.begin() as session:
            applied = apply_batch(session, read.batch, self.contracts, read.prepared)
        return Step(first=first, last=last, applied=applied, head=head)

    def _read(self, first: int, head: int, target: int, parent: bytes | None) -> _Read | None:
        """The checked and decoded logs of the next range from `first`; None if the chain
        changed while it was read."""
        options = self.options
        last, before, logs = self._fetch(first, target)
        unsafe_from = max(first, head - options.reorg_window + 1)
        headers = self.source.blocks(unsafe_from, last) if unsafe_from <= last else []
        after = headers[-1] if headers else self.source.block(last)
        if (
            before is None
            or after is None
            or after.hash != before.hash
            or not _linked(headers, parent if unsafe_from == first else None)
            or not _logs_match(logs, headers, after)
        ):
            log.info("the chain changed while blocks %d-%d were read; reading again", first, last)
            return None
        batch = Batch(
            chain_id=self.chain_id,
            first_block=first,
            last=BlockRef(last, after.hash),
            logs=logs,
            journal_from=head - options.reorg_window + 1,
            recent_blocks=[BlockRef(h.number, h.hash) for h in headers if h is not None],
        )
        return _Read(batch, prepare_logs(logs, self.contracts))

    def follow(self, stop: threading.Event, on_step: Callable[[Step], None] | None = None) -> None:
        """Keep the mirror caught up until `stop` is set; survive the node going away.

        A log that cannot be applied stops the mirror before its block (`fault` says which and
        why, logged once): it is tried again with backoff, so that the mirror goes on by itself
        once the cause is gone (the block reorganised away, the database or the code fixed).
        """
        stopped_steps = 0  # consecutive steps refused by the same unappliable log
        while not stop.is_set():
            try:
                step = self.step()
            except DeepReorg:
                raise
            except UnappliableLog as exc:
                if exc.fault != self.fault:
                    log.error("mirror stopped before block %d: %s", exc.fault.block_number, exc)
                self.fault = exc.fault
                stopped_steps += 1
                stop.wait(self.options.poll_seconds * min(2**stopped_steps, MAX_BACKOFF_POLLS))
                continue
            except Exception as exc:  # the node or the database went away: wait, retry
                delay = self.options.poll_seconds * min(
                    2 ** (self.faults.failures + 1), MAX_BACKOFF_POLLS
                )
                self.faults.failed(exc, delay)
                stop.wait(delay)
                continue
            self.faults.passed()
            stopped_steps = 0
            if self.fault is not None and not step.retry:
                log.warning("mirror resumed at block %d", self.fault.block_number)
                self.fault = None
            if on_step is not None:
                on_step(step)
            if step.caught_up:
                stop.wait(self.options.poll_seconds)

    def _fetch(self, first: int, target: int) -> tuple[int, BlockHeader | None, list[Log]]:
        """The logs of the longest range from `first` the node serves, sized adaptively."""
        while True:
            last = min(first + self.sizer.span - 1, target)
            before = self.source.block(last)
            try:
                logs = self.source.logs(first, last)
            except Exception as exc:  # a provider refusing the range: ask for less
                # A node that is down or hung refuses every range: narrowing would only log
                # a line per step down to one block.
                if node_fault(exc) is not None or not self.sizer.shrink():
                    raise
                log.info(
                    "eth_getLogs %d-%d failed (%s); range now %d", first, last, exc, self.sizer.span
                )
                continue
            self.sizer.observe(last - first + 1, len(logs))
            return last, before, logs

    def _roll_back(self, head: int) -> Step:
        with self.sessions() as session:
            remembered = recent_blocks(session)
        ancestor = None
        for block in remembered:
            canonical = self.source.block(block.number) if block.number <= head else None
            if canonical is not None and canonical.hash == block.hash:
                ancestor = block
                break
        if ancestor is None:
            raise DeepReorg(
                "no remembered block is on the chain any more: the reorg is deeper than the "
                "reorg window; re-index (ipledger mirror sync --reindex)"
            )
        with self.sessions.begin() as session:
            undone = rollback_to(session, self.chain_id, ancestor)
        log.warning("chain reorganised: mirror rolled back to block %d", ancestor.number)
        return Step(rolled_back_to=ancestor.number, undone=undone, head=head)


@contextmanager
def _frozen_heap() -> Iterator[None]:
    """Keep the objects that exist now out of the garbage collector's full collections.

    A backfill allocates some fifty objects per event, and every few batches the collector's
    full collection walks the whole heap (modules, web3, SQLAlchemy, the caller's state): that
    was a third of the backfill's time. Frozen objects are still freed by reference counting;
    only cycles among them wait until the end (`gc.freeze`, `gc.unfreeze`).
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _linked(headers: list[BlockHeader | None], parent: bytes | None) -> bool:
    """Whether the headers form one chain, starting from `parent` when it is given."""
    previous = parent
    for header in headers:
        if header is None:
            return False
        if previous is not None and header.parent_hash != previous:
            return False
        previous = header.hash
    return True


def _logs_match(logs: list[Log], headers: list[BlockHeader | None], last: BlockHeader) -> bool:
    """Whether every log of a block whose header was read carries that header's hash."""
    hashes = {h.number: h.hash for h in headers if h is not None}
    hashes[last.number] = last.hash
    return all(
        hashes.get(entry.block_number, entry.block_hash) == entry.block_hash for entry in logs
    )
