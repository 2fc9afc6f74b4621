// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IIPAssetRegistry} from "./IIPAssetRegistry.sol";
import {ITypedApprovals} from "./ITypedApprovals.sol";

/// @title Assignment recordals: a right (or a share of it) passes from one owner to another.
/// @notice The assignor signs an `Assignment`, the assignee countersigns it, and every other
/// co-owner of the right consents by signing the same assignment (co-owners of a patent need each
/// other's consent to assign a share: Korean Patent Act art. 99). Anyone may file the signed
/// assignment; the office then registers it, which moves the share, or rejects it with a reason
/// code. Filing and registration check the same rules, each at its own moment: keys currently
/// bound to the parties, parties active, share held, every co-owner's consent, right in force.
///
/// Signatures are given in order: the assignor's first (its key's nonce is the `nonce` of the
/// assignment), the assignee's second, then one per other co-owner in any order.
interface IAssignmentRegistry is ITypedApprovals {
    enum AssignmentStatus {
        None,
        Filed,
        Registered,
        Rejected
    }

    struct Assignment {
        uint256 deadline;
        uint256 chainId;
        address verifyingContract;
        bytes32 assetId;
        uint64 assignor;
        uint64 assignee;
        /// The share that passes, in basis points of the whole right.
        uint16 shareBps;
        /// SHA-256 of the assignment deed (the contract between the parties), kept off chain.
        bytes32 termsHash;
        /// The nonce of the assignor's signing key.
        uint256 nonce;
    }

    struct AssignmentRecord {
        AssignmentStatus status;
        uint40 filedAt;
        /// Commitment to the signer keys, re-checked at registration.
        bytes26 signersHash;
    }

    /// @notice `assignmentId` is the EIP-712 digest of the assignment.
    event AssignmentFiled(
        bytes32 indexed assignmentId,
        bytes32 indexed assetId,
        uint64 indexed assignor,
        uint64 assignee,
        uint16 shareBps,
        bytes32 termsHash,
        uint256 nonce,
        uint256 deadline,
        address[] signers,
        address filer
    );
    event AssignmentRegistered(
        bytes32 indexed assignmentId, bytes32 indexed assetId, address indexed office
    );
    event AssignmentRejected(bytes32 indexed assignmentId, uint16 reasonCode, address indexed office);

    error AssignmentRegistryNotOffice(address caller);
    error AssignmentRegistryAlreadyFiled(bytes32 assignmentId, AssignmentStatus status);
    error AssignmentRegistryNotFiled(bytes32 assignmentId, AssignmentStatus status);
    error AssignmentRegistrySignersMismatch(bytes32 assignmentId);
    error AssignmentRegistryInvalidShare(uint16 shareBps);
    error AssignmentRegistrySameParty(uint64 participantId);
    error AssignmentRegistryMissingSignature(uint256 count);
    error AssignmentRegistryWrongSigner(address signer, uint64 expected, uint64 boundTo);
    error AssignmentRegistryPartyNotActive(uint64 participantId);
    error AssignmentRegistryUnknownAsset(bytes32 assetId);
    error AssignmentRegistryRightNotInForce(bytes32 assetId, IIPAssetRegistry.AssetStatus status);
    error AssignmentRegistryShareTooHigh(bytes32 assetId, uint16 held, uint16 asked);
    error AssignmentRegistryMissingConsent(bytes32 assetId, uint64 coOwner);
    error AssignmentRegistryUnexpectedSigner(address signer, uint64 participantId);
    error AssignmentRegistryInvalidReason(uint16 reasonCode);

    /// @notice File a signed assignment for registration; returns its id.
    function fileAssignment(Assignment calldata assignment, Signature[] calldata signatures)
        external
        returns (bytes32 assignmentId);

    /// @notice Register a filed assignment after checking it again (office only).
    /// @param signers The keys that signed it, in the order they were filed.
    function registerAssignment(Assignment calldata assignment, address[] calldata signers)
        external;

    /// @notice Reject a filed assignment with a reason code (office only).
    function rejectAssignment(bytes32 assignmentId, uint16 reasonCode) external;

    /// @notice The record of an assignment; status None if never filed.
    function assignment(bytes32 assignmentId) external view returns (AssignmentRecord memory);

    /// @notice The EIP-712 digest of an assignment, which is also its id.
    function assignmentDigest(Assignment calldata assignment) external view returns (bytes32);
}
