// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

import {ITypedApprovals} from "./ITypedApprovals.sol";

/// @title Checks shared by every contract that accepts EIP-712 approvals.
abstract contract TypedApprovals is ITypedApprovals, EIP712 {
    constructor(string memory name) EIP712(name, "1") {}

    /// @dev Deadline first: an expired approval is refused whatever else is wrong with it.
    function _checkEnvelope(uint256 deadline, uint256 chainId, address verifyingContract)
        internal
        view
    {
        if (block.timestamp > deadline) revert ApprovalExpired(deadline, block.timestamp);
        if (chainId != block.chainid) revert ApprovalWrongChain(chainId, block.chainid);
        if (verifyingContract != address(this)) {
            revert ApprovalWrongContract(verifyingContract, address(this));
        }
    }

    function _checkSignature(address signer, bytes32 digest, bytes calldata signature)
        internal
        view
    {
        if (!_isValidSignatureNow(signer, digest, signature)) {
            revert ApprovalInvalidSignature(signer, digest);
        }
    }

    /// @dev ECDSA first, then ERC-1271, as Solady's SignatureCheckerLib does: an EOA signer costs
    /// no cold account access (2,600 gas a signer), and r, s, v are read from calldata without a
    /// copy. OpenZeppelin's SignatureChecker is not used: in 5.4.0 it imports `utils/Bytes.sol`,
    /// whose `mcopy` does not compile for shanghai.
    function _isValidSignatureNow(address signer, bytes32 digest, bytes calldata signature)
        private
        view
        returns (bool)
    {
        if (signature.length == 65) {
            (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(
                digest, uint8(signature[64]), bytes32(signature[0:32]), bytes32(signature[32:64])
            );
            if (err == ECDSA.RecoverError.NoError && recovered == signer) return true;
        }
        if (signer.code.length == 0) return false;
        (bool success, bytes memory result) =
            signer.staticcall(abi.encodeCall(IERC1271.isValidSignature, (digest, signature)));
        return success && result.length >= 32
            && abi.decode(result, (bytes32)) == bytes32(IERC1271.isValidSignature.selector);
    }
}
