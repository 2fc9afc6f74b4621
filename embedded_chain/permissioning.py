"""Who may send transactions to the embedded node: Besu's account permissioning, on chain.

A Besu validator asks an account-rules contract, for every transaction it would accept,
`transactionAllowed(sender, target, value, gasPrice, gasLimit, payload)`; the ledger's
ParticipantRegistry answers it (true only for keys of active participants). The embedded node asks
the same question of the same contract, on the state the transaction would run on, before the
transaction may enter a block. Until the contracts are deployed there is no one to ask: only the
validator (the office) may send, which is what deploys them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eth.abc import SignedTransactionAPI
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_abi.exceptions import DecodingError
from eth_utils.abi import function_signature_to_4byte_selector

TRANSACTION_ALLOWED = function_signature_to_4byte_selector(
    "transactionAllowed(address,address,uint256,uint256,uint256,bytes)"
)

#: Runs a read-only call (to, data) on the state the transaction would run on; None if it failed.
ViewCall = Callable[[bytes, bytes], bytes | None]


class Permissioning:
    """A rule over senders; subclasses say who may send."""

    def allows(self, transaction: SignedTransactionAPI, view: ViewCall) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class AnyoneMaySend(Permissioning):
    """No rule: in-memory development and test chains, where contracts do their own checks."""

    def allows(self, transaction: SignedTransactionAPI, view: ViewCall) -> bool:
        return True

    def describe(self) -> str:
        return "open (development)"


@dataclass(frozen=True)
class ValidatorOnly(Permissioning):
    """Before the contracts exist: only the validator's own account."""

    validator: bytes

    def allows(self, transaction: SignedTransactionAPI, view: ViewCall) -> bool:
        return bytes(transaction.sender) == self.validator

    def describe(self) -> str:
        return f"validator only (0x{self.validator.hex()})"


@dataclass(frozen=True)
class AccountRulesContract(Permissioning):
    """Besu's account-rules contract: the deployed ParticipantRegistry decides.

    Fails closed: a call that reverts or answers anything but an ABI `true` refuses the sender.
    """

    contract: bytes

    def allows(self, transaction: SignedTransactionAPI, view: ViewCall) -> bool:
        gas_price = getattr(transaction, "max_fee_per_gas", None)
        if gas_price is None:
            gas_price = transaction.gas_price
        question = TRANSACTION_ALLOWED + abi_encode(
            ["address", "address", "uint256", "uint256", "uint256", "bytes"],
            [
                bytes(transaction.sender),
                bytes(transaction.to) or bytes(20),  # a creation targets the zero address
                transaction.value,
                gas_price,
                transaction.gas,
                bytes(transaction.data),
            ],
        )
        answer = view(self.contract, question)
        if answer is None or len(answer) != 32:
            return False
        try:
            (allowed,) = abi_decode(["bool"], answer)
        except DecodingError:
            return False
        return bool(allowed)

    def describe(self) -> str:
        return f"account rules contract 0x{self.contract.hex()} (transactionAllowed)"
