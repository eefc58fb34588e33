"""How the trusted-issuer registry and the status-list anchor name things on chain (only hashes and public identifiers).

- An *issuer key* names an accreditation: ``keccak256(utf-8 DID)`` for a DID, the SHA-256 of the DER
  SubjectPublicKeyInfo for the key of the issuer's X.509 certificate (:func:`ssi.x509.spki_sha256`) as it is. Both lead
  to the same accreditation. DIDs are hashed exactly as written: accredit the DID the issuer puts into ``iss``.
- A credential type (SD-JWT VC ``vct``, mdoc doctype, W3C type) is named by ``keccak256(utf-8 type)``.
- A status list is named by ``keccak256(utf-8 URI)`` of its URI (the ``uri`` of a ``status_list`` claim).
- The issuer of status lists is the identity address of its did:ethr (ERC-1056).
"""

from __future__ import annotations

import re
from typing import Final

from eth_utils.address import is_address, to_checksum_address
from eth_utils.crypto import keccak

from ledger.did_ethr import network_id, parse_ethr_did
from ssi.errors import DidError

__all__ = [
    "credential_type_hash",
    "ethr_identity",
    "issuer_identity",
    "issuer_key",
    "parse_cert_key_sha256",
    "status_list_uri_hash",
]

_HEX32: Final = re.compile(r"(0x)?[0-9a-fA-F]{64}")


def parse_cert_key_sha256(value: str | bytes) -> bytes:
    """A certificate key SHA-256 given as 32 bytes or 64 hex digits (``0x`` optional); ``ValueError`` otherwise."""
    if isinstance(value, bytes | bytearray):
        if len(value) != 32:
            raise ValueError("a certificate key SHA-256 is 32 bytes")
        return bytes(value)
    if not _HEX32.fullmatch(value):
        raise ValueError("a certificate key SHA-256 is 64 hex digits")
    return bytes.fromhex(value[2:] if value.startswith("0x") else value)


def issuer_key(issuer: str | bytes) -> bytes:
    """The issuer key of a DID (``did:…``, hashed with keccak-256) or of a certificate key (its SHA-256: 32 bytes or
    64 hex digits, taken as it is)."""
    if isinstance(issuer, str) and issuer.startswith("did:"):
        return keccak(issuer.encode("utf-8"))
    try:
        return parse_cert_key_sha256(issuer)
    except ValueError:
        raise ValueError("an issuer is a DID (did:…) or a certificate key's SHA-256 (64 hex digits)") from None


def credential_type_hash(credential_type: str) -> bytes:
    return keccak(credential_type.encode("utf-8"))


def status_list_uri_hash(uri: str) -> bytes:
    return keccak(uri.encode("utf-8"))


def ethr_identity(did: str, chain_id: int) -> str | None:
    """The ERC-1056 identity address of a did:ethr *on this chain* (its network is ``network_id(chain_id)``), else
    ``None`` (another DID method, or a did:ethr of another network: its identity means nothing here)."""
    if not did.startswith("did:ethr:"):
        return None
    try:
        parsed = parse_ethr_did(did)
    except DidError:
        return None
    return parsed.address if parsed.network == network_id(chain_id) else None


def issuer_identity(issuer: str) -> str:
    """The identity address of a status-list issuer: a did:ethr (any network) or a ``0x`` address, checksummed."""
    if issuer.startswith("did:"):
        return parse_ethr_did(issuer).address
    if not is_address(issuer):
        raise ValueError("a status list issuer is a did:ethr or an Ethereum address")
    return str(to_checksum_address(issuer))
