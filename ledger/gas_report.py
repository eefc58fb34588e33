"""Gas used by every state-changing call of the ERC-1056 DID registry, measured on an in-process EVM.

``python -m ledger.gas_report [--json]`` deploys the committed ``EthereumDIDRegistry`` artifact on eth-tester (py-evm,
the fork eth-tester runs by default) and prints ``gasUsed`` from the receipts. Each function is measured twice: as the
*first* change of an identity (storage slots go from zero to non-zero, the expensive case) and as a *later* change of
the same identity. Signed variants are sent by a separate relayer account, as ERC-1056 intends.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from eth_utils.crypto import keccak
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract

from ledger import erc1056
from ledger.client import SoftwareChainSigner
from ledger.contracts import DID_REGISTRY, load_artifact

__all__ = ["GasFigure", "format_table", "main", "measure_gas"]

#: did:ethr values of realistic size: a delegate type, an attribute name and a 33-byte compressed secp256k1 key.
VERI_KEY = erc1056.bytes32("veriKey")
PUB_KEY_NAME = erc1056.bytes32("did/pub/Secp256k1/veriKey/hex")
PUB_KEY_VALUE = bytes.fromhex("02b97c30de767f084ce3080168ee293053ba33b235d7116a3263d29f1450936b71")
ONE_DAY = 86_400


@dataclass(frozen=True)
class GasFigure:
    """``gasUsed`` of one call: ``case`` is ``deploy``, ``first change`` or ``later change``."""

    function: str
    case: str
    gas_used: int


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


def format_table(figures: Sequence[GasFigure]) -> str:
    """Figures as a plain-text table: one row per function, one column per case."""
    cases = ["deploy", "first change", "later change"]
    rows: dict[str, dict[str, int]] = {}
    for figure in figures:
        rows.setdefault(figure.function, {})[figure.case] = figure.gas_used
    width = max(len(name) for name in rows)
    lines = [f"{'function':<{width}}  " + "  ".join(f"{case:>12}" for case in cases)]
    for name, by_case in rows.items():
        lines.append(f"{name:<{width}}  " + "  ".join(f"{by_case.get(case, ''):>12}" for case in cases))
    return "\n".join(lines)


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
