"""The compiled contracts of govssi's chain, loaded from the committed ``ledger/artifacts/*.json``.

DESIGN.md §3 (Chain): Solidity sources live in ``ledger/contracts/``; ``python -m ledger.build`` compiles them with the
pinned solc-js into ``ledger/artifacts/``. Runtime code only reads the artifacts, so it needs no compiler.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

__all__ = ["DID_REGISTRY", "STATUS_LIST_ANCHOR", "TRUSTED_ISSUER_REGISTRY", "ContractArtifact", "load_artifact"]

#: ERC-1056 ``EthereumDIDRegistry``: the DID registry behind did:ethr.
DID_REGISTRY = "EthereumDIDRegistry"
#: The cooperative's ``TrustedIssuerRegistry``: members, votes, accreditations of issuers (``ledger.trust``).
TRUSTED_ISSUER_REGISTRY = "TrustedIssuerRegistry"
#: ``StatusListAnchor``: the digest of every published status list version (``ledger.trust``).
STATUS_LIST_ANCHOR = "StatusListAnchor"


@dataclass(frozen=True)
class ContractArtifact:
    """One compiled contract: what deploying it and talking to it need, plus how it was built."""

    contract_name: str
    source_name: str
    #: SHA-256 (hex) of the Solidity source the artifact was compiled from.
    source_sha256: str
    #: solc long version, e.g. ``0.8.37+commit.f401782d.Emscripten.clang``.
    compiler_version: str
    #: Solidity standard JSON ``settings`` used (optimizer, evmVersion, ...).
    settings: dict[str, Any]
    abi: list[dict[str, Any]]
    #: Creation code, ``0x``-prefixed hex.
    bytecode: str
    #: Runtime code as deployed on chain, ``0x``-prefixed hex.
    deployed_bytecode: str


@functools.cache
def load_artifact(contract_name: str) -> ContractArtifact:
    """The committed artifact of ``contract_name`` (e.g. :data:`DID_REGISTRY`).

    Raises ``FileNotFoundError`` for an unknown contract and ``ValueError`` for a malformed artifact.
    """
    if not contract_name.isidentifier():
        raise FileNotFoundError(f"no contract artifact named {contract_name!r}")
    resource = resources.files("ledger").joinpath("artifacts", f"{contract_name}.json")
    data = json.loads(resource.read_text(encoding="utf-8"))
    try:
        artifact = ContractArtifact(
            contract_name=data["contractName"],
            source_name=data["sourceName"],
            source_sha256=data["sourceSha256"],
            compiler_version=data["compiler"]["version"],
            settings=data["settings"],
            abi=data["abi"],
            bytecode=data["bytecode"],
            deployed_bytecode=data["deployedBytecode"],
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed contract artifact {contract_name}.json: {exc}") from exc
    if artifact.contract_name != contract_name or not artifact.bytecode.startswith("0x"):
        raise ValueError(f"malformed contract artifact {contract_name}.json")
    return artifact
