"""The registry's settings: environment variables prefixed IPLEDGER_, or a `.env` file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: HS256 keys at least as long as the hash (RFC 7518 section 3.2).
MIN_TOKEN_SECRET_BYTES = 32


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
    #: The deployment manifest; empty means `~/.ipledger/deployments/<chain id>.json`.
    manifest: Path | None = None
    #: Blocks to wait before indexing a block: 0 on QBFT (final) and the embedded chain.
    confirmations: int = Field(default=0, ge=0)
    #: Blocks below the head that may still be reorganised: their hashes and an undo journal are
    #: kept, so a reorg within this depth is rolled back; a deeper one stops the mirror.
    reorg_window: int = Field(default=64, ge=1)
    #: Longest wait for the node on a request's path (sign-in, roles, a write's check): past it
    #: the request answers 503 node_unavailable, without retries. The relayer and the mirror
    #: retry on their own and keep a longer timeout (a batch of 500 transactions takes time).
    node_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    #: Longest wait for SQLite's write lock before a 503 database_unavailable (busy_timeout).
    database_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    #: Block range of the first `eth_getLogs`; then sized adaptively between 1 and the maximum.
    batch_blocks: int = Field(default=10, ge=1)
    max_batch_blocks: int = Field(default=10_000, ge=1)
    #: The range grows while a response holds fewer logs than this, and shrinks above it.
    batch_logs: int = Field(default=5_000, ge=1)
    #: How long `mirror sync --follow` waits for a new block when it has caught up.
    poll_seconds: float = Field(default=0.1, gt=0)

    # --- The registry service (`ipledger serve`) ---

    #: `embedded`: the office's own chain in `data_dir`, opened in process (created on first
    #: start); `rpc`: the node at `rpc_url` (anvil, a Besu validator), with `manifest`.
    chain: Literal["embedded", "rpc"] = "embedded"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65_535)
    #: The address clients use, e.g. `https://registry.example.org` behind a TLS proxy: sign-in
    #: messages name it (EIP-4361's domain and URI), so that a wallet signs for the site it sees.
    #: Empty means `http://HOST:PORT`.
    public_url: str = Field(default="", pattern=r"^(https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?)?$")
    #: Also serve the embedded chain over JSON-RPC on this port (same host), for the wallet CLI,
    #: `ipledger identity verify` and any Ethereum client; none by default.
    node_port: int | None = Field(default=None, ge=1, le=65_535)
    #: The relayer's key (keystore or hex) for `rpc`; the embedded chain keeps its own.
    office_key_file: Path | None = None
    #: Password of the keystores (relayer key, office CA), or a file holding it.
    key_password: SecretStr | None = None
    key_password_file: Path | None = None
    #: The office's certificate authority; empty means `data_dir/ca`.
    ca_dir: Path | None = None
    #: Password of the CA's key (IPLEDGER_CA_PASSWORD); empty means the keystores' password.
    ca_password: SecretStr | None = None
    #: Signs the API's tokens (HS256): at least 32 bytes, the hash's size (RFC 7518 3.2), or
    #: empty for a random secret kept in `data_dir/token-secret`.
    token_secret: SecretStr | None = None
    token_seconds: int = Field(default=900, ge=60, le=86_400)
    challenge_seconds: int = Field(default=300, ge=30, le=3_600)
    #: Unused, unexpired sign-in challenges kept per address: a new one replaces the oldest, so a
    #: stranger asking for someone's address can never lock them out (a refusal would).
    challenges_per_address: int = Field(default=5, ge=1, le=100)
    #: Requests to /v1/auth/* per client IP, in the `limits` notation ("30/minute;200/hour"),
    #: over a moving window; past it, 429 with Retry-After.
    auth_rate_limit: str = "30/minute"
    #: Where the counts live (a `limits` storage URI). `memory://` counts per process: with
    #: several workers or instances each counts alone, so give them a shared store such as
    #: `redis://host:6379` (needs the `redis` package).
    auth_rate_limit_storage: str = "memory://"
    #: How long the first answer to an Idempotency-Key is kept and replayed; a retry after it is a
    #: new request. A day covers any client's retries (the IETF draft's suggestion).
    idempotency_retention_seconds: int = Field(default=86_400, ge=3_600)
    #: How often the service deletes spent sign-in challenges and idempotency records past their
    #: retention.
    purge_seconds: float = Field(default=60.0, gt=0)
    #: Largest request body accepted (bulk uploads have their own limit).
    max_request_bytes: int = Field(default=1 << 20, ge=1_024)
    max_upload_bytes: int = Field(default=20 << 20, ge=1_024)
    #: Longest `?wait=true` before the answer says where the operation is.
    wait_seconds: float = Field(default=30.0, gt=0, le=300)
    #: Operations the relayer sends, and receipts it reads, per JSON-RPC batch.
    relayer_batch: int = Field(default=500, ge=1)
    #: Rights registered per transaction in a bulk import.
    import_batch: int = Field(default=100, ge=1, le=250)

    @field_validator("auth_rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        """Refuse a limit `limits` cannot read at start-up rather than at the first sign-in."""
        try:
            items = parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit such as '30/minute': {value!r}") from exc
        if any(item.amount < 1 for item in items):  # a limit of 0 would shut sign-in for all
            raise ValueError(f"a rate limit allows at least one request: {value!r}")
        return value

    @field_validator("token_secret")
    @classmethod
    def _token_secret_is_long_enough(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is None or not secret.get_secret_value():
            return None
        size = len(secret.get_secret_value().encode())
        if size < MIN_TOKEN_SECRET_BYTES:
            # A short HMAC key can be guessed offline from any one token: refuse to start.
            raise ValueError(
                f"IPLEDGER_TOKEN_SECRET has {size} bytes: it must have at least "
                f"{MIN_TOKEN_SECRET_BYTES} bytes (or be empty for a generated one)"
            )
        return secret

    @property
    def site(self) -> str:
        """The URL clients use: the public one, or where the service listens."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def ca_path(self) -> Path:
        return self.ca_dir or self.data_dir / "ca"

    def password(self) -> str | None:
        """The keystores' password: given, or read from its file, or none."""
        if self.key_password is not None:
            return self.key_password.get_secret_value()
        if self.key_password_file is not None:
            return self.key_password_file.read_text().rstrip("\n")
        return None

    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'registry.sqlite3').resolve()}"
