"""did:ethr identifiers (did:ethr method spec, "Method Specific Identifier")::

    ethr-did                 = "did:ethr:" ethr-specific-identifier
    ethr-specific-identifier = [ ethr-network ":" ] ethereum-address / public-key-hex
    ethr-network             = "mainnet" / "goerli" / network-chain-id
    network-chain-id         = "0x" *HEXDIG
    ethereum-address         = "0x" 40*HEXDIG
    public-key-hex           = "0x" 66*HEXDIG

"if no public Ethereum network was specified, it is assumed that the DID is anchored on the Ethereum mainnet", so
``did:ethr:0x…`` is ``did:ethr:mainnet:0x…``. A network chain id is written as ethr-did-resolver keys its networks:
``0x`` and the lower-case hex chain id without leading zeros (chain 1337 is ``0x539``); other spellings name no
configured network. The identifier "MUST be represented in compressed form" when it is a public key; its identity
address is the Ethereum address of that key. Addresses are case-insensitive, but a mixed-case address must carry a
correct EIP-55 checksum (a wrong one is a typo, not another DID).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.asymmetric import ec
from eth_utils.address import is_checksum_address, to_checksum_address

from ledger.accounts import ethereum_address
from ssi.did import parse_did
from ssi.errors import DidError, KeyError_
from ssi.keys import PublicKey

__all__ = ["MAINNET", "METHOD", "EthrDid", "ethr_did", "network_id", "parse_ethr_did"]

METHOD: Final = "ethr"
#: The network of a did:ethr without a network part.
MAINNET: Final = "mainnet"
_ADDRESS: Final = re.compile(r"0x[0-9a-fA-F]{40}")
_PUBLIC_KEY: Final = re.compile(r"0x[0-9a-fA-F]{66}")


@dataclass(frozen=True, slots=True)
class EthrDid:
    """A parsed did:ethr."""

    did: str
    #: The network as written (``0x539``, ``mainnet``, ...); ``mainnet`` when the DID has none.
    network: str
    #: The identity in the ERC-1056 registry, EIP-55 checksummed.
    address: str
    #: For a public-key DID, the compressed secp256k1 public key (33 bytes), else ``None``.
    public_key: bytes | None = None


def network_id(chain_id: int) -> str:
    """The did:ethr network identifier of a chain: ``0x`` + lower-case hex (``network-chain-id``)."""
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or chain_id <= 0:
        raise ValueError("a chain id is a positive integer")
    return f"0x{chain_id:x}"


def ethr_did(identifier: str | PublicKey, chain_id: int | None = None) -> str:
    """The did:ethr of an address or a secp256k1 public key, on chain ``chain_id`` (no network part: mainnet).

    Addresses are written in lower case, as the method spec's examples are.
    """
    if isinstance(identifier, PublicKey):
        if identifier.alg != "ES256K":
            raise KeyError_("a did:ethr public key is a secp256k1 (ES256K) key", reason="wrong_curve")
        specific = "0x" + identifier.raw_bytes(compressed=True).hex()
    else:
        if not isinstance(identifier, str) or not _ADDRESS.fullmatch(identifier):
            raise DidError("a did:ethr address is 0x and 40 hex digits", reason="invalidDid")
        specific = identifier.lower()
    return f"did:{METHOD}:{specific}" if chain_id is None else f"did:{METHOD}:{network_id(chain_id)}:{specific}"


def parse_ethr_did(did: str) -> EthrDid:
    """Parse a did:ethr (``invalidDid`` for anything the method-specific identifier rules above refuse)."""
    parsed = parse_did(did)
    if parsed.method != METHOD:
        raise DidError(f"not a did:ethr (method {parsed.method!r})", reason="invalidDid")
    network, _, specific = parsed.method_specific_id.rpartition(":")
    if network == "" and ":" in parsed.method_specific_id:
        raise DidError("the did:ethr network part is empty", reason="invalidDid")
    network = network or MAINNET
    if _ADDRESS.fullmatch(specific):
        hex_digits = specific[2:]
        if hex_digits != hex_digits.lower() and hex_digits != hex_digits.upper() and not is_checksum_address(specific):
            raise DidError("the did:ethr address has a wrong EIP-55 checksum", reason="invalidDid")
        return EthrDid(did=str(parsed), network=network, address=str(to_checksum_address(specific)))
    if _PUBLIC_KEY.fullmatch(specific):
        raw = bytes.fromhex(specific[2:])
        key = _compressed_secp256k1(raw)
        if key is None:
            # "it MUST be represented in compressed form": 0x02/0x03 and a point on secp256k1
            raise DidError("the did:ethr public key is not a compressed secp256k1 point", reason="invalidDid")
        return EthrDid(did=str(parsed), network=network, address=ethereum_address(key), public_key=raw)
    raise DidError(
        "a did:ethr identifier is 0x and 40 hex digits (an address) or 66 hex digits (a compressed public key)",
        reason="invalidDid",
    )


def _compressed_secp256k1(raw: bytes) -> PublicKey | None:
    if len(raw) != 33 or raw[0] not in (2, 3):
        return None
    try:
        return PublicKey.from_crypto(ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), raw))
    except ValueError:
        return None
