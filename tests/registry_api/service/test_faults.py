"""Faults of the node and the database through HTTP: a 503 with a code and a sentence, within a
bounded time, the connection closed after it; health says what is down instead of failing; the
loops log a fault once; and no request holds the SQLite write lock while it waits on the node.

The node's faults run on anvil behind a relay that can stop answering while it still accepts
connections (a hung node); the database's faults run on the embedded chain with SQLite.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from ledger.artifacts import ArtifactSet
from ledger.backends.anvil import AnvilNode
from registry_api.app import create_app
from registry_api.registry import Registry
from tests.conftest import start_anvil
from tests.registry_api.service.conftest import _embedded, _on_anvil
from tests.support.api import assert_sentence, right_body, sign_in
from wallets.signer import LocalSigner

#: The request path's node timeout in these tests, and the bound every answer must meet.
NODE_TIMEOUT = 2.0
BOUND = 10.0
#: How long a request waits for SQLite's write lock in these tests.
DATABASE_TIMEOUT = 1.0


class HangingNode:
    """A TCP relay in front of a node that can stop answering the requests that carry given
    bytes, as a hung node does: it still accepts connections and reads requests."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._markers: tuple[bytes, ...] | None = None
        self._swallowed = threading.Event()
        self._sockets: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def hang(self, *markers: bytes) -> None:
        """From now on, answer no request that contains all `markers` (every request if none)."""
        self._markers = tuple(marker.lower() for marker in markers)

    def wait_swallowed(self, timeout: float) -> bool:
        """Whether a request has been left unanswered (within `timeout`)."""
        return self._swallowed.wait(timeout)

    def close(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self._upstream))
            except OSError:  # the node is down: so is the connection to it
                client.close()
                continue
            self._sockets += [client, upstream]
            threading.Thread(target=self._forward, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._back, args=(upstream, client), daemon=True).start()

    def _forward(self, client: socket.socket, upstream: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := client.recv(1 << 16):
                markers = self._markers
                if markers is not None and all(m in chunk.lower() for m in markers):
                    self._swallowed.set()
                    continue  # read, never answered: the client waits for its timeout
                upstream.sendall(chunk)
        _hang_up(client, upstream)

    def _back(self, upstream: socket.socket, client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := upstream.recv(1 << 16):
                client.sendall(chunk)
        _hang_up(client, upstream)


def _hang_up(*sockets: socket.socket) -> None:
    """Close both ends when one closes: a node that stops closes its clients' connections."""
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


@dataclass
class OnNode:
    """A registry on SQLite whose node (anvil) is reached through a relay that can hang."""

    registry: Registry
    client: TestClient
    office: LocalSigner
    anvil: AnvilNode
    node: HangingNode


@pytest.fixture
def on_node(tmp_path: Path, artifacts: ArtifactSet) -> Iterator[OnNode]:
    anvil = start_anvil()
    node = HangingNode(anvil.port)
    try:
        registry, office = _on_anvil(
            tmp_path,
            artifacts,
            anvil,
            f"sqlite:///{tmp_path / 'registry.sqlite3'}",
            rpc_url=node.url,
            node_timeout_seconds=NODE_TIMEOUT,
            database_timeout_seconds=DATABASE_TIMEOUT,
        )
        registry.start()
        try:
            with TestClient(create_app(registry)) as client:
                yield OnNode(registry, client, office, anvil, node)
        finally:
            # The relay first: its hung connections fail at once, so the registry's loops
            # stop without waiting out their requests' timeouts.
            node.close()
            registry.close()
    finally:
        node.close()
        anvil.stop()


@dataclass
class Embedded:
    registry: Registry
    client: TestClient
    database: Path


@pytest.fixture
def embedded(tmp_path: Path, artifacts: ArtifactSet) -> Iterator[Embedded]:
    registry, _office = _embedded(tmp_path, artifacts, database_timeout_seconds=DATABASE_TIMEOUT)
    registry.start()
    try:
        with TestClient(create_app(registry), raise_server_exceptions=False) as client:
            yield Embedded(registry, client, tmp_path / "data" / "registry.sqlite3")
    finally:
        registry.close()


def unavailable(response: httpx.Response, code: str) -> str:
    """Assert a 503 with `code`, in words, that closes the connection; its message."""
    assert response.status_code == 503, response.text
    assert response.headers.get("connection") == "close", response.headers
    error = response.json()["error"]
    assert error["code"] == code, error
    assert_sentence(error["message"])
    return str(error["message"])


def timed(request: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = request()
    return response, time.monotonic() - started


def requests_needing_the_node(world: OnNode, office: dict[str, str]) -> dict[str, Any]:
    """A read, a sign-in and a write, each of which asks the node."""
    issued = world.client.post("/v1/auth/challenge", json={"address": world.office.address})
    assert issued.status_code == 200, issued.text
    signature = "0x" + world.office.sign_message(issued.json()["message"]).hex()
    return {
        "read": lambda: world.client.get("/v1/auth/me", headers=office),
        "sign-in": lambda: world.client.post(
            "/v1/auth/token", json={"nonce": issued.json()["nonce"], "signature": signature}
        ),
        "write": lambda: world.client.post(
            "/v1/rights",
            json=right_body("FAULT-1", [(1, 10_000)]),
            headers={**office, "Idempotency-Key": str(uuid.uuid4())},
        ),
    }


# --- the node down or hung ---


@pytest.mark.anvil
def test_a_node_that_is_down_answers_node_unavailable_at_once(
    on_node: OnNode, caplog: pytest.LogCaptureFixture
) -> None:
    office = sign_in(on_node.client, on_node.office)
    asks = requests_needing_the_node(on_node, office)
    on_node.anvil.stop()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        for name, ask in asks.items():
            response, seconds = timed(ask)
            unavailable(response, "node_unavailable")
            assert seconds < BOUND, f"{name} took {seconds:.1f}s"
    answered = [r for r in caplog.records if r.name == "registry_api.errors"]
    assert len(answered) == len(asks), [r.getMessage() for r in answered]
    for record in answered:
        assert record.exc_info is None, record.getMessage()
        assert "\n" not in record.getMessage(), record.getMessage()


@pytest.mark.anvil
def test_a_hung_node_answers_node_unavailable_within_the_node_timeout(on_node: OnNode) -> None:
    office = sign_in(on_node.client, on_node.office)
    asks = requests_needing_the_node(on_node, office)
    on_node.node.hang()
    for name, ask in asks.items():
        response, seconds = timed(ask)
        unavailable(response, "node_unavailable")
        assert seconds < min(BOUND, NODE_TIMEOUT + 3), f"{name} took {seconds:.1f}s"
    health, seconds = timed(lambda: on_node.client.get("/v1/health"))
    assert seconds < BOUND
    assert health.status_code == 200, health.text
    assert health.json()["node"]["up"] is False


@pytest.mark.anvil
def test_health_says_the_node_is_down_instead_of_failing(on_node: OnNode) -> None:
    up = on_node.client.get("/v1/health")
    assert up.status_code == 200, up.text
    assert up.json()["status"] == "ok"
    assert up.json()["node"] == {"up": True, "problem": None}
    on_node.anvil.stop()
    response, seconds = timed(lambda: on_node.client.get("/v1/health"))
    assert seconds < BOUND
    assert response.status_code == 200, response.text
    health = response.json()
    assert health["status"] == "degraded"
    assert health["node"]["up"] is False
    assert_sentence(health["node"]["problem"])
    assert health["head"] is None
    assert health["database"] == {"up": True, "problem": None}
    assert health["chain_id"] == on_node.registry.chain_id


def _other_writers_go_on_while(on_node: OnNode, stuck: Any) -> None:
    """`stuck` (a request the node leaves unanswered) holds no lock: a challenge, a write that
    asks no node, is answered while it waits; then `stuck` ends in node_unavailable."""
    answers: list[httpx.Response] = []
    waiting = threading.Thread(target=lambda: answers.append(stuck()), daemon=True)
    waiting.start()
    assert on_node.node.wait_swallowed(BOUND), "the request never reached the node"
    other, seconds = timed(
        lambda: on_node.client.post("/v1/auth/challenge", json={"address": on_node.office.address})
    )
    assert other.status_code == 200, other.text
    assert seconds < NODE_TIMEOUT
    waiting.join(BOUND)
    assert not waiting.is_alive()
    unavailable(answers[0], "node_unavailable")


@pytest.mark.anvil
def test_sign_in_waiting_on_a_hung_node_does_not_stop_other_writers(on_node: OnNode) -> None:
    asks = requests_needing_the_node(on_node, {})
    participants = on_node.registry.ledger.participants.address.lower().encode()
    on_node.node.hang(b'"eth_call"', participants)
    _other_writers_go_on_while(on_node, asks["sign-in"])


@pytest.mark.anvil
def test_a_write_whose_check_waits_on_a_hung_node_does_not_stop_other_writers(
    on_node: OnNode,
) -> None:
    office = sign_in(on_node.client, on_node.office)
    asks = requests_needing_the_node(on_node, office)
    # The caller's roles are read from the participant registry; the check asks the asset
    # registry, which is what hangs.
    assets = on_node.registry.ledger.assets.address.lower().encode()
    on_node.node.hang(b'"eth_call"', assets)
    _other_writers_go_on_while(on_node, asks["write"])


@pytest.mark.anvil
def test_the_relayer_and_the_mirror_log_a_lasting_node_fault_once(
    on_node: OnNode, caplog: pytest.LogCaptureFixture
) -> None:
    registry = on_node.registry
    with caplog.at_level(logging.INFO):
        on_node.anvil.stop()
        assert registry.dispatcher.faults.wait_failures(3, BOUND)
        assert registry.indexer.faults.wait_failures(3, BOUND)
    for logger in ("registry_api.relayer.dispatcher", "registry_api.mirror.indexer"):
        logged = [r for r in caplog.records if r.name == logger]
        assert len(logged) == 1, [r.getMessage() for r in logged]
        assert logged[0].exc_info is None
        assert "\n" not in logged[0].getMessage()
        assert "node" in logged[0].getMessage(), logged[0].getMessage()


# --- the database locked or gone ---


def test_a_locked_database_answers_database_unavailable_in_bounded_time(
    embedded: Embedded,
) -> None:
    holder = sqlite3.connect(embedded.database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        response, seconds = timed(
            lambda: embedded.client.post("/v1/auth/challenge", json={"address": "0x" + "12" * 20})
        )
        unavailable(response, "database_unavailable")
        assert seconds < BOUND
        assert embedded.client.get("/v1/rights").status_code == 200  # reads go on
    finally:
        holder.rollback()
        holder.close()


def test_a_deleted_database_file_is_noticed_by_health_and_refuses_writes(
    embedded: Embedded,
) -> None:
    assert embedded.client.get("/v1/health").json()["database"] == {"up": True, "problem": None}
    embedded.database.unlink()
    response = embedded.client.get("/v1/health")
    assert response.status_code == 200, response.text
    health = response.json()
    assert health["status"] == "degraded"
    assert health["database"]["up"] is False
    assert_sentence(health["database"]["problem"])
    assert "deleted" in health["database"]["problem"]
    assert health["node"] == {"up": True, "problem": None}
    write = embedded.client.post("/v1/auth/challenge", json={"address": "0x" + "12" * 20})
    unavailable(write, "database_unavailable")


def test_a_fault_of_the_service_closes_the_connection(
    embedded: Embedded, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(embedded.registry.sign_in, "challenge", broken)
    response = embedded.client.post("/v1/auth/challenge", json={"address": "0x" + "12" * 20})
    assert response.status_code == 500, response.text
    assert response.headers.get("connection") == "close"
    assert response.headers.get("x-content-type-options") == "nosniff"
    assert response.json()["error"]["code"] == "internal_error"
