"""What every typed contract client shares: a bound contract, a sender, send and call."""

from __future__ import annotations

import copy
import typing
from dataclasses import dataclass
from typing import ClassVar, Generic, Self, TypeVar

from eth_typing import ABI, ChecksumAddress
from hexbytes import HexBytes

from ledger.chain import Chain, Receipt
from ledger.codec import to_abi
from ledger.errors import LedgerError
from ledger.events import DecodedLog
from ledger.signer import Signer
from ledger.typed_data import Domain

T = TypeVar("T")


class NoSender(LedgerError):
    """A write was asked of a client that has no signer to send it with."""


@dataclass(frozen=True)
class Recorded(Generic[T]):
    """What a mined transaction recorded: its main event (or events), all its logs, the receipt."""

    event: T
    events: tuple[DecodedLog, ...]
    receipt: Receipt


class ContractClient:
    """Base of the typed clients: one method per contract function, defined in the subclass."""

    CONTRACT_NAME: ClassVar[str]

    def __init__(
        self, chain: Chain, address: ChecksumAddress, abi: ABI, sender: Signer | None = None
    ) -> None:
        self.chain = chain
        self.address = address
        self._contract = chain.backend.w3.eth.contract(address=address, abi=abi)
        self._sender = sender

    def connect(self, sender: Signer) -> Self:
        """The same client, sending with `sender`."""
        clone = copy.copy(self)
        clone._sender = sender
        return clone

    @property
    def sender(self) -> Signer:
        if self._sender is None:
            raise NoSender(f"{self.CONTRACT_NAME} client has no sender; use .connect(signer)")
        return self._sender

    def domain(self) -> Domain:
        """The contract's EIP-712 domain, as it reports it (ERC-5267)."""
        _, name, version, chain_id, verifying_contract, _, _ = typing.cast(
            tuple[bytes, str, str, int, ChecksumAddress, bytes, list[int]],
            self._call("eip712Domain"),
        )
        return Domain(name, version, chain_id, verifying_contract)

    def call_data(self, function: str, *args: object) -> bytes:
        """The transaction input calling `function` with `args`: for a relayer that signs and
        sends on its own schedule, or a multisig that proposes it."""
        return bytes(HexBytes(self._contract.encode_abi(function, args=[to_abi(a) for a in args])))

    def _send(self, function: str, *args: object) -> tuple[Receipt, tuple[DecodedLog, ...]]:
        receipt = self.chain.transact(self.sender, self.address, self.call_data(function, *args))
        return receipt, tuple(self.chain.decode_logs(receipt))

    def _call(self, function: str, *args: object) -> object:
        with self.chain.reverts_as_errors():
            return typing.cast(
                object, self._contract.functions[function](*[to_abi(a) for a in args]).call()
            )


class AccessControlled(ContractClient):
    """A client of a contract with OpenZeppelin AccessControl roles."""

    def grant_role(self, role: bytes, account: ChecksumAddress) -> Recorded[None]:
        """Grant `role` (governance admin only)."""
        receipt, events = self._send("grantRole", role, account)
        return Recorded(None, events, receipt)

    def has_role(self, role: bytes, account: ChecksumAddress) -> bool:
        return typing.cast(bool, self._call("hasRole", role, account))
