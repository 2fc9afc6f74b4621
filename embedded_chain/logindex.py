"""The log index: every log of every canonical block, as rows that `eth_getLogs` selects.

py-evm keeps logs only inside receipts, so finding the logs of one contract means reading every
receipt of every block in the range (eth-tester's `get_logs` does that, and slows with the chain's
length). Here each log is a row written in the same SQLite transaction as its block, keyed by
(block number, log index), with indexes on the address and on the first topic (the event):
a filter over a block range reads the rows it returns and little else.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from eth.abc import BlockAPI, ReceiptAPI

#: Topics a log may carry (LOG0..LOG4).
MAX_TOPICS = 4


@dataclass(frozen=True)
class IndexedLog:
    """One log where it sits on the chain."""

    block_number: int
    block_hash: bytes
    transaction_index: int
    transaction_hash: bytes
    log_index: int  # position in the block, as JSON-RPC numbers logs
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True)
class LogFilter:
    """What `eth_getLogs` asks for: a block range, any of some addresses, topics by position.

    An empty `addresses` matches any address; at each topic position, `None` matches anything
    and a tuple matches any of its values (JSON-RPC's OR within a position, AND across them).
    """

    from_block: int
    to_block: int
    addresses: tuple[bytes, ...] = ()
    topics: tuple[tuple[bytes, ...] | None, ...] = ()


class TooManyLogs(Exception):
    """The filter matches more logs than one answer may carry."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the query matches more than {limit} logs")


def logs_of_block(block: BlockAPI, receipts: Sequence[ReceiptAPI]) -> list[IndexedLog]:
    """The logs of a block, numbered from 0 across the whole block as JSON-RPC numbers them."""
    logs: list[IndexedLog] = []
    for tx_index, (transaction, receipt) in enumerate(
        zip(block.transactions, receipts, strict=True)
    ):
        for log in receipt.logs:
            logs.append(
                IndexedLog(
                    block_number=block.number,
                    block_hash=bytes(block.hash),
                    transaction_index=tx_index,
                    transaction_hash=bytes(transaction.hash),
                    log_index=len(logs),
                    address=bytes(log.address),
                    topics=tuple(topic.to_bytes(32, "big") for topic in log.topics),
                    data=bytes(log.data),
                )
            )
    return logs


def insert(connection: sqlite3.Connection, logs: Iterable[IndexedLog]) -> None:
    """Add the logs of newly mined blocks (inside the store's commit)."""
    connection.executemany(
        "INSERT INTO logs (block_number, log_index, tx_index, tx_hash, block_hash, address,"
        " topic0, topic1, topic2, topic3, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (
                log.block_number,
                log.log_index,
                log.transaction_index,
                log.transaction_hash,
                log.block_hash,
                log.address,
                *(log.topics + (None,) * (MAX_TOPICS - len(log.topics))),
                log.data,
            )
            for log in logs
        ),
    )


def delete_above(connection: sqlite3.Connection, block_number: int) -> None:
    """Drop the logs of blocks after `block_number` (the chain was rewound in development)."""
    connection.execute("DELETE FROM logs WHERE block_number > ?", (block_number,))


def select(connection: sqlite3.Connection, query: LogFilter, limit: int) -> list[IndexedLog]:
    """The matching logs in chain order; raise `TooManyLogs` past `limit`."""
    where = ["block_number BETWEEN ? AND ?"]
    args: list[object] = [query.from_block, query.to_block]
    if query.addresses:
        where.append(_any_of("address", query.addresses, args))
    for position, wanted in enumerate(query.topics[:MAX_TOPICS]):
        if wanted:
            where.append(_any_of(f"topic{position}", wanted, args))
    if len(query.topics) > MAX_TOPICS and any(query.topics[MAX_TOPICS:]):
        return []  # no log has a fifth topic
    args.append(limit + 1)
    rows = connection.execute(
        "SELECT block_number, block_hash, tx_index, tx_hash, log_index, address,"
        " topic0, topic1, topic2, topic3, data FROM logs"
        f" WHERE {' AND '.join(where)} ORDER BY block_number, log_index LIMIT ?",
        args,
    ).fetchall()
    if len(rows) > limit:
        raise TooManyLogs(limit)
    return [
        IndexedLog(
            block_number=row[0],
            block_hash=bytes(row[1]),
            transaction_index=row[2],
            transaction_hash=bytes(row[3]),
            log_index=row[4],
            address=bytes(row[5]),
            topics=tuple(bytes(t) for t in row[6:10] if t is not None),
            data=bytes(row[10]),
        )
        for row in rows
    ]


def _any_of(column: str, values: Sequence[bytes], args: list[object]) -> str:
    args.extend(values)
    return f"{column} IN ({', '.join('?' * len(values))})"
