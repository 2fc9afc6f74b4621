"""The registry's settings: environment variables prefixed IPLEDGER_, or a `.env` file."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the chain, the deployment and the database are, and how the mirror reads the chain."""

    model_config = SettingsConfigDict(env_prefix="IPLEDGER_", env_file=".env", extra="ignore")

    #: Where local state lives (the SQLite mirror by default).
    data_dir: Path = Path("data")
    #: SQLAlchemy URL: `sqlite:///path.db` or `postgresql+psycopg://user@host/db`.
    #: Empty means SQLite in `data_dir/registry.sqlite3`.
    database_url: str = ""
    #: JSON-RPC URL of the node the mirror reads and the relayer sends to.
    rpc_url: str = "http://127.0.0.1:8545"
    #: The deployment manifest; empty means `deployments/<chain id>.json` under the repository.
    manifest: Path | None = None
    #: Blocks to wait before indexing a block: 0 on QBFT (final) and the embedded chain.
    confirmations: int = Field(default=0, ge=0)
    #: Blocks below the head that may still be reorganised: their hashes and an undo journal are
    #: kept, so a reorg within this depth is rolled back; a deeper one stops the mirror.
    reorg_window: int = Field(default=64, ge=1)
    #: Block range of the first `eth_getLogs`; then sized adaptively between 1 and the maximum.
    batch_blocks: int = Field(default=10, ge=1)
    max_batch_blocks: int = Field(default=10_000, ge=1)
    #: The range grows while a response holds fewer logs than this, and shrinks above it.
    batch_logs: int = Field(default=2_000, ge=1)
    #: How long `mirror sync --follow` waits for a new block when it has caught up.
    poll_seconds: float = Field(default=0.1, gt=0)

    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'registry.sqlite3').resolve()}"
