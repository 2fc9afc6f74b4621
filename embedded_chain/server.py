"""The node's HTTP JSON-RPC server: a small ASGI application under uvicorn.

Why uvicorn and no framework: the JSON-RPC layer does all routing and validation, so a web framework
would add a layer with nothing to do; uvicorn (already a dependency of the registry service) gives
HTTP/1.1 keep-alive, graceful shutdown on SIGTERM and SIGINT, and an event loop that keeps reading
and refusing requests while the node works.

Threads: every node call runs on one dedicated worker thread. py-evm and the SQLite connection
are used by one thread at a time, requests are answered in arrival order, and the event loop is
never blocked by a long `eth_getLogs` or a block's commit.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor

import uvicorn

from embedded_chain.errors import InvalidRequest, LimitExceeded, RpcError
from embedded_chain.jsonrpc import MAX_REQUEST_BYTES, JsonRpc
from embedded_chain.nesting import bound_recursion

Message = MutableMapping[str, object]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON = [(b"content-type", b"application/json")]
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class JsonRpcApp:
    """ASGI application: JSON-RPC requests and batches by HTTP POST to any path."""

    def __init__(self, rpc: JsonRpc, *, max_request_bytes: int = MAX_REQUEST_BYTES) -> None:
        bound_recursion()  # before the worker and the server threads start
        self.rpc = rpc
        self.max_request_bytes = max_request_bytes
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="node")

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await _reply(send, 405, InvalidRequest("send JSON-RPC requests by HTTP POST"))
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_request_bytes:
            await _reply(send, 413, self._too_large(declared))
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            body += chunk if isinstance(chunk, bytes) else b""
            if len(body) > self.max_request_bytes:
                await _reply(send, 413, self._too_large(len(body)))
                return
            more = bool(message.get("more_body", False))
        answer = await asyncio.get_running_loop().run_in_executor(
            self._worker, self.rpc.handle_bytes, bytes(body)
        )
        await send({"type": "http.response.start", "status": 200, "headers": _JSON})
        await send({"type": "http.response.body", "body": answer})

    def _too_large(self, size: int) -> RpcError:
        return LimitExceeded(
            f"request of {size} bytes refused: at most {self.max_request_bytes} bytes"
        )

    def shutdown(self) -> None:
        """Wait for the request being answered, if any (a block being committed finishes)."""
        self._worker.shutdown(wait=True)


class _Stopped(Exception):
    """SIGINT or SIGTERM, handed back by uvicorn once it has shut down gracefully."""


def _stop(signum: int, frame: object) -> None:
    raise _Stopped(signum)


def serve(rpc: JsonRpc, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, then return; the caller closes the node afterwards.

    uvicorn finishes the requests in flight, then raises the signal again for whatever handler
    was there before it: ours turns it into a normal return, so that the node is closed (its
    write-ahead log folded in) and the process exits 0.
    """
    app = JsonRpcApp(rpc)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, _stop) for sig in _SIGNALS} if main else {}
    try:
        uvicorn.Server(config).run()
    except _Stopped:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        app.shutdown()


class BackgroundServer:
    """The JSON-RPC server on a thread of its own, beside a process that uses the node too (the
    registry service): the node's lock orders the requests of both."""

    def __init__(self, rpc: JsonRpc, host: str, port: int) -> None:
        self._app = JsonRpcApp(rpc)
        config = uvicorn.Config(
            self._app,
            host=host,
            port=port,
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=10,
        )
        self._server = uvicorn.Server(config)  # signals stay with the main thread
        self._thread = threading.Thread(target=self._server.run, name="node-rpc", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        """Start listening; raise OSError if the address cannot be bound."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise OSError(
                    f"the node's JSON-RPC server could not listen on "
                    f"{self._server.config.host}:{self._server.config.port}"
                )
            time.sleep(0.01)

    def stop(self) -> None:
        """Finish the requests in flight and stop listening."""
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._app.shutdown()


def _content_length(scope: Message) -> int | None:
    headers = scope.get("headers")
    if not isinstance(headers, list):
        return None
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _reply(send: Send, status: int, error: RpcError) -> None:
    body = _error_body(error)
    await send({"type": "http.response.start", "status": status, "headers": _JSON})
    await send({"type": "http.response.body", "body": body})


def _error_body(error: RpcError) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": None, "error": error.as_json()}).encode()
