"""A web3 provider that calls the embedded node in this process: JSON-RPC without HTTP.

Requests go through the same `JsonRpc` as HTTP requests do, with their parameters put in JSON
form first (web3 hands providers some values as bytes), so that a client in this process gets
exactly the answers, errors included, that a client over HTTP gets.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, cast

from web3._utils.encoding import Web3JsonEncoder
from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from embedded_chain.jsonrpc import JsonRpc


class NodeProvider(JSONBaseProvider):
    """web3's view of a node in this process."""

    def __init__(self, rpc: JsonRpc) -> None:
        super().__init__()
        self.rpc = rpc
        self._ids = itertools.count()

    def _request(self, method: RPCEndpoint, params: Any) -> dict[str, object]:
        return {
            "jsonrpc": "2.0",
            "id": next(self._ids),
            "method": method,
            "params": json.loads(json.dumps(params or [], cls=Web3JsonEncoder)),
        }

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        return cast(RPCResponse, self.rpc.handle(self._request(method, params)))

    def make_batch_request(
        self, requests: list[tuple[RPCEndpoint, Any]]
    ) -> list[RPCResponse] | RPCResponse:
        answer = self.rpc.handle([self._request(method, params) for method, params in requests])
        if isinstance(answer, dict):  # the whole batch was refused
            return cast(RPCResponse, answer)
        return cast(list[RPCResponse], answer)

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True

    def __repr__(self) -> str:
        return f"NodeProvider(chain {self.rpc.node.chain_id})"
