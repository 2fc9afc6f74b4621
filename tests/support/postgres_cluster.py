"""A PostgreSQL cluster of a test's own, in a temporary directory: to stop and start at will.

Fault tests stop the database under a running service; the shared server on 5432 serves every
other test, so it is never touched. The cluster is created with the server binaries that the
machine's PostgreSQL packages install (`initdb`, `pg_ctl`), trusts local connections, listens
on 127.0.0.1 at a free port, and is removed with its directory. PostgreSQL refuses to run as
root: as root, the cluster runs as the `postgres` user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text

from ledger.backends.anvil import free_port

#: Where Debian's PostgreSQL packages put the server binaries, newest first.
_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


class ClusterUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


class PostgresCluster:
    """initdb, start, stop (fast or immediate), start again; a URL per database."""

    def __init__(self) -> None:
        binaries = next((d for d in _BIN_DIRS if (d / "initdb").exists()), None)
        if binaries is None:
            raise ClusterUnavailable("no initdb under /usr/lib/postgresql/*/bin")
        self._bin = binaries
        # In the system's temporary directory, not pytest's: the `postgres` user must be able
        # to reach it, and pytest's directories are private to the user who runs the tests.
        root = Path(tempfile.mkdtemp(prefix="ipledger-pg-"))
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self._user = "postgres" if os.geteuid() == 0 else None
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb",
            "--pgdata",
            str(self.data),
            "--auth=trust",
            "--username=postgres",
            "--encoding=UTF8",
            "--no-sync",
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{root}'\n"
                "fsync = off\n"
                "max_connections = 50\n"
            )

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        log = str(self.root / "log")
        self._run("pg_ctl", "--pgdata", str(self.data), "--log", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` ends sessions cleanly, `immediate` as a crash would."""
        self._run("pg_ctl", "--pgdata", str(self.data), "-m", mode, "-w", "stop")

    def create_database(self, name: str) -> str:
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)

    def remove(self) -> None:
        if self.running:
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self._bin / program), *args]
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        finished = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if finished.returncode != 0:
            raise RuntimeError(
                f"{program} failed ({finished.returncode}): {finished.stderr or finished.stdout}"
            )
