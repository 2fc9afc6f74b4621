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

    /// @notice A right was entered in the register with its owners.
    /// @param assetId The right's id, `keccak256(abi.encode(jurisdiction, kind, number))`.
    /// @param jurisdiction WIPO ST.3 code of the granting office.
    /// @param kind Patent, utility model, design, trademark, copyright or idea.
    /// @param number Official number in canonical form.
    /// @param title Title of the right.
    /// @param documentHash SHA-256 of the official document.
    /// @param filingDate Filing date (unix seconds).
    /// @param registrationDate Registration date (unix seconds), zero if not granted.
    /// @param expiryDate End of the term (unix seconds), zero if none.
    /// @param owners The owners and their shares, summing to 10,000 basis points.
    /// @param office The office key that registered it.
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
    /// @notice A right moved to another status (lapsed, expired, revoked, restored).
    /// @param assetId The right.
    /// @param previousStatus Its status before.
    /// @param status Its status now.
    /// @param reasonCode The office's reason code (never zero).
    /// @param office The office key that decided it.
    event AssetStatusChanged(
        bytes32 indexed assetId,
        AssetStatus previousStatus,
        AssetStatus status,
        uint16 reasonCode,
        address indexed office
    );
    /// @notice A signed assignment was filed for registration; `assignmentId` is its EIP-712
    /// digest.
    /// @param assignmentId The EIP-712 digest of the assignment.
    /// @param assetId The right assigned.
    /// @param assignor The participant giving the share.
    /// @param assignee The participant receiving it.
    /// @param shareBps The share, in basis points of the whole right.
    /// @param termsHash SHA-256 of the assignment deed.
    /// @param nonce The assignor key's approval nonce it used up.
    /// @param deadline The signed deadline (unix seconds), which also bounds registration.
    /// @param signers The keys that signed, in the order filed (assignor, assignee, co-owners).
    /// @param filer Who filed it.
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
    /// @param assignmentId The assignment registered.
    /// @param assetId The right assigned.
    /// @param owners The right's owners and shares after the change.
    /// @param office The office key that registered it.
    event AssignmentRegistered(
        bytes32 indexed assignmentId, bytes32 indexed assetId, Share[] owners, address indexed office
    );
    /// @notice The office rejected a filed assignment; the share did not pass.
    /// @param assignmentId The assignment rejected.
    /// @param reasonCode The office's reason code (never zero).
    /// @param office The office key that rejected it.
    event AssignmentRejected(bytes32 indexed assignmentId, uint16 reasonCode, address indexed office);

    /// @notice Only a key of an active office participant may do this.
    /// @param caller The key that tried.
    error IPAssetRegistryNotOffice(address caller);
    /// @notice The right is already in the register.
    /// @param assetId Its id.
    error IPAssetRegistryAlreadyRegistered(bytes32 assetId);
    /// @notice No right with this id is registered.
    /// @param assetId The id asked for.
    error IPAssetRegistryUnknownAsset(bytes32 assetId);
    /// @notice The jurisdiction is not two capital letters, or the number is empty, too long or not
    /// canonical (A-Z, 0-9, '-', '/', '.').
    /// @param jurisdiction The jurisdiction given.
    /// @param number The number given.
    error IPAssetRegistryInvalidIdentifier(bytes2 jurisdiction, string number);
    /// @notice The title is empty or longer than MAX_TITLE_LENGTH bytes.
    /// @param length Its length in bytes.
    error IPAssetRegistryInvalidTitle(uint256 length);
    /// @notice The dates are out of order: filing after registration, or the term ending before
    /// either.
    /// @param filingDate The filing date given.
    /// @param registrationDate The registration date given (zero if none).
    /// @param expiryDate The expiry date given (zero if none).
    error IPAssetRegistryInvalidDates(uint40 filingDate, uint40 registrationDate, uint40 expiryDate);
    /// @notice A right needs between one and MAX_OWNERS owners.
    /// @param count The number of owners it would have.
    error IPAssetRegistryInvalidOwnerCount(uint256 count);
    /// @notice The owners' shares do not sum to 10,000 basis points.
    /// @param totalBps Their sum.
    error IPAssetRegistryInvalidShares(uint256 totalBps);
    /// @notice An owner is listed with a share of zero.
    /// @param participantId That owner.
    error IPAssetRegistryZeroShare(uint64 participantId);
    /// @notice An owner is listed twice.
    /// @param participantId That owner.
    error IPAssetRegistryDuplicateOwner(uint64 participantId);
    /// @notice An owner is not an active participant.
    /// @param participantId That owner.
    error IPAssetRegistryOwnerNotActive(uint64 participantId);
    /// @notice A bulk registration holds no right.
    error IPAssetRegistryEmptyBatch();
    /// @notice A right cannot move from its status to the one asked (Revoked is final).
    /// @param assetId The right.
    /// @param previousStatus Its status now.
    /// @param status The status asked for.
    error IPAssetRegistryInvalidStatusTransition(
        bytes32 assetId, AssetStatus previousStatus, AssetStatus status
    );
    /// @notice A decision needs a reason code other than zero.
    /// @param reasonCode The reason code given.
    error IPAssetRegistryInvalidReason(uint16 reasonCode);
    /// @notice This signed assignment was filed before.
    /// @param assignmentId Its id.
    /// @param status Its status now (filed, registered or rejected).
    error IPAssetRegistryAssignmentAlreadyFiled(bytes32 assignmentId, AssignmentStatus status);
    /// @notice The assignment is not waiting for a decision (never filed, or already decided).
    /// @param assignmentId Its id.
    /// @param status Its status now.
    error IPAssetRegistryAssignmentNotFiled(bytes32 assignmentId, AssignmentStatus status);
    /// @notice The signers given are not the ones the assignment was filed with.
    /// @param assignmentId The assignment.
    error IPAssetRegistrySignersMismatch(bytes32 assignmentId);
    /// @notice The share assigned is zero or more than the whole right.
    /// @param shareBps The share given, in basis points.
    error IPAssetRegistryInvalidShare(uint16 shareBps);
    /// @notice The assignor and the assignee are the same participant.
    /// @param participantId That participant.
    error IPAssetRegistrySameParty(uint64 participantId);
    /// @notice An assignment needs at least the assignor's and the assignee's signatures.
    /// @param count The number of signatures given.
    error IPAssetRegistryMissingSignature(uint256 count);
    /// @notice A signature is by a key that is not (or no longer) bound to the party it stands for.
    /// @param signer The key that signed.
    /// @param expected The participant it signs for.
    /// @param boundTo The participant the key is bound to, zero if none.
    error IPAssetRegistryWrongSigner(address signer, uint64 expected, uint64 boundTo);
    /// @notice A party or co-owner is suspended, revoked, or its certificate has expired.
    /// @param participantId That participant.
    error IPAssetRegistryPartyNotActive(uint64 participantId);
    /// @notice The right is not registered and in its term: it cannot be assigned now.
    /// @param assetId The right.
    /// @param status Its status.
    error IPAssetRegistryRightNotInForce(bytes32 assetId, AssetStatus status);
    /// @notice The assignor holds less of the right than it assigns.
    /// @param assetId The right.
    /// @param held The assignor's share, in basis points.
    /// @param asked The share assigned.
    error IPAssetRegistryShareTooHigh(bytes32 assetId, uint16 held, uint16 asked);
    /// @notice A co-owner of the right has not signed the assignment.
    /// @param assetId The right.
    /// @param coOwner The co-owner whose signature is missing.
    error IPAssetRegistryMissingConsent(bytes32 assetId, uint64 coOwner);
    /// @notice A consent is signed by someone who is not a co-owner, or by a co-owner twice.
    /// @param signer The key that signed.
    /// @param participantId The participant it is bound to (zero if none).
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
