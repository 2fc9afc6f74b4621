// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title IP asset registry: which rights exist, in what state, and who owns them in what shares.
/// @notice A right is identified by `keccak256(abi.encode(jurisdiction, kind, number))`, so anyone
/// can compute the id of a right from its official number and a right cannot be registered twice.
/// The office registers rights, one by one or in bulk (migration of an existing register), and
/// moves them between statuses. Ownership changes only through conveyancer contracts (recordals of
/// assignments, idea sales), which the office's governance appoints.
interface IIPAssetRegistry {
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
    /// @notice `bps` of the right passed from one owner to another; `owners` is the full list
    /// after the change; `recordal` is the conveyancer's record of it (an assignment id...).
    event OwnershipTransferred(
        bytes32 indexed assetId,
        uint64 indexed from,
        uint64 indexed to,
        uint16 bps,
        Share[] owners,
        bytes32 recordal,
        address conveyancer
    );

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
    error IPAssetRegistryShareTooLow(bytes32 assetId, uint64 participantId, uint16 held, uint16 asked);
    error IPAssetRegistryInvalidTransfer(bytes32 assetId, uint64 from, uint64 to, uint16 bps);

    /// @notice Register a right with its owners (office only); returns its id.
    function registerAsset(AssetInput calldata asset) external returns (bytes32 assetId);

    /// @notice Register many rights in one transaction, all or none (office only).
    function registerAssets(AssetInput[] calldata assets) external returns (bytes32[] memory assetIds);

    /// @notice Move a right to another status, with a reason code (office only).
    /// @dev Registered -> Lapsed | Expired | Revoked; Lapsed -> Registered | Expired | Revoked;
    /// Expired -> Revoked. Revoked is final.
    function setAssetStatus(bytes32 assetId, AssetStatus status, uint16 reasonCode) external;

    /// @notice Move `bps` of a right from one owner to another (conveyancer contracts only).
    function transferShare(bytes32 assetId, uint64 from, uint64 to, uint16 bps, bytes32 recordal)
        external;

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
}
