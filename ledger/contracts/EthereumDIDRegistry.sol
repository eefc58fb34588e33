// SPDX-License-Identifier: EUPL-1.2
pragma solidity 0.8.37;

/// @title EthereumDIDRegistry: the ERC-1056 "Lightweight Identity" registry behind did:ethr, written for govssi.
/// @notice The external interface (function signatures, public mappings, events and their parameter lists) is the one
/// ERC-1056 specifies, so did:ethr resolvers and controllers work against this contract unchanged. Every Ethereum
/// address is an identity that owns itself until its owner is changed (ERC-1056 "Identity ownership").
/// @dev Two deliberate tightenings, both invisible to resolvers (which read events):
/// (1) deactivation is final: after the owner is set to 0x0 (did:ethr "Delete (Revoke)": "this will indicate the
///     identity has no owner") `identityOwner` returns 0x0, so no key, not even the identity's own, can change it
///     again, and `validDelegate` answers false for it;
/// (2) signed calls accept only canonical signatures (v in {27, 28}, s in the lower half of the curve order).
contract EthereumDIDRegistry {
    /// ERC-1056: the owner set by `changeOwner`; 0x0 means the identity owns itself (see `identityOwner`).
    mapping(address => address) public owners;
    /// ERC-1056: identity => keccak256(delegateType) => delegate => validTo (unix seconds).
    mapping(address => mapping(bytes32 => mapping(address => uint256))) public delegates;
    /// ERC-1056 "Efficient lookup of events": the block of the identity's latest change; head of the event chain.
    mapping(address => uint256) public changed;
    /// ERC-1056 signed calls: replay counter of the signer (the identity's owner when it signed).
    mapping(address => uint256) public nonce;

    /// Identities whose owner was set to 0x0. Kept apart from `owners` so that getter still answers 0x0 as ERC-1056 does.
    mapping(address => bool) private deactivated;

    /// Upper bound for `s` in a canonical secp256k1 signature (half the group order), as EIP-2 requires of transactions.
    uint256 private constant HALF_CURVE_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// ERC-1056: MUST be triggered when `changeOwner` or `changeOwnerSigned` was successfully called.
    event DIDOwnerChanged(address indexed identity, address owner, uint256 previousChange);

    /// ERC-1056: MUST be triggered when a change to a delegate was successfully made.
    event DIDDelegateChanged(
        address indexed identity,
        bytes32 delegateType,
        address delegate,
        uint256 validTo,
        uint256 previousChange
    );

    /// ERC-1056: MUST be triggered when a change to an attribute was successfully made.
    event DIDAttributeChanged(
        address indexed identity,
        bytes32 name,
        bytes value,
        uint256 validTo,
        uint256 previousChange
    );

    /// Only the identity's current owner may change it ("bad_actor" otherwise).
    modifier onlyOwner(address identity, address actor) {
        require(actor == identityOwner(identity), "bad_actor");
        _;
    }

    // ---- Identity ownership (ERC-1056) ----

    /// ERC-1056 identityOwner: "Returns the owner of the given identity." By default an identity owns itself.
    function identityOwner(address identity) public view returns (address) {
        address owner = owners[identity];
        if (owner != address(0)) {
            return owner;
        }
        if (deactivated[identity]) {
            return address(0);
        }
        return identity;
    }

    /// ERC-1056 changeOwner: "Sets the owner of the given identity to another ethereum account."
    function changeOwner(address identity, address newOwner) external {
        _changeOwner(identity, msg.sender, newOwner);
    }

    /// ERC-1056 changeOwnerSigned: changeOwner authorised by the owner's signature over
    /// 0x19 0x00 registry nonce identity "changeOwner" newOwner.
    function changeOwnerSigned(address identity, uint8 sigV, bytes32 sigR, bytes32 sigS, address newOwner) external {
        bytes32 digest = keccak256(
            abi.encodePacked(
                bytes1(0x19),
                bytes1(0),
                address(this),
                nonce[identityOwner(identity)],
                identity,
                "changeOwner",
                newOwner
            )
        );
        _changeOwner(identity, _signer(identity, sigV, sigR, sigS, digest), newOwner);
    }

    // ---- Delegate management (ERC-1056) ----

    /// ERC-1056 validDelegate: "Returns true if the given delegate is a delegate with type delegateType of identity."
    /// A delegate is valid strictly before its validTo; a deactivated identity has no valid delegates.
    function validDelegate(address identity, bytes32 delegateType, address delegate) external view returns (bool) {
        if (deactivated[identity]) {
            return false;
        }
        return delegates[identity][keccak256(abi.encodePacked(delegateType))][delegate] > block.timestamp;
    }

    /// ERC-1056 addDelegate: "validity indicates the number of seconds that the delegate will be valid for".
    function addDelegate(address identity, bytes32 delegateType, address delegate, uint256 validity) external {
        _addDelegate(identity, msg.sender, delegateType, delegate, validity);
    }

    /// ERC-1056 addDelegateSigned: signed over 0x19 0x00 registry nonce identity "addDelegate" delegateType delegate
    /// validity.
    function addDelegateSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 delegateType,
        address delegate,
        uint256 validity
    ) external {
        bytes32 digest = keccak256(
            abi.encodePacked(
                bytes1(0x19),
                bytes1(0),
                address(this),
                nonce[identityOwner(identity)],
                identity,
                "addDelegate",
                delegateType,
                delegate,
                validity
            )
        );
        _addDelegate(identity, _signer(identity, sigV, sigR, sigS, digest), delegateType, delegate, validity);
    }

    /// ERC-1056 revokeDelegate: "Revokes the given delegate for the given identity." The delegate's validTo becomes
    /// the current block time, so it is no longer valid from this block on.
    function revokeDelegate(address identity, bytes32 delegateType, address delegate) external {
        _revokeDelegate(identity, msg.sender, delegateType, delegate);
    }

    /// ERC-1056 revokeDelegateSigned: signed over 0x19 0x00 registry nonce identity "revokeDelegate" delegateType
    /// delegate.
    function revokeDelegateSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 delegateType,
        address delegate
    ) external {
        bytes32 digest = keccak256(
            abi.encodePacked(
                bytes1(0x19),
                bytes1(0),
                address(this),
                nonce[identityOwner(identity)],
                identity,
                "revokeDelegate",
                delegateType,
                delegate
            )
        );
        _revokeDelegate(identity, _signer(identity, sigV, sigR, sigS, digest), delegateType, delegate);
    }

    // ---- Attribute management (ERC-1056); attributes live only in events ----

    /// ERC-1056 setAttribute: "Sets an attribute with the given name and value, valid for validity seconds."
    function setAttribute(address identity, bytes32 name, bytes calldata value, uint256 validity) external {
        _setAttribute(identity, msg.sender, name, value, validity);
    }

    /// ERC-1056 setAttributeSigned: signed over 0x19 0x00 registry nonce identity "setAttribute" name value validity.
    function setAttributeSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 name,
        bytes calldata value,
        uint256 validity
    ) external {
        bytes32 digest = keccak256(
            abi.encodePacked(
                bytes1(0x19),
                bytes1(0),
                address(this),
                nonce[identityOwner(identity)],
                identity,
                "setAttribute",
                name,
                value,
                validity
            )
        );
        _setAttribute(identity, _signer(identity, sigV, sigR, sigS, digest), name, value, validity);
    }

    /// ERC-1056 revokeAttribute: "Revokes an attribute." Announced with validTo 0.
    function revokeAttribute(address identity, bytes32 name, bytes calldata value) external {
        _revokeAttribute(identity, msg.sender, name, value);
    }

    /// ERC-1056 revokeAttributeSigned: signed over 0x19 0x00 registry nonce identity "revokeAttribute" name value.
    function revokeAttributeSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 name,
        bytes calldata value
    ) external {
        bytes32 digest = keccak256(
            abi.encodePacked(
                bytes1(0x19),
                bytes1(0),
                address(this),
                nonce[identityOwner(identity)],
                identity,
                "revokeAttribute",
                name,
                value
            )
        );
        _revokeAttribute(identity, _signer(identity, sigV, sigR, sigS, digest), name, value);
    }

    // ---- internals: one path per change, whoever authorised it ----

    /// The signer of `digest` if it is the identity's owner ("bad_signature" otherwise); consumes the signer's nonce so
    /// the same signature never applies twice.
    function _signer(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 digest
    ) private returns (address) {
        require(uint256(sigS) <= HALF_CURVE_ORDER, "bad_signature");
        address signer = ecrecover(digest, sigV, sigR, sigS);
        // ecrecover answers 0x0 for an invalid signature; a deactivated identity's owner is 0x0 too.
        require(signer != address(0) && signer == identityOwner(identity), "bad_signature");
        nonce[signer] += 1;
        return signer;
    }

    function _changeOwner(address identity, address actor, address newOwner) private onlyOwner(identity, actor) {
        owners[identity] = newOwner;
        if (newOwner == address(0)) {
            deactivated[identity] = true;
        }
        emit DIDOwnerChanged(identity, newOwner, changed[identity]);
        changed[identity] = block.number;
    }

    function _addDelegate(
        address identity,
        address actor,
        bytes32 delegateType,
        address delegate,
        uint256 validity
    ) private onlyOwner(identity, actor) {
        uint256 validTo = block.timestamp + validity;
        delegates[identity][keccak256(abi.encodePacked(delegateType))][delegate] = validTo;
        emit DIDDelegateChanged(identity, delegateType, delegate, validTo, changed[identity]);
        changed[identity] = block.number;
    }

    function _revokeDelegate(
        address identity,
        address actor,
        bytes32 delegateType,
        address delegate
    ) private onlyOwner(identity, actor) {
        delegates[identity][keccak256(abi.encodePacked(delegateType))][delegate] = block.timestamp;
        emit DIDDelegateChanged(identity, delegateType, delegate, block.timestamp, changed[identity]);
        changed[identity] = block.number;
    }

    function _setAttribute(
        address identity,
        address actor,
        bytes32 name,
        bytes calldata value,
        uint256 validity
    ) private onlyOwner(identity, actor) {
        emit DIDAttributeChanged(identity, name, value, block.timestamp + validity, changed[identity]);
        changed[identity] = block.number;
    }

    function _revokeAttribute(
        address identity,
        address actor,
        bytes32 name,
        bytes calldata value
    ) private onlyOwner(identity, actor) {
        emit DIDAttributeChanged(identity, name, value, 0, changed[identity]);
        changed[identity] = block.number;
    }
}
