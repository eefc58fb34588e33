"""The issuer on the chain (DESIGN.md §1): each authority's did:ethr, anchored with the authority's credential signing
key, and its accreditation per credential type in the cooperative's trusted-issuer registry.

- :meth:`IssuerChain.ensure_anchored` (idempotent): resolve the authority's did:ethr (its controller key's address
  on this chain); when the signing key is not among its verification methods, publish it (``veriKey``, one year).
- :meth:`IssuerChain.ensure_bbs_anchored` (idempotent): the same for the authority's BBS key (BLS12-381 G2), as the
  did:ethr spec's ``Multikey`` — attribute ``did/pub/Multikey/veriKey`` whose value is the multicodec
  ``bls12_381-g2-pub`` (0xeb01) followed by the key ("Multikey attribute values MUST include the multicodec prefix");
  it answers the id of the verification method (``<did>#delegate-<n>``) that bbs-2023 proofs name.
- :meth:`IssuerChain.accreditation`: asks an :class:`AccreditationRegistry` — :class:`TrustRegistryAccreditation`
  over the cooperative's registry (``ledger.trust``) when :func:`accreditation_registry` finds it on the chain;
  otherwise :class:`RegistryNotAvailable` answers ``"unknown"`` with the reason, and the startup log and
  ``GET /status`` say so.
- :func:`did_registry_address`: the ERC-1056 registry — ``GOVSSI_DID_REGISTRY``, else the one this issuer deployed
  on a development chain earlier, else (development chains only) a new deployment from the first development
  account. Production chains must be configured.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from cryptography import x509

from ledger.client import SoftwareChainSigner
from ssi.errors import ChainError, DidError
from ssi.keys import PrivateKey, PublicKey
from ssi.x509 import spki_sha256

if TYPE_CHECKING:  # web3 (under these) costs seconds of start-up; loaded when the chain is first used
    from issuer.bbs_key import BbsKey
    from ledger.client import ChainClient
    from ledger.did_ethr import EthrDidDriver
    from ledger.trust import TrustRegistry

__all__ = [
    "DEVELOPMENT_CHAIN_IDS",
    "AccreditationRegistry",
    "AnchorResult",
    "IssuerChain",
    "RegistryNotAvailable",
    "TrustRegistryAccreditation",
    "accreditation_registry",
    "did_registry_address",
]

log = logging.getLogger("govssi.issuer.chain")

#: Chain ids of local development chains (govssi ledger node, anvil/hardhat), where a registry may be auto-deployed.
DEVELOPMENT_CHAIN_IDS = frozenset({1337, 31337})


class AccreditationRegistry(Protocol):
    """Answers whether ``did`` (with the certificate key ``cert_key_sha256``) is accredited for ``credential_type``:
    ``"accredited"``, ``"not_accredited"`` or ``"unknown"``; ``source`` says where the answer comes from."""

    @property
    def source(self) -> str: ...

    def status(self, did: str, credential_type: str, cert_key_sha256: bytes) -> str: ...


class RegistryNotAvailable:
    """The seam until Ledger II's trusted-issuer registry is in the build: every answer is ``"unknown"``."""

    source = "unavailable: no trusted-issuer registry on this chain"

    def status(self, did: str, credential_type: str, cert_key_sha256: bytes) -> str:
        return "unknown"


@dataclass(frozen=True)
class AnchorResult:
    did: str
    #: True when this call published the key (a transaction was sent).
    published: bool


@dataclass
class IssuerChain:
    client: ChainClient
    registry: str
    accreditation_registry: AccreditationRegistry = field(default_factory=RegistryNotAvailable)
    timeout: float = 60.0

    def _driver(self) -> EthrDidDriver:
        from ledger.did_ethr import EthrDidDriver

        return EthrDidDriver({self.client.chain_id: (self.client.w3, self.registry)}, timeout=self.timeout)

    def did_of(self, controller: SoftwareChainSigner | object) -> str:
        from ledger.did_ethr import EthrDidController

        return EthrDidController(self.client, self.registry, controller, timeout=self.timeout).did()  # type: ignore[arg-type]

    def ensure_anchored(self, controller: object, signing_key: PublicKey) -> AnchorResult:
        """Publish ``signing_key`` on the controller's did:ethr unless it is there already."""
        from ledger.did_ethr import EthrDidController, verification_method_thumbprint

        ethr = EthrDidController(self.client, self.registry, controller, timeout=self.timeout)  # type: ignore[arg-type]
        did = ethr.did()
        thumbprint = signing_key.thumbprint()
        try:
            document = self._driver().resolve(did)
            present = any(
                verification_method_thumbprint(vm.to_json()) == thumbprint for vm in document.verification_method
            )
        except DidError:
            present = False
        if present:
            return AnchorResult(did, published=False)
        ethr.publish_key(signing_key)
        log.info("published the issuer key on its DID", extra={"fields": {"did": did}})
        return AnchorResult(did, published=True)

    def ensure_bbs_anchored(self, controller: object, key: BbsKey) -> str:
        """Publish the BBS public key on the controller's did:ethr unless a ``Multikey`` verification method with
        its ``publicKeyMultibase`` is there already; the id of that method."""
        from ledger.did_ethr import EthrDidController, multikey_attribute
        from ledger.did_ethr._keys import BLS12_381_G2_PUB

        ethr = EthrDidController(self.client, self.registry, controller, timeout=self.timeout)  # type: ignore[arg-type]
        did = ethr.did()
        for attempt in range(2):
            try:
                methods = self._driver().resolve(did).verification_methods("assertionMethod")
            except DidError:
                methods = ()
            for method in methods:
                if method.type == "Multikey" and method.public_key_multibase == key.multikey:
                    return method.id
            if attempt == 0:
                ethr.set_attribute(*multikey_attribute(BLS12_381_G2_PUB, key.public_key))
                log.info("published the issuer's BBS key on its DID", extra={"fields": {"did": did}})
        raise ChainError("the BBS key was published but is not in the DID document", reason="bbs_key_missing")

    def accreditation(self, did: str, credential_types: list[str], certificate: x509.Certificate) -> dict[str, str]:
        """Per ``vct``; the certificate is named by the SHA-256 of its public key (``ssi.x509.spki_sha256``)."""
        spki = spki_sha256(certificate)
        return {vct: self.accreditation_registry.status(did, vct, spki) for vct in credential_types}


@dataclass
class TrustRegistryAccreditation:
    """:class:`AccreditationRegistry` over the cooperative's trusted-issuer registry (``ledger.trust``): the issuer is
    accredited for a type when the registry says so now (active, in its validity window, not compromised) and the
    accreditation names this certificate key, if it names one (both routes, DID and x5c, lead to it)."""

    registry: TrustRegistry
    clock: Callable[[], float] = time.time

    @property
    def source(self) -> str:
        return f"trusted-issuer registry {self.registry.address}"

    def status(self, did: str, credential_type: str, cert_key_sha256: bytes) -> str:
        check = self.registry.check(did, credential_type, self.clock())
        if not check.accredited:
            return "not_accredited"
        named = check.accreditation.cert_key_sha256 if check.accreditation else None
        if named is not None and named != cert_key_sha256:
            return "not_accredited"
        return "accredited"


def accreditation_registry(client: ChainClient) -> AccreditationRegistry:
    """The registry at ``GOVSSI_TRUSTED_ISSUER_REGISTRY`` (default: the development address) when a contract is
    there, else :class:`RegistryNotAvailable` saying so."""
    from ledger.bootstrap import addresses_from_env

    address = addresses_from_env().trusted_issuer_registry
    if not client.code(address):
        unavailable = RegistryNotAvailable()
        unavailable.source = f"unavailable: no trusted-issuer registry at {address} on this chain"
        return unavailable
    from ledger.trust import TrustRegistry

    return TrustRegistryAccreditation(TrustRegistry(client, address))


class _Settings(Protocol):
    did_registry: str | None


class _SettingStore(Protocol):
    def get_setting(self, name: str) -> str | None: ...

    def put_setting(self, name: str, value: str) -> None: ...


def did_registry_address(client: ChainClient, configured: str | None, storage: _SettingStore) -> str:
    """Where the ERC-1056 registry is (see the module docstring)."""
    from eth_utils.address import is_address, to_checksum_address

    if configured:
        if not is_address(configured):
            raise ChainError("GOVSSI_DID_REGISTRY is not an address", reason="bad_registry")
        address = str(to_checksum_address(configured))
        if not client.code(address):
            raise ChainError(f"there is no contract at GOVSSI_DID_REGISTRY {address}", reason="no_registry")
        return address
    chain_id = client.chain_id
    genesis = bytes(client.w3.eth.get_block(0)["hash"]).hex()
    name = f"did_registry:{chain_id}:{genesis}"
    remembered = storage.get_setting(name)
    if remembered and client.code(remembered):
        return remembered
    if chain_id not in DEVELOPMENT_CHAIN_IDS:
        raise ChainError(
            f"chain {chain_id} is not a development chain: set GOVSSI_DID_REGISTRY to its ERC-1056 registry",
            reason="no_registry",
        )
    from ledger.deploy import deploy_contracts
    from ledger.node.genesis import dev_account_keys

    deployer = SoftwareChainSigner(_secp256k1(dev_account_keys()[0]))
    address = deploy_contracts(client, deployer).did_registry
    storage.put_setting(name, address)
    log.info("deployed a DID registry on the development chain", extra={"fields": {"registry": address}})
    return address


def _secp256k1(secret: bytes) -> PrivateKey:
    from eth_keys.datatypes import PrivateKey as EthPrivateKey

    from ssi.encoding import b64url_encode

    public = EthPrivateKey(secret).public_key.to_bytes()
    return PrivateKey.from_jwk(
        {
            "kty": "EC",
            "crv": "secp256k1",
            "x": b64url_encode(public[:32]),
            "y": b64url_encode(public[32:]),
            "d": b64url_encode(secret),
        }
    )
