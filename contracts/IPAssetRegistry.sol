// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {IIPAssetRegistry} from "./IIPAssetRegistry.sol";
import {IParticipantRegistry} from "./IParticipantRegistry.sol";

/// @title IP asset registry
contract IPAssetRegistry is IIPAssetRegistry, AccessControl {
    /// @notice Contracts that may move shares between owners (assignment recordals, idea sales).
    bytes32 public constant CONVEYANCER_ROLE = keccak256("CONVEYANCER_ROLE");

    uint16 public constant TOTAL_BPS = 10_000;
    /// @dev Co-owners of one right; keeps every owner loop bounded.
    uint256 public constant MAX_OWNERS = 16;
    uint256 public constant MAX_NUMBER_LENGTH = 32;
    uint256 public constant MAX_TITLE_LENGTH = 1024;

    /// @dev Seven slots at most, two for a right with one owner: the first owner shares slot 0
    /// with the dates and status, the other fifteen pack three to a slot.
    struct AssetRecord {
        AssetKind kind;
        AssetStatus status;
        uint8 ownerCount;
        uint40 filingDate;
        uint40 registrationDate;
        uint40 expiryDate;
        uint64 firstOwner;
        uint16 firstOwnerBps;
        bytes32 documentHash;
        Share[15] otherOwners;
    }

    IParticipantRegistry public immutable participants;

    mapping(bytes32 assetId => AssetRecord) private _assets;

    /// @param participantRegistry Where office keys and participants are looked up.
    /// @param admin Governance account that appoints conveyancers.
    constructor(IParticipantRegistry participantRegistry, address admin) {
        participants = participantRegistry;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    modifier onlyOffice() {
        if (!participants.isOffice(msg.sender)) revert IPAssetRegistryNotOffice(msg.sender);
        _;
    }

    /// @inheritdoc IIPAssetRegistry
    function registerAsset(AssetInput calldata input) external onlyOffice returns (bytes32) {
        return _register(input);
    }

    /// @inheritdoc IIPAssetRegistry
    function registerAssets(AssetInput[] calldata inputs)
        external
        onlyOffice
        returns (bytes32[] memory assetIds)
    {
        if (inputs.length == 0) revert IPAssetRegistryEmptyBatch();
        assetIds = new bytes32[](inputs.length);
        for (uint256 i = 0; i < inputs.length; ++i) {
            assetIds[i] = _register(inputs[i]);
        }
    }

    /// @inheritdoc IIPAssetRegistry
    function setAssetStatus(bytes32 assetId, AssetStatus status, uint16 reasonCode)
        external
        onlyOffice
    {
        AssetRecord storage r = _existing(assetId);
        AssetStatus previous = r.status;
        if (!_isAllowedTransition(previous, status)) {
            revert IPAssetRegistryInvalidStatusTransition(assetId, previous, status);
        }
        if (reasonCode == 0) revert IPAssetRegistryInvalidReason(reasonCode);
        r.status = status;
        emit AssetStatusChanged(assetId, previous, status, reasonCode, msg.sender);
    }

    /// @inheritdoc IIPAssetRegistry
    function transferShare(bytes32 assetId, uint64 from, uint64 to, uint16 bps, bytes32 recordal)
        external
        onlyRole(CONVEYANCER_ROLE)
    {
        AssetRecord storage r = _existing(assetId);
        if (bps == 0 || from == to || to == 0) {
            revert IPAssetRegistryInvalidTransfer(assetId, from, to, bps);
        }
        Share[] memory owners = _ownersOf(r);
        uint256 count = owners.length;
        uint256 fromIndex = count;
        uint256 toIndex = count;
        for (uint256 i = 0; i < count; ++i) {
            if (owners[i].participantId == from) fromIndex = i;
            else if (owners[i].participantId == to) toIndex = i;
        }
        uint16 held = fromIndex < count ? owners[fromIndex].bps : 0;
        if (held < bps) revert IPAssetRegistryShareTooLow(assetId, from, held, bps);

        if (held == bps && toIndex == count) {
            // The whole holding goes to a newcomer: it takes the seller's place in the list.
            owners[fromIndex].participantId = to;
        } else {
            owners[fromIndex].bps = held - bps;
            if (toIndex < count) {
                owners[toIndex].bps += bps;
            } else {
                if (count == MAX_OWNERS) revert IPAssetRegistryInvalidOwnerCount(count + 1);
                owners = _appended(owners, Share(to, bps));
            }
            if (held == bps) owners = _removed(owners, fromIndex);
        }
        _storeOwners(r, owners, count);
        emit OwnershipTransferred(assetId, from, to, bps, owners, recordal, msg.sender);
    }

    /// @inheritdoc IIPAssetRegistry
    function assetIdOf(bytes2 jurisdiction, AssetKind kind, string calldata number)
        external
        pure
        returns (bytes32)
    {
        return _assetId(jurisdiction, kind, number);
    }

    /// @inheritdoc IIPAssetRegistry
    function asset(bytes32 assetId) external view returns (Asset memory) {
        AssetRecord storage r = _assets[assetId];
        return Asset({
            kind: r.kind,
            status: r.status,
            filingDate: r.filingDate,
            registrationDate: r.registrationDate,
            expiryDate: r.expiryDate,
            documentHash: r.documentHash,
            owners: _ownersOf(r)
        });
    }

    /// @inheritdoc IIPAssetRegistry
    function ownersOf(bytes32 assetId) external view returns (Share[] memory) {
        return _ownersOf(_assets[assetId]);
    }

    /// @inheritdoc IIPAssetRegistry
    function shareOf(bytes32 assetId, uint64 participantId) external view returns (uint16) {
        Share[] memory owners = _ownersOf(_assets[assetId]);
        for (uint256 i = 0; i < owners.length; ++i) {
            if (owners[i].participantId == participantId) return owners[i].bps;
        }
        return 0;
    }

    /// @inheritdoc IIPAssetRegistry
    function isInForce(bytes32 assetId) external view returns (bool) {
        AssetRecord storage r = _assets[assetId];
        return r.status == AssetStatus.Registered
            && (r.expiryDate == 0 || block.timestamp <= r.expiryDate);
    }

    function _register(AssetInput calldata input) private returns (bytes32 assetId) {
        _checkIdentifier(input.jurisdiction, input.number);
        uint256 titleLength = bytes(input.title).length;
        if (titleLength == 0 || titleLength > MAX_TITLE_LENGTH) {
            revert IPAssetRegistryInvalidTitle(titleLength);
        }
        _checkDates(input.filingDate, input.registrationDate, input.expiryDate);
        _checkOwners(input.owners);

        assetId = _assetId(input.jurisdiction, input.kind, input.number);
        AssetRecord storage r = _assets[assetId];
        if (r.status != AssetStatus.None) revert IPAssetRegistryAlreadyRegistered(assetId);
        r.kind = input.kind;
        r.status = AssetStatus.Registered;
        r.filingDate = input.filingDate;
        r.registrationDate = input.registrationDate;
        r.expiryDate = input.expiryDate;
        r.documentHash = input.documentHash;
        _storeOwners(r, input.owners, 0);
        emit AssetRegistered(
            assetId,
            input.jurisdiction,
            input.kind,
            input.number,
            input.title,
            input.documentHash,
            input.filingDate,
            input.registrationDate,
            input.expiryDate,
            input.owners,
            msg.sender
        );
    }

    /// @dev Writes `owners` over the stored list of `previousCount` entries and clears the rest.
    function _storeOwners(AssetRecord storage r, Share[] memory owners, uint256 previousCount)
        private
    {
        uint256 count = owners.length;
        r.ownerCount = uint8(count);
        r.firstOwner = owners[0].participantId;
        r.firstOwnerBps = owners[0].bps;
        for (uint256 i = 1; i < count; ++i) {
            r.otherOwners[i - 1] = owners[i];
        }
        for (uint256 i = count; i < previousCount; ++i) {
            delete r.otherOwners[i - 1];
        }
    }

    function _ownersOf(AssetRecord storage r) private view returns (Share[] memory owners) {
        uint256 count = r.ownerCount;
        owners = new Share[](count);
        if (count == 0) return owners;
        owners[0] = Share(r.firstOwner, r.firstOwnerBps);
        for (uint256 i = 1; i < count; ++i) {
            owners[i] = r.otherOwners[i - 1];
        }
    }

    function _existing(bytes32 assetId) private view returns (AssetRecord storage r) {
        r = _assets[assetId];
        if (r.status == AssetStatus.None) revert IPAssetRegistryUnknownAsset(assetId);
    }

    function _checkOwners(Share[] calldata owners) private view {
        uint256 count = owners.length;
        if (count == 0 || count > MAX_OWNERS) revert IPAssetRegistryInvalidOwnerCount(count);
        uint256 total = 0;
        for (uint256 i = 0; i < count; ++i) {
            uint64 participantId = owners[i].participantId;
            if (owners[i].bps == 0) revert IPAssetRegistryZeroShare(participantId);
            for (uint256 j = 0; j < i; ++j) {
                if (owners[j].participantId == participantId) {
                    revert IPAssetRegistryDuplicateOwner(participantId);
                }
            }
            if (!participants.isActive(participantId)) {
                revert IPAssetRegistryOwnerNotActive(participantId);
            }
            total += owners[i].bps;
        }
        if (total != TOTAL_BPS) revert IPAssetRegistryInvalidShares(total);
    }

    /// @dev Canonical characters only, so that "kr 10-1234" and "KR10-1234" cannot both exist.
    function _checkIdentifier(bytes2 jurisdiction, string calldata number) private pure {
        bytes calldata n = bytes(number);
        bool valid = _isUpper(jurisdiction[0]) && _isUpper(jurisdiction[1]) && n.length != 0
            && n.length <= MAX_NUMBER_LENGTH;
        for (uint256 i = 0; valid && i < n.length; ++i) {
            bytes1 c = n[i];
            valid = _isUpper(c) || (c >= "0" && c <= "9") || c == "-" || c == "/" || c == ".";
        }
        if (!valid) revert IPAssetRegistryInvalidIdentifier(jurisdiction, number);
    }

    function _checkDates(uint40 filing, uint40 registration, uint40 expiry) private pure {
        bool valid = registration == 0 || filing <= registration;
        if (expiry != 0) valid = valid && filing < expiry && registration < expiry;
        if (!valid) revert IPAssetRegistryInvalidDates(filing, registration, expiry);
    }

    function _assetId(bytes2 jurisdiction, AssetKind kind, string calldata number)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(jurisdiction, kind, number));
    }

    function _isAllowedTransition(AssetStatus from, AssetStatus to) private pure returns (bool) {
        if (from == AssetStatus.Registered) {
            return to == AssetStatus.Lapsed || to == AssetStatus.Expired || to == AssetStatus.Revoked;
        }
        if (from == AssetStatus.Lapsed) {
            return to == AssetStatus.Registered || to == AssetStatus.Expired
                || to == AssetStatus.Revoked;
        }
        return from == AssetStatus.Expired && to == AssetStatus.Revoked;
    }

    function _isUpper(bytes1 c) private pure returns (bool) {
        return c >= "A" && c <= "Z";
    }

    function _appended(Share[] memory owners, Share memory share)
        private
        pure
        returns (Share[] memory grown)
    {
        grown = new Share[](owners.length + 1);
        for (uint256 i = 0; i < owners.length; ++i) {
            grown[i] = owners[i];
        }
        grown[owners.length] = share;
    }

    /// @dev Order is not significant: the last owner takes the removed one's place.
    function _removed(Share[] memory owners, uint256 index) private pure returns (Share[] memory) {
        uint256 last = owners.length - 1;
        owners[index] = owners[last];
        assembly ("memory-safe") {
            mstore(owners, last)
        }
        return owners;
    }
}
