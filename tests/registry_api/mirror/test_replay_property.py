"""Property: the mirror after any chunking and any replay equals a fresh index of the same chain."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry_api.mirror.apply import Batch, BlockRef, apply_batch, clear_mirror, read_state
from tests.registry_api.mirror.conftest import (
    Database,
    History,
    RecordedChain,
    digests,
    indexer_over,
)

#: (how far back before the checkpoint the range starts, how many blocks, journal it or not)
PLANS = st.lists(
    st.tuples(st.integers(0, 30), st.integers(1, 25), st.booleans()), min_size=1, max_size=25
)


@pytest.mark.slow
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(plan=PLANS)
def test_any_chunking_and_replay_equals_a_fresh_index(
    history: History,
    database: Database,
    recorded: RecordedChain,
    fresh: dict[str, str],
    plan: list[tuple[int, int, bool]],
) -> None:
    contracts = indexer_over(recorded, history, database).contracts
    first_block, head = history.ledger.manifest.block_number, recorded.head()
    with database.sessions.begin() as session:
        clear_mirror(session)

    def apply(start: int, end: int, journal: bool) -> None:
        logs = [e for e in recorded.all_logs if start <= e.block_number <= end]
        last = recorded.headers[end]
        batch = Batch(
            history.chain_id,
            start,
            BlockRef(last.number, last.hash),
            logs,
            journal_from=start if journal else end + 1,
        )
        with database.sessions.begin() as session:
            apply_batch(session, batch, contracts)

    for back, size, journal in plan:
        with database.sessions() as session:
            state = read_state(session, history.chain_id)
        following = state.head.number + 1 if state is not None else first_block
        start = max(first_block, following - back)  # may replay blocks already applied
        apply(start, min(head, start + size - 1), journal)
    with database.sessions() as session:
        state = read_state(session, history.chain_id)
    if state is None or state.head.number < head:
        apply(state.head.number + 1 if state is not None else first_block, head, False)

    assert digests(database, history.chain_id) == fresh
