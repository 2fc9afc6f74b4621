// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title The yardstick of bench.gas: OpenZeppelin's ERC-721 as its Wizard writes a mintable one.
contract ReferenceERC721 is ERC721, Ownable {
    constructor(address initialOwner) ERC721("Reference", "REF") Ownable(initialOwner) {}

    function safeMint(address to, uint256 tokenId) external onlyOwner {
        _safeMint(to, tokenId);
    }
}
