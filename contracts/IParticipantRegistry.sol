// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ITypedApprovals} from "./ITypedApprovals.sol";

/// @title Participant registry: who may act on the ledger, with which keys and in which roles.
/// @notice A participant is identified by a `participantId` that the office assigns when it
/// identifies the participant off-chain and issues its X.509 certificate. Keys (addresses) are
/// bound to a participant, several per participant, so that a key can be rotated, or a lost key
/// replaced by the office after re-identification, without moving any right. A key that leaves a
/// participant is retired for good. Only the SHA-256 fingerprint of the certificate is on chain;
/// personal data never is. The office itself is a participant with the OFFICE role: its keys are
/// the accounts that enrol participants, register rights and decide on recordals.
///
/// Each key has one approval nonce for the whole ledger, kept beside its binding: every typed
/// approval a key signs (a key rotation here, an assignment in the AssignmentRegistry...) names
/// the key's next nonce and uses it up, so a signature can be used once, and a participant can
/// void everything it has signed but not yet filed by having any approval filed.
interface IParticipantRegistry is ITypedApprovals {
    enum ParticipantStatus {
        None,
        Active,
        Suspended,
        Revoked
    }

    struct Participant {
        ParticipantStatus status;
        /// Bitmask of ROLE_* flags.
        uint8 roles;
        /// End of the validity of the office-issued certificate (unix seconds); the participant
        /// cannot act after it until the certificate is renewed.
        uint64 certificateNotAfter;
        /// The first of its keys; kept beside the status so that checking a party's signature
        /// by this key (the usual case) takes one storage read.
        address primaryKey;
        /// SHA-256 of the DER encoding of the participant's certificate.
        bytes32 certificateFingerprint;
    }

    /// @notice A key rotation, signed by the key being replaced and recorded by the office.
    struct KeyRotation {
        uint256 deadline;
        uint256 chainId;
        address verifyingContract;
        uint64 participantId;
        address currentKey;
        address newKey;
        uint256 nonce;
    }

    event ParticipantEnrolled(
        uint64 indexed participantId,
        uint8 roles,
        bytes32 certificateFingerprint,
        uint64 certificateNotAfter,
        address[] keys,
        address indexed office
    );
    event ParticipantSuspended(uint64 indexed participantId, uint16 reasonCode, address indexed office);
    event ParticipantReinstated(uint64 indexed participantId, address indexed office);
    event ParticipantRevoked(uint64 indexed participantId, uint16 reasonCode, address indexed office);
    event ParticipantRolesChanged(uint64 indexed participantId, uint8 roles, address indexed office);
    event CertificateRenewed(
        uint64 indexed participantId,
        bytes32 certificateFingerprint,
        uint64 certificateNotAfter,
        address indexed office
    );
    /// @notice A key was replaced at the request of the participant, signed by the old key.
    event KeyRotated(
        uint64 indexed participantId, address indexed oldKey, address indexed newKey, address office
    );
    /// @notice A lost key was replaced by the office alone, after re-identifying the participant.
    event KeyRecovered(
        uint64 indexed participantId, address indexed lostKey, address indexed newKey, address office
    );

    error ParticipantRegistryNotOffice(address caller);
    error ParticipantRegistryUnknownParticipant(uint64 participantId);
    error ParticipantRegistryAlreadyEnrolled(uint64 participantId);
    error ParticipantRegistryInvalidParticipantId(uint64 participantId);
    error ParticipantRegistryInvalidRoles(uint8 roles);
    error ParticipantRegistryInvalidCertificate(bytes32 fingerprint, uint64 notAfter);
    error ParticipantRegistryInvalidKeyCount(uint256 count);
    error ParticipantRegistryInvalidKey(address key);
    error ParticipantRegistryKeyBound(address key, uint64 participantId);
    error ParticipantRegistryKeyRetired(address key);
    error ParticipantRegistryKeyNotBound(address key, uint64 participantId);
    error ParticipantRegistryInvalidStatus(uint64 participantId, ParticipantStatus status);
    error ParticipantRegistrySelfAction(uint64 participantId);
    error ParticipantRegistryInvalidReason(uint16 reasonCode);
    error ParticipantRegistryInvalidNonce(address key, uint256 currentNonce);
    error ParticipantRegistryCertificateExpired(uint64 participantId, uint64 notAfter);

    /// @notice Enrol an identified participant with its roles, certificate and keys (office only).
    function enrol(
        uint64 participantId,
        uint8 roles,
        bytes32 certificateFingerprint,
        uint64 certificateNotAfter,
        address[] calldata keys
    ) external;

    /// @notice Suspend an active participant: its keys stop working everywhere at once.
    function suspend(uint64 participantId, uint16 reasonCode) external;

    /// @notice Lift a suspension.
    function reinstate(uint64 participantId) external;

    /// @notice Revoke a participant for good; its keys stay bound to it and are never reused.
    function revoke(uint64 participantId, uint16 reasonCode) external;

    /// @notice Replace a participant's roles (office only).
    function setRoles(uint64 participantId, uint8 roles) external;

    /// @notice Record a renewed certificate (office only).
    function renewCertificate(uint64 participantId, bytes32 certificateFingerprint, uint64 notAfter)
        external;

    /// @notice Record a key rotation signed by the current key (office only).
    function rotateKey(KeyRotation calldata rotation, bytes calldata signature) external;

    /// @notice Replace a lost key without its signature (office only, after re-identification).
    function recoverKey(uint64 participantId, address lostKey, address newKey) external;

    /// @notice Use up a bound key's approval nonce (contracts holding NONCE_CONSUMER_ROLE).
    /// @return participantId The participant the key is bound to, 0 if none (nothing is used).
    /// @return active Whether that participant is active.
    function useNonce(address key, uint256 nonce) external returns (uint64 participantId, bool active);

    /// @notice The participant record; status None if unknown.
    function participant(uint64 participantId) external view returns (Participant memory);

    /// @notice The participant a key is bound to, or 0.
    function participantOf(address key) external view returns (uint64);

    /// @notice The participant a key is bound to (or 0), and whether that participant is active.
    function keyStatus(address key) external view returns (uint64 participantId, bool active);

    /// @notice Whether `key` is bound to `participantId` now, and whether it is active.
    function checkKey(uint64 participantId, address key)
        external
        view
        returns (bool bound, bool active);

    /// @notice The next approval nonce of a key.
    function nonces(address key) external view returns (uint256);

    /// @notice Whether a key has left its participant and can never be bound again.
    function isRetired(address key) external view returns (bool);

    /// @notice Whether the participant is active and its certificate is valid now.
    function isActive(uint64 participantId) external view returns (bool);

    /// @notice Whether `account` is a key of an active participant with the OFFICE role.
    function isOffice(address account) external view returns (bool);

    /// @notice The EIP-712 digest that the current key signs for a rotation.
    function keyRotationDigest(KeyRotation calldata rotation) external view returns (bytes32);

    /// @notice Besu account permissioning: whether `sender` may send a transaction at all.
    /// @dev Called by every validator for every transaction: never reverts, two storage reads.
    function transactionAllowed(
        address sender,
        address target,
        uint256 value,
        uint256 gasPrice,
        uint256 gasLimit,
        bytes calldata payload
    ) external view returns (bool);
}
