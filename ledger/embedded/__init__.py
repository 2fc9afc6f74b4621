"""The embedded permissioned chain: py-evm on a SQLite file, served over Ethereum JSON-RPC.

- `store`: py-evm's key-value database on one SQLite file in WAL mode, written in one durable
  transaction per group of blocks; `logindex`: every log as a row, for `eth_getLogs`.
- `genesis`: the chain's rules (Shanghai, free gas, the office as the only validator).
- `node`: checks, executes and mines each transaction on arrival; answers reads.
- `permissioning`: who may send (Besu's account permissioning, asked of the deployed contract).
- `jsonrpc`: the JSON-RPC methods, parameters, limits; `errors`: codes; `encoding`: JSON views.
- `provider`: a web3 provider calling the node in this process; `server`: the HTTP server.
- `datadir`: the data directory (database, lock, keystore, manifest), init and backup.
"""
