"""Any Ethereum JSON-RPC node: anvil in development and tests, Besu (QBFT) in production."""

from __future__ import annotations

from typing import cast

from web3 import HTTPProvider, Web3
from web3.middleware import ExtraDataToPOAMiddleware
from web3.providers.base import BaseProvider
from web3.types import RPCEndpoint

from ledger.backends.base import ChainBackend, DevelopmentFeatureUnavailable

DEFAULT_TIMEOUT_SECONDS = 30.0


def connect(provider: BaseProvider) -> Web3:
    """A `Web3` over `provider`, ready for a permissioned chain.

    QBFT and clique blocks carry validator data in `extraData`, longer than the 32 bytes that
    web3's block formatter accepts; the POA middleware must run first (layer 0) to trim it.
    """
    w3 = Web3(provider)
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3


class RpcBackend(ChainBackend):
    """A node reached over HTTP JSON-RPC."""

    def __init__(
        self, url: str, *, timeout: float = DEFAULT_TIMEOUT_SECONDS, retry: bool = True
    ) -> None:
        """`timeout` bounds each request; `retry=False` turns off web3's own retries.

        web3 retries a failed read five times, each waiting the whole timeout: a hung node
        holds the caller for 5 x 30 s. A caller that retries on its own (a loop) or that must
        answer in bounded time (a request path) sets a short timeout and no retries.
        """
        self.url = url
        if retry:
            provider = HTTPProvider(url, request_kwargs={"timeout": timeout})
        else:
            provider = HTTPProvider(
                url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None
            )
        self._w3 = connect(provider)

    @classmethod
    def over(cls, provider: BaseProvider) -> RpcBackend:
        """A backend over an existing provider (a test double, an IPC or WebSocket provider)."""
        backend = cls.__new__(cls)
        backend.url = repr(provider)
        backend._w3 = connect(provider)
        return backend

    @property
    def w3(self) -> Web3:
        return self._w3

    def snapshot(self) -> str:
        return str(self._dev_call("evm_snapshot", []))

    def revert(self, snapshot: str) -> None:
        if not self._dev_call("evm_revert", [snapshot]):
            raise DevelopmentFeatureUnavailable(f"{self.url} could not revert to {snapshot}")

    def mine_at(self, timestamp: int) -> None:
        self._dev_call("evm_mine", [timestamp])

    def _dev_call(self, method: str, params: list[object]) -> object:
        response = self._w3.provider.make_request(cast(RPCEndpoint, method), params)
        if "error" in response:
            raise DevelopmentFeatureUnavailable(f"{self.url} refused {method}: {response['error']}")
        return response.get("result")

    def close(self) -> None:
        provider = self._w3.provider
        if isinstance(provider, HTTPProvider):
            session = getattr(provider, "_request_session_manager", None)
            if session is not None:
                session.cache_and_return_session(self.url).close()
