"""Names and numbers for what a wallet shows: rights by official number, parties by legal name.

`Lookup` is what the review of typed data needs; `ChainLookup` answers it from the chain alone
(the right's AssetRegistered event, the participant registry) and office-issued certificates
in a directory; a lookup over the registry service's API can stand in for it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509
from eth_typing import ChecksumAddress
from web3.types import FilterParams

from ledger.certificates import (
    CertificateError,
    CertificateSource,
    CheckName,
    Outcome,
    read_chain,
    verify,
)
from ledger.chain import log_from_rpc
from ledger.deploy import Ledger
from ledger.events import AssetRegistered, UndecodableLog
from ledger.types import AssetKind, AssetStatus, ParticipantStatus

_KIND_WORDS = {
    AssetKind.PATENT: "patent",
    AssetKind.UTILITY_MODEL: "utility model",
    AssetKind.DESIGN: "design",
    AssetKind.TRADEMARK: "trademark",
    AssetKind.COPYRIGHT: "copyright",
    AssetKind.IDEA: "idea",
}


@dataclass(frozen=True)
class RightFacts:
    """A registered right as people name it."""

    asset_id: bytes
    jurisdiction: str
    kind: AssetKind
    number: str
    title: str
    status: AssetStatus

    @property
    def label(self) -> str:
        """E.g. `KR patent 1020240123456 "Gripper with compliant fingers"`."""
        return f'{self.jurisdiction} {_KIND_WORDS[self.kind]} {self.number} "{self.title}"'


@dataclass(frozen=True)
class PartyFacts:
    """A participant as people name it, and how sure that name is."""

    participant_id: int
    #: From a certificate that checked out; None if there is none.
    legal_name: str | None
    status: ParticipantStatus
    #: Active and its certificate valid on chain now: it can sign and be party to a recordal.
    active: bool
    #: How the name was established, or why there is none ("no certificate").
    note: str

    @property
    def label(self) -> str:
        if self.legal_name is None:
            name = f"participant {self.participant_id} ({self.note})"
        else:
            name = f"{self.legal_name} (participant {self.participant_id})"
        return name if self.active else f"{name} [NOT ACTIVE: {self.standing}]"

    @property
    def standing(self) -> str:
        if self.status is ParticipantStatus.ACTIVE:
            return "active" if self.active else "certificate expired on chain"
        return self.status.name.lower().replace("none", "not enrolled")

    @property
    def trusted(self) -> bool:
        """Named by a verified certificate, and active."""
        return self.legal_name is not None and self.active


class Lookup(Protocol):
    """Where a wallet learns what ids stand for."""

    def right(self, asset_id: bytes) -> RightFacts | None:
        """The registered right, or None if this ledger has no such right."""
        ...

    def party(self, participant_id: int) -> PartyFacts:
        """The participant, named by its certificate if one checks out."""
        ...

    def participant_of(self, key: ChecksumAddress) -> int:
        """The participant a key is bound to now, 0 if none."""
        ...


class ChainLookup:
    """A Lookup over the chain and a source of office-issued certificates.

    A legal name is shown only from a certificate whose SHA-256 is the fingerprint the chain
    holds for that participant (the office wrote it there), and, when the office root is
    given, that is signed by it.
    """

    def __init__(
        self,
        ledger: Ledger,
        certificates: CertificateSource | None,
        office_root: x509.Certificate | None,
        *,
        now: datetime.datetime | None = None,
    ) -> None:
        self._ledger = ledger
        self._certificates = certificates
        self._root = office_root
        self._now = now

    def right(self, asset_id: bytes) -> RightFacts | None:
        # The event carries number and title, which storage does not; it is found by its
        # indexed assetId (topic 1). Topics go as 0x strings: eth-tester ignores HexBytes.
        chain = self._ledger.chain
        query: FilterParams = {
            "address": self._ledger.assets.address,
            "fromBlock": self._ledger.manifest.block_number,
            "toBlock": "latest",
            "topics": [None, "0x" + asset_id.hex()],
        }
        for raw in chain.backend.w3.eth.get_logs(query):
            try:
                event = chain.events.decode(log_from_rpc(raw)).event
            except UndecodableLog:
                continue
            if isinstance(event, AssetRegistered) and event.asset_id == asset_id:
                status = self._ledger.assets.asset(asset_id).status
                return RightFacts(
                    asset_id,
                    event.jurisdiction.decode(errors="replace"),
                    event.kind,
                    event.number,
                    event.title,
                    status,
                )
        return None

    def party(self, participant_id: int) -> PartyFacts:
        record = read_chain(self._ledger.participants, participant_id)
        status, active = record.participant.status, record.active

        def anonymous(note: str) -> PartyFacts:
            return PartyFacts(participant_id, None, status, active, note)

        if status is ParticipantStatus.NONE:
            return anonymous("not enrolled on this ledger")
        if self._certificates is None:
            return anonymous("no certificate")
        try:
            candidates = self._certificates.certificates_of(participant_id)
        except CertificateError as exc:
            return anonymous(f"certificates unreadable: {exc}")
        on_record = [
            c for c in candidates if c.fingerprint == record.participant.certificate_fingerprint
        ]
        if not on_record:
            return anonymous(
                "certificate not on record on chain" if candidates else "no certificate"
            )
        now = self._now or datetime.datetime.now(datetime.UTC)
        verdict = verify(on_record[0], root=self._root, record=record, key=None, now=now)
        for name in (CheckName.CHAIN, CheckName.VALIDITY):
            if verdict.check(name).outcome is Outcome.FAILED:
                return anonymous(f"certificate rejected: {name} check failed")
        note = (
            "certificate verified"
            if verdict.check(CheckName.CHAIN).outcome is Outcome.PASSED
            else "certificate on chain; office root not checked"
        )
        return PartyFacts(participant_id, on_record[0].identity.legal_name, status, active, note)

    def participant_of(self, key: ChecksumAddress) -> int:
        return self._ledger.participants.participant_of(key)
