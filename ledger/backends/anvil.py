"""An anvil node started from node_modules, configured like the production chain."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from web3 import HTTPProvider, Web3

from ledger.backends.rpc import RpcBackend
from ledger.compiler import Toolchain

ANVIL_PACKAGE = "@foundry-rs/anvil-linux-amd64"
STARTUP_TIMEOUT_SECONDS = 20.0


class AnvilUnavailable(RuntimeError):
    """The anvil binary is not installed (npm optional dependency, Linux x86-64 only)."""


def anvil_binary(toolchain: Toolchain | None = None) -> Path:
    binary = (toolchain or Toolchain.discover()).node_modules / ANVIL_PACKAGE / "bin" / "anvil"
    if not binary.is_file() or not os.access(binary, os.X_OK):
        raise AnvilUnavailable(f"{binary} is missing: run `npm ci` on Linux x86-64")
    return binary


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class AnvilNode:
    """A local anvil: Shanghai, free gas (zero base fee and gas price), FIFO ordering.

    Use as a context manager; the process is stopped on exit.
    """

    def __init__(
        self,
        *,
        chain_id: int = 31337,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
        toolchain: Toolchain | None = None,
    ) -> None:
        self.chain_id = chain_id
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._command = [
            str(anvil_binary(toolchain)),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--chain-id", str(chain_id),
            "--hardfork", "shanghai",
            "--gas-price", "0",
            "--base-fee", "0",
            "--disable-min-priority-fee",
            "--order", "fifo",
            "--silent",
            *extra_args,
        ]  # fmt: skip
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> AnvilNode:
        self._process = subprocess.Popen(
            self._command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        probe = Web3(HTTPProvider(self.url, request_kwargs={"timeout": 1}))
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                stderr = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"anvil exited with {self._process.returncode}: {stderr}")
            try:
                if probe.is_connected():
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"anvil did not answer on {self.url} in {STARTUP_TIMEOUT_SECONDS}s")

    def backend(self) -> RpcBackend:
        return RpcBackend(self.url)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> AnvilNode:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
