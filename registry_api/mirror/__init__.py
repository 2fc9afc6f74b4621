"""The SQL mirror of the ledger: an exactly-once, reorg-safe indexer and the queries over it.

- `rows`: pure mapping of events to row changes;
- `apply`: the only writer (batches with their checkpoint, rollback);
- `source`: reading the chain over JSON-RPC, adaptive ranges;
- `indexer`: the loop (`Indexer`), run by `ipledger mirror sync` and by the registry service;
- `queries`: every read; `verify`: the comparison with the chain.
"""
