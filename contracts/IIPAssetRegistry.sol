// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ITypedApprovals} from "./ITypedApprovals.sol";

/// @title IP asset registry: the register of title to IP rights and of the recordals that move it.
/// @notice A right is identified by `keccak256(abi.encode(jurisdiction, kind, number))`, so anyone
/// can compute the id of a right from its official number and a right cannot be registered twice.
/// The office registers rights, one by one or in bulk (migration of an existing register), and
/// moves them between statuses.
///
/// Ownership changes by assignment recordal. The assignor signs an `Assignment`, the assignee
/// countersigns it, and every other co-owner consents by signing the same assignment (co-owners
/// of a patent need each other's consent to assign a share: Korean Patent Act art. 99). Anyone
/// may file the signed assignment; the office then registers it, which moves the share, or
/// rejects it with a reason code.
///
/// Filing is the formal check of a recordal request: deadline, chain and contract, a fresh nonce,
/// valid signatures, the assignor's and assignee's keys bound to them and both active. The office
/// examines at registration, against the state of that moment: the deadline not passed, every key
/// still bound to its party, every party active, the right in force, the share held, every
/// co-owner's consent. The signed deadline bounds registration as well as filing: the parties
/// agreed to a transfer by that moment, so the office registers before it; after it a filed
/// assignment can only be rejected, and the parties sign a new one. `checkAssignment` runs the
/// same examination as a view, so that a service can refuse a doomed request before filing it. Signatures are given in order: the assignor's first (the
/// assignment's `nonce` is its key's approval nonce), the assignee's second, then one per other
/// co-owner in any order.
interface IIPAssetRegistry is ITypedApprovals {
    enum AssetKind {
        Patent,
        UtilityModel,
        Design,
        Trademark,
        Copyright,
        Idea
    }

    enum AssetStatus {
        None,
        Registered,
        Lapsed,
        Expired,
        Revoked
    }

    enum AssignmentStatus {
        None,
        Filed,
        Registered,
        Rejected
    }

    /// @notice An owner's share of a right, in basis points of the whole (10,000 = 100%).
    struct Share {
        uint64 participantId;
        uint16 bps;
    }

    struct AssetInput {
        /// WIPO ST.3 code of the office that granted the right: "KR", "RU", "EP", "WO"...
        bytes2 jurisdiction;
        AssetKind kind;
        /// Official number in canonical form: A-Z, 0-9, '-', '/', '.'; at most 32 characters.
        string number;
        string title;
        /// SHA-256 of the official document (specification, registration certificate...).
        bytes32 documentHash;
        uint40 filingDate;
        uint40 registrationDate;
        /// Zero when the right has no fixed term.
        uint40 expiryDate;
        Share[] owners;
    }

    struct Asset {
        AssetKind kind;
        AssetStatus status;
        uint40 filingDate;
        uint40 registrationDate;
        uint40 expiryDate;
        bytes32 documentHash;
        Share[] owners;
    }

    /// @notice An assignment of `shareBps` of a right, as its parties sign it (EIP-712).
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
        /// The approval nonce of the assignor's signing key.
        uint256 nonce;
    }

    struct AssignmentRecord {
        AssignmentStatus status;
        uint40 filedAt;
        /// Commitment to the signer keys, which registration re-checks.
        bytes26 signersHash;
    }

    event AssetRegistered(
        bytes32 indexed assetId,
        bytes2 jurisdiction,
        AssetKind kind,
        string number,
        string title,
        bytes32 documentHash,
        uint40 filingDate,
        uint40 registrationDate,
        uint40 expiryDate,
        Share[] owners,
        address indexed office
    );
    event AssetStatusChanged(
        bytes32 indexed assetId,
        AssetStatus previousStatus,
        AssetStatus status,
        uint16 reasonCode,
        address indexed office
    );
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
    /// @notice The share passed; `owners` is the right's full list of owners after the change.
    event AssignmentRegistered(
        bytes32 indexed assignmentId, bytes32 indexed assetId, Share[] owners, address indexed office
    );
    event AssignmentRejected(bytes32 indexed assignmentId, uint16 reasonCode, address indexed office);

    error IPAssetRegistryNotOffice(address caller);
    error IPAssetRegistryAlreadyRegistered(bytes32 assetId);
    error IPAssetRegistryUnknownAsset(bytes32 assetId);
    error IPAssetRegistryInvalidIdentifier(bytes2 jurisdiction, string number);
    error IPAssetRegistryInvalidTitle(uint256 length);
    error IPAssetRegistryInvalidDates(uint40 filingDate, uint40 registrationDate, uint40 expiryDate);
    error IPAssetRegistryInvalidOwnerCount(uint256 count);
    error IPAssetRegistryInvalidShares(uint256 totalBps);
    error IPAssetRegistryZeroShare(uint64 participantId);
    error IPAssetRegistryDuplicateOwner(uint64 participantId);
    error IPAssetRegistryOwnerNotActive(uint64 participantId);
    error IPAssetRegistryEmptyBatch();
    error IPAssetRegistryInvalidStatusTransition(
        bytes32 assetId, AssetStatus previousStatus, AssetStatus status
    );
    error IPAssetRegistryInvalidReason(uint16 reasonCode);
    error IPAssetRegistryAssignmentAlreadyFiled(bytes32 assignmentId, AssignmentStatus status);
    error IPAssetRegistryAssignmentNotFiled(bytes32 assignmentId, AssignmentStatus status);
    error IPAssetRegistrySignersMismatch(bytes32 assignmentId);
    error IPAssetRegistryInvalidShare(uint16 shareBps);
    error IPAssetRegistrySameParty(uint64 participantId);
    error IPAssetRegistryMissingSignature(uint256 count);
    error IPAssetRegistryWrongSigner(address signer, uint64 expected, uint64 boundTo);
    error IPAssetRegistryPartyNotActive(uint64 participantId);
    error IPAssetRegistryRightNotInForce(bytes32 assetId, AssetStatus status);
    error IPAssetRegistryShareTooHigh(bytes32 assetId, uint16 held, uint16 asked);
    error IPAssetRegistryMissingConsent(bytes32 assetId, uint64 coOwner);
    error IPAssetRegistryUnexpectedSigner(address signer, uint64 participantId);

    /// @notice Register a right with its owners (office only); returns its id.
    function registerAsset(AssetInput calldata asset) external returns (bytes32 assetId);

    /// @notice Register many rights in one transaction, all or none (office only).
    function registerAssets(AssetInput[] calldata assets) external returns (bytes32[] memory assetIds);

    /// @notice Move a right to another status, with a reason code (office only).
    /// @dev Registered -> Lapsed | Expired | Revoked; Lapsed -> Registered | Expired | Revoked;
    /// Expired -> Revoked. Revoked is final.
    function setAssetStatus(bytes32 assetId, AssetStatus status, uint16 reasonCode) external;

    /// @notice File a signed assignment for registration; returns its id. Anyone may file.
    function fileAssignment(Assignment calldata assignment, Signature[] calldata signatures)
        external
        returns (bytes32 assignmentId);

    /// @notice Register a filed assignment after checking it again (office only); not after its
    /// deadline (`ApprovalExpired`): a late assignment can only be rejected.
    /// @param signers The keys that signed it, in the order they were filed.
    function registerAssignment(Assignment calldata assignment, address[] calldata signers)
        external;

    /// @notice Reject a filed assignment with a reason code (office only).
    function rejectAssignment(bytes32 assignmentId, uint16 reasonCode) external;

    /// @notice The id of a right: `keccak256(abi.encode(jurisdiction, kind, number))`.
    function assetIdOf(bytes2 jurisdiction, AssetKind kind, string calldata number)
        external
        pure
        returns (bytes32);

    /// @notice A right's record; status None if unknown.
    function asset(bytes32 assetId) external view returns (Asset memory);

    /// @notice A right's owners and their shares.
    function ownersOf(bytes32 assetId) external view returns (Share[] memory);

    /// @notice The share a participant holds in a right, in basis points.
    function shareOf(bytes32 assetId, uint64 participantId) external view returns (uint16);

    /// @notice Whether the right is registered and its term has not ended.
    function isInForce(bytes32 assetId) external view returns (bool);

    /// @notice The record of an assignment; status None if never filed.
    function assignment(bytes32 assignmentId) external view returns (AssignmentRecord memory);

    /// @notice The EIP-712 digest of an assignment, which is also its id.
    function assignmentDigest(Assignment calldata assignment) external view returns (bytes32);

    /// @notice Examine an assignment as registration would now; reverts with the first failure.
    function checkAssignment(Assignment calldata assignment, address[] calldata signers)
        external
        view;
}
