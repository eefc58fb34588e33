"""Helpers for the trusted-issuer registry and status-list anchor contract tests: the three govssi contracts on an
in-process chain (eth-tester on py-evm), members and issuers from eth-tester's funded accounts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, cast

import pytest
from eth_tester import EthereumTester
from eth_tester.exceptions import TransactionFailed
from eth_utils.crypto import keccak
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract
from web3.contract.contract import ContractConstructor
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from ledger.contracts import DID_REGISTRY, STATUS_LIST_ANCHOR, TRUSTED_ISSUER_REGISTRY, load_artifact

#: Gas for transactions expected to revert (sent without estimation so they are mined with status 0).
REVERT_GAS = 3_000_000
DAY = 86_400
VOTING_PERIOD = 7 * DAY
PID = "urn:eudi:pid:de:1"
DIPLOMA = "https://issuer.example/vct/diploma"
MDL = "org.iso.18013.5.1.mDL"

#: Status enum of the contract.
NONE, ACTIVE, SUSPENDED, REVOKED, SUPERSEDED = range(5)
#: ProposalState enum.
OPEN, EXECUTED, REJECTED = 1, 2, 3


def did_key(did: str) -> bytes:
    return keccak(did.encode())


def type_hash(credential_type: str) -> bytes:
    return keccak(credential_type.encode())


def cert_key(label: str) -> bytes:
    """A stand-in SHA-256 of a certificate's SubjectPublicKeyInfo."""
    return hashlib.sha256(f"spki of {label}".encode()).digest()


@dataclass
class TrustChain:
    w3: Web3
    tester: EthereumTester
    did_registry: Contract
    registry: Contract
    anchor: Contract
    accounts: list[str]
    members: list[str]

    @property
    def outsiders(self) -> list[str]:
        return [account for account in self.accounts if account not in self.members]

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def advance(self, seconds: int) -> None:
        """Mine an empty block ``seconds`` after the latest one (eth-tester stamps it one second before the time it
        travels to)."""
        target = self.now() + seconds
        self.tester.time_travel(target + 1)
        assert self.now() == target

    def send(self, call: Any, sender: str) -> Any:
        """Send ``call`` from ``sender``; it must succeed. The receipt."""
        receipt = self.w3.eth.wait_for_transaction_receipt(call.transact({"from": sender}))
        assert receipt["status"] == 1
        return receipt

    def reverts(self, call: Any, sender: str) -> str:
        """Assert that ``call`` reverts for ``sender`` (as a call, and mined with status 0 and no logs); the reason."""
        with pytest.raises((ContractLogicError, TransactionFailed)) as raised:
            if isinstance(call, ContractConstructor):
                self.w3.eth.call({"from": sender, "data": call.data_in_transaction})
            else:
                call.call({"from": sender})
        receipt = self.w3.eth.wait_for_transaction_receipt(call.transact({"from": sender, "gas": REVERT_GAS}))
        assert receipt["status"] == 0
        assert receipt["logs"] == []
        return str(raised.value)

    def events(self, receipt: Any, contract: Contract | None = None) -> list[tuple[str, dict[str, Any]]]:
        """(event name, args) of ``contract``'s events (default: the registry) in ``receipt``, in log order."""
        contract = contract if contract is not None else self.registry
        decoded = []
        for entry in contract.abi:
            if entry.get("type") != "event":
                continue
            event = getattr(contract.events, entry["name"])()
            decoded += [
                (log["logIndex"], entry["name"], dict(log["args"]))
                for log in event.process_receipt(receipt, errors=DISCARD)
            ]
        return [(name, args) for _, name, args in sorted(decoded, key=lambda item: item[0])]

    # -- registry shortcuts ----------------------------------------------------------------------------------------

    def last_proposal(self) -> int:
        return int(self.registry.functions.proposalCount().call())

    def proposal(self, proposal_id: int) -> dict[str, Any]:
        kind, state, proposer, created, expires, data, yes, no = self.registry.functions.getProposal(proposal_id).call()
        return {
            "kind": kind,
            "state": state,
            "proposer": proposer,
            "created": created,
            "expires": expires,
            "data": data,
            "yes": yes,
            "no": no,
        }

    def decide(self, call: Any, voters: list[str] | None = None) -> Any:
        """Propose ``call`` from the first member and have the others vote yes until it is executed; the receipt of
        the deciding transaction."""
        voters = self.current_members() if voters is None else voters
        receipt = self.send(call, voters[0])
        proposal_id = self.last_proposal()
        for voter in voters[1:]:
            if self.proposal(proposal_id)["state"] != OPEN:
                break
            receipt = self.send(self.registry.functions.vote(proposal_id, True), voter)
        assert self.proposal(proposal_id)["state"] == EXECUTED
        return receipt

    def current_members(self) -> list[str]:
        return [str(member) for member in self.registry.functions.members().call()]

    def accredit(
        self,
        did: str,
        types: list[str],
        *,
        cert: bytes = b"\0" * 32,
        identity: str = "0x" + "00" * 20,
        valid_from: int | None = None,
        valid_until: int | None = None,
    ) -> int:
        """Accredit by a full vote; the new accreditation's id."""
        start = self.now() - DAY if valid_from is None else valid_from
        end = self.now() + 365 * DAY if valid_until is None else valid_until
        self.decide(self.registry.functions.proposeAccreditation(did, identity, cert, types, start, end))
        return int(self.registry.functions.accreditationCount().call())

    def accredited(self, issuer_key: bytes, credential_type: str, at: int) -> bool:
        return bool(self.registry.functions.isAccredited(issuer_key, type_hash(credential_type), at).call())

    def record(self, accreditation_id: int) -> dict[str, Any]:
        did, identity, cert, types, valid_from, valid_until, compromised, status = (
            self.registry.functions.getAccreditation(accreditation_id).call()
        )
        return {
            "did": did,
            "identity": identity,
            "cert": cert,
            "types": list(types),
            "valid_from": valid_from,
            "valid_until": valid_until,
            "compromised_since": compromised,
            "status": status,
        }


def deploy_trust_chain(member_count: int = 3, voting_period: int = VOTING_PERIOD) -> TrustChain:
    """A fresh chain with the DID registry, a trusted-issuer registry of ``member_count`` genesis members (eth-tester
    accounts 1..n) and the status-list anchor, all deployed by account 0."""
    provider = EthereumTesterProvider()
    w3 = Web3(provider)
    accounts = [str(account) for account in w3.eth.accounts]
    members = accounts[1 : 1 + member_count]

    def deploy(name: str, *args: Any) -> Contract:
        artifact = load_artifact(name)
        factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        tx = factory.constructor(*args).transact({"from": accounts[0]})
        receipt = w3.eth.wait_for_transaction_receipt(tx)
        assert receipt["status"] == 1
        return cast(Contract, w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi))

    did_registry = deploy(DID_REGISTRY)
    registry = deploy(TRUSTED_ISSUER_REGISTRY, members, voting_period)
    anchor = deploy(STATUS_LIST_ANCHOR, registry.address, did_registry.address)
    return TrustChain(
        w3=w3,
        tester=provider.ethereum_tester,
        did_registry=did_registry,
        registry=registry,
        anchor=anchor,
        accounts=accounts,
        members=members,
    )
