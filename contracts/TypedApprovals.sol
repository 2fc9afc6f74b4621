// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

import {ITypedApprovals} from "./ITypedApprovals.sol";

/// @title Checks shared by every contract that accepts EIP-712 approvals.
abstract contract TypedApprovals is ITypedApprovals, EIP712, Nonces {
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

    /// @dev OpenZeppelin's SignatureChecker, as of 5.3.0. The 5.4.0 library imports
    /// `utils/Bytes.sol`, which uses `mcopy` and so does not compile for shanghai, the newest EVM
    /// that Besu supports on QBFT. Keep in step with upstream when the pin moves.
    function _isValidSignatureNow(address signer, bytes32 digest, bytes calldata signature)
        private
        view
        returns (bool)
    {
        if (signer.code.length == 0) {
            (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
            return err == ECDSA.RecoverError.NoError && recovered == signer;
        }
        (bool success, bytes memory result) =
            signer.staticcall(abi.encodeCall(IERC1271.isValidSignature, (digest, signature)));
        return success && result.length >= 32
            && abi.decode(result, (bytes32)) == bytes32(IERC1271.isValidSignature.selector);
    }
}
