// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Typed approvals: the one recipe for EIP-712 signatures on the ledger.
/// @notice Every signed struct starts with `deadline`, `chainId` and `verifyingContract`, then its
/// own fields, and ends with the signer's `nonce`. The chain and contract are also bound by the
/// EIP-712 domain; carrying them in the struct lets a contract tell a signature made for another
/// chain or deployment apart from a forged one (a tampered field fails the signature check).
interface ITypedApprovals {
    /// @notice A signature and the key that claims to have made it (an EOA, or an ERC-1271 wallet).
    struct Signature {
        address signer;
        bytes signature;
    }

    /// @notice The approval's deadline has passed.
    /// @param deadline The deadline signed in the approval (unix seconds).
    /// @param timestamp The block time it was checked at.
    error ApprovalExpired(uint256 deadline, uint256 timestamp);
    /// @notice The approval was signed for another chain.
    /// @param signedChainId The chain id in the signed approval.
    /// @param chainId This chain's id.
    error ApprovalWrongChain(uint256 signedChainId, uint256 chainId);
    /// @notice The approval was signed for another contract (another deployment or another kind).
    /// @param signedContract The contract named in the signed approval.
    /// @param verifyingContract This contract.
    error ApprovalWrongContract(address signedContract, address verifyingContract);
    /// @notice The signature is not `signer`'s signature over this approval.
    /// @param signer The key the signature claims to be by.
    /// @param digest The EIP-712 digest it was checked against.
    error ApprovalInvalidSignature(address signer, bytes32 digest);
}
