// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {IParticipantRegistry} from "./IParticipantRegistry.sol";
import {TypedApprovals} from "./TypedApprovals.sol";

/// @title Participant registry
contract ParticipantRegistry is IParticipantRegistry, TypedApprovals, AccessControl {
    /// @notice Contracts that verify typed approvals and use up the signing key's nonce.
    bytes32 public constant NONCE_CONSUMER_ROLE = keccak256("NONCE_CONSUMER_ROLE");

    uint8 public constant ROLE_OFFICE = 1 << 0;
    uint8 public constant ROLE_VALUATOR = 1 << 1;
    uint8 public constant ROLE_REVIEWER = 1 << 2;
    uint8 public constant ROLE_BANK = 1 << 3;
    uint8 public constant ROLE_PARTICIPANT = 1 << 4;
    uint8 private constant _ALL_ROLES =
        ROLE_OFFICE | ROLE_VALUATOR | ROLE_REVIEWER | ROLE_BANK | ROLE_PARTICIPANT;

    /// @dev Keys per participant at enrolment; more would only make a compromise harder to see.
    uint256 public constant MAX_KEYS = 8;

    // forgefmt: disable-next-item
    bytes32 public constant KEY_ROTATION_TYPEHASH = keccak256(
        "KeyRotation(uint256 deadline,uint256 chainId,address verifyingContract,uint64 participantId,address currentKey,address newKey,uint256 nonce)"
    );

    /// @dev One slot per key: reading the binding warms the nonce that an approval then bumps.
    struct KeyBinding {
        uint64 participantId;
        bool retired;
        uint64 nonce;
    }

    /// @notice The office enrolled at deployment; its primary key is recognised in one read.
    uint64 public immutable FOUNDING_OFFICE_ID;

    mapping(uint64 participantId => Participant) private _participants;
    mapping(address key => KeyBinding) private _keys;

    /// @param officeId The office's own participant id.
    /// @param fingerprint SHA-256 of the office's certificate (its own root or a leaf under it).
    /// @param notAfter End of that certificate's validity.
    /// @param officeKeys The office's first keys.
    /// @param admin Governance account that appoints nonce consumers.
    constructor(
        uint64 officeId,
        bytes32 fingerprint,
        uint64 notAfter,
        address[] memory officeKeys,
        address admin
    ) TypedApprovals("ParticipantRegistry") {
        FOUNDING_OFFICE_ID = officeId;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _enrol(officeId, ROLE_OFFICE, fingerprint, notAfter, officeKeys, msg.sender);
    }

    modifier onlyOffice() {
        if (!_isOffice(msg.sender)) revert ParticipantRegistryNotOffice(msg.sender);
        _;
    }

    /// @inheritdoc IParticipantRegistry
    function enrol(
        uint64 participantId,
        uint8 roles,
        bytes32 certificateFingerprint,
        uint64 certificateNotAfter,
        address[] calldata keys
    ) external onlyOffice {
        _enrol(participantId, roles, certificateFingerprint, certificateNotAfter, keys, msg.sender);
    }

    /// @inheritdoc IParticipantRegistry
    function suspend(uint64 participantId, uint16 reasonCode) external onlyOffice {
        Participant storage p = _otherParticipant(participantId);
        if (p.status != ParticipantStatus.Active) {
            revert ParticipantRegistryInvalidStatus(participantId, p.status);
        }
        if (reasonCode == 0) revert ParticipantRegistryInvalidReason(reasonCode);
        p.status = ParticipantStatus.Suspended;
        emit ParticipantSuspended(participantId, reasonCode, msg.sender);
    }

    /// @inheritdoc IParticipantRegistry
    function reinstate(uint64 participantId) external onlyOffice {
        Participant storage p = _otherParticipant(participantId);
        if (p.status != ParticipantStatus.Suspended) {
            revert ParticipantRegistryInvalidStatus(participantId, p.status);
        }
        p.status = ParticipantStatus.Active;
        emit ParticipantReinstated(participantId, msg.sender);
    }

    /// @inheritdoc IParticipantRegistry
    function revoke(uint64 participantId, uint16 reasonCode) external onlyOffice {
        Participant storage p = _otherParticipant(participantId);
        if (p.status == ParticipantStatus.Revoked) {
            revert ParticipantRegistryInvalidStatus(participantId, p.status);
        }
        if (reasonCode == 0) revert ParticipantRegistryInvalidReason(reasonCode);
        p.status = ParticipantStatus.Revoked;
        emit ParticipantRevoked(participantId, reasonCode, msg.sender);
    }

    /// @inheritdoc IParticipantRegistry
    function setRoles(uint64 participantId, uint8 roles) external onlyOffice {
        Participant storage p = _otherParticipant(participantId);
        if (p.status == ParticipantStatus.Revoked) {
            revert ParticipantRegistryInvalidStatus(participantId, p.status);
        }
        _checkRoles(roles);
        if (p.roles == roles) return;
        p.roles = roles;
        emit ParticipantRolesChanged(participantId, roles, msg.sender);
    }

    /// @inheritdoc IParticipantRegistry
    function renewCertificate(uint64 participantId, bytes32 certificateFingerprint, uint64 notAfter)
        external
        onlyOffice
    {
        Participant storage p = _existing(participantId);
        if (p.status == ParticipantStatus.Revoked) {
            revert ParticipantRegistryInvalidStatus(participantId, p.status);
        }
        _checkCertificate(certificateFingerprint, notAfter);
        p.certificateFingerprint = certificateFingerprint;
        p.certificateNotAfter = notAfter;
        emit CertificateRenewed(participantId, certificateFingerprint, notAfter, msg.sender);
    }

    /// @inheritdoc IParticipantRegistry
    function rotateKey(KeyRotation calldata rotation, bytes calldata signature)
        external
        onlyOffice
    {
        _checkEnvelope(rotation.deadline, rotation.chainId, rotation.verifyingContract);
        _checkBound(rotation.currentKey, rotation.participantId);
        _requireActive(rotation.participantId);
        _useNonce(_keys[rotation.currentKey], rotation.currentKey, rotation.nonce);
        _checkSignature(rotation.currentKey, _keyRotationDigest(rotation), signature);
        _replaceKey(rotation.participantId, rotation.currentKey, rotation.newKey);
        emit KeyRotated(rotation.participantId, rotation.currentKey, rotation.newKey, msg.sender);
    }

    /// @inheritdoc IParticipantRegistry
    function recoverKey(uint64 participantId, address lostKey, address newKey)
        external
        onlyOffice
    {
        Participant storage p = _otherParticipant(participantId);
        if (p.status == ParticipantStatus.Revoked) {
            revert ParticipantRegistryInvalidStatus(participantId, p.status);
        }
        _checkBound(lostKey, participantId);
        _replaceKey(participantId, lostKey, newKey);
        emit KeyRecovered(participantId, lostKey, newKey, msg.sender);
    }

    /// @inheritdoc IParticipantRegistry
    function useNonce(address key, uint256 nonce)
        external
        onlyRole(NONCE_CONSUMER_ROLE)
        returns (uint64 participantId, bool active)
    {
        KeyBinding storage binding = _keys[key];
        participantId = binding.participantId;
        if (participantId == 0) return (0, false);
        _useNonce(binding, key, nonce);
        active = _isActive(_participants[participantId]);
    }

    /// @inheritdoc IParticipantRegistry
    function participant(uint64 participantId) external view returns (Participant memory) {
        return _participants[participantId];
    }

    /// @inheritdoc IParticipantRegistry
    function participantOf(address key) external view returns (uint64) {
        return _keys[key].participantId;
    }

    /// @inheritdoc IParticipantRegistry
    function keyStatus(address key) external view returns (uint64 participantId, bool active) {
        participantId = _keys[key].participantId;
        active = participantId != 0 && _isActive(_participants[participantId]);
    }

    /// @inheritdoc IParticipantRegistry
    function checkKey(uint64 participantId, address key)
        external
        view
        returns (bool bound, bool active)
    {
        Participant storage p = _participants[participantId];
        bound = participantId != 0 && key != address(0)
            && (p.primaryKey == key || _keys[key].participantId == participantId);
        active = bound && _isActive(p);
    }

    /// @inheritdoc IParticipantRegistry
    function nonces(address key) external view returns (uint256) {
        return _keys[key].nonce;
    }

    /// @inheritdoc IParticipantRegistry
    function isRetired(address key) external view returns (bool) {
        return _keys[key].retired;
    }

    /// @inheritdoc IParticipantRegistry
    function isActive(uint64 participantId) external view returns (bool) {
        return _isActive(_participants[participantId]);
    }

    /// @inheritdoc IParticipantRegistry
    function isOffice(address account) external view returns (bool) {
        return _isOffice(account);
    }

    /// @inheritdoc IParticipantRegistry
    function keyRotationDigest(KeyRotation calldata rotation) external view returns (bytes32) {
        return _keyRotationDigest(rotation);
    }

    /// @inheritdoc IParticipantRegistry
    function transactionAllowed(
        address sender,
        address, /* target */
        uint256, /* value */
        uint256, /* gasPrice */
        uint256, /* gasLimit */
        bytes calldata /* payload */
    ) external view returns (bool) {
        uint64 participantId = _keys[sender].participantId;
        return participantId != 0 && _isActive(_participants[participantId]);
    }

    function _enrol(
        uint64 participantId,
        uint8 roles,
        bytes32 fingerprint,
        uint64 notAfter,
        address[] memory keys,
        address office
    ) private {
        if (participantId == 0) revert ParticipantRegistryInvalidParticipantId(participantId);
        Participant storage p = _participants[participantId];
        if (p.status != ParticipantStatus.None) revert ParticipantRegistryAlreadyEnrolled(participantId);
        _checkRoles(roles);
        _checkCertificate(fingerprint, notAfter);
        if (keys.length == 0 || keys.length > MAX_KEYS) {
            revert ParticipantRegistryInvalidKeyCount(keys.length);
        }
        p.status = ParticipantStatus.Active;
        p.roles = roles;
        p.certificateNotAfter = notAfter;
        p.primaryKey = keys[0];
        p.certificateFingerprint = fingerprint;
        for (uint256 i = 0; i < keys.length; ++i) {
            _bind(keys[i], participantId);
        }
        emit ParticipantEnrolled(participantId, roles, fingerprint, notAfter, keys, office);
    }

    function _replaceKey(uint64 participantId, address oldKey, address newKey) private {
        _bind(newKey, participantId);
        KeyBinding storage old = _keys[oldKey];
        old.participantId = 0;
        old.retired = true;
        Participant storage p = _participants[participantId];
        if (p.primaryKey == oldKey) p.primaryKey = newKey;
    }

    function _useNonce(KeyBinding storage binding, address key, uint256 nonce) private {
        uint64 current = binding.nonce;
        if (nonce != current) revert ParticipantRegistryInvalidNonce(key, current);
        binding.nonce = current + 1;
    }

    function _bind(address key, uint64 participantId) private {
        if (key == address(0)) revert ParticipantRegistryInvalidKey(key);
        KeyBinding storage binding = _keys[key];
        if (binding.retired) revert ParticipantRegistryKeyRetired(key);
        if (binding.participantId != 0) {
            revert ParticipantRegistryKeyBound(key, binding.participantId);
        }
        binding.participantId = participantId;
    }

    function _existing(uint64 participantId) private view returns (Participant storage p) {
        p = _participants[participantId];
        if (p.status == ParticipantStatus.None) {
            revert ParticipantRegistryUnknownParticipant(participantId);
        }
    }

    /// @dev An office key may not suspend, revoke, re-role or recover its own participant: the
    /// last office would lock itself out, and a stolen office key could not hide behind itself.
    function _otherParticipant(uint64 participantId) private view returns (Participant storage) {
        if (_keys[msg.sender].participantId == participantId) {
            revert ParticipantRegistrySelfAction(participantId);
        }
        return _existing(participantId);
    }

    function _checkBound(address key, uint64 participantId) private view {
        if (_keys[key].participantId != participantId || participantId == 0) {
            revert ParticipantRegistryKeyNotBound(key, participantId);
        }
    }

    /// @dev Every recordal asks this; the founding office's primary key (the relayer's, as a
    /// rule) is answered from the office's own record without the key index.
    function _isOffice(address account) private view returns (bool) {
        Participant storage p = _participants[FOUNDING_OFFICE_ID];
        if (p.primaryKey != account) {
            uint64 participantId = _keys[account].participantId;
            if (participantId == 0) return false;
            p = _participants[participantId];
        }
        return p.roles & ROLE_OFFICE != 0 && _isActive(p);
    }

    function _requireActive(uint64 participantId) private view {
        Participant storage p = _participants[participantId];
        if (p.status != ParticipantStatus.Active) {
            revert ParticipantRegistryInvalidStatus(participantId, p.status);
        }
        if (block.timestamp > p.certificateNotAfter) {
            revert ParticipantRegistryCertificateExpired(participantId, p.certificateNotAfter);
        }
    }

    function _isActive(Participant storage p) private view returns (bool) {
        return p.status == ParticipantStatus.Active && block.timestamp <= p.certificateNotAfter;
    }

    function _keyRotationDigest(KeyRotation calldata r) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    KEY_ROTATION_TYPEHASH,
                    r.deadline,
                    r.chainId,
                    r.verifyingContract,
                    r.participantId,
                    r.currentKey,
                    r.newKey,
                    r.nonce
                )
            )
        );
    }

    function _checkRoles(uint8 roles) private pure {
        if (roles == 0 || roles & ~_ALL_ROLES != 0) revert ParticipantRegistryInvalidRoles(roles);
    }

    function _checkCertificate(bytes32 fingerprint, uint64 notAfter) private view {
        if (fingerprint == bytes32(0) || notAfter <= block.timestamp) {
            revert ParticipantRegistryInvalidCertificate(fingerprint, notAfter);
        }
    }
}
