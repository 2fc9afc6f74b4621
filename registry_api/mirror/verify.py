"""Comparing the mirror with the chain: every right, participant and assignment, through the
contract clients (the one place where the mirror's side reads contract storage)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ledger.deploy import Ledger
from ledger.types import AssetStatus
from registry_api.mirror import queries

PAGE_SIZE = 500


@dataclass(frozen=True)
class Difference:
    """One value that the mirror and the chain disagree on."""

    record: str  # "right 0x..", "participant 10", "assignment 0x.."
    field: str
    mirror: str
    chain: str


def differences(
    session: Session, ledger: Ledger, on_checked: Callable[[int], None] | None = None
) -> Iterator[Difference]:
    """Every difference between the mirror and the chain's current state."""
    checked = 0
    cursor: str | None = None
    while True:
        page = queries.rights_page(session, cursor, PAGE_SIZE)
        for right in page.items:
            yield from _right(ledger, right)
            checked += 1
        if on_checked is not None:
            on_checked(checked)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    for participant_id in queries.participant_ids(session):
        mirrored = queries.participant_by_id(session, participant_id)
        if mirrored is None:
            continue
        chain = ledger.participants.participant(participant_id)
        record = f"participant {participant_id}"
        if mirrored.status != chain.status:
            yield Difference(record, "status", mirrored.status.name, chain.status.name)
        if mirrored.roles != chain.roles:
            yield Difference(record, "roles", str(int(mirrored.roles)), str(int(chain.roles)))
        if mirrored.certificate_fingerprint != chain.certificate_fingerprint:
            yield Difference(
                record,
                "certificate",
                mirrored.certificate_fingerprint.hex(),
                chain.certificate_fingerprint.hex(),
            )
    for assignment_id in queries.assignment_ids(session):
        mirrored_assignment = queries.assignment_by_id(session, assignment_id)
        status = ledger.assets.assignment(assignment_id).status
        if mirrored_assignment is not None and mirrored_assignment.status != status:
            yield Difference(
                f"assignment 0x{assignment_id.hex()}",
                "status",
                mirrored_assignment.status.name,
                status.name,
            )


def _right(ledger: Ledger, right: queries.Right) -> Iterator[Difference]:
    record = f"right 0x{right.asset_id.hex()} ({right.jurisdiction} {right.number})"
    chain = ledger.assets.asset(right.asset_id)
    if chain.status == AssetStatus.NONE:
        yield Difference(record, "exists", "yes", "no")
        return
    if right.status != chain.status:
        yield Difference(record, "status", right.status.name, chain.status.name)
    mirrored = sorted((o.participant_id, o.bps) for o in right.owners)
    on_chain = sorted((s.participant_id, s.bps) for s in chain.owners)
    if mirrored != on_chain:
        yield Difference(record, "owners", _shares(mirrored), _shares(on_chain))


def _shares(shares: list[tuple[int, int]]) -> str:
    return ", ".join(f"{pid}: {bps}" for pid, bps in shares) or "none"
