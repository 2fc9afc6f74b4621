// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAssignmentRegistry} from "./IAssignmentRegistry.sol";
import {IIPAssetRegistry} from "./IIPAssetRegistry.sol";
import {IParticipantRegistry} from "./IParticipantRegistry.sol";
import {TypedApprovals} from "./TypedApprovals.sol";

/// @title Assignment recordals
contract AssignmentRegistry is IAssignmentRegistry, TypedApprovals {
    // forgefmt: disable-next-item
    bytes32 public constant ASSIGNMENT_TYPEHASH = keccak256(
        "Assignment(uint256 deadline,uint256 chainId,address verifyingContract,bytes32 assetId,uint64 assignor,uint64 assignee,uint16 shareBps,bytes32 termsHash,uint256 nonce)"
    );

    IParticipantRegistry public immutable participants;
    IIPAssetRegistry public immutable assets;

    mapping(bytes32 assignmentId => AssignmentRecord) private _assignments;

    constructor(IParticipantRegistry participantRegistry, IIPAssetRegistry assetRegistry)
        TypedApprovals("AssignmentRegistry")
    {
        participants = participantRegistry;
        assets = assetRegistry;
    }

    modifier onlyOffice() {
        if (!participants.isOffice(msg.sender)) revert AssignmentRegistryNotOffice(msg.sender);
        _;
    }

    /// @inheritdoc IAssignmentRegistry
    function fileAssignment(Assignment calldata a, Signature[] calldata signatures)
        external
        returns (bytes32 assignmentId)
    {
        _checkEnvelope(a.deadline, a.chainId, a.verifyingContract);
        assignmentId = _assignmentDigest(a);
        AssignmentRecord storage record = _assignments[assignmentId];
        if (record.status != AssignmentStatus.None) {
            revert AssignmentRegistryAlreadyFiled(assignmentId, record.status);
        }
        if (signatures.length < 2) revert AssignmentRegistryMissingSignature(signatures.length);
        _useCheckedNonce(signatures[0].signer, a.nonce);
        address[] memory signers = new address[](signatures.length);
        for (uint256 i = 0; i < signatures.length; ++i) {
            _checkSignature(signatures[i].signer, assignmentId, signatures[i].signature);
            signers[i] = signatures[i].signer;
        }
        _checkParties(a, signers);

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

    /// @inheritdoc IAssignmentRegistry
    function registerAssignment(Assignment calldata a, address[] calldata signers)
        external
        onlyOffice
    {
        bytes32 assignmentId = _assignmentDigest(a);
        AssignmentRecord storage record = _filed(assignmentId);
        if (record.signersHash != _signersHash(signers)) {
            revert AssignmentRegistrySignersMismatch(assignmentId);
        }
        _checkParties(a, signers);

        record.status = AssignmentStatus.Registered;
        emit AssignmentRegistered(assignmentId, a.assetId, msg.sender);
        assets.transferShare(a.assetId, a.assignor, a.assignee, a.shareBps, assignmentId);
    }

    /// @inheritdoc IAssignmentRegistry
    function rejectAssignment(bytes32 assignmentId, uint16 reasonCode) external onlyOffice {
        AssignmentRecord storage record = _filed(assignmentId);
        if (reasonCode == 0) revert AssignmentRegistryInvalidReason(reasonCode);
        record.status = AssignmentStatus.Rejected;
        emit AssignmentRejected(assignmentId, reasonCode, msg.sender);
    }

    /// @inheritdoc IAssignmentRegistry
    function assignment(bytes32 assignmentId) external view returns (AssignmentRecord memory) {
        return _assignments[assignmentId];
    }

    /// @inheritdoc IAssignmentRegistry
    function assignmentDigest(Assignment calldata a) external view returns (bytes32) {
        return _assignmentDigest(a);
    }

    /// @dev The rules that filing and registration both enforce, against the state of now.
    function _checkParties(Assignment calldata a, address[] memory signers) private view {
        if (a.shareBps == 0 || a.shareBps > 10_000) revert AssignmentRegistryInvalidShare(a.shareBps);
        if (a.assignor == a.assignee) revert AssignmentRegistrySameParty(a.assignor);
        if (signers.length < 2) revert AssignmentRegistryMissingSignature(signers.length);
        _checkSigner(signers[0], a.assignor);
        _checkSigner(signers[1], a.assignee);

        IIPAssetRegistry.Asset memory right = assets.asset(a.assetId);
        if (right.status == IIPAssetRegistry.AssetStatus.None) {
            revert AssignmentRegistryUnknownAsset(a.assetId);
        }
        if (
            right.status != IIPAssetRegistry.AssetStatus.Registered
                || (right.expiryDate != 0 && block.timestamp > right.expiryDate)
        ) revert AssignmentRegistryRightNotInForce(a.assetId, right.status);

        // Every owner other than the parties must consent, each through one key of its own.
        IIPAssetRegistry.Share[] memory owners = right.owners;
        bool[] memory consented = new bool[](owners.length);
        uint16 held = 0;
        for (uint256 i = 0; i < owners.length; ++i) {
            uint64 owner = owners[i].participantId;
            if (owner == a.assignor) held = owners[i].bps;
            consented[i] = owner == a.assignor || owner == a.assignee;
        }
        if (held < a.shareBps) revert AssignmentRegistryShareTooHigh(a.assetId, held, a.shareBps);
        for (uint256 s = 2; s < signers.length; ++s) {
            (uint64 coOwner, bool active) = participants.keyStatus(signers[s]);
            uint256 i = _indexOf(owners, coOwner);
            if (i == owners.length || consented[i]) {
                revert AssignmentRegistryUnexpectedSigner(signers[s], coOwner);
            }
            if (!active) revert AssignmentRegistryPartyNotActive(coOwner);
            consented[i] = true;
        }
        for (uint256 i = 0; i < owners.length; ++i) {
            if (!consented[i]) {
                revert AssignmentRegistryMissingConsent(a.assetId, owners[i].participantId);
            }
        }
    }

    function _checkSigner(address signer, uint64 expected) private view {
        (uint64 boundTo, bool active) = participants.keyStatus(signer);
        if (boundTo != expected) revert AssignmentRegistryWrongSigner(signer, expected, boundTo);
        if (!active) revert AssignmentRegistryPartyNotActive(expected);
    }

    function _filed(bytes32 assignmentId) private view returns (AssignmentRecord storage record) {
        record = _assignments[assignmentId];
        if (record.status != AssignmentStatus.Filed) {
            revert AssignmentRegistryNotFiled(assignmentId, record.status);
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

    function _indexOf(IIPAssetRegistry.Share[] memory owners, uint64 participantId)
        private
        pure
        returns (uint256)
    {
        for (uint256 i = 0; i < owners.length; ++i) {
            if (owners[i].participantId == participantId) return i;
        }
        return owners.length;
    }
}
