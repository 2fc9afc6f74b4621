"""The embedded permissioned chain: py-evm on a SQLite file, served over Ethereum JSON-RPC.

A node of its own: it imports nothing of the ledger, the wallets or the service. The ledger
reaches it through its adapter, `ledger/backends/embedded.py`, which gives it the address of the
contract that decides who may send (the participant registry), so it never reads a manifest.

- `store`: py-evm's key-value database on one SQLite file in WAL mode, written in one durable
  transaction per group of blocks; `logindex`: every log as a row, for `eth_getLogs`.
- `genesis`: the chain's rules (Shanghai, free gas, the office as the only validator).
- `node`: checks, executes and mines each transaction on arrival; answers reads.
- `permissioning`: who may send (Besu's account permissioning, asked of the contract it is given).
- `jsonrpc`: the JSON-RPC methods, parameters, limits; `errors`: codes; `encoding`: JSON views.
- `provider`: a web3 provider calling the node in this process; `server`: the HTTP server.
- `datadir`: the data directory (database, lock; where the office keeps its files), init, backup.
- `nesting`: bounded JSON depth and recursion, which the node needs first (the EVM recurses);
  the wallets and the service take them from here too, since the node imports nothing of theirs.
"""
