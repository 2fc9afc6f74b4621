"""Deeply nested bodies, sent to `ipledger serve` as an attacker would: through real ports (the API
and the embedded node's JSON-RPC), raw bytes on a socket so that headers can be repeated, and the
service must answer them in words and then still answer.

The service runs as a subprocess: a body that overflows the C stack kills the process, which a test
in the same process could not survive to report.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger.backends.anvil import free_port

IPLEDGER = Path(sys.executable).parent / "ipledger"
START_SECONDS = 60.0
#: Deep enough to overflow an 8 MiB C stack in json.loads (~130 bytes a level) at the recursion
#: limit py_ecc sets on import (100,000).
DEEP = b"[" * 200_000


class Served:
    """`ipledger serve --node-port` as a subprocess on its own data directory."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.api_port, self.node_port = free_port(), free_port()
        self.log = tmp_path / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IPLEDGER_")}
        command = [str(IPLEDGER), "serve", "--data-dir", str(self.tmp_path / "data")]
        command += ["--port", str(self.api_port), "--node-port", str(self.node_port)]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_SECONDS
        while True:
            if not self.alive():
                pytest.fail(f"the service exited:\n{self.tail()}")
            try:
                self.assert_answers()
                return
            except (httpx.TransportError, AssertionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def assert_answers(self) -> None:
        """The process is alive and both ports still answer."""
        assert self.alive(), f"the service died:\n{self.tail()}"
        health = httpx.get(f"http://127.0.0.1:{self.api_port}/v1/health", timeout=30)
        assert health.status_code == 200, health.text
        block = httpx.post(
            f"http://127.0.0.1:{self.node_port}",
            json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
            timeout=30,
        )
        assert block.status_code == 200, block.text
        assert "result" in block.json(), block.text


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    service = Served(tmp_path_factory.mktemp("nesting"))
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def served(service: Served) -> Served:
    """The service, started again if a test before this one killed it."""
    if not service.alive():
        service.start()
    return service


def raw_post(
    port: int, path: str, headers: list[tuple[str, str]], body: bytes
) -> tuple[int, bytes]:
    """POST with exactly these header lines (repeats kept): the status and the body answered,
    or status 0 when the connection closed without an answer.

    The connection is kept alive, as a browser's would be: the server then reads the rest of a
    body it refused instead of closing on unread bytes (a TCP reset that loses its answer).
    """
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers)
    if not any(name.lower() == "content-length" for name, _ in headers):
        head += f"Content-Length: {len(body)}\r\n"
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(head.encode() + b"\r\n" + body)
        try:
            while not _complete(answer) and (chunk := connection.recv(65_536)):
                answer += chunk
        except ConnectionResetError:
            pass
    if b"\r\n\r\n" not in answer:
        return 0, b""  # no answer: the process may have died
    header, _, body = answer.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in header.lower():
        body = _unchunked(body)
    return int(header.split()[1]), body


def _complete(answer: bytes) -> bool:
    """Whether `answer` holds a whole response: its head and all of its body (else it ends
    when the server closes the connection)."""
    head, found, body = answer.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
        if name.strip().lower() == b"transfer-encoding":
            return body.endswith(b"0\r\n\r\n")
    return False


def _unchunked(body: bytes) -> bytes:
    data = b""
    while True:
        size, _, body = body.partition(b"\r\n")
        length = int(size, 16)
        if length == 0:
            return data
        data, body = data + body[:length], body[length + 2 :]


def assert_refused_in_words(status: int, body: bytes, expected: int = 400) -> str:
    assert status == expected, body
    error = json.loads(body)["error"]
    assert error["code"] == "bad_request", error
    message: str = error["message"]
    assert len(message.split()) >= 3, message
    assert "Traceback" not in message, message
    return message


@pytest.mark.parametrize(
    "path", ["/v1/auth/challenge", "/v1/rights/bulk", "/v1/assignments", "/v1/rights/import"]
)
def test_a_nested_body_behind_a_second_content_type_is_refused_and_the_service_still_answers(
    served: Served, path: str
) -> None:
    headers = [("Content-Type", "application/json"), ("Content-Type", "text/plain")]

    status, body = raw_post(served.api_port, path, headers, DEEP)

    served.assert_answers()
    assert "Content-Type" in assert_refused_in_words(status, body)


def test_two_different_content_lengths_are_refused_and_the_service_still_answers(
    served: Served,
) -> None:
    body = b'{"address": "0x0000000000000000000000000000000000000001"}' + b" " * 8
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body) - 8)),
        ("Content-Length", str(len(body))),
    ]

    status, answer = raw_post(served.api_port, "/v1/auth/challenge", headers, body)

    served.assert_answers()
    # The HTTP parser refuses it before the guard sees it (repeats of one value are merged, as
    # RFC 9110 allows); the guard refuses any repeat that would reach it.
    assert status == 400, answer


@pytest.mark.parametrize(
    "content_type",
    [None, "application/json", "application/merge-patch+json", "APPLICATION/JSON; charset=utf-8"],
)
def test_a_nested_json_body_is_refused_and_the_service_still_answers(
    served: Served, content_type: str | None
) -> None:
    headers = [("Content-Type", content_type)] if content_type else []

    status, body = raw_post(served.api_port, "/v1/auth/challenge", headers, DEEP)

    served.assert_answers()
    assert "nests deeper" in assert_refused_in_words(status, body)


@pytest.mark.parametrize("body", [DEEP, b"{" + b'"a":[' * 100_000, b'{"jsonrpc":' + DEEP])
def test_a_nested_json_rpc_request_is_refused_and_the_node_still_answers(
    served: Served, body: bytes
) -> None:
    status, answer = raw_post(served.node_port, "/", [("Content-Type", "application/json")], body)

    served.assert_answers()
    assert status == 200, answer
    error = json.loads(answer)["error"]
    assert "nests deeper" in error["message"], error
