"""The cooperative's trusted-issuer registry: cached reads for verifiers (:class:`TrustRegistry`) and the members'
proposals and votes (:class:`RegistryMember`), over :class:`ledger.client.ChainClient`.

The contract (``ledger/contracts/TrustedIssuerRegistry.sol``) is the authority; this module mirrors its
``isAccredited`` rule in :meth:`Accreditation.refusal` so that a cached accreditation answers for any credential type
and time without another request (the tests compare both on random inputs).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.address import is_address, to_checksum_address
from eth_utils.crypto import keccak
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.logs import DISCARD
from web3.types import BlockIdentifier

from ledger.client import ChainClient, ChainSigner
from ledger.client.rpc_errors import rpc_errors
from ledger.contracts import TRUSTED_ISSUER_REGISTRY, load_artifact
from ledger.trust._follow import CacheStats, ContractFollower, Lru
from ledger.trust._keys import credential_type_hash, ethr_identity, issuer_key
from ledger.trust._model import (
    Accreditation,
    AccreditationCheck,
    AccreditationStatus,
    Proposal,
    ProposalKind,
    ProposalOutcome,
    ProposalState,
)
from ssi.errors import ChainError, TransactionFailed

__all__ = ["RegistryMember", "TrustRegistry", "registry_refusal"]

_ZERO_ADDRESS = "0x" + "00" * 20
_ZERO32 = b"\0" * 32
#: Events that change what ``accreditationFor`` answers (the others are about members and votes).
_ACCREDITED = keccak(b"IssuerAccredited(uint256,bytes32,bytes32,string,address,string[],uint64,uint64,uint256)")
_STATUS_CHANGED = keccak(b"AccreditationStatusChanged(uint256,uint8,uint256)")
_COMPROMISED = keccak(b"KeyCompromised(bytes32,uint256,uint64,uint256)")
_REQUEST_TYPES = ["(string,address,bytes32,string[],uint64,uint64)"]
_ACCREDITATION_FOR = keccak(b"accreditationFor(bytes32)")[:4]
_ACCREDITATION_FOR_OUTPUT = ["uint256", "(string,address,bytes32,string[],uint64,uint64,uint64,uint8)"]


def _accreditation(accreditation_id: int, record: Sequence[Any]) -> Accreditation:
    did, identity, cert, types, valid_from, valid_until, compromised, status = record
    return Accreditation(
        id=int(accreditation_id),
        did=str(did),
        identity=None if int(identity, 16) == 0 else str(to_checksum_address(identity)),
        cert_key_sha256=None if bytes(cert) == _ZERO32 else bytes(cert),
        credential_types=tuple(str(t) for t in types),
        valid_from=int(valid_from),
        valid_until=int(valid_until),
        compromised_since=int(compromised) or None,
        status=AccreditationStatus(int(status)),
    )


def _parameters(kind: ProposalKind, data: bytes) -> dict[str, Any]:
    """A proposal's ABI-encoded parameters as JSON-friendly values."""
    if kind in (ProposalKind.ADD_MEMBER, ProposalKind.REMOVE_MEMBER):
        (member,) = abi_decode(["address"], data)
        return {"member": str(to_checksum_address(member))}
    if kind is ProposalKind.ACCREDIT:
        ((did, identity, cert, types, valid_from, valid_until),) = abi_decode(_REQUEST_TYPES, data)
        return {
            "did": did,
            "identity": None if int(identity, 16) == 0 else str(to_checksum_address(identity)),
            "cert_key_sha256": None if bytes(cert) == _ZERO32 else bytes(cert).hex(),
            "credential_types": list(types),
            "valid_from": int(valid_from),
            "valid_until": int(valid_until),
        }
    if kind is ProposalKind.MARK_COMPROMISED:
        key, since = abi_decode(["bytes32", "uint64"], data)
        return {"issuer_key": bytes(key).hex(), "since": int(since)}
    (accreditation_id,) = abi_decode(["uint256"], data)
    return {"accreditation_id": int(accreditation_id)}


class TrustRegistry:
    """Reads of one trusted-issuer registry, with accreditations cached per issuer key and dropped when an event names
    them (:class:`~ledger.trust._follow.ContractFollower`): a cached :meth:`is_accredited` costs one ``eth_blockNumber``
    (none within ``max_staleness`` seconds of the last), an uncached one adds one ``eth_call``.

    Thread-safe; share one per process (per registry).
    """

    def __init__(
        self,
        client: ChainClient,
        address: str,
        *,
        max_staleness: float = 0.0,
        cache_size: int = 4096,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if cache_size < 0:
            raise ValueError("cache_size must not be negative")
        self.client = client
        self.address = str(to_checksum_address(address))
        self.contract: Contract = client.contract(self.address, load_artifact(TRUSTED_ISSUER_REGISTRY))
        self.stats = CacheStats()
        self._lock = threading.Lock()
        self._entries: Lru[tuple[int, Accreditation | None]] = Lru(cache_size)
        self._generation = 0
        #: The head the follower last reported; reads for the cache are made at this block.
        self._head: int | None = None
        self._follower = ContractFollower(
            client,
            self.address,
            on_logs=self._invalidate,
            on_reset=self._reset,
            stats=self.stats,
            max_staleness=max_staleness,
            monotonic=monotonic,
        )

    # -- the cache -------------------------------------------------------------------------------------------------

    def _invalidate(self, logs: Sequence[Any], head: int) -> None:
        keys: set[bytes] = set()
        ids: set[int] = set()
        for log in logs:
            topics = [bytes(topic) for topic in log["topics"]]
            if not topics:
                continue
            if topics[0] == _ACCREDITED and len(topics) == 4:
                ids.add(int.from_bytes(topics[1], "big"))
                keys.update(topics[2:4])
            elif topics[0] == _STATUS_CHANGED and len(topics) == 3:
                ids.add(int.from_bytes(topics[1], "big"))
            elif topics[0] == _COMPROMISED and len(topics) == 3:
                keys.add(topics[1])
                ids.add(int.from_bytes(topics[2], "big"))
        with self._lock:
            self._head = head
            if not keys and not ids:
                return
            self._generation += 1
            for key, (accreditation_id, _) in list(self._entries.items.items()):
                if key in keys or (accreditation_id and accreditation_id in ids):
                    del self._entries.items[key]
                    self.stats.invalidations += 1

    def _reset(self, head: int | None = None) -> None:
        with self._lock:
            self._head = head
            self._generation += 1
            self._entries.items.clear()

    def clear(self) -> None:
        """Forget everything cached (the next read asks the chain)."""
        self._reset()

    def accreditation(self, issuer: str | bytes) -> Accreditation | None:
        """The latest accreditation naming ``issuer`` — a DID (``did:…``) or a certificate key's SHA-256 (32 bytes or
        64 hex digits) — whatever its status; ``None`` when none does."""
        key = issuer_key(issuer)
        synced = self._follower.sync()
        with self._lock:
            self.stats.lookups += 1
            cached = self._entries.get(key)
            if cached is not None:
                self.stats.hits += 1
                return cached[1]
            generation, head = self._generation, self._head
        block = synced if head is None else head
        accreditation_id, record = self._accreditation_for(key, block)
        found = _accreditation(accreditation_id, record) if accreditation_id else None
        with self._lock:
            self.stats.loads += 1
            if self._generation == generation and head is not None:  # no event since the head we read at
                self._entries.put(key, (int(accreditation_id), found))
        return found

    def _accreditation_for(self, key: bytes, block: int) -> tuple[int, Sequence[Any]]:
        """``accreditationFor(key)`` as one raw ``eth_call`` (encoded and decoded with eth-abi: web3's contract
        objects cost more than the node's answer on this hot path)."""
        with rpc_errors(self.address, "accreditationFor"):
            raw = bytes(self.client.w3.eth.call({"to": self.address, "data": _ACCREDITATION_FOR + key}, block))
        try:
            accreditation_id, record = abi_decode(_ACCREDITATION_FOR_OUTPUT, raw)
        except (DecodingError, ValueError, OverflowError):
            raise ChainError(
                f"{self.address} answered accreditationFor with {len(raw)} bytes that do not decode; "
                "is it the trusted-issuer registry?",
                reason="bad_response",
            ) from None
        return int(accreditation_id), record

    def check(self, issuer: str | bytes, credential_type: str, at_time: float) -> AccreditationCheck:
        """Whether ``issuer`` may issue ``credential_type`` at ``at_time`` (Unix seconds), and if not, why."""
        found = self.accreditation(issuer)
        if found is None:
            return AccreditationCheck(False, "not_accredited", None)
        reason = found.refusal(credential_type, at_time)
        return AccreditationCheck(reason is None, reason, found)

    def is_accredited(self, issuer: str | bytes, credential_type: str, at_time: float) -> Accreditation | None:
        """The issuer's accreditation when it lets the issuer issue ``credential_type`` at ``at_time`` (Unix seconds,
        e.g. the credential's issuance time): active, ``at_time`` inside its window and before any
        ``compromised_since``, the type covered. Otherwise ``None`` — :meth:`check` says why, :meth:`accreditation`
        gives the record whatever its status. ``issuer`` is the DID or the SHA-256 of the certificate key
        (``ssi.x509.spki_sha256``); both lead to the same accreditation."""
        found = self.accreditation(issuer)
        return found if found is not None and found.permits(credential_type, at_time) else None

    # -- uncached reads (governance, enumeration) ------------------------------------------------------------------

    def is_accredited_on_chain(self, issuer: str | bytes, credential_type: str, at_time: int) -> bool:
        """The contract's own ``isAccredited`` (one ``eth_call``, no cache)."""
        call = self.contract.functions.isAccredited(issuer_key(issuer), credential_type_hash(credential_type), at_time)
        return bool(self.client.call(call))

    def accreditation_by_id(self, accreditation_id: int, *, block: BlockIdentifier = "latest") -> Accreditation:
        record = self.client.call(self.contract.functions.getAccreditation(accreditation_id), block=block)
        return _accreditation(accreditation_id, record)

    def accreditations(self) -> list[Accreditation]:
        """Every accreditation ever made, oldest first (enumeration for caches and explorers), read at one block."""
        head = self.client.block_number()
        count = int(self.client.call(self.contract.functions.accreditationCount(), block=head))
        return [self.accreditation_by_id(i, block=head) for i in range(1, count + 1)]

    def members(self) -> list[str]:
        return [str(to_checksum_address(m)) for m in self.client.call(self.contract.functions.members())]

    def is_member(self, address: str) -> bool:
        return bool(self.client.call(self.contract.functions.isMember(to_checksum_address(address))))

    def quorum(self) -> int:
        return int(self.client.call(self.contract.functions.quorum()))

    def voting_period(self) -> int:
        return int(self.client.call(self.contract.functions.votingPeriod()))

    def _chain_time(self, block: BlockIdentifier) -> int:
        return int(self.client.w3.eth.get_block(block)["timestamp"])

    def proposal(self, proposal_id: int, *, block: BlockIdentifier = "latest") -> Proposal:
        kind, state, proposer, created, expires, data, yes, no = self.client.call(
            self.contract.functions.getProposal(proposal_id), block=block
        )
        proposal_kind = ProposalKind(int(kind))
        proposal_state = ProposalState(int(state))
        if proposal_state is ProposalState.OPEN and self._chain_time(block) >= int(expires):
            proposal_state = ProposalState.EXPIRED
        return Proposal(
            id=proposal_id,
            kind=proposal_kind,
            state=proposal_state,
            proposer=str(to_checksum_address(proposer)),
            created_at=int(created),
            expires_at=int(expires),
            yes=int(yes),
            no=int(no),
            parameters=_parameters(proposal_kind, bytes(data)),
        )

    def proposals(self, *, open_only: bool = False) -> list[Proposal]:
        """Every proposal (or only those still open for votes), oldest first, read at one block."""
        head = self.client.block_number()
        count = int(self.client.call(self.contract.functions.proposalCount(), block=head))
        found = [self.proposal(i, block=head) for i in range(1, count + 1)]
        return [p for p in found if p.state is ProposalState.OPEN] if open_only else found


def registry_refusal(exc: TransactionFailed) -> TransactionFailed:
    """A reverted registry or anchor transaction as an error whose ``reason`` is the contract's code (``not_member``,
    ``already_voted``, ``last_member``, ``not_accredited`` …) when it gave one."""
    code = exc.revert_reason
    if code and code.replace("_", "").isalnum() and code.islower():
        return TransactionFailed(
            f"the contract refused: {code}",
            transaction_hash=exc.transaction_hash,
            revert_reason=code,
            data=exc.data,
            reason=code,
        )
    return exc


class RegistryMember:
    """A member's proposals and votes, signed by ``signer`` (a :class:`ChainSigner`; the key never leaves it) and sent
    through :meth:`ChainClient.transact`. Each method returns where the proposal stands afterwards; a refusal by the
    contract raises :class:`~ssi.errors.TransactionFailed` with the contract's code as ``reason``."""

    def __init__(
        self,
        registry: TrustRegistry,
        signer: ChainSigner,
        *,
        confirmations: int | None = None,
        timeout: float | None = None,
    ) -> None:
        self.registry = registry
        self.signer = signer
        self.confirmations = confirmations
        self.timeout = timeout

    @property
    def _functions(self) -> Any:
        return self.registry.contract.functions

    def _send(self, call: ContractFunction, proposal_id: int | None = None) -> ProposalOutcome:
        client = self.registry.client
        try:
            receipt = client.transact(call, sender=self.signer, confirmations=self.confirmations, timeout=self.timeout)
        except TransactionFailed as exc:
            raise registry_refusal(exc) from None
        contract = self.registry.contract
        if proposal_id is None:
            created = contract.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
            if not created:
                raise ChainError("the proposal transaction created no proposal", reason="bad_response")
            proposal_id = int(created[0]["args"]["proposalId"])
        accredited = contract.events.IssuerAccredited().process_receipt(receipt, errors=DISCARD)
        block = int(receipt["blockNumber"])
        return ProposalOutcome(
            proposal=self.registry.proposal(proposal_id, block=block),
            transaction_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block_number=block,
            accreditation_id=int(accredited[0]["args"]["accreditationId"]) if accredited else None,
        )

    def _accreditation_id(self, issuer: str | bytes | int) -> int:
        if isinstance(issuer, int):
            return issuer
        found = self.registry.accreditation(issuer)
        if found is None:
            raise ChainError("no accreditation names this issuer", reason="no_accreditation")
        return found.id

    def propose_admission(self, member: str) -> ProposalOutcome:
        return self._send(self._functions.proposeAddMember(_address(member)))

    def propose_removal(self, member: str) -> ProposalOutcome:
        return self._send(self._functions.proposeRemoveMember(_address(member)))

    def propose_accreditation(
        self,
        did: str,
        credential_types: Sequence[str],
        *,
        valid_from: int,
        valid_until: int,
        cert_key_sha256: bytes | None = None,
        identity: str | None = None,
    ) -> ProposalOutcome:
        """Propose accrediting ``did`` (and the certificate key ``cert_key_sha256``) for ``credential_types`` from
        ``valid_from`` to ``valid_until``. ``identity`` defaults to the DID's ERC-1056 identity when it is a did:ethr
        of this chain (that identity may then anchor status lists)."""
        if identity is None:
            identity = ethr_identity(did, self.registry.client.chain_id)
        call = self._functions.proposeAccreditation(
            did,
            _address(identity) if identity else _ZERO_ADDRESS,
            cert_key_sha256 or _ZERO32,
            list(credential_types),
            int(valid_from),
            int(valid_until),
        )
        return self._send(call)

    def propose_suspension(self, issuer: str | bytes | int) -> ProposalOutcome:
        """``issuer``: a DID, a certificate key SHA-256 (its current accreditation) or an accreditation id."""
        return self._send(self._functions.proposeSuspension(self._accreditation_id(issuer)))

    def propose_reinstatement(self, issuer: str | bytes | int) -> ProposalOutcome:
        return self._send(self._functions.proposeReinstatement(self._accreditation_id(issuer)))

    def propose_revocation(self, issuer: str | bytes | int) -> ProposalOutcome:
        return self._send(self._functions.proposeRevocation(self._accreditation_id(issuer)))

    def propose_compromise(self, issuer: str | bytes, since: int) -> ProposalOutcome:
        """Mark the issuer key (a DID's or a certificate key's) compromised from ``since`` (Unix seconds) on."""
        return self._send(self._functions.proposeCompromise(issuer_key(issuer), int(since)))

    def vote(self, proposal_id: int, support: bool = True) -> ProposalOutcome:
        return self._send(self._functions.vote(proposal_id, support), proposal_id)

    def execute(self, proposal_id: int) -> ProposalOutcome:
        return self._send(self._functions.execute(proposal_id), proposal_id)


def _address(value: str) -> str:
    if not is_address(value):
        raise ValueError(f"not an Ethereum address: {value!r:.60}")
    return str(to_checksum_address(value))
