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

    /// @notice An identified participant was enrolled with its roles, certificate and keys.
    /// @param participantId The participant's id, assigned by the office.
    /// @param roles Bitmask of ROLE_* flags.
    /// @param certificateFingerprint SHA-256 of its certificate's DER encoding.
    /// @param certificateNotAfter End of the certificate's validity (unix seconds).
    /// @param keys The keys bound to it.
    /// @param office The office key that enrolled it (the deployer for the founding office).
    event ParticipantEnrolled(
        uint64 indexed participantId,
        uint8 roles,
        bytes32 certificateFingerprint,
        uint64 certificateNotAfter,
        address[] keys,
        address indexed office
    );
    /// @notice A participant was suspended: its keys stop working everywhere at once.
    /// @param participantId The participant.
    /// @param reasonCode The office's reason code (never zero).
    /// @param office The office key that suspended it.
    event ParticipantSuspended(uint64 indexed participantId, uint16 reasonCode, address indexed office);
    /// @notice A suspension was lifted.
    /// @param participantId The participant.
    /// @param office The office key that reinstated it.
    event ParticipantReinstated(uint64 indexed participantId, address indexed office);
    /// @notice A participant was revoked for good; its keys are never reused.
    /// @param participantId The participant.
    /// @param reasonCode The office's reason code (never zero).
    /// @param office The office key that revoked it.
    event ParticipantRevoked(uint64 indexed participantId, uint16 reasonCode, address indexed office);
    /// @notice A participant's roles were replaced.
    /// @param participantId The participant.
    /// @param roles Its roles now, a bitmask of ROLE_* flags.
    /// @param office The office key that changed them.
    event ParticipantRolesChanged(uint64 indexed participantId, uint8 roles, address indexed office);
    /// @notice A participant's renewed certificate was recorded.
    /// @param participantId The participant.
    /// @param certificateFingerprint SHA-256 of the new certificate's DER encoding.
    /// @param certificateNotAfter End of its validity (unix seconds).
    /// @param office The office key that recorded it.
    event CertificateRenewed(
        uint64 indexed participantId,
        bytes32 certificateFingerprint,
        uint64 certificateNotAfter,
        address indexed office
    );
    /// @notice A key was replaced at the request of the participant, signed by the old key.
    /// @param participantId The participant.
    /// @param oldKey The key replaced, retired for good.
    /// @param newKey The key bound in its place.
    /// @param office The office key that recorded it.
    event KeyRotated(
        uint64 indexed participantId, address indexed oldKey, address indexed newKey, address office
    );
    /// @notice A lost key was replaced by the office alone, after re-identifying the participant.
    /// @param participantId The participant.
    /// @param lostKey The key replaced, retired for good.
    /// @param newKey The key bound in its place.
    /// @param office The office key that recovered it.
    event KeyRecovered(
        uint64 indexed participantId, address indexed lostKey, address indexed newKey, address office
    );

    /// @notice Only a key of an active office participant may do this.
    /// @param caller The key that tried.
    error ParticipantRegistryNotOffice(address caller);
    /// @notice No participant with this id is enrolled.
    /// @param participantId The id asked for.
    error ParticipantRegistryUnknownParticipant(uint64 participantId);
    /// @notice A participant with this id is enrolled already.
    /// @param participantId The id.
    error ParticipantRegistryAlreadyEnrolled(uint64 participantId);
    /// @notice Zero is not a participant id.
    /// @param participantId The id given.
    error ParticipantRegistryInvalidParticipantId(uint64 participantId);
    /// @notice The roles are none, or name a flag that is not a ROLE_*.
    /// @param roles The bitmask given.
    error ParticipantRegistryInvalidRoles(uint8 roles);
    /// @notice The certificate fingerprint is zero, or its validity has already ended.
    /// @param fingerprint The fingerprint given.
    /// @param notAfter The end of validity given (unix seconds).
    error ParticipantRegistryInvalidCertificate(bytes32 fingerprint, uint64 notAfter);
    /// @notice A participant needs between one and MAX_KEYS keys.
    /// @param count The number of keys it would have.
    error ParticipantRegistryInvalidKeyCount(uint256 count);
    /// @notice The zero address is not a key.
    /// @param key The key given.
    error ParticipantRegistryInvalidKey(address key);
    /// @notice The key is bound to a participant already.
    /// @param key The key.
    /// @param participantId The participant it is bound to.
    error ParticipantRegistryKeyBound(address key, uint64 participantId);
    /// @notice The key left its participant once and can never be bound again.
    /// @param key The key.
    error ParticipantRegistryKeyRetired(address key);
    /// @notice The key is not bound to this participant.
    /// @param key The key.
    /// @param participantId The participant named.
    error ParticipantRegistryKeyNotBound(address key, uint64 participantId);
    /// @notice The participant's status does not allow this (already suspended, not suspended,
    /// revoked...).
    /// @param participantId The participant.
    /// @param status Its status now.
    error ParticipantRegistryInvalidStatus(uint64 participantId, ParticipantStatus status);
    /// @notice An office key may not suspend, revoke, re-role or recover its own participant.
    /// @param participantId Its own participant.
    error ParticipantRegistrySelfAction(uint64 participantId);
    /// @notice A decision needs a reason code other than zero.
    /// @param reasonCode The reason code given.
    error ParticipantRegistryInvalidReason(uint16 reasonCode);
    /// @notice The approval names another nonce than the key's next one: a replay, or made stale.
    /// @param key The signing key.
    /// @param currentNonce Its next nonce.
    error ParticipantRegistryInvalidNonce(address key, uint256 currentNonce);
    /// @notice The participant's certificate has expired: it cannot act until the office renews it.
    /// @param participantId The participant.
    /// @param notAfter When its certificate ended (unix seconds).
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
