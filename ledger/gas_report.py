"""Gas used by every state-changing call of govssi's contracts, measured on an in-process EVM.

``python -m ledger.gas_report [--json]`` deploys the committed artifacts on eth-tester (py-evm, the fork eth-tester
runs by default) and prints ``gasUsed`` from the receipts, one table per contract:

- ``EthereumDIDRegistry`` (ERC-1056): each function as the *first* change of an identity (storage slots go from zero
  to non-zero, the expensive case) and as a *later* change of the same identity. Signed variants are sent by a
  separate relayer account, as ERC-1056 intends.
- ``TrustedIssuerRegistry``: a cooperative of five members (quorum 3). Each proposal kind as the *proposal* (which
  counts the proposer's vote), an *other vote* (not deciding) and the *deciding vote* (which executes the decision);
  the accreditation has two credential types, a certificate key and a did:ethr identity; ``execute`` decides a
  proposal that reached its majority through the removal of members.
- ``StatusListAnchor``: one list's *first version* and a *later version*; batches of 10 and 100 lists (per list and
  in total).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

from eth_utils.crypto import keccak
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract

from ledger import erc1056
from ledger.client import SoftwareChainSigner
from ledger.contracts import DID_REGISTRY, STATUS_LIST_ANCHOR, TRUSTED_ISSUER_REGISTRY, load_artifact

__all__ = ["CASES", "GasFigure", "format_table", "main", "measure_did_registry_gas", "measure_gas", "measure_trust_gas"]

#: did:ethr values of realistic size: a delegate type, an attribute name and a 33-byte compressed secp256k1 key.
VERI_KEY = erc1056.bytes32("veriKey")
PUB_KEY_NAME = erc1056.bytes32("did/pub/Secp256k1/veriKey/hex")
PUB_KEY_VALUE = bytes.fromhex("02b97c30de767f084ce3080168ee293053ba33b235d7116a3263d29f1450936b71")
ONE_DAY = 86_400


#: Columns of each contract's table, in order.
CASES: dict[str, tuple[str, ...]] = {
    DID_REGISTRY: ("deploy", "first change", "later change"),
    TRUSTED_ISSUER_REGISTRY: ("deploy", "proposal", "other vote", "deciding vote"),
    STATUS_LIST_ANCHOR: ("deploy", "first version", "later version"),
}
TRUST_MEMBERS = 5
BATCH_SIZES = (10, 100)


@dataclass(frozen=True)
class GasFigure:
    """``gasUsed`` of one call of ``contract``; ``case`` is one of :data:`CASES` for that contract."""

    function: str
    case: str
    gas_used: int
    contract: str = DID_REGISTRY


class _Bench:
    """A fresh in-process chain with the registry deployed; funded senders and unfunded signing identities."""

    def __init__(self) -> None:
        self.w3 = Web3(EthereumTesterProvider())
        self.accounts = list(self.w3.eth.accounts)
        artifact = load_artifact(DID_REGISTRY)
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = self.w3.eth.wait_for_transaction_receipt(factory.constructor().transact({"from": self.accounts[0]}))
        self.deploy_gas = int(receipt["gasUsed"])
        address = receipt["contractAddress"]
        assert address is not None
        self.registry: Contract = self.w3.eth.contract(address=address, abi=artifact.abi)
        self._next_key = 0

    def signing_key(self) -> SoftwareChainSigner:
        """A new deterministic key whose address has never been used (an identity that only signs)."""
        self._next_key += 1
        return SoftwareChainSigner.from_private_bytes(keccak(f"govssi gas report key {self._next_key}".encode()))

    def send(self, call: Any, sender: str) -> int:
        receipt = self.w3.eth.wait_for_transaction_receipt(call.transact({"from": sender}))
        if receipt["status"] != 1:
            raise RuntimeError("transaction reverted")
        return int(receipt["gasUsed"])

    def nonce_of_owner(self, identity: str) -> int:
        owner = self.registry.functions.identityOwner(identity).call()
        return int(self.registry.functions.nonce(owner).call())

    def sign(self, key: SoftwareChainSigner, digest: bytes) -> tuple[int, bytes, bytes]:
        signature = key.sign_digest(digest)
        return signature.v, signature.r.to_bytes(32, "big"), signature.s.to_bytes(32, "big")


def measure_gas() -> list[GasFigure]:
    """Every contract's figures (:func:`measure_did_registry_gas`, :func:`measure_trust_gas`)."""
    return measure_did_registry_gas() + measure_trust_gas()


def measure_did_registry_gas() -> list[GasFigure]:
    """Run every state-changing registry function on a fresh chain and return its ``gasUsed`` figures."""
    bench = _Bench()
    registry, relayer = bench.registry, bench.accounts[0]
    address = registry.address
    figures = [GasFigure("deploy", "deploy", bench.deploy_gas)]

    def both(function: str, run: Callable[[bool], int]) -> None:
        figures.append(GasFigure(function, "first change", run(True)))
        figures.append(GasFigure(function, "later change", run(False)))

    # Direct calls: the identity is a funded account and sends its own transactions.
    fresh_senders = iter(bench.accounts[1:])
    current: dict[str, str] = {}

    def direct(function: str, make_call: Callable[[str], Any]) -> Callable[[bool], int]:
        def run(first: bool) -> int:
            if first:
                current[function] = next(fresh_senders)
            identity = current[function]
            owner = registry.functions.identityOwner(identity).call()
            return bench.send(make_call(identity), owner)

        return run

    owners_cycle = iter(bench.accounts[-2:])
    both("changeOwner", direct("changeOwner", lambda i: registry.functions.changeOwner(i, next(owners_cycle))))
    delegate = bench.accounts[-3]
    both("addDelegate", direct("addDelegate", lambda i: registry.functions.addDelegate(i, VERI_KEY, delegate, ONE_DAY)))
    both("revokeDelegate", direct("revokeDelegate", lambda i: registry.functions.revokeDelegate(i, VERI_KEY, delegate)))
    both(
        "setAttribute",
        direct("setAttribute", lambda i: registry.functions.setAttribute(i, PUB_KEY_NAME, PUB_KEY_VALUE, ONE_DAY)),
    )
    both(
        "revokeAttribute",
        direct("revokeAttribute", lambda i: registry.functions.revokeAttribute(i, PUB_KEY_NAME, PUB_KEY_VALUE)),
    )

    # Signed calls: the identity's key only signs; a relayer pays.
    signers: dict[str, SoftwareChainSigner] = {}
    identities: dict[str, str] = {}

    def signed(function: str, make_call: Callable[[str, int, SoftwareChainSigner], Any]) -> Callable[[bool], int]:
        def run(first: bool) -> int:
            if first:
                signers[function] = bench.signing_key()
                identities[function] = signers[function].address
            identity = identities[function]
            return bench.send(make_call(identity, bench.nonce_of_owner(identity), signers[function]), relayer)

        return run

    def change_owner_signed(identity: str, nonce: int, key: SoftwareChainSigner) -> Any:
        new_key = bench.signing_key()
        new_owner = new_key.address
        v, r, s = bench.sign(key, erc1056.change_owner_digest(address, nonce, identity, new_owner=new_owner))
        signers["changeOwnerSigned"] = new_key  # the new owner signs the next change
        return registry.functions.changeOwnerSigned(identity, v, r, s, new_owner)

    def add_delegate_signed(identity: str, nonce: int, key: SoftwareChainSigner) -> Any:
        digest = erc1056.add_delegate_digest(
            address, nonce, identity, delegate_type=VERI_KEY, delegate=delegate, validity=ONE_DAY
        )
        return registry.functions.addDelegateSigned(identity, *bench.sign(key, digest), VERI_KEY, delegate, ONE_DAY)

    def revoke_delegate_signed(identity: str, nonce: int, key: SoftwareChainSigner) -> Any:
        digest = erc1056.revoke_delegate_digest(address, nonce, identity, delegate_type=VERI_KEY, delegate=delegate)
        return registry.functions.revokeDelegateSigned(identity, *bench.sign(key, digest), VERI_KEY, delegate)

    def set_attribute_signed(identity: str, nonce: int, key: SoftwareChainSigner) -> Any:
        digest = erc1056.set_attribute_digest(
            address, nonce, identity, name=PUB_KEY_NAME, value=PUB_KEY_VALUE, validity=ONE_DAY
        )
        v, r, s = bench.sign(key, digest)
        return registry.functions.setAttributeSigned(identity, v, r, s, PUB_KEY_NAME, PUB_KEY_VALUE, ONE_DAY)

    def revoke_attribute_signed(identity: str, nonce: int, key: SoftwareChainSigner) -> Any:
        digest = erc1056.revoke_attribute_digest(address, nonce, identity, name=PUB_KEY_NAME, value=PUB_KEY_VALUE)
        v, r, s = bench.sign(key, digest)
        return registry.functions.revokeAttributeSigned(identity, v, r, s, PUB_KEY_NAME, PUB_KEY_VALUE)

    both("changeOwnerSigned", signed("changeOwnerSigned", change_owner_signed))
    both("addDelegateSigned", signed("addDelegateSigned", add_delegate_signed))
    both("revokeDelegateSigned", signed("revokeDelegateSigned", revoke_delegate_signed))
    both("setAttributeSigned", signed("setAttributeSigned", set_attribute_signed))
    both("revokeAttributeSigned", signed("revokeAttributeSigned", revoke_attribute_signed))
    return figures


def measure_trust_gas() -> list[GasFigure]:
    """The trusted-issuer registry's and the status-list anchor's figures (see the module docstring)."""
    w3 = Web3(EthereumTesterProvider())
    accounts = list(w3.eth.accounts)
    deployer, members, outsiders = accounts[0], accounts[1 : 1 + TRUST_MEMBERS], accounts[1 + TRUST_MEMBERS :]
    figures: list[GasFigure] = []

    def send(call: Any, sender: str) -> Any:
        receipt = w3.eth.wait_for_transaction_receipt(call.transact({"from": sender}))
        if receipt["status"] != 1:
            raise RuntimeError("transaction reverted")
        return receipt

    def deploy(name: str, *args: Any) -> Contract:
        artifact = load_artifact(name)
        factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = send(factory.constructor(*args), deployer)
        label = f"deploy ({TRUST_MEMBERS} members)" if name == TRUSTED_ISSUER_REGISTRY else "deploy"
        figures.append(GasFigure(label, "deploy", int(receipt["gasUsed"]), name))
        return cast(Contract, w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi))

    did_registry_artifact = load_artifact(DID_REGISTRY)
    did_registry_receipt = send(
        w3.eth.contract(abi=did_registry_artifact.abi, bytecode=did_registry_artifact.bytecode).constructor(), deployer
    )
    registry = deploy(TRUSTED_ISSUER_REGISTRY, members, 7 * ONE_DAY)
    anchor = deploy(STATUS_LIST_ANCHOR, registry.address, did_registry_receipt["contractAddress"])

    def decide(function: str, call: Any) -> None:
        """Propose from the first member, one non-deciding vote, then the deciding vote."""
        current = list(registry.functions.members().call())
        quorum = int(registry.functions.quorum().call())
        proposed = send(call, current[0])
        proposal_id = int(registry.functions.proposalCount().call())
        votes = [send(registry.functions.vote(proposal_id, True), voter) for voter in current[1:quorum]]
        row = [("proposal", proposed), ("other vote", votes[0]), ("deciding vote", votes[-1])]
        figures.extend(GasFigure(function, case, int(r["gasUsed"]), TRUSTED_ISSUER_REGISTRY) for case, r in row)

    now = int(w3.eth.get_block("latest")["timestamp"])
    issuer, did = outsiders[0], f"did:ethr:0x539:{outsiders[0]}"
    types = ["urn:eudi:pid:de:1", "https://issuer.example/vct/residence"]
    cert_key = keccak(b"a certificate key")  # any 32 bytes: only its storage cost matters here
    decide("proposeAddMember", registry.functions.proposeAddMember(outsiders[1]))
    decide("proposeRemoveMember", registry.functions.proposeRemoveMember(outsiders[1]))
    decide(
        "proposeAccreditation",
        registry.functions.proposeAccreditation(did, issuer, cert_key, types, now, now + 365 * ONE_DAY),
    )
    decide(
        "proposeAccreditation (supersedes)",
        registry.functions.proposeAccreditation(did, issuer, cert_key, types, now, now + 730 * ONE_DAY),
    )
    accreditation = int(registry.functions.accreditationCount().call())
    decide("proposeSuspension", registry.functions.proposeSuspension(accreditation))
    decide("proposeReinstatement", registry.functions.proposeReinstatement(accreditation))
    decide("proposeCompromise", registry.functions.proposeCompromise(cert_key, now + 365 * ONE_DAY))

    # the anchor, while the issuer is accredited
    def uri(index: int, batch: int = 0) -> bytes:
        return keccak(f"https://issuer.example/status/{batch}/{index}".encode())

    def digest(index: int, version: int) -> bytes:
        return keccak(f"status list {index} version {version}".encode())

    for case, version in (("first version", 1), ("later version", 2)):
        receipt = send(anchor.functions.anchor(issuer, uri(0), digest(0, version)), issuer)
        figures.append(GasFigure("anchor", case, int(receipt["gasUsed"]), STATUS_LIST_ANCHOR))
    for size in BATCH_SIZES:
        uris = [uri(i, size) for i in range(size)]
        for case, version in (("first version", 1), ("later version", 2)):
            receipt = send(
                anchor.functions.anchorBatch(issuer, uris, [digest(i, version) for i in range(size)]), issuer
            )
            total = int(receipt["gasUsed"])
            figures.append(GasFigure(f"anchorBatch x{size} (per list)", case, total // size, STATUS_LIST_ANCHOR))
            figures.append(GasFigure(f"anchorBatch x{size} (total)", case, total, STATUS_LIST_ANCHOR))

    decide("proposeRevocation", registry.functions.proposeRevocation(accreditation))

    # execute: a proposal with 2 of 3 votes gets its majority when two members are removed (5 -> 3, quorum 2)
    first, second, *rest = list(registry.functions.members().call())
    send(registry.functions.proposeAddMember(outsiders[2]), first)
    pending = int(registry.functions.proposalCount().call())
    send(registry.functions.vote(pending, True), second)
    for leaving in rest[-2:]:
        current = list(registry.functions.members().call())
        send(registry.functions.proposeRemoveMember(leaving), current[0])
        removal = int(registry.functions.proposalCount().call())
        for voter in current[1 : int(registry.functions.quorum().call())]:
            send(registry.functions.vote(removal, True), voter)
    receipt = send(registry.functions.execute(pending), first)
    figures.append(GasFigure("execute", "deciding vote", int(receipt["gasUsed"]), TRUSTED_ISSUER_REGISTRY))
    return figures


def format_table(figures: Sequence[GasFigure]) -> str:
    """Figures as plain-text tables, one per contract: one row per function, one column per case."""
    tables = []
    for contract, cases in CASES.items():
        rows: dict[str, dict[str, int]] = {}
        for figure in figures:
            if figure.contract == contract:
                rows.setdefault(figure.function, {})[figure.case] = figure.gas_used
        if not rows:
            continue
        width = max(len(name) for name in [*rows, contract])
        lines = [f"{contract:<{width}}  " + "  ".join(f"{case:>13}" for case in cases)]
        for name, by_case in rows.items():
            lines.append(f"{name:<{width}}  " + "  ".join(f"{by_case.get(case, ''):>13}" for case in cases))
        tables.append("\n".join(lines))
    return "\n\n".join(tables)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ledger.gas_report [--json]``."""
    parser = argparse.ArgumentParser(prog="python -m ledger.gas_report", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as a JSON array")
    args = parser.parse_args(argv)
    figures = measure_gas()
    if args.json:
        sys.stdout.write(json.dumps([asdict(f) for f in figures], indent=2) + "\n")
    else:
        sys.stdout.write(format_table(figures) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
