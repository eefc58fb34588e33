// SPDX-License-Identifier: EUPL-1.2
pragma solidity 0.8.37;

/// @title TrustedIssuerRegistry: which authorities may issue which credentials, decided by a cooperative's members.
/// @notice Models a govdigital-style cooperative: public IT providers are members; members admit and remove members
/// and accredit, suspend, reinstate and revoke issuers by majority vote of the current members. Verifiers read the
/// decisions (`isAccredited`, `accreditationFor`, enumeration) instead of asking issuers.
///
/// Identities. An accreditation names the issuer's DID and, optionally, the SHA-256 of the DER SubjectPublicKeyInfo of
/// the public key in the issuer's X.509 certificate (HAIP issuers sign with `x5c`). Both are *issuer keys*: the DID's
/// key is `keccak256(bytes(did))`, the certificate's key is the SHA-256 itself; both map to the same accreditation.
/// `identity` is the Ethereum address behind a did:ethr DID (zero for other methods): the account whose owner in the
/// ERC-1056 registry may anchor status lists (StatusListAnchor). Nothing personal is stored: DIDs of authorities,
/// key hashes and credential type names only.
///
/// Voting. A proposal counts the proposer's yes vote. It is decided the moment yes votes of current members reach
/// the quorum (a strict majority: `members / 2 + 1`) - executed - or no votes make that impossible - rejected.
/// Votes are counted over the *current* members whenever a proposal is tallied, so votes of removed members no
/// longer count and members admitted later may still vote. A proposal expires `votingPeriod` seconds after it was
/// made. `execute` decides a proposal that reached its majority without a new vote (after members were removed).
///
/// Every change emits an event: members (`MemberAdded`, `MemberRemoved`), proposals (`ProposalCreated`, `VoteCast`,
/// `ProposalExecuted`, `ProposalRejected`), accreditations (`IssuerAccredited`, `AccreditationStatusChanged`,
/// `KeyCompromised`). Revert reasons are short snake_case codes.
contract TrustedIssuerRegistry {
    enum ProposalKind {
        None,
        AddMember,
        RemoveMember,
        Accredit,
        Suspend,
        Reinstate,
        Revoke,
        MarkCompromised
    }

    enum ProposalState {
        None,
        Open,
        Executed,
        Rejected
    }

    /// Superseded: replaced by a later accreditation of the same DID.
    enum Status {
        None,
        Active,
        Suspended,
        Revoked,
        Superseded
    }

    struct Proposal {
        ProposalKind kind;
        ProposalState state;
        address proposer;
        uint64 createdAt;
        uint64 expiresAt;
        bytes data;
        address[] voters;
    }

    struct Accreditation {
        string did;
        address identity;
        bytes32 certKeySha256;
        string[] credentialTypes;
        uint64 validFrom;
        uint64 validUntil;
        uint64 compromisedSince;
        Status status;
    }

    /// Parameters of an accreditation proposal (kept in a struct: fewer stack slots).
    struct AccreditationRequest {
        string did;
        address identity;
        bytes32 certKeySha256;
        string[] credentialTypes;
        uint64 validFrom;
        uint64 validUntil;
    }

    uint256 private constant MAX_DID_LENGTH = 256;
    uint256 private constant MAX_TYPES = 32;
    uint256 private constant MAX_TYPE_LENGTH = 256;
    uint8 private constant YES = 1;
    uint8 private constant NO = 2;

    /// Seconds a proposal stays open for votes. (Storage, not immutable: the runtime code stays exactly the
    /// artifact's, so deployments can be checked byte for byte.)
    uint64 public votingPeriod;

    address[] private memberList;
    /// 1-based position in `memberList`; 0 for non-members.
    mapping(address => uint256) private memberIndex;

    Proposal[] private proposalList;
    /// proposal id => member => YES / NO (0: has not voted).
    mapping(uint256 => mapping(address => uint8)) public ballot;

    Accreditation[] private accreditationList;
    /// issuer key (keccak256 of the DID, or the certificate key's SHA-256) => latest accreditation id (0: none).
    mapping(bytes32 => uint256) public accreditationOf;
    /// did:ethr identity address => latest accreditation id naming it (0: none).
    mapping(address => uint256) public accreditationOfIdentity;
    /// accreditation id => keccak256 of a credential type => covered.
    mapping(uint256 => mapping(bytes32 => bool)) private covers;
    /// issuer key => earliest time from which it is compromised (0: not marked). Final: a marked key is never
    /// accredited again.
    mapping(bytes32 => uint64) public keyCompromisedSince;

    event MemberAdded(address indexed member, uint256 indexed proposalId);
    event MemberRemoved(address indexed member, uint256 indexed proposalId);
    event ProposalCreated(
        uint256 indexed proposalId,
        ProposalKind kind,
        address indexed proposer,
        bytes data,
        uint64 expiresAt
    );
    event VoteCast(uint256 indexed proposalId, address indexed member, bool support);
    event ProposalExecuted(uint256 indexed proposalId);
    event ProposalRejected(uint256 indexed proposalId);
    event IssuerAccredited(
        uint256 indexed accreditationId,
        bytes32 indexed didKey,
        bytes32 indexed certKeySha256,
        string did,
        address identity,
        string[] credentialTypes,
        uint64 validFrom,
        uint64 validUntil,
        uint256 proposalId
    );
    event AccreditationStatusChanged(uint256 indexed accreditationId, Status status, uint256 indexed proposalId);
    event KeyCompromised(bytes32 indexed issuerKey, uint256 indexed accreditationId, uint64 since, uint256 proposalId);

    modifier onlyMember() {
        require(memberIndex[msg.sender] != 0, "not_member");
        _;
    }

    /// @param genesisMembers the cooperative's founding members (at least one, distinct, none zero)
    /// @param votingPeriodSeconds how long proposals stay open (at least one minute)
    constructor(address[] memory genesisMembers, uint64 votingPeriodSeconds) {
        require(genesisMembers.length != 0, "no_members");
        require(votingPeriodSeconds >= 60, "voting_period");
        votingPeriod = votingPeriodSeconds;
        // Ids start at 1: 0 means "none" in every mapping and event.
        proposalList.push();
        accreditationList.push();
        for (uint256 i = 0; i < genesisMembers.length; i++) {
            address member = genesisMembers[i];
            require(member != address(0), "zero_address");
            require(memberIndex[member] == 0, "already_member");
            _addMember(member, 0);
        }
    }

    // ---- members ----

    function members() external view returns (address[] memory) {
        return memberList;
    }

    function memberCount() external view returns (uint256) {
        return memberList.length;
    }

    function isMember(address account) external view returns (bool) {
        return memberIndex[account] != 0;
    }

    /// Yes votes a proposal needs: a strict majority of the current members.
    function quorum() public view returns (uint256) {
        return memberList.length / 2 + 1;
    }

    // ---- proposals ----

    function proposeAddMember(address member) external onlyMember returns (uint256) {
        _checkAddMember(member);
        return _open(ProposalKind.AddMember, abi.encode(member));
    }

    function proposeRemoveMember(address member) external onlyMember returns (uint256) {
        _checkRemoveMember(member);
        return _open(ProposalKind.RemoveMember, abi.encode(member));
    }

    /// Accredit `did` (and the certificate key `certKeySha256`, zero for none; the did:ethr `identity`, zero for
    /// none) for `credentialTypes` (SD-JWT VC `vct`, mdoc doctype, W3C type) from `validFrom` (inclusive) to
    /// `validUntil` (exclusive), Unix seconds. An accreditation of a DID that has one supersedes it.
    function proposeAccreditation(
        string calldata did,
        address identity,
        bytes32 certKeySha256,
        string[] calldata credentialTypes,
        uint64 validFrom,
        uint64 validUntil
    ) external onlyMember returns (uint256) {
        AccreditationRequest memory request = AccreditationRequest(
            did,
            identity,
            certKeySha256,
            credentialTypes,
            validFrom,
            validUntil
        );
        _checkAccreditation(request);
        return _open(ProposalKind.Accredit, abi.encode(request));
    }

    function proposeSuspension(uint256 accreditationId) external onlyMember returns (uint256) {
        _checkStatusChange(accreditationId, Status.Suspended);
        return _open(ProposalKind.Suspend, abi.encode(accreditationId));
    }

    function proposeReinstatement(uint256 accreditationId) external onlyMember returns (uint256) {
        _checkStatusChange(accreditationId, Status.Active);
        return _open(ProposalKind.Reinstate, abi.encode(accreditationId));
    }

    function proposeRevocation(uint256 accreditationId) external onlyMember returns (uint256) {
        _checkStatusChange(accreditationId, Status.Revoked);
        return _open(ProposalKind.Revoke, abi.encode(accreditationId));
    }

    /// Mark an issuer key (a DID's or a certificate key's) compromised from `since` (Unix seconds, > 0) on. Final:
    /// a later mark can only move the time earlier, and the key is never accredited again.
    function proposeCompromise(bytes32 issuerKey, uint64 since) external onlyMember returns (uint256) {
        require(issuerKey != bytes32(0), "zero_key");
        require(since != 0, "zero_time");
        return _open(ProposalKind.MarkCompromised, abi.encode(issuerKey, since));
    }

    /// Vote on an open proposal; the vote that completes a majority executes it (and reverts if it cannot apply).
    function vote(uint256 proposalId, bool support) external onlyMember {
        Proposal storage proposal = _openProposal(proposalId);
        require(ballot[proposalId][msg.sender] == 0, "already_voted");
        _record(proposalId, proposal, support);
        _tally(proposalId, proposal);
    }

    /// Decide an open proposal whose yes votes reached the quorum without a new vote (members were removed).
    function execute(uint256 proposalId) external onlyMember {
        Proposal storage proposal = _openProposal(proposalId);
        (uint256 yes, ) = _count(proposalId, proposal);
        require(yes >= quorum(), "no_majority");
        _tally(proposalId, proposal);
    }

    function proposalCount() external view returns (uint256) {
        return proposalList.length - 1;
    }

    /// A proposal with its votes counted over the current members. An `Open` proposal past `expiresAt` is expired.
    function getProposal(
        uint256 proposalId
    )
        external
        view
        returns (
            ProposalKind kind,
            ProposalState state,
            address proposer,
            uint64 createdAt,
            uint64 expiresAt,
            bytes memory data,
            uint256 yes,
            uint256 no
        )
    {
        require(proposalId != 0 && proposalId < proposalList.length, "no_proposal");
        Proposal storage proposal = proposalList[proposalId];
        (yes, no) = _count(proposalId, proposal);
        return (
            proposal.kind,
            proposal.state,
            proposal.proposer,
            proposal.createdAt,
            proposal.expiresAt,
            proposal.data,
            yes,
            no
        );
    }

    // ---- accreditations ----

    function accreditationCount() external view returns (uint256) {
        return accreditationList.length - 1;
    }

    function getAccreditation(uint256 accreditationId) public view returns (Accreditation memory) {
        require(accreditationId != 0 && accreditationId < accreditationList.length, "no_accreditation");
        return accreditationList[accreditationId];
    }

    /// The latest accreditation an issuer key names, with its id (0 and an empty record when there is none): one
    /// call for caches.
    function accreditationFor(bytes32 issuerKey) external view returns (uint256 id, Accreditation memory record) {
        id = accreditationOf[issuerKey];
        if (id != 0) {
            record = accreditationList[id];
        }
    }

    function coversType(uint256 accreditationId, bytes32 credentialTypeHash) external view returns (bool) {
        return covers[accreditationId][credentialTypeHash];
    }

    /// True when the issuer key's accreditation is active, covers `keccak256(credentialType)` = `credentialTypeHash`,
    /// `atTime` lies in its validity window, and the issuer key is not compromised at `atTime`.
    function isAccredited(bytes32 issuerKey, bytes32 credentialTypeHash, uint64 atTime) external view returns (bool) {
        uint256 id = accreditationOf[issuerKey];
        if (id == 0) {
            return false;
        }
        Accreditation storage record = accreditationList[id];
        if (record.status != Status.Active || atTime < record.validFrom || atTime >= record.validUntil) {
            return false;
        }
        if (record.compromisedSince != 0 && atTime >= record.compromisedSince) {
            return false;
        }
        return covers[id][credentialTypeHash];
    }

    /// Whether status lists of the did:ethr `identity` may be anchored: its accreditation is active or suspended
    /// (a suspended issuer must still be able to publish revocations).
    function canAnchor(address identity) external view returns (bool) {
        uint256 id = accreditationOfIdentity[identity];
        if (id == 0) {
            return false;
        }
        Status status = accreditationList[id].status;
        return status == Status.Active || status == Status.Suspended;
    }

    // ---- internals: proposals ----

    function _open(ProposalKind kind, bytes memory data) private returns (uint256 proposalId) {
        proposalId = proposalList.length;
        Proposal storage proposal = proposalList.push();
        proposal.kind = kind;
        proposal.state = ProposalState.Open;
        proposal.proposer = msg.sender;
        proposal.createdAt = uint64(block.timestamp);
        proposal.expiresAt = uint64(block.timestamp) + votingPeriod;
        proposal.data = data;
        emit ProposalCreated(proposalId, kind, msg.sender, data, proposal.expiresAt);
        _record(proposalId, proposal, true);
        _tally(proposalId, proposal);
    }

    function _openProposal(uint256 proposalId) private view returns (Proposal storage proposal) {
        require(proposalId != 0 && proposalId < proposalList.length, "no_proposal");
        proposal = proposalList[proposalId];
        require(proposal.state == ProposalState.Open, "not_open");
        require(block.timestamp < proposal.expiresAt, "expired");
    }

    function _record(uint256 proposalId, Proposal storage proposal, bool support) private {
        ballot[proposalId][msg.sender] = support ? YES : NO;
        proposal.voters.push(msg.sender);
        emit VoteCast(proposalId, msg.sender, support);
    }

    /// Yes and no votes of current members.
    function _count(uint256 proposalId, Proposal storage proposal) private view returns (uint256 yes, uint256 no) {
        address[] storage voters = proposal.voters;
        for (uint256 i = 0; i < voters.length; i++) {
            address voter = voters[i];
            if (memberIndex[voter] == 0) {
                continue;
            }
            if (ballot[proposalId][voter] == YES) {
                yes++;
            } else {
                no++;
            }
        }
    }

    function _tally(uint256 proposalId, Proposal storage proposal) private {
        (uint256 yes, uint256 no) = _count(proposalId, proposal);
        uint256 needed = quorum();
        if (yes >= needed) {
            proposal.state = ProposalState.Executed;
            _apply(proposalId, proposal.kind, proposal.data);
            emit ProposalExecuted(proposalId);
        } else if (no > memberList.length - needed) {
            proposal.state = ProposalState.Rejected;
            emit ProposalRejected(proposalId);
        }
    }

    function _apply(uint256 proposalId, ProposalKind kind, bytes memory data) private {
        if (kind == ProposalKind.AddMember) {
            address member = abi.decode(data, (address));
            _checkAddMember(member);
            _addMember(member, proposalId);
        } else if (kind == ProposalKind.RemoveMember) {
            address member = abi.decode(data, (address));
            _checkRemoveMember(member);
            _removeMember(member, proposalId);
        } else if (kind == ProposalKind.Accredit) {
            _accredit(abi.decode(data, (AccreditationRequest)), proposalId);
        } else if (kind == ProposalKind.Suspend) {
            _changeStatus(abi.decode(data, (uint256)), Status.Suspended, proposalId);
        } else if (kind == ProposalKind.Reinstate) {
            _changeStatus(abi.decode(data, (uint256)), Status.Active, proposalId);
        } else if (kind == ProposalKind.Revoke) {
            _changeStatus(abi.decode(data, (uint256)), Status.Revoked, proposalId);
        } else {
            (bytes32 issuerKey, uint64 since) = abi.decode(data, (bytes32, uint64));
            _markCompromised(issuerKey, since, proposalId);
        }
    }

    // ---- internals: members ----

    function _checkAddMember(address member) private view {
        require(member != address(0), "zero_address");
        require(memberIndex[member] == 0, "already_member");
    }

    function _checkRemoveMember(address member) private view {
        require(memberIndex[member] != 0, "not_a_member");
        // The registry must stay governable: nobody could ever vote again.
        require(memberList.length > 1, "last_member");
    }

    function _addMember(address member, uint256 proposalId) private {
        memberList.push(member);
        memberIndex[member] = memberList.length;
        emit MemberAdded(member, proposalId);
    }

    function _removeMember(address member, uint256 proposalId) private {
        uint256 position = memberIndex[member] - 1;
        address last = memberList[memberList.length - 1];
        memberList[position] = last;
        memberIndex[last] = position + 1;
        memberList.pop();
        delete memberIndex[member];
        emit MemberRemoved(member, proposalId);
    }

    // ---- internals: accreditations ----

    function _live(uint256 accreditationId) private view returns (bool) {
        Status status = accreditationList[accreditationId].status;
        return status == Status.Active || status == Status.Suspended;
    }

    function _checkAccreditation(AccreditationRequest memory request) private view {
        uint256 didLength = bytes(request.did).length;
        require(didLength != 0 && didLength <= MAX_DID_LENGTH, "bad_did");
        uint256 typeCount = request.credentialTypes.length;
        require(typeCount != 0 && typeCount <= MAX_TYPES, "bad_types");
        for (uint256 i = 0; i < typeCount; i++) {
            uint256 typeLength = bytes(request.credentialTypes[i]).length;
            require(typeLength != 0 && typeLength <= MAX_TYPE_LENGTH, "bad_types");
        }
        require(request.validFrom < request.validUntil, "bad_window");
        require(request.validUntil > block.timestamp, "window_in_past");
        bytes32 didKey = keccak256(bytes(request.did));
        require(keyCompromisedSince[didKey] == 0, "key_compromised");
        uint256 previous = accreditationOf[didKey];
        if (request.certKeySha256 != bytes32(0)) {
            require(keyCompromisedSince[request.certKeySha256] == 0, "key_compromised");
            uint256 holder = accreditationOf[request.certKeySha256];
            require(holder == 0 || holder == previous || !_live(holder), "cert_key_in_use");
        }
        if (request.identity != address(0)) {
            uint256 holder = accreditationOfIdentity[request.identity];
            require(holder == 0 || holder == previous || !_live(holder), "identity_in_use");
        }
    }

    function _accredit(AccreditationRequest memory request, uint256 proposalId) private {
        _checkAccreditation(request);
        bytes32 didKey = keccak256(bytes(request.did));
        uint256 previous = accreditationOf[didKey];
        if (previous != 0 && _live(previous)) {
            accreditationList[previous].status = Status.Superseded;
            emit AccreditationStatusChanged(previous, Status.Superseded, proposalId);
        }
        uint256 id = accreditationList.length;
        Accreditation storage record = accreditationList.push();
        record.did = request.did;
        record.identity = request.identity;
        record.certKeySha256 = request.certKeySha256;
        record.validFrom = request.validFrom;
        record.validUntil = request.validUntil;
        record.status = Status.Active;
        for (uint256 i = 0; i < request.credentialTypes.length; i++) {
            record.credentialTypes.push(request.credentialTypes[i]);
            covers[id][keccak256(bytes(request.credentialTypes[i]))] = true;
        }
        accreditationOf[didKey] = id;
        if (request.certKeySha256 != bytes32(0)) {
            accreditationOf[request.certKeySha256] = id;
        }
        if (request.identity != address(0)) {
            accreditationOfIdentity[request.identity] = id;
        }
        emit IssuerAccredited(
            id,
            didKey,
            request.certKeySha256,
            request.did,
            request.identity,
            request.credentialTypes,
            request.validFrom,
            request.validUntil,
            proposalId
        );
    }

    function _checkStatusChange(uint256 accreditationId, Status target) private view {
        require(accreditationId != 0 && accreditationId < accreditationList.length, "no_accreditation");
        Status current = accreditationList[accreditationId].status;
        if (target == Status.Suspended) {
            require(current == Status.Active, "not_active");
        } else if (target == Status.Active) {
            require(current == Status.Suspended, "not_suspended");
        } else {
            require(current == Status.Active || current == Status.Suspended, "not_live");
        }
    }

    function _changeStatus(uint256 accreditationId, Status target, uint256 proposalId) private {
        _checkStatusChange(accreditationId, target);
        accreditationList[accreditationId].status = target;
        emit AccreditationStatusChanged(accreditationId, target, proposalId);
    }

    function _markCompromised(bytes32 issuerKey, uint64 since, uint256 proposalId) private {
        uint64 marked = keyCompromisedSince[issuerKey];
        if (marked == 0 || since < marked) {
            marked = since;
            keyCompromisedSince[issuerKey] = since;
        }
        uint256 id = accreditationOf[issuerKey];
        if (id != 0) {
            Accreditation storage record = accreditationList[id];
            if (record.compromisedSince == 0 || marked < record.compromisedSince) {
                record.compromisedSince = marked;
            }
        }
        emit KeyCompromised(issuerKey, id, marked, proposalId);
    }
}
