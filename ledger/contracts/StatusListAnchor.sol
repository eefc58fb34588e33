// SPDX-License-Identifier: EUPL-1.2
pragma solidity 0.8.37;

/// What the anchor asks of the trusted-issuer registry.
interface ITrustedIssuerRegistry {
    function canAnchor(address identity) external view returns (bool);
}

/// What the anchor asks of the ERC-1056 DID registry.
interface IIdentityOwners {
    function identityOwner(address identity) external view returns (address);
}

/// @title StatusListAnchor: the digest of every published status list version, recorded by its accredited issuer.
/// @notice Per issuer and status list the anchor keeps the latest version: the SHA-256 of the Status List Token as
/// served, a version counter and the block time. A verifier that fetched a status list compares the token's SHA-256
/// with the latest anchored digest, so a substituted list (a digest never anchored) or a rolled-back one (an older
/// version's digest, found in the `StatusListAnchored` events) is detected.
///
/// Issuers are did:ethr identities (ERC-1056): `issuer` is the identity address, and the sender must be its current
/// owner in the DID registry. The trusted-issuer registry must allow the identity to anchor (an accreditation that
/// is active or suspended names it). Status lists are named by the keccak-256 of their URI. The chain holds nothing
/// about holders: no status index, no credential, no list content.
///
/// Batching: `anchorBatch` records up to `MAX_BATCH` lists in one transaction. An entry whose digest equals the
/// list's latest anchored digest changes nothing (no new version, no event), so an issuer may anchor all its lists
/// after every publication.
contract StatusListAnchor {
    struct Anchor {
        bytes32 statusListSha256;
        uint64 version;
        uint64 time;
    }

    uint256 public constant MAX_BATCH = 512;

    // Storage rather than immutables: the runtime code stays exactly the artifact's, so deployments can be checked
    // byte for byte.
    ITrustedIssuerRegistry public trustedIssuers;
    IIdentityOwners public didRegistry;

    /// issuer identity => keccak256(status list URI) => latest anchor.
    mapping(address => mapping(bytes32 => Anchor)) private anchors;

    event StatusListAnchored(
        address indexed issuer,
        bytes32 indexed uriHash,
        bytes32 statusListSha256,
        uint64 version,
        uint64 time
    );

    constructor(ITrustedIssuerRegistry trustedIssuerRegistry, IIdentityOwners didRegistryAddress) {
        require(address(trustedIssuerRegistry) != address(0) && address(didRegistryAddress) != address(0), "zero_address");
        trustedIssuers = trustedIssuerRegistry;
        didRegistry = didRegistryAddress;
    }

    /// Anchor one status list version of `issuer`.
    function anchor(address issuer, bytes32 uriHash, bytes32 statusListSha256) external {
        _authorize(issuer);
        _anchor(issuer, uriHash, statusListSha256);
    }

    /// Anchor several status list versions of `issuer` in one transaction (`uriHashes[i]` with `digests[i]`).
    function anchorBatch(address issuer, bytes32[] calldata uriHashes, bytes32[] calldata digests) external {
        require(uriHashes.length == digests.length, "length_mismatch");
        require(uriHashes.length != 0 && uriHashes.length <= MAX_BATCH, "bad_batch");
        _authorize(issuer);
        for (uint256 i = 0; i < uriHashes.length; i++) {
            _anchor(issuer, uriHashes[i], digests[i]);
        }
    }

    /// The latest anchored version of a status list (all zero when none was anchored).
    function latest(
        address issuer,
        bytes32 uriHash
    ) external view returns (bytes32 statusListSha256, uint64 version, uint64 time) {
        Anchor storage entry = anchors[issuer][uriHash];
        return (entry.statusListSha256, entry.version, entry.time);
    }

    function _authorize(address issuer) private view {
        require(didRegistry.identityOwner(issuer) == msg.sender, "not_owner");
        require(trustedIssuers.canAnchor(issuer), "not_accredited");
    }

    function _anchor(address issuer, bytes32 uriHash, bytes32 statusListSha256) private {
        require(uriHash != bytes32(0) && statusListSha256 != bytes32(0), "zero_hash");
        Anchor storage entry = anchors[issuer][uriHash];
        if (entry.statusListSha256 == statusListSha256) {
            return;
        }
        uint64 version = entry.version + 1;
        entry.statusListSha256 = statusListSha256;
        entry.version = version;
        entry.time = uint64(block.timestamp);
        emit StatusListAnchored(issuer, uriHash, statusListSha256, version, uint64(block.timestamp));
    }
}
