"""The chip's two key-agreement proofs, shared by the card (which computes them) and the eID-Server (which checks them).

**Chip authentication** (BSI TR-03110-2, Chip Authentication version 2; TR-03127 §3.1.4; simplified): the chip holds a
static key pair whose public key is listed in the signed security object; the terminal sends a fresh ephemeral public
key (inside its signed request). Both sides compute the ECDH secret of static and ephemeral key and derive a MAC key
from it; the chip proves possession of its private key by a MAC over the session transcript (the request it answered and
its answer). Only the holder of the ephemeral private key — the server of that one session — can check it, and nobody
can show it to a third party (a MAC, not a signature: TR-03110's reason for not signing with the chip key).

Differences from TR-03110 (the simulator's, documented in :mod:`ssi.eid`): HKDF-SHA256 with the terminal's challenge
as salt instead of KDF_MAC with a counter, HMAC-SHA256 instead of AES-CMAC, and the MAC covers the whole answer (there
is no secure messaging channel to carry the data).

**Restricted identification** (TR-03110-2, Restricted Identification; TR-03110-3 §2.7): the sector-specific identifier
``I = H(KA(SK_ID, PK_Sector))`` — the card's restricted-identification private key agreed with the sector public key
from the terminal certificate, hashed with SHA-256. The same card gives the same identifier to the same sector and
unlinkable identifiers to different ones."""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ssi.errors import EidMalformed
from ssi.keys import PrivateKey, PublicKey

__all__ = [
    "CHIP_AUTHENTICATION_LABEL",
    "chip_authentication_mac",
    "mac_matches",
    "restricted_identification",
    "sector_identifier",
]

CHIP_AUTHENTICATION_LABEL: Final = b"govssi eID chip authentication v1"


def _agree(private: PrivateKey, public: PublicKey) -> bytes:
    key = private.crypto_key
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(public.key, ec.EllipticCurvePublicKey):
        raise EidMalformed("eID key agreement uses P-256 keys", reason="eid_malformed")
    if key.curve.name != "secp256r1" or public.key.curve.name != "secp256r1":
        raise EidMalformed("eID key agreement uses P-256 keys", reason="eid_malformed")
    return key.exchange(ec.ECDH(), public.key)


def chip_authentication_mac(
    private: PrivateKey, peer: PublicKey, *, challenge: bytes, request: str, answer: str
) -> bytes:
    """HMAC-SHA256 over ``label || SHA-256(request) || answer`` with the key derived from ECDH(private, peer).

    The chip calls it with its static private key and the terminal's ephemeral public key, the server with its
    ephemeral private key and the chip public key from the security object; the ECDH secret is the same.
    ``request`` is the terminal's signed request (which carries the session id, the challenge and the ephemeral
    key), ``answer`` the encoded answer body: a MAC from another session cannot match.
    """
    secret = _agree(private, peer)
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=challenge, info=CHIP_AUTHENTICATION_LABEL).derive(secret)
    transcript = CHIP_AUTHENTICATION_LABEL + hashlib.sha256(request.encode("ascii")).digest() + answer.encode("ascii")
    return hmac.new(key, transcript, hashlib.sha256).digest()


def mac_matches(expected: bytes, received: bytes) -> bool:
    return hmac.compare_digest(expected, received)


def restricted_identification(ri_key: PrivateKey, sector_key: PublicKey) -> bytes:
    """The sector-specific identifier ``I_ID^Sector = H(KA(SK_ID, PK_Sector))`` (TR-03110-3 §2.7.3), SHA-256."""
    return hashlib.sha256(_agree(ri_key, sector_key)).digest()


def sector_identifier(sector_key: PrivateKey, ri_public_key: PublicKey) -> bytes:
    """The same identifier computed from the other side, for revocation (TR-03110-3 §2.7.2-§2.7.3): the card's
    restricted-identification *public* key, recorded at personalisation, agreed with the sector's *private* key. A
    service (its sector key holder) turns a lost card's public key into the pseudonym it knows the card by, without the
    card. (Real deployments route this through the CVCA's revocation key; the value is the same ECDH secret.)"""
    return hashlib.sha256(_agree(sector_key, ri_public_key)).digest()
