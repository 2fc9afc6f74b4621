"""The indexer on the in-process chain: what it mirrors, exactly once; reading the register."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from eth_abi.abi import encode
from eth_utils.abi import event_signature_to_log_topic
from eth_utils.address import to_checksum_address

from ledger.events import Log
from ledger.types import AssetStatus, AssignmentStatus, ParticipantStatus, Role
from registry_api.mirror import queries
from registry_api.mirror.apply import (
    Batch,
    BlockRef,
    GapError,
    UnappliableLog,
    apply_batch,
    read_state,
)
from registry_api.mirror.source import RangeSizer
from registry_api.mirror.verify import differences
from tests.registry_api.mirror.conftest import (
    ACME,
    BANK,
    BETA,
    SPARE,
    TITLE,
    UNIVERSITY,
    Database,
    History,
    RecordedChain,
    digests,
    indexer_over,
    rpc_indexer,
)


@pytest.fixture
def mirrored(history: History, database: Database) -> Database:
    """The history indexed through JSON-RPC in small ranges, reorg journal on every block."""
    report = rpc_indexer(history, database, batch_blocks=3, reorg_window=1_000).sync()
    assert report.not_applied == 0
    return database


def test_every_event_is_in_the_raw_event_log_once(
    history: History, mirrored: Database, recorded: RecordedChain
) -> None:
    with mirrored.sessions() as session:
        status = queries.mirror_status(session, history.ledger.manifest.chain_id)

    assert status.events == len(recorded.all_logs)
    assert status.not_applied == 0
    assert status.block_number == recorded.head()
    assert status.block_hash == recorded.headers[-1].hash


def test_the_mirror_matches_the_chain_field_by_field(history: History, mirrored: Database) -> None:
    with mirrored.sessions() as session:
        found = list(differences(session, history.ledger))

    assert found == []


def test_verify_reports_a_right_whose_owners_differ(history: History, mirrored: Database) -> None:
    with mirrored.sessions.begin() as session:  # tamper with the mirror
        from registry_api.db.models import OwnerRow

        row = session.get(OwnerRow, (history.bulk[2], ACME))
        assert row is not None
        row.bps = 9_000

    with mirrored.sessions() as session:
        found = list(differences(session, history.ledger))

    assert [(d.field, d.mirror, d.chain) for d in found] == [("owners", "10: 9000", "10: 10000")]


def test_a_right_reads_by_id_and_by_official_number(history: History, mirrored: Database) -> None:
    with mirrored.sessions() as session:
        right = queries.right_by_id(session, history.co_owned)
        by_number = queries.rights_by_number(session, "KR", "10-2024-0000001")
        missing = queries.right_by_id(session, b"\x00" * 32)

    assert right is not None
    assert right.title == TITLE
    assert right.status == AssetStatus.REGISTERED
    assert {(o.participant_id, o.bps) for o in right.owners} == {(BETA, 5_000), (UNIVERSITY, 5_000)}
    assert by_number == [right]
    assert missing is None


def test_the_chain_of_title_lists_registration_and_assignments_in_order(
    history: History, mirrored: Database
) -> None:
    with mirrored.sessions() as session:
        title = queries.chain_of_title(session, history.co_owned)

    registration, assignment = title
    assert isinstance(registration, queries.Registration)
    assert registration.office == history.office.address
    assert registration.owners == (queries.Owner(ACME, 5_000), queries.Owner(UNIVERSITY, 5_000))
    assert isinstance(assignment, queries.AssignmentEntry)
    assert assignment.assignment.assignment_id == history.registered_assignment
    assert (assignment.assignment.assignor, assignment.assignment.assignee) == (ACME, BETA)
    assert assignment.assignment.signers == (
        history.keys[ACME].address,
        history.keys[BETA].address,
        history.keys[UNIVERSITY].address,
    )
    assert assignment.decision is not None
    assert assignment.decision.status == AssignmentStatus.REGISTERED
    assert assignment.decision.office == history.office.address
    assert set(assignment.decision.owners_after) == {
        queries.Owner(BETA, 5_000),
        queries.Owner(UNIVERSITY, 5_000),
    }
    assert registration.position < assignment.position < assignment.decision.position


def test_the_chain_of_title_shows_rejections_and_status_changes(
    history: History, mirrored: Database
) -> None:
    with mirrored.sessions() as session:
        rejected = queries.chain_of_title(session, history.bulk[0])
        lapsed = queries.chain_of_title(session, history.lapsed)

    entry = rejected[1]
    assert isinstance(entry, queries.AssignmentEntry)
    assert entry.decision is not None
    assert (entry.decision.status, entry.decision.reason_code) == (AssignmentStatus.REJECTED, 7)
    assert [(e.previous_status, e.status, e.reason_code) for e in lapsed[1:]] == [  # type: ignore[union-attr]
        (AssetStatus.REGISTERED, AssetStatus.LAPSED, 2),
        (AssetStatus.LAPSED, AssetStatus.REGISTERED, 3),
    ]


def test_a_participants_rights_come_in_keyset_pages(history: History, mirrored: Database) -> None:
    pages = []
    cursor = None
    with mirrored.sessions() as session:
        while True:
            page = queries.rights_of(session, ACME, cursor, limit=2)
            pages.append([r.asset_id for r in page.items])
            if page.next_cursor is None:
                break
            cursor = page.next_cursor

    assert pages == [history.bulk[0:2], history.bulk[2:4], history.bulk[4:5]]


def test_pending_assignments_are_the_offices_queue(history: History, mirrored: Database) -> None:
    with mirrored.sessions() as session:
        page = queries.pending_assignments(session)

    assert [a.assignment_id for a in page.items] == [history.pending_assignment]
    assert page.items[0].assignee == BANK
    assert page.next_cursor is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gripper", "co_owned"),
        ("FRUIT harvesting", "co_owned"),
        ("porous electrode", "lapsed"),
        ("robot arm", "bulk"),
        ("robot gripper", "none"),
        ('" OR 1=1 --', "none"),
        ("", "none"),
    ],
)
def test_search_finds_titles_with_every_word(
    history: History, mirrored: Database, text: str, expected: str
) -> None:
    with mirrored.sessions() as session:
        found = [r.asset_id for r in queries.search_rights(session, text).items]

    wanted = {
        "co_owned": [history.co_owned],
        "lapsed": [history.lapsed],
        "bulk": history.bulk,
        "none": [],
    }[expected]
    assert found == wanted


def test_participants_keep_their_status_roles_and_keys(
    history: History, mirrored: Database
) -> None:
    with mirrored.sessions() as session:
        spare = queries.participant_by_id(session, SPARE)
        beta = queries.participant_by_id(session, BETA)
        university = queries.participant_by_id(session, UNIVERSITY)

    assert spare is not None
    assert (spare.status, spare.reason_code) == (ParticipantStatus.REVOKED, 5)
    assert spare.roles == Role.PARTICIPANT | Role.VALUATOR
    assert beta is not None
    assert beta.keys == (history.rotated_key.address,)
    assert beta.retired_keys == (history.keys[BETA].address,)
    assert university is not None
    assert university.keys == (history.recovered_key.address,)


def test_replaying_any_range_changes_nothing(
    history: History, mirrored: Database, recorded: RecordedChain
) -> None:
    before = digests(mirrored, history.chain_id)
    contracts = indexer_over(recorded, history, mirrored).contracts
    head = recorded.headers[-1]

    with mirrored.sessions.begin() as session:
        applied = apply_batch(
            session,
            Batch(
                history.ledger.manifest.chain_id,
                history.ledger.manifest.block_number,
                BlockRef(head.number, head.hash),
                recorded.all_logs,
                journal_from=0,
            ),
            contracts,
        )

    assert applied.events == 0
    assert digests(mirrored, history.chain_id) == before


def test_a_batch_that_would_skip_blocks_is_refused(
    history: History, mirrored: Database, recorded: RecordedChain
) -> None:
    contracts = indexer_over(recorded, history, mirrored).contracts
    with mirrored.sessions.begin() as session:
        state = read_state(session, history.ledger.manifest.chain_id)
        assert state is not None
        after = state.head.number + 2
        gap = Batch(history.ledger.manifest.chain_id, after, BlockRef(after, b"\x01" * 32), [], 0)

        with pytest.raises(GapError):
            apply_batch(session, gap, contracts)


ASSET_REGISTERED = event_signature_to_log_topic(
    "AssetRegistered(bytes32,bytes2,uint8,string,string,bytes32,uint40,uint40,uint40,(uint64,uint16)[],address)"
)  # fmt: skip


def _registration(recorded: RecordedChain) -> Log:
    """The log of the first right's registration (the co-owned one, titled TITLE)."""
    return next(e for e in recorded.all_logs if e.topics[0] == ASSET_REGISTERED)


def _with_log(recorded: RecordedChain, bad: Log) -> RecordedChain:
    """The recorded chain with `bad` added, or in place of the log at its position."""
    logs = [
        e
        for e in recorded.all_logs
        if (e.block_number, e.log_index) != (bad.block_number, bad.log_index)
    ]
    return RecordedChain(
        recorded.headers, sorted([*logs, bad], key=lambda e: (e.block_number, e.log_index))
    )


def test_a_log_of_another_contract_is_recorded_and_the_logs_after_it_still_apply(
    history: History, database: Database, recorded: RecordedChain
) -> None:
    # Not the mirror's event (a node answering for an address it was not asked about): recorded
    # for the operator, and the deployment's own events after it still apply.
    foreign = dataclasses.replace(
        _registration(recorded), address=to_checksum_address("0x" + "12" * 20), log_index=1_000
    )
    chain = _with_log(recorded, foreign)

    report = indexer_over(chain, history, database, batch_blocks=1_000).sync()

    with database.sessions() as session:
        bad = queries.not_applied_logs(session)
        status = queries.mirror_status(session, history.ledger.manifest.chain_id)
        found = list(differences(session, history.ledger))
    assert report.not_applied == 1
    assert [b.position.log_index for b in bad] == [1_000]
    assert "not a contract of the deployment" in bad[0].reason
    assert status.events == len(recorded.all_logs)
    assert found == []


def _undecodable(registration: Log) -> Log:
    """A known event of ours whose data does not decode."""
    return dataclasses.replace(registration, data=b"\x00" * 7, log_index=1_001)


def _beyond_sql_integers(registration: Log) -> Log:
    """A participant id beyond what SQL integers hold: decodes, but the row is refused."""
    enrolled = event_signature_to_log_topic(
        "ParticipantEnrolled(uint64,uint8,bytes32,uint64,address[],address)"
    )
    return dataclasses.replace(
        registration,
        topics=(enrolled, (2**64 - 1).to_bytes(32, "big"), registration.topics[2]),
        data=encode(
            ["uint8", "bytes32", "uint64", "address[]"], [16, b"\x01" * 32, 1, ["0x" + "34" * 20]]
        ),
        log_index=1_002,
    )


def _nul_in_title(registration: Log) -> Log:
    """The registration itself, its title holding U+0000 (PostgreSQL cannot store it)."""
    data = registration.data.replace(b"compliant", b"compl\x00ant")
    assert data != registration.data
    return dataclasses.replace(registration, data=data)


@pytest.mark.parametrize(
    ("make_bad", "reason"),
    [
        (_undecodable, "AssetRegistered data"),
        (_beyond_sql_integers, "the database refused its rows"),
        (_nul_in_title, "AssetRegistered.title holds U+0000 at position"),
    ],
    ids=["undecodable", "beyond sql integers", "nul in title"],
)
def test_a_log_of_ours_that_cannot_be_applied_stops_the_mirror_before_its_block(
    history: History,
    database: Database,
    recorded: RecordedChain,
    fresh: dict[str, str],
    make_bad: Callable[[Log], Log],
    reason: str,
) -> None:
    registration = _registration(recorded)
    bad = make_bad(registration)
    indexer = indexer_over(_with_log(recorded, bad), history, database, batch_blocks=3)

    with pytest.raises(UnappliableLog) as stopped:
        indexer.sync()

    fault = stopped.value.fault
    assert (fault.block_number, fault.log_index) == (bad.block_number, bad.log_index)
    assert fault.contract == bad.address
    assert reason in fault.reason
    with database.sessions() as session:
        status = queries.mirror_status(session, history.ledger.manifest.chain_id)
        assert queries.not_applied_logs(session) == []
    assert status.block_number is not None
    assert status.block_number < bad.block_number  # nothing of that block, nothing after it
    with pytest.raises(UnappliableLog):  # stopped there, however often it is asked
        indexer.step()

    # The cause gone (here the block reorganised away without the bad log): the mirror goes on
    # from where it stopped, and ends equal to a fresh index.
    indexer.source = _with_log(recorded, registration)
    indexer.sync()
    assert digests(database, history.chain_id) == fresh


def test_the_range_shrinks_on_provider_errors_and_grows_on_small_answers() -> None:
    sizer = RangeSizer(span=64, max_span=1_000, target_logs=100)

    assert sizer.shrink()
    assert sizer.span == 32
    sizer.observe(blocks=32, logs=500)  # too many logs
    assert sizer.span == 16
    sizer.observe(blocks=16, logs=10)  # few: grow
    assert sizer.span == 32
    sizer.observe(blocks=5, logs=0)  # a short range at the head says nothing
    assert sizer.span == 32
    while sizer.shrink():
        pass
    assert sizer.span == 1


def test_a_node_refusing_big_ranges_is_read_in_smaller_ones(
    history: History, database: Database, recorded: RecordedChain, fresh: dict[str, str]
) -> None:
    chain = RecordedChain(recorded.headers, recorded.all_logs)
    chain.failures = [3]  # the node refuses ranges of more than 3 blocks

    indexer = indexer_over(chain, history, database, batch_blocks=64)
    indexer.sync()

    assert any(not answered for _, answered in chain.requests)
    assert all(blocks <= 3 for blocks, answered in chain.requests if answered)
    assert digests(database, history.chain_id) == fresh


def test_every_row_traces_back_to_an_event_of_the_raw_log(mirrored: Database) -> None:
    from sqlalchemy import select

    from registry_api.db.models import Base, ChainEvent

    with mirrored.sessions() as session:
        events = set(session.execute(select(ChainEvent.block_number, ChainEvent.log_index)).all())
        for table in Base.metadata.sorted_tables:
            for prefix in ("created", "updated"):
                if f"{prefix}_block" not in table.c:
                    continue
                refs = session.execute(
                    select(table.c[f"{prefix}_block"], table.c[f"{prefix}_log_index"])
                ).all()
                assert refs, table.name
                assert set(refs) <= events, f"{table.name}.{prefix}_* names unknown events"
