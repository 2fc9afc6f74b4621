"""Typed client of the IPAssetRegistry contract, and how a right's id is computed."""

from __future__ import annotations

import re
import typing
from collections.abc import Sequence

from eth_abi import encode as abi_encode
from eth_typing import ChecksumAddress
from eth_utils import keccak

from ledger.codec import converter, record_converter
from ledger.contract import ContractClient, Recorded
from ledger.events import AssetRegistered, AssetStatusChanged, OwnershipTransferred, all_of, only
from ledger.types import Asset, AssetInput, AssetKind, AssetStatus, Share

CONVEYANCER_ROLE = keccak(text="CONVEYANCER_ROLE")

_asset = record_converter(Asset)
_shares = converter(tuple[Share, ...])
_NUMBER_NOISE = re.compile(r"[\s,]")


def asset_id(jurisdiction: bytes, kind: AssetKind, number: str) -> bytes:
    """The id of a right: keccak256(abi.encode(bytes2 jurisdiction, uint8 kind, string number))."""
    return keccak(abi_encode(["bytes2", "uint8", "string"], [jurisdiction, int(kind), number]))


def canonical_number(number: str) -> str:
    """An official number as the registry stores it: "us 11,234,567 b2" -> "US11234567B2"."""
    return _NUMBER_NOISE.sub("", number).upper()


class IPAssetRegistryClient(ContractClient):
    CONTRACT_NAME = "IPAssetRegistry"

    def register_asset(self, asset: AssetInput) -> Recorded[AssetRegistered]:
        receipt, events = self._send("registerAsset", asset)
        return Recorded(only(events, AssetRegistered), events, receipt)

    def register_assets(
        self, assets: Sequence[AssetInput]
    ) -> Recorded[tuple[AssetRegistered, ...]]:
        """Register many rights in one transaction, all or none."""
        receipt, events = self._send("registerAssets", list(assets))
        return Recorded(tuple(all_of(events, AssetRegistered)), events, receipt)

    def set_asset_status(
        self, asset_id: bytes, status: AssetStatus, reason_code: int
    ) -> Recorded[AssetStatusChanged]:
        receipt, events = self._send("setAssetStatus", asset_id, status, reason_code)
        return Recorded(only(events, AssetStatusChanged), events, receipt)

    def transfer_share(
        self, asset_id: bytes, from_: int, to: int, bps: int, recordal: bytes
    ) -> Recorded[OwnershipTransferred]:
        """Move a share directly (conveyancer contracts only: refused for anyone else)."""
        receipt, events = self._send("transferShare", asset_id, from_, to, bps, recordal)
        return Recorded(only(events, OwnershipTransferred), events, receipt)

    def grant_role(self, role: bytes, account: ChecksumAddress) -> Recorded[None]:
        receipt, events = self._send("grantRole", role, account)
        return Recorded(None, events, receipt)

    def has_role(self, role: bytes, account: ChecksumAddress) -> bool:
        return typing.cast(bool, self._call("hasRole", role, account))

    def asset_id_of(self, jurisdiction: bytes, kind: AssetKind, number: str) -> bytes:
        return typing.cast(bytes, self._call("assetIdOf", jurisdiction, kind, number))

    def asset(self, asset_id: bytes) -> Asset:
        """The right's record; status NONE if there is no such right."""
        return typing.cast(Asset, _asset(self._call("asset", asset_id)))

    def owners_of(self, asset_id: bytes) -> tuple[Share, ...]:
        return typing.cast(tuple[Share, ...], _shares(self._call("ownersOf", asset_id)))

    def share_of(self, asset_id: bytes, participant_id: int) -> int:
        return typing.cast(int, self._call("shareOf", asset_id, participant_id))

    def is_in_force(self, asset_id: bytes) -> bool:
        return typing.cast(bool, self._call("isInForce", asset_id))
