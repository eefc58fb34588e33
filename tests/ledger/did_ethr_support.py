"""did:ethr test helpers: an in-process local chain with the ERC-1056 registry, controllers and drivers on it.

Time: the chain's blocks take their timestamps from ``chain_clock`` (frozen, so consecutive transactions are one
second apart); the drivers' "now" is the later of ``now`` (a frozen clock tests move) and the head block's time, so a
change is visible as soon as it is mined, and :meth:`EthrTestChain.advance` moves both clocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_keys.datatypes import PrivateKey as EthPrivateKey
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from node_support import deploy_registry
from web3 import Web3

from ledger.client import ChainClient, SoftwareChainSigner
from ledger.did_ethr import EthrDidController, EthrDidDriver
from ledger.node import LocalChain, LocalChainProvider
from ssi.clock import FrozenClock
from ssi.encoding import b64url_encode
from ssi.keys import PrivateKey

T0 = 1_750_000_000
CHAIN_ID = 1337


def chain_key(label: str) -> PrivateKey:
    """A deterministic secp256k1 key (no ether needed: the local chain's base fee is 0)."""
    secret = keccak(f"govssi did:ethr test {label}".encode())
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


def account(label: str) -> SoftwareChainSigner:
    """The chain signer of ``chain_key(label)``."""
    return SoftwareChainSigner(chain_key(label))


class CountingProvider(LocalChainProvider):
    """Counts JSON-RPC requests by method, to test what the cache saves."""

    def __init__(self, chain: LocalChain) -> None:
        super().__init__(chain)
        self.calls: dict[str, int] = {}

    def make_request(self, method: Any, params: Any) -> Any:
        self.calls[str(method)] = self.calls.get(str(method), 0) + 1
        return super().make_request(method, params)

    def reset(self) -> None:
        self.calls.clear()


@dataclass
class EthrTestChain:
    chain: LocalChain
    chain_clock: FrozenClock
    now: FrozenClock
    w3: Web3
    provider: CountingProvider
    registry: str
    #: Writes go through the chain client (in-process, over the counting provider); one client, so one nonce view.
    client: ChainClient
    drivers: list[EthrDidDriver] = field(default_factory=list)

    @classmethod
    def create(cls, chain_id: int = CHAIN_ID) -> EthrTestChain:
        chain_clock = FrozenClock(T0)
        chain = LocalChain.in_memory(chain_id, clock=chain_clock)
        registry = str(to_checksum_address(deploy_registry(chain)))
        provider = CountingProvider(chain)
        return cls(chain, chain_clock, FrozenClock(T0), Web3(provider), provider, registry, ChainClient(provider))

    def clock(self) -> float:
        return max(self.now.now, float(self.chain.head().timestamp))

    def driver(self, **options: Any) -> EthrDidDriver:
        options.setdefault("clock", self.clock)
        driver = EthrDidDriver({self.chain.chain_id: (self.w3, self.registry)}, **options)
        self.drivers.append(driver)
        return driver

    def controller(self, label: str, *, identity: str | None = None) -> EthrDidController:
        return EthrDidController(self.client, self.registry, account(label), identity=identity)

    def advance(self, seconds: int) -> None:
        """Let ``seconds`` pass for the chain and the resolvers alike."""
        base = max(self.chain_clock.now, self.now.now, float(self.chain.head().timestamp))
        self.chain_clock.now = base + seconds
        self.now.now = base + seconds

    @property
    def head(self) -> int:
        return self.chain.block_number

    def timestamp(self, block: int) -> int:
        header = self.chain.header(block)
        assert header is not None
        return int(header.timestamp)


def did_of(controller: EthrDidController) -> str:
    return controller.did(CHAIN_ID)
