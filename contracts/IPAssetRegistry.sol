// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IIPAssetRegistry} from "./IIPAssetRegistry.sol";
import {IParticipantRegistry} from "./IParticipantRegistry.sol";
import {TypedApprovals} from "./TypedApprovals.sol";

/// @title IP asset registry
contract IPAssetRegistry is IIPAssetRegistry, TypedApprovals {
    uint16 public constant TOTAL_BPS = 10_000;
    /// @dev Co-owners of one right; keeps every owner loop bounded.
    uint256 public constant MAX_OWNERS = 16;
    uint256 public constant MAX_NUMBER_LENGTH = 32;
    uint256 public constant MAX_TITLE_LENGTH = 1024;

    // forgefmt: disable-next-item
    bytes32 public constant ASSIGNMENT_TYPEHASH = keccak256(
        "Assignment(uint256 deadline,uint256 chainId,address verifyingContract,bytes32 assetId,uint64 assignor,uint64 assignee,uint16 shareBps,bytes32 termsHash,uint256 nonce)"
    );

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
    mapping(bytes32 assignmentId => AssignmentRecord) private _assignments;

    /// @param participantRegistry Where office keys, participants and key nonces are kept.
    constructor(IParticipantRegistry participantRegistry) TypedApprovals("IPAssetRegistry") {
        participants = participantRegistry;
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
        AssetRecord storage r = _assets[assetId];
        AssetStatus previous = r.status;
        if (previous == AssetStatus.None) revert IPAssetRegistryUnknownAsset(assetId);
        if (!_isAllowedTransition(previous, status)) {
            revert IPAssetRegistryInvalidStatusTransition(assetId, previous, status);
        }
        if (reasonCode == 0) revert IPAssetRegistryInvalidReason(reasonCode);
        r.status = status;
        emit AssetStatusChanged(assetId, previous, status, reasonCode, msg.sender);
    }

    /// @inheritdoc IIPAssetRegistry
    function fileAssignment(Assignment calldata a, Signature[] calldata signatures)
        external
        returns (bytes32 assignmentId)
    {
        _checkEnvelope(a.deadline, a.chainId, a.verifyingContract);
        _checkTerms(a);
        assignmentId = _assignmentDigest(a);
        AssignmentRecord storage record = _assignments[assignmentId];
        if (record.status != AssignmentStatus.None) {
            revert IPAssetRegistryAssignmentAlreadyFiled(assignmentId, record.status);
        }
        if (signatures.length < 2) revert IPAssetRegistryMissingSignature(signatures.length);
        (uint64 assignor, bool assignorActive) =
            participants.useNonce(signatures[0].signer, a.nonce);
        if (assignor != a.assignor) {
            revert IPAssetRegistryWrongSigner(signatures[0].signer, a.assignor, assignor);
        }
        if (!assignorActive) revert IPAssetRegistryPartyNotActive(a.assignor);
        _checkParty(a.assignee, signatures[1].signer);
        address[] memory signers = new address[](signatures.length);
        for (uint256 i = 0; i < signatures.length; ++i) {
            _checkSignature(signatures[i].signer, assignmentId, signatures[i].signature);
            signers[i] = signatures[i].signer;
        }

        record.status = AssignmentStatus.Filed;
        record.filedAt = uint40(block.timestamp);
        record.signersHash = _signersHash(signers);
        emit AssignmentFiled(
            assignmentId,
            a.assetId,
            a.assignor,
            a.assignee,
            a.shareBps,
            a.termsHash,
            a.nonce,
            a.deadline,
            signers,
            msg.sender
        );
    }

    /// @inheritdoc IIPAssetRegistry
    function registerAssignment(Assignment calldata a, address[] calldata signers)
        external
        onlyOffice
    {
        bytes32 assignmentId = _assignmentDigest(a);
        AssignmentRecord storage record = _filed(assignmentId);
        if (record.signersHash != _signersHash(signers)) {
            revert IPAssetRegistrySignersMismatch(assignmentId);
        }
        Share[] memory owners = _checkAssignment(a, signers);

        record.status = AssignmentStatus.Registered;
        owners = _transferShare(_assets[a.assetId], owners, a);
        emit AssignmentRegistered(assignmentId, a.assetId, owners, msg.sender);
    }

    /// @inheritdoc IIPAssetRegistry
    function rejectAssignment(bytes32 assignmentId, uint16 reasonCode) external onlyOffice {
        AssignmentRecord storage record = _filed(assignmentId);
        if (reasonCode == 0) revert IPAssetRegistryInvalidReason(reasonCode);
        record.status = AssignmentStatus.Rejected;
        emit AssignmentRejected(assignmentId, reasonCode, msg.sender);
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
        uint256 i = _indexOf(owners, participantId);
        return i < owners.length ? owners[i].bps : 0;
    }

    /// @inheritdoc IIPAssetRegistry
    function isInForce(bytes32 assetId) external view returns (bool) {
        return _isInForce(_assets[assetId]);
    }

    /// @inheritdoc IIPAssetRegistry
    function assignment(bytes32 assignmentId) external view returns (AssignmentRecord memory) {
        return _assignments[assignmentId];
    }

    /// @inheritdoc IIPAssetRegistry
    function assignmentDigest(Assignment calldata a) external view returns (bytes32) {
        return _assignmentDigest(a);
    }

    /// @inheritdoc IIPAssetRegistry
    function checkAssignment(Assignment calldata a, address[] calldata signers) external view {
        _checkAssignment(a, signers);
    }

    // ---- rights ----

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

    function _isInForce(AssetRecord storage r) private view returns (bool) {
        return r.status == AssetStatus.Registered
            && (r.expiryDate == 0 || block.timestamp <= r.expiryDate);
    }

    // ---- assignments ----

    /// @dev What makes an assignment well formed, whatever the state of the register.
    function _checkTerms(Assignment calldata a) private pure {
        if (a.shareBps == 0 || a.shareBps > TOTAL_BPS) revert IPAssetRegistryInvalidShare(a.shareBps);
        if (a.assignor == a.assignee) revert IPAssetRegistrySameParty(a.assignor);
    }

    /// @dev The examination that registration makes, against the state of now: deadline not
    /// passed, keys bound to the parties, parties active, right in force, share held, every
    /// co-owner's consent. Returns the right's owners as they are before the assignment.
    function _checkAssignment(Assignment calldata a, address[] memory signers)
        private
        view
        returns (Share[] memory owners)
    {
        // The signed deadline bounds registration too: filed in time is not agreed for ever.
        // Deadline first, as at filing: a late assignment is refused whatever else is wrong.
        if (block.timestamp > a.deadline) revert ApprovalExpired(a.deadline, block.timestamp);
        _checkTerms(a);
        if (signers.length < 2) revert IPAssetRegistryMissingSignature(signers.length);
        _checkParty(a.assignor, signers[0]);
        _checkParty(a.assignee, signers[1]);

        AssetRecord storage r = _assets[a.assetId];
        if (r.status == AssetStatus.None) revert IPAssetRegistryUnknownAsset(a.assetId);
        if (!_isInForce(r)) revert IPAssetRegistryRightNotInForce(a.assetId, r.status);

        // Every owner other than the parties must consent, each through one key of its own.
        owners = _ownersOf(r);
        bool[] memory consented = new bool[](owners.length);
        uint16 held = 0;
        for (uint256 i = 0; i < owners.length; ++i) {
            uint64 owner = owners[i].participantId;
            if (owner == a.assignor) held = owners[i].bps;
            consented[i] = owner == a.assignor || owner == a.assignee;
        }
        if (held < a.shareBps) revert IPAssetRegistryShareTooHigh(a.assetId, held, a.shareBps);
        for (uint256 s = 2; s < signers.length; ++s) {
            (uint64 coOwner, bool active) = participants.keyStatus(signers[s]);
            uint256 i = _indexOf(owners, coOwner);
            if (i == owners.length || consented[i]) {
                revert IPAssetRegistryUnexpectedSigner(signers[s], coOwner);
            }
            if (!active) revert IPAssetRegistryPartyNotActive(coOwner);
            consented[i] = true;
        }
        for (uint256 i = 0; i < owners.length; ++i) {
            if (!consented[i]) revert IPAssetRegistryMissingConsent(a.assetId, owners[i].participantId);
        }
    }

    /// @dev A party's key must be bound to it now, and the party active.
    function _checkParty(uint64 party, address signer) private view {
        (bool bound, bool active) = participants.checkKey(party, signer);
        if (!bound) revert IPAssetRegistryWrongSigner(signer, party, _boundTo(signer));
        if (!active) revert IPAssetRegistryPartyNotActive(party);
    }

    function _boundTo(address key) private view returns (uint64 participantId) {
        (participantId,) = participants.keyStatus(key);
    }

    /// @dev Moves the share in `owners` (the list before) and stores the result, which it returns.
    function _transferShare(AssetRecord storage r, Share[] memory owners, Assignment calldata a)
        private
        returns (Share[] memory)
    {
        uint256 count = owners.length;
        uint256 from = _indexOf(owners, a.assignor);
        uint256 to = _indexOf(owners, a.assignee);
        uint16 held = owners[from].bps;
        if (held == a.shareBps && to == count) {
            // The whole holding goes to a newcomer, who takes the assignor's place in the list:
            // one entry changes, so only its slot is written.
            owners[from].participantId = a.assignee;
            if (from == 0) r.firstOwner = a.assignee;
            else r.otherOwners[from - 1].participantId = a.assignee;
            return owners;
        }
        owners[from].bps = held - a.shareBps;
        if (to < count) {
            owners[to].bps += a.shareBps;
        } else {
            if (count == MAX_OWNERS) revert IPAssetRegistryInvalidOwnerCount(count + 1);
            owners = _appended(owners, Share(a.assignee, a.shareBps));
        }
        if (held == a.shareBps) owners = _removed(owners, from);
        _storeOwners(r, owners, count);
        return owners;
    }

    function _filed(bytes32 assignmentId) private view returns (AssignmentRecord storage record) {
        record = _assignments[assignmentId];
        if (record.status != AssignmentStatus.Filed) {
            revert IPAssetRegistryAssignmentNotFiled(assignmentId, record.status);
        }
    }

    function _assignmentDigest(Assignment calldata a) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    ASSIGNMENT_TYPEHASH,
                    a.deadline,
                    a.chainId,
                    a.verifyingContract,
                    a.assetId,
                    a.assignor,
                    a.assignee,
                    a.shareBps,
                    a.termsHash,
                    a.nonce
                )
            )
        );
    }

    /// @dev 208 bits of keccak256: a second signer list with the same commitment would take
    /// ~2^208 work, and the committed list was checked against the signatures at filing.
    function _signersHash(address[] memory signers) private pure returns (bytes26) {
        return bytes26(keccak256(abi.encodePacked(signers)));
    }

    // ---- owner lists ----

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

    function _indexOf(Share[] memory owners, uint64 participantId) private pure returns (uint256) {
        for (uint256 i = 0; i < owners.length; ++i) {
            if (owners[i].participantId == participantId) return i;
        }
        return owners.length;
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

    // ---- ids ----

    function _assetId(bytes2 jurisdiction, AssetKind kind, string calldata number)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(jurisdiction, kind, number));
    }

    function _isUpper(bytes1 c) private pure returns (bool) {
        return c >= "A" && c <= "Z";
    }
}
