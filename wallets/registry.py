"""The registry service seen from a wallet: no node needed, only the office's HTTP API.

A participant signs on its own machine; the office relays. Over the API a wallet learns the
deployment it signs for (chain, contracts, EIP-712 domains), what ids stand for (rights by
official number, parties by legal name) and where keys stand, signs in by signing a challenge,
and hands signed rotations to the office. Legal names are shown only from certificates that
the wallet checks itself against the office root it was given.
"""

from __future__ import annotations

import datetime
import typing
import uuid
from dataclasses import dataclass

import httpx
from cryptography import x509
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from embedded_chain import nesting
from ledger.certificates import CertificateError, ParticipantCertificate
from ledger.signer import Signer
from ledger.typed_data import Domain, KeyRotation, TypedDataError
from ledger.types import AssetKind, AssetStatus, ParticipantStatus
from wallets.lookup import PartyFacts, RightFacts
from wallets.rotation import RotationRecorded

TIMEOUT_SECONDS = 60.0


class RegistryError(Exception):
    """The registry refused a request, or could not be reached; the message says which."""


@dataclass(frozen=True)
class ContractInfo:
    address: ChecksumAddress
    domain: Domain


class RegistryClient:
    """A small typed client of the registry's /v1 API."""

    def __init__(self, url: str, *, http: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/")
        self._http = http or httpx.Client(base_url=self.url, timeout=TIMEOUT_SECONDS)
        self._token: str | None = None
        self._deployment: dict[str, object] | None = None

    def get(self, path: str) -> object:
        return self._answer(self._request("GET", path))

    def post(
        self, path: str, body: object, *, idempotency_key: str | None = None, wait: bool = False
    ) -> object:
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        params = {"wait": "true"} if wait else None
        return self._answer(self._request("POST", path, json=body, headers=headers, params=params))

    def sign_in(self, signer: Signer) -> str:
        """Sign the registry's challenge with `signer`; keep and return the bearer token."""
        challenge = typing.cast(
            dict[str, str],
            self._answer(
                self._request("POST", "/v1/auth/challenge", json={"address": signer.address})
            ),
        )
        signature = signer.sign_message(challenge["message"])
        token = typing.cast(
            dict[str, str],
            self._answer(
                self._request(
                    "POST",
                    "/v1/auth/token",
                    json={"nonce": challenge["nonce"], "signature": "0x" + signature.hex()},
                )
            ),
        )
        self._token = token["access_token"]
        return self._token

    def deployment(self) -> dict[str, object]:
        if self._deployment is None:
            self._deployment = typing.cast(dict[str, object], self.get("/v1/deployment"))
        return self._deployment

    def _request(self, method: str, path: str, **kwargs: typing.Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            return self._http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise RegistryError(f"cannot reach the registry at {self.url}: {exc}") from None

    @staticmethod
    def _answer(response: httpx.Response) -> object:
        try:
            body = nesting.loads(response.content)  # depth bounded: see embedded_chain.nesting
        except ValueError:
            body = None
        if response.is_success:
            return body
        error = body.get("error", {}) if isinstance(body, dict) else {}
        message = error.get("message") or response.reason_phrase
        raise RegistryError(f"the registry refused ({response.status_code}): {message}")


class RegistryDeployment:
    """The deployment the registry serves (wallets.review.Deployment)."""

    def __init__(self, client: RegistryClient) -> None:
        self._client = client

    @property
    def chain_id(self) -> int:
        return int(typing.cast(int, self._client.deployment()["chain_id"]))

    @property
    def chain_time(self) -> int:
        return int(typing.cast(int, self._client.get("/v1/deployment")["chain_time"]))  # type: ignore[index]

    def address_of(self, contract: str) -> ChecksumAddress:
        return self._contract(contract).address

    def domain_of(self, contract: str) -> Domain:
        return self._contract(contract).domain

    def _contract(self, contract: str) -> ContractInfo:
        contracts = typing.cast(
            dict[str, dict[str, typing.Any]], self._client.deployment()["contracts"]
        )
        found = contracts.get(contract)
        if found is None:
            raise RegistryError(f"the registry serves no {contract}")
        domain = found["domain"]
        return ContractInfo(
            to_checksum_address(found["address"]),
            Domain(
                str(domain["name"]),
                str(domain["version"]),
                int(domain["chainId"]),
                to_checksum_address(domain["verifyingContract"]),
            ),
        )


class RegistryLookup:
    """Names and numbers from the registry (wallets.lookup.Lookup).

    A legal name is taken only from a certificate signed by `office_root` (checked here, not
    taken on the registry's word) whose fingerprint the registry reports on chain.
    """

    def __init__(self, client: RegistryClient, office_root: x509.Certificate | None) -> None:
        self._client = client
        self._root = office_root

    def right(self, asset_id: bytes) -> RightFacts | None:
        try:
            right = typing.cast(
                dict[str, typing.Any], self._client.get(f"/v1/rights/0x{asset_id.hex()}")
            )
        except RegistryError as exc:
            if "(404)" in str(exc):
                return None
            raise
        return RightFacts(
            asset_id,
            str(right["jurisdiction"]),
            AssetKind[str(right["kind"]).upper()],
            str(right["number"]),
            str(right["title"]),
            AssetStatus[str(right["status"]).upper()],
        )

    def party(self, participant_id: int) -> PartyFacts:
        try:
            record = typing.cast(
                dict[str, typing.Any], self._client.get(f"/v1/participants/{participant_id}")
            )
        except RegistryError as exc:
            if "(404)" in str(exc):
                return PartyFacts(
                    participant_id,
                    None,
                    ParticipantStatus.NONE,
                    False,
                    "not enrolled on this ledger",
                )
            raise
        status = ParticipantStatus[str(record["status"]).upper()]
        not_after = datetime.datetime.fromisoformat(str(record["certificate_not_after"]))
        active = status is ParticipantStatus.ACTIVE and not_after > datetime.datetime.now(
            datetime.UTC
        )
        name, note = self._name(participant_id, str(record["certificate_fingerprint"]))
        return PartyFacts(participant_id, name, status, active, note)

    def participant_of(self, key: ChecksumAddress) -> int:
        found = typing.cast(dict[str, typing.Any], self._client.get(f"/v1/keys/{key}"))
        return int(found["participant_id"])

    def _name(self, participant_id: int, fingerprint: str) -> tuple[str | None, str]:
        try:
            report = typing.cast(
                dict[str, typing.Any],
                self._client.get(f"/v1/participants/{participant_id}/identity"),
            )
        except RegistryError:
            return None, "no certificate"
        shown = report.get("certificate")
        if not isinstance(shown, dict):
            return None, "no certificate"
        try:
            certificate = ParticipantCertificate.parse(
                str(shown["pem"]).encode(), "the registry's copy"
            )
        except CertificateError as exc:
            return None, f"certificate unreadable: {exc}"
        if "0x" + certificate.fingerprint.hex() != fingerprint:
            return None, "certificate not on record on chain"
        if self._root is None:
            return certificate.identity.legal_name, "certificate on chain; office root not checked"
        try:
            self._root.public_key().verify(  # type: ignore[call-arg, union-attr]
                certificate.certificate.signature,
                certificate.certificate.tbs_certificate_bytes,
                certificate.certificate.signature_algorithm_parameters,  # type: ignore[arg-type]
            )
        except Exception:  # any failure to verify is a refusal
            return None, "certificate rejected: not signed by the office root"
        return certificate.identity.legal_name, "certificate verified"


class RegistryKeys:
    """Where keys stand, and rotations to sign (wallets.rotation.KeyRegistry), over the API."""

    def __init__(self, client: RegistryClient, deployment: RegistryDeployment) -> None:
        self._client = client
        self._deployment = deployment

    def participant_of(self, key: ChecksumAddress) -> int:
        return int(self._key(key)["participant_id"])

    def is_retired(self, key: ChecksumAddress) -> bool:
        return bool(self._key(key)["retired"])

    def check_key(self, participant_id: int, key: ChecksumAddress) -> tuple[bool, bool]:
        found = self._key(key)
        bound = int(found["participant_id"]) == participant_id
        return bound, bound and bool(found["active"])

    def build_key_rotation(
        self,
        participant_id: int,
        current_key: ChecksumAddress,
        new_key: ChecksumAddress,
        deadline: int,
    ) -> tuple[Domain, KeyRotation]:
        seconds = max(60, deadline - self._deployment.chain_time)
        drafted = typing.cast(
            dict[str, typing.Any],
            self._client.post(
                "/v1/keys/rotation/typed-data",
                {
                    "participant_id": participant_id,
                    "current_key": current_key,
                    "new_key": new_key,
                    "valid_seconds": seconds,
                },
            ),
        )
        try:
            domain, rotation = KeyRotation.from_typed_data(drafted["typed_data"])
        except TypedDataError as exc:
            raise RegistryError(
                f"the registry sent a rotation this wallet cannot read: {exc}"
            ) from None
        if domain != self._deployment.domain_of("ParticipantRegistry") or (
            rotation.participant_id,
            rotation.current_key,
            rotation.new_key,
        ) != (participant_id, current_key, new_key):
            raise RegistryError("the registry sent another rotation than the one asked for")
        return domain, rotation

    def _key(self, key: ChecksumAddress) -> dict[str, typing.Any]:
        return typing.cast(dict[str, typing.Any], self._client.get(f"/v1/keys/{key}"))


class RegistryOffice:
    """Hands a signed rotation to the office through the API (wallets.rotation.RotationOffice)."""

    def __init__(self, client: RegistryClient) -> None:
        self._client = client

    def submit_rotation(self, rotation: KeyRotation, signature: bytes) -> RotationRecorded:
        domain = Domain("ParticipantRegistry", "1", rotation.chain_id, rotation.verifying_contract)
        operation = typing.cast(
            dict[str, typing.Any],
            self._client.post(
                "/v1/keys/rotation",
                {"typed_data": rotation.typed_data(domain), "signature": "0x" + signature.hex()},
                wait=True,
            ),
        )
        if operation["status"] == "failed":
            error = operation.get("error") or {}
            raise RegistryError(f"the office could not record the rotation: {error.get('message')}")
        if operation["status"] not in ("mined", "applied"):
            raise RegistryError(
                f"the rotation is accepted (operation {operation['id']}) but not on chain yet: "
                "run the rotation again later to finish it"
            )
        return RotationRecorded(
            rotation.participant_id,
            rotation.current_key,
            rotation.new_key,
            bytes.fromhex(str(operation["transaction_hash"])[2:]),
        )
