"""The running registry: chain, ledger clients, database, relayer, mirror, sign-in, identity.

The one place that decides how the parts are built from the settings (the composition root).
`open_registry` builds them; `start` runs the mirror's indexer, the relayer's dispatcher and the
purge of spent sign-in challenges and old idempotency records in background threads; `close` stops
them and releases the chain and the database.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from embedded_chain.datadir import DataDir
from ledger.artifacts import ArtifactSet
from ledger.backends.base import ChainBackend
from ledger.backends.embedded import EmbeddedBackend
from ledger.backends.rpc import RpcBackend
from ledger.compiler import CompilationError, load_artifacts
from ledger.deploy import Ledger, open_ledger
from ledger.manifest import DeploymentManifest, find_manifest
from ledger.signer import Signer
from registry_api import idempotency
from registry_api.auth import SignIn, purge_challenges
from registry_api.db.session import open_database, read_session_factory
from registry_api.identity.authority import CaDirectory, CertificateAuthority
from registry_api.identity.service import IdentityService
from registry_api.mirror.indexer import Indexer, IndexerOptions
from registry_api.office import create_embedded_office, stored_password
from registry_api.relayer.dispatcher import Dispatcher, DispatcherOptions
from registry_api.relayer.outbox import Outbox
from registry_api.settings import Settings
from wallets.keystore import Keystore
from wallets.signer import LocalSigner

log = logging.getLogger(__name__)

TOKEN_SECRET_FILE = "token-secret"
#: Rows deleted per transaction by the purge: on SQLite each batch holds the write lock, briefly.
PURGE_BATCH = 500


class RegistryError(Exception):
    """The registry cannot start as configured."""


@dataclass(frozen=True)
class Purged:
    """How many rows a purge deleted."""

    challenges: int
    idempotency_records: int


@dataclass
class Registry:
    """The service's parts; threads run the indexer and the dispatcher."""

    settings: Settings
    #: The node as the API's requests reach it: a short timeout, no retries.
    backend: ChainBackend
    artifacts: ArtifactSet
    ledger: Ledger
    engine: Engine
    #: Sessions that write (on SQLite they take the write lock as they begin).
    sessions: sessionmaker[Session]
    #: Sessions that only read.
    read_sessions: sessionmaker[Session]
    outbox: Outbox
    dispatcher: Dispatcher
    indexer: Indexer
    sign_in: SignIn
    ca: CaDirectory | None
    authority: CertificateAuthority | None
    #: The node as the relayer and the mirror reach it (the same one on the embedded chain).
    background: ChainBackend | None = None
    created: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    @property
    def chain_id(self) -> int:
        return self.ledger.manifest.chain_id

    def identity(self) -> IdentityService:
        """Identification against the office's issued certificates as they are now."""
        if self.ca is None:
            raise RegistryError("no office CA is configured: identities cannot be checked")
        return IdentityService(self.ledger.participants, self.ca.issued(), self.ca.root())

    def purge(self, now: float | None = None, *, batch: int = PURGE_BATCH) -> Purged:
        """Delete the sign-in challenges spent by `now` and the idempotency records past their
        retention, `batch` rows per transaction."""
        moment = time.time() if now is None else now
        before = moment - self.settings.idempotency_retention_seconds
        return Purged(
            challenges=self._in_batches(lambda s: purge_challenges(s, moment, batch), batch),
            idempotency_records=self._in_batches(
                lambda s: idempotency.purge(s, before, batch), batch
            ),
        )

    def _in_batches(self, step: Callable[[Session], int], batch: int) -> int:
        total = 0
        while True:
            with self.sessions.begin() as session:  # one short transaction per batch
                deleted = step(session)
            total += deleted
            if deleted < batch:
                return total

    def _purge_every(self, seconds: float) -> None:
        while not self._stop.is_set():
            try:
                self.purge()
            except SQLAlchemyError as exc:  # a locked or unreachable database: try next time
                log.warning("purge of sign-in challenges and idempotency records failed: %s", exc)
            self._stop.wait(seconds)

    def start(self) -> None:
        """Run the mirror, the relayer and the purge in the background."""
        for name, target in (
            ("mirror", lambda: self.indexer.follow(self._stop)),
            ("relayer", lambda: self.dispatcher.run(self._stop)),
            ("purge", lambda: self._purge_every(self.settings.purge_seconds)),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        self.backend.close()
        if self.background is not None and self.background is not self.backend:
            self.background.close()
        self.engine.dispose()


def open_registry(settings: Settings, *, artifacts: ArtifactSet | None = None) -> Registry:
    """Build the registry the settings describe; create the embedded office on first start."""
    if artifacts is None:
        try:
            artifacts = load_artifacts()
        except CompilationError as exc:  # no shipped artifacts, or stale ones in a checkout
            raise RegistryError(str(exc)) from exc
    created = False
    if settings.chain == "embedded":
        backend, manifest, office, created = _embedded(settings, artifacts)
        background = backend
    else:
        backend, manifest, office = _rpc(settings)
        # The loops retry on their own, with a backoff: web3 must not retry under them, and
        # a batch of sends or a wide eth_getLogs may take longer than a request may wait.
        background = RpcBackend(settings.rpc_url, retry=False)
    try:
        ledger = open_ledger(backend, manifest, artifacts, office)
        loops = ledger if background is backend else open_ledger(background, manifest, artifacts)
        engine, sessions = open_database(
            settings.sqlalchemy_url(), busy_timeout_seconds=settings.database_timeout_seconds
        )
        outbox = Outbox(office, manifest.chain_id)
        with sessions.begin() as session:
            pending = backend.w3.eth.get_transaction_count(office.address, "pending")
            outbox.open_account(session, int(pending))
        ca, authority = _authority(settings)
        return Registry(
            settings=settings,
            backend=backend,
            artifacts=artifacts,
            ledger=ledger,
            engine=engine,
            sessions=sessions,
            read_sessions=read_session_factory(engine),
            outbox=outbox,
            dispatcher=Dispatcher(
                sessions, loops.chain, outbox, DispatcherOptions(batch=settings.relayer_batch)
            ),
            indexer=Indexer.for_deployment(
                background.w3, manifest, artifacts, sessions, IndexerOptions.from_settings(settings)
            ),
            sign_in=SignIn(
                _token_secret(settings),
                ledger.participants,
                domain=settings.site.partition("://")[2],
                uri=settings.site,
                chain_id=manifest.chain_id,
                challenge_seconds=settings.challenge_seconds,
                token_seconds=settings.token_seconds,
                challenges_per_address=settings.challenges_per_address,
            ),
            ca=ca,
            authority=authority,
            background=background,
            created=created,
        )
    except BaseException:
        backend.close()
        if background is not backend:
            background.close()
        raise


def _embedded(
    settings: Settings, artifacts: ArtifactSet
) -> tuple[ChainBackend, DeploymentManifest, Signer, bool]:
    data_dir = DataDir(settings.data_dir.resolve())
    password = settings.password()
    created = False
    if not data_dir.holds_chain():
        password = create_embedded_office(data_dir.root, password, artifacts)
        created = True
    password = password or stored_password(data_dir.root)
    if password is None:
        raise RegistryError(
            f"the office key in {data_dir.keystore} needs its password: set "
            "IPLEDGER_KEY_PASSWORD or IPLEDGER_KEY_PASSWORD_FILE"
        )
    office = Keystore.load(data_dir.keystore).unlock(password, str(data_dir.keystore))
    manifest = DeploymentManifest.load(data_dir.manifest)
    backend = EmbeddedBackend.open(data_dir.root, manifest.account_rules)
    return backend, manifest, office, created


def _rpc(settings: Settings) -> tuple[ChainBackend, DeploymentManifest, Signer]:
    if settings.office_key_file is None:
        raise RegistryError("the relayer needs the office's key: set IPLEDGER_OFFICE_KEY_FILE")
    office = LocalSigner.from_key_file(settings.office_key_file, settings.password())
    # A request waits for the node at most `node_timeout_seconds`, then answers 503: web3's
    # retries (five, each as long as the timeout) would hold it minutes on a hung node.
    backend = RpcBackend(settings.rpc_url, timeout=settings.node_timeout_seconds, retry=False)
    path = find_manifest(backend.chain_id, settings.manifest, settings.data_dir)
    manifest = DeploymentManifest.load(path)
    return backend, manifest, office


def _authority(settings: Settings) -> tuple[CaDirectory | None, CertificateAuthority | None]:
    """The office CA if there is one; its key only if the password opens it."""
    ca = CaDirectory(settings.ca_path)
    if not ca.exists():
        return None, None
    password = (
        settings.ca_password.get_secret_value()
        if settings.ca_password is not None
        else settings.password() or stored_password(settings.data_dir)
    )
    if password is None:
        return ca, None
    return ca, ca.open(password.encode())


def _token_secret(settings: Settings) -> bytes:
    if settings.token_secret is not None:
        return settings.token_secret.get_secret_value().encode()
    path = settings.data_dir / TOKEN_SECRET_FILE
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip().encode()
