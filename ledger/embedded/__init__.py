"""The embedded permissioned chain: py-evm on a SQLite file, served over Ethereum JSON-RPC.

- `store`: the key-value store (py-evm's database) and the log index, one SQLite file in WAL mode,
  written one atomic, fsynced transaction per group of blocks.
- `vm`: the chain rules (Shanghai, free gas, the office as the only validator).
- `node`: the node: mines each accepted transaction into a block, answers reads.
- `permissioning`: who may send transactions (Besu's account permissioning, on chain).
- `jsonrpc`: the JSON-RPC methods, parameters, errors and limits; `encoding`: JSON views.
- `provider`: a web3 provider that calls the node in this process; `server`: the HTTP server.
- `datadir`: the data directory (database, lock, keystore, manifest).
"""
