"""Builders for the SD-JWT attack corpus (``test_attack_corpus.py``).

One valid PID-like SD-JWT VC (``typ`` ``dc+sd-jwt``, draft-ietf-oauth-sd-jwt-vc-13) is issued once per test module:
flat, structured (``place_of_birth``, ``age_equal_or_over``), recursive (``address`` and its members) and array
element (``nationalities``) Disclosures, decoys, a ``cnf`` Holder key and a status list entry. :class:`World` takes it
apart and puts it back together — truncated, reordered, tampered, or re-signed by the genuine Issuer (or Holder) with
exactly one rule broken, so that only the check under test can reject the result.

Signing is deterministic (RFC 6979 ECDSA) and salts come from a seeded source, so every case is reproducible and two
cases that build the same bytes are recognisably the same case.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from ssi.clock import FrozenClock
from ssi.encoding import b64url_decode, b64url_encode, json_dumps
from ssi.errors import SsiError
from ssi.jose import sign_compact, sign_json
from ssi.keys import PrivateKey, PublicKey, SoftwareSigner
from ssi.sd_jwt import HeldSdJwt, VerificationPolicy, VerifiedSdJwt
from ssi.sd_jwt.vc import issue_sd_jwt_vc, verify_sd_jwt_vc

NOW = 1_760_000_000
AUD = "https://portal.example.gov/login"
NONCE = "qX3n-7c2Fh0wMa1"
VCT = "urn:eudi:pid:de:1"
ISS = "https://pid.example.gov"
TYP = "dc+sd-jwt"
FOURTEEN_DAYS = 14 * 24 * 3600
STATUS = {"status_list": {"idx": 4711, "uri": "https://pid.example.gov/status/1"}}

CLAIMS: dict[str, Any] = {
    "given_name": "ERIKA",
    "family_name": "MUSTERMANN",
    "birth_family_name": "GABLER",
    "birthdate": "1964-08-12",
    "place_of_birth": {"locality": "BERLIN"},
    "address": {"street_address": "HEIDESTRASSE 17", "locality": "KÖLN", "postal_code": "51147", "country": "DE"},
    "nationalities": ["DE"],
    "age_equal_or_over": {"12": True, "14": True, "16": True, "18": True, "21": True, "65": False},
    "age_in_years": 61,
    "age_birth_year": 1964,
    "issuing_authority": "DE",
    "issuing_country": "DE",
    "source_document_type": "id_card",
}
DISCLOSABLE: tuple[tuple[str | int | None, ...], ...] = (
    ("given_name",),
    ("family_name",),
    ("birth_family_name",),
    ("birthdate",),
    ("place_of_birth", "locality"),
    ("address",),  # recursive: the address Disclosure carries the digests of its members
    ("address", "street_address"),
    ("address", "locality"),
    ("address", "postal_code"),
    ("address", "country"),
    ("nationalities", None),
    *(("age_equal_or_over", age) for age in ("12", "14", "16", "18", "21", "65")),
    ("age_in_years",),
    ("age_birth_year",),
)

Mutation = Callable[[dict[str, Any]], None]


class DeterministicSigner:
    """A :class:`ssi.keys.Signer` with RFC 6979 ECDSA signatures: the same input always gives the same JWS."""

    def __init__(self, scalar: int, kid: str | None = None) -> None:
        self._key = ec.derive_private_key(scalar, ec.SECP256R1())
        self._kid = kid
        self.public_key = PublicKey.from_crypto(self._key.public_key())

    alg = "ES256"

    @property
    def kid(self) -> str | None:
        return self._kid

    @property
    def public_jwk(self) -> dict[str, str]:
        return self.public_key.jwk

    def sign(self, data: bytes) -> bytes:
        r, s = decode_dss_signature(self._key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True)))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


class SeededRandom:
    """Salts and decoys from a fixed seed (``ssi.sd_jwt.RandomSource``); tests only, never for real credentials."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def token_bytes(self, nbytes: int) -> bytes:
        return self._rng.randbytes(nbytes)

    def randbelow(self, exclusive_upper_bound: int) -> int:
        return self._rng.randrange(exclusive_upper_bound)


# --- encodings --------------------------------------------------------------------------------------------------


def b64(data: str | bytes) -> str:
    return b64url_encode(data.encode("utf-8") if isinstance(data, str) else data)


def disclosure(*items: Any) -> str:
    """A Disclosure of any shape (also the forbidden ones ``Disclosure.create`` refuses to build)."""
    return b64(json_dumps(list(items)))


def raw_disclosure(text: str | bytes) -> str:
    """A Disclosure whose JSON text is given verbatim (duplicate keys, NaN, invalid UTF-8, ...)."""
    return b64(text)


def sha256(encoded: str) -> str:
    """§4.2.3: the digest of a Disclosure (or ``sd_hash``) with the default hash; UTF-8 so that an attacker can
    hash non-ASCII input too (the Verifier must refuse it, not crash on it)."""
    return b64url_encode(hashlib.sha256(encoded.encode("utf-8", "surrogatepass")).digest())


def decoy(label: str) -> str:
    """A digest no Disclosure will ever match (§4.2.5)."""
    return sha256(b64("decoy " + label))


def noncanonical(segment: str) -> str:
    """The same octets with non-zero unused trailing bits (RFC 4648 §3.5 canonical encoding broken)."""
    if len(segment) % 4 not in (2, 3):
        raise ValueError("segment has no unused trailing bits")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return segment[:-1] + alphabet[alphabet.index(segment[-1]) + 1]


def padded(segment: str) -> str:
    return segment + "=" * (-len(segment) % 4 or 2)


def flip_char(segment: str, index: int = 0) -> str:
    return segment[:index] + ("B" if segment[index] == "A" else "A") + segment[index + 1 :]


def deep_object(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"leaf": True}
    for _ in range(levels):
        node = {"n": node}
    return node


# --- the corpus -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attempt:
    """One verification attempt: what a Verifier receives and the policy it applies."""

    presentation: str | dict[str, Any]
    policy: VerificationPolicy
    issuer_key: PublicKey
    now: float = NOW
    accept_legacy_typ: bool = False
    expected_vct: str | None = None

    def verify(self) -> VerifiedSdJwt:
        return verify_sd_jwt_vc(
            self.presentation,
            self.issuer_key,
            self.policy,
            expected_vct=self.expected_vct,
            accept_legacy_typ=self.accept_legacy_typ,
            clock=FrozenClock(self.now),
        )

    def fingerprint(self) -> str:
        """Everything that decides the outcome, so identical attempts can be told apart from distinct ones."""
        text = self.presentation if isinstance(self.presentation, str) else json_dumps(self.presentation)
        return json_dumps(
            [text, repr(self.policy), self.issuer_key.thumbprint(), self.now, self.accept_legacy_typ, self.expected_vct]
        )


@dataclass(frozen=True, slots=True)
class Attack:
    """A malformed or tampered input and the one error (class and ``reason``) that must reject it."""

    id: str
    category: str
    build: Callable[[World], Attempt] = field(repr=False)
    error: type[SsiError]
    reason: str


@dataclass(frozen=True, slots=True)
class Control:
    """A positive control: an input built with the same machinery that must verify."""

    id: str
    build: Callable[[World], Attempt] = field(repr=False)
    check: Callable[[VerifiedSdJwt], bool] = field(repr=False, default=lambda _: True)


class World:
    """The valid credential, its keys, and the tools to build variants of its presentation."""

    def __init__(self) -> None:
        self.issuer = DeterministicSigner(0x1D5_1553_0E12, kid="pid-issuer-2025")
        self.cosigner = DeterministicSigner(0xC051_9E12, kid="pid-issuer-backup")
        self.holder = DeterministicSigner(0x401D_E12)
        self.attacker = DeterministicSigner(0xBAD_A77AC)
        self.attacker_eddsa = SoftwareSigner(PrivateKey.generate("EdDSA"))
        self.issued = issue_sd_jwt_vc(
            CLAIMS,
            self.issuer,
            vct=VCT,
            issuer=ISS,
            holder_jwk=self.holder.public_jwk,
            status=STATUS,
            disclosable=DISCLOSABLE,
            valid_for=FOURTEEN_DAYS,
            clock=FrozenClock(NOW),
            decoys=2,
            rng=SeededRandom(9901),
        )
        self.held = HeldSdJwt.parse(self.issued.compact)
        self.payload: dict[str, Any] = self.held.payload
        self.issuer_jwt = self.issued.issuer_jwt
        self.disclosures: tuple[str, ...] = tuple(d.encoded for d in self.issued.disclosures)
        self._by_path = {c.path: c for c in self.held.disclosed}
        self.policy = VerificationPolicy(audience=AUD, nonce=NONCE, required_claims=frozenset({"exp"}))

    # -- looking things up

    def d(self, *path: str | int) -> str:
        """The encoded Disclosure revealing ``path``."""
        return self._by_path[path].disclosure.encoded

    def digest_of(self, *path: str | int) -> str:
        return self._by_path[path].digest

    def without(self, *paths: tuple[str | int, ...]) -> tuple[str, ...]:
        drop = {self.d(*p) for p in paths}
        return tuple(d for d in self.disclosures if d not in drop)

    def replaced(self, old: str, new: str) -> tuple[str, ...]:
        return tuple(new if d == old else d for d in self.disclosures)

    # -- signing

    def sign(self, payload: Mapping[str, Any], *, header: Mapping[str, Any] | None = None, signer: Any = None) -> str:
        """An Issuer-signed JWT over ``payload``, ``typ`` ``dc+sd-jwt`` unless ``header`` says otherwise."""
        hdr = {"typ": TYP, **(header or {})}
        return sign_compact(json_dumps(dict(payload)).encode("utf-8"), signer or self.issuer, hdr)

    def sign_segments(self, header_b64: str, payload_b64: str, signer: Any = None) -> str:
        """A compact JWS over the given encoded segments verbatim: the signature is valid even over bad encodings."""
        signature = (signer or self.issuer).sign(f"{header_b64}.{payload_b64}".encode("ascii", "surrogateescape"))
        return f"{header_b64}.{payload_b64}.{b64url_encode(signature)}"

    def sign_text(self, header_text: str | bytes, payload_text: str | bytes, signer: Any = None) -> str:
        """A compact JWS over a verbatim JSON header and payload text (duplicate keys, NaN, invalid UTF-8)."""
        return self.sign_segments(b64(header_text), b64(payload_text), signer)

    def header_text(self, **extra: Any) -> str:
        return json_dumps({"alg": "ES256", "typ": TYP, "kid": self.issuer.kid, **extra})

    def payload_copy(self) -> dict[str, Any]:
        return copy.deepcopy(self.payload)

    def resign(self, mutate: Mutation, *, header: Mapping[str, Any] | None = None, signer: Any = None) -> str:
        """The Issuer signs a copy of the genuine payload after ``mutate``: a valid signature over a broken payload."""
        payload = self.payload_copy()
        mutate(payload)
        return self.sign(payload, header=header, signer=signer)

    # -- Key Binding

    def kb_claims(
        self,
        sd_jwt: str,
        *,
        iat: Any = NOW,
        aud: Any = AUD,
        nonce: Any = NONCE,
        sd_hash: Any = None,
        drop: Iterable[str] = (),
        **extra: Any,
    ) -> dict[str, Any]:
        claims = {"iat": iat, "aud": aud, "nonce": nonce, "sd_hash": sd_hash or sha256(sd_jwt), **extra}
        for name in drop:
            del claims[name]
        return claims

    def kb(
        self,
        sd_jwt: str,
        *,
        signer: Any = None,
        typ: str | None = "kb+jwt",
        header: Mapping[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A KB-JWT (§4.3) by the Holder (or ``signer``) over ``sd_jwt``; any claim can be changed or dropped."""
        hdr = dict(header or {})
        if typ is not None:
            hdr["typ"] = typ
        body = json_dumps(self.kb_claims(sd_jwt, **claims)).encode("utf-8")
        return sign_compact(body, signer or self.holder, hdr)

    # -- presentations

    def sd_jwt(self, issuer_jwt: str | None = None, disclosures: Iterable[str] | None = None) -> str:
        """``<Issuer-signed JWT>~<Disclosure 1>~...~<Disclosure N>~`` (§4)."""
        chosen = self.disclosures if disclosures is None else tuple(disclosures)
        return (issuer_jwt or self.issuer_jwt) + "~" + "".join(d + "~" for d in chosen)

    def present(
        self,
        issuer_jwt: str | None = None,
        disclosures: Iterable[str] | None = None,
        *,
        kb: bool = True,
        **kb_options: Any,
    ) -> str:
        """An SD-JWT+KB whose KB-JWT the Holder computed over exactly these parts (or an SD-JWT without KB)."""
        sd = self.sd_jwt(issuer_jwt, disclosures)
        return sd + (self.kb(sd, **kb_options) if kb else "")

    def resigned(self, mutate: Mutation, *, extra: Iterable[str] = (), drop: Iterable[str] = (), **kb: Any) -> str:
        """Re-signed payload, all genuine Disclosures (minus ``drop``) plus ``extra``, KB-JWT by the Holder."""
        dropped = set(drop)
        chosen = [d for d in self.disclosures if d not in dropped] + list(extra)
        return self.present(self.resign(mutate), chosen, **kb)

    def json_form(
        self,
        issuer_jwt: str | None = None,
        disclosures: Iterable[str] | None = None,
        *,
        kb: bool = True,
        header: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """§8.2 flattened JWS JSON serialization; the KB-JWT's ``sd_hash`` is over the compact form (§8.1)."""
        jwt = issuer_jwt or self.issuer_jwt
        chosen = list(self.disclosures if disclosures is None else disclosures)
        protected, payload, signature = jwt.split(".")
        unprotected: dict[str, Any] = {**(header or {}), "disclosures": chosen}
        if kb:
            unprotected["kb_jwt"] = self.kb(self.sd_jwt(jwt, chosen))
        return {"payload": payload, "protected": protected, "signature": signature, "header": unprotected}

    def general_json(self, *, members_in: int = 0, kb: bool = True) -> dict[str, Any]:
        """§8.3 general serialization, signed by the Issuer and a co-signer; §8 members in header ``members_in``."""
        body = json_dumps(self.payload).encode("utf-8")
        jws = sign_json(body, [self.issuer, self.cosigner], headers=[{"typ": TYP}] * 2, flattened=False)
        first = jws["signatures"][0]
        issuer_jwt = f"{first['protected']}.{jws['payload']}.{first['signature']}"
        members: dict[str, Any] = {"disclosures": list(self.disclosures)}
        if kb:
            members["kb_jwt"] = self.kb(self.sd_jwt(issuer_jwt))
        jws["signatures"][members_in]["header"] = members
        return jws

    # -- attempts

    def attempt(
        self,
        presentation: str | dict[str, Any],
        *,
        now: float = NOW,
        legacy: bool = False,
        vct: str | None = None,
        issuer_key: PublicKey | None = None,
        **policy: Any,
    ) -> Attempt:
        return Attempt(
            presentation=presentation,
            policy=replace(self.policy, **policy),
            issuer_key=issuer_key or self.issuer.public_key,
            now=now,
            accept_legacy_typ=legacy,
            expected_vct=vct,
        )

    def no_kb(self, presentation: str | dict[str, Any], **options: Any) -> Attempt:
        """A Verifier whose policy does not require Key Binding (§7.3 step 1)."""
        return self.attempt(presentation, require_key_binding=False, **options)


def add_sd(target: dict[str, Any], *digests: str) -> None:
    """Embed digests into an object's ``_sd`` array (§4.2.4.1), kept sorted like the Issuer does."""
    target["_sd"] = sorted([*target.get("_sd", []), *digests])


def hmac_with_public_key(world: World, header: Mapping[str, Any], payload: Mapping[str, Any], secret: bytes) -> str:
    """The classic alg confusion: an HS* JWS whose HMAC secret is the verifier's public key (RFC 8725 §2.1)."""
    alg = header["alg"]
    digestmod = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    signing_input = f"{b64(json_dumps(dict(header)))}.{b64(json_dumps(dict(payload)))}"
    mac = hmac.new(secret, signing_input.encode("ascii"), digestmod).digest()
    return f"{signing_input}.{b64url_encode(mac)}"


def reencode(segment: str, *, standard_alphabet: bool = False) -> str:
    """Decode a base64url segment and encode it again, optionally with the '+' '/' alphabet of RFC 4648 §4."""
    raw = b64url_decode(segment)
    out = b64url_encode(raw)
    return out.replace("-", "+").replace("_", "/") if standard_alphabet else out
