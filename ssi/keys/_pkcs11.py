"""Keys in a PKCS#11 token (an HSM; SoftHSM2 in tests): the private key is generated in the token and never leaves it.

PKCS#11 v2.40 (OASIS "PKCS #11 Cryptographic Token Interface Base Specification" and "Current Mechanisms"):

- Key generation (Current Mechanisms §2.3.6 ``CKM_EC_KEY_PAIR_GEN``) happens inside the token with the private key
  ``CKA_SENSITIVE`` = true and ``CKA_EXTRACTABLE`` = false (Base §4.9: a sensitive key's ``CKA_VALUE`` cannot be read;
  an unextractable key cannot be wrapped out). The token then reports ``CKA_ALWAYS_SENSITIVE`` and
  ``CKA_NEVER_EXTRACTABLE`` = true. Keys found by label/id are refused unless sensitive and unextractable.
- Signing uses ``CKM_ECDSA`` (Current Mechanisms §2.3.7): the token signs a digest computed here (SHA-256 for ES256,
  RFC 7518 §3.4, and ES256K, RFC 8812 §3.2) and returns ``r ‖ s``, each as long as the group order — exactly the JWS
  signature format. ``CKM_ECDSA_SHA256`` would hash inside the token, but many tokens (SoftHSM2 2.6 among them) do
  not offer it, and hashing the signing input here sends 32 bytes instead of the whole input to the token.
- The public key comes from the matching public-key object (``CKA_EC_PARAMS`` names the curve, ``CKA_EC_POINT`` is
  the DER OCTET STRING of the uncompressed point, Current Mechanisms §2.3.3). When a key is opened, one signature
  over a fixed challenge is verified with it, so a public key paired with the wrong private key is caught at once.

Threads: python-pkcs11 initialises the module with ``C_Initialize(NULL_PTR)``, which promises the module that the
application never calls it from two threads at once (Base §5.4), so all calls into one module are serialised here.
Login state belongs to the application, not the session (Base §5.6.1): one login session per (module, token) in the
process, shared by every :class:`Pkcs11Token` on that token; each connection has its own public session that
inherits it. Object handles of private keys die with a logout; a lost session, logout or token reset is recovered
once per operation (log in again, look the key up again). PKCS#11 state does not survive ``fork()``: open tokens in the
process that uses them.

The user PIN is kept by the :class:`Pkcs11Token` (to log in again after a token reset) and appears in no ``repr``,
log or error message. :func:`read_pin` takes it from ``$GOVSSI_PKCS11_PIN`` or the file named by
``$GOVSSI_PKCS11_PIN_FILE``, never from a command line.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, TypeVar

import pkcs11
from cryptography.hazmat.primitives.asymmetric import ec
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11

from ssi.errors import InvalidSignature, KeyError_, Pkcs11Error, UnsupportedAlgorithm
from ssi.keys._jwk import PublicKey

__all__ = [
    "PIN_ENV",
    "PIN_FILE_ENV",
    "Pkcs11KeyInfo",
    "Pkcs11Signer",
    "Pkcs11Token",
    "read_pin",
]

PIN_ENV = "GOVSSI_PKCS11_PIN"
PIN_FILE_ENV = "GOVSSI_PKCS11_PIN_FILE"
_MAX_PIN_FILE = 1024

#: JWS ``alg`` → (curve, DER of the named-curve OID as ``CKA_EC_PARAMS``, RFC 5480 §2.1.1.1 / SEC 2 §A.2).
_CURVES: dict[str, tuple[ec.EllipticCurve, bytes]] = {
    "ES256": (ec.SECP256R1(), bytes.fromhex("06082a8648ce3d030107")),  # 1.2.840.10045.3.1.7 (P-256)
    "ES256K": (ec.SECP256K1(), bytes.fromhex("06052b8104000a")),  # 1.3.132.0.10 (secp256k1)
}
_PARAMS_TO_ALG = {params: alg for alg, (_, params) in _CURVES.items()}
_COORD = 32  # octets per coordinate, per r and per s (both curves are 256-bit)
_PAIRING_CHALLENGE = b"govssi pkcs11 key pairing check"

T = TypeVar("T")


def read_pin(environ: Mapping[str, str] | None = None) -> str | None:
    """The token's user PIN from ``$GOVSSI_PKCS11_PIN`` or the file named by ``$GOVSSI_PKCS11_PIN_FILE``.

    A trailing line break in the file is dropped. Setting both is refused (which one would win is not obvious);
    ``None`` when neither is set.
    """
    env = os.environ if environ is None else environ
    value, file_name = env.get(PIN_ENV), env.get(PIN_FILE_ENV)
    if value and file_name:
        raise Pkcs11Error(f"set {PIN_ENV} or {PIN_FILE_ENV}, not both", reason="pkcs11_pin_ambiguous")
    if value:
        return value
    if not file_name:
        return None
    try:
        with open(file_name, "rb") as fh:
            raw = fh.read(_MAX_PIN_FILE + 1)
    except OSError as exc:
        raise Pkcs11Error(f"cannot read the PIN file {file_name}: {exc.strerror}", reason="pkcs11_pin_file") from None
    if len(raw) > _MAX_PIN_FILE:
        raise Pkcs11Error("the PIN file is too large", reason="pkcs11_pin_file")
    try:
        pin = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise Pkcs11Error("the PIN file is not UTF-8 text", reason="pkcs11_pin_file") from None
    if not pin:
        raise Pkcs11Error("the PIN file is empty", reason="pkcs11_pin_file")
    return pin


def _describe(exc: p11.PKCS11Error) -> str:
    # python-pkcs11's messages may quote search templates; the class name (the CKR_ code) is enough and safe. Codes it
    # has no class for come as a bare PKCS11Error whose message is just the code ("Unmapped error code 0x1b").
    return str(exc)[:80] if type(exc) is p11.PKCS11Error else type(exc).__name__


def _mapped(exc: p11.PKCS11Error, what: str) -> Pkcs11Error:
    if isinstance(exc, p11.PinIncorrect | p11.PinInvalid | p11.PinLenRange):
        return Pkcs11Error("the token refused the PIN", reason="pkcs11_pin_incorrect")
    if isinstance(exc, p11.PinLocked | p11.PinExpired):
        return Pkcs11Error("the token's user PIN is locked or expired", reason="pkcs11_pin_locked")
    if isinstance(exc, p11.UserPinNotInitialized):
        return Pkcs11Error("the token has no user PIN set", reason="pkcs11_pin_locked")
    if isinstance(exc, p11.NoSuchKey):
        return Pkcs11Error(f"{what}: no such key in the token", reason="pkcs11_key_not_found")
    if isinstance(exc, p11.MultipleObjectsReturned):
        return Pkcs11Error(f"{what}: more than one key matches", reason="pkcs11_key_ambiguous")
    return Pkcs11Error(f"{what} failed in the PKCS#11 token ({_describe(exc)})", reason="pkcs11_failed")


# --- modules and logins: process-wide state of the PKCS#11 library -------------------------------------------------


class _Login:
    """The login session of one token in this process; ``generation`` counts logins (private handles die with one)."""

    __slots__ = ("generation", "pin_digest", "session", "token", "users")

    def __init__(self, token: pkcs11.Token, session: pkcs11.Session, pin_digest: bytes) -> None:
        self.token = token
        self.session: pkcs11.Session | None = session
        self.pin_digest = pin_digest
        self.users = 0
        self.generation = 0


class _Module:
    """A loaded PKCS#11 module, its lock and the logins to its tokens (by slot id).

    python-pkcs11 initialises a module with ``C_Initialize(NULL_PTR)``, and Base §5.4 reads that as the application
    promising not to call the module from several threads at once (a module may then skip its own locking; SoftHSM2
    does, and crashes otherwise). So every call into a module happens under its one lock.
    """

    __slots__ = ("lib", "lock", "logins")

    def __init__(self, lib: Any) -> None:
        self.lib = lib
        self.lock = threading.RLock()
        self.logins: dict[int, _Login] = {}


_modules_lock = threading.Lock()
_modules: dict[str, _Module] = {}
_pin_salt = secrets.token_bytes(16)


def _pin_digest(pin: str) -> bytes:
    return hmac.new(_pin_salt, pin.encode("utf-8"), hashlib.sha256).digest()


def _module(path: str) -> _Module:
    with _modules_lock:
        module = _modules.get(path)
        if module is None:
            try:
                lib = pkcs11.lib(path)
            except p11.PKCS11Error:
                raise Pkcs11Error(f"cannot load the PKCS#11 module {path}", reason="pkcs11_module") from None
            module = _modules[path] = _Module(lib)
        return module


def _find_token(lib: Any, token_label: str) -> pkcs11.Token:
    try:
        token: pkcs11.Token = lib.get_token(token_label=token_label)
    except p11.NoSuchToken:
        raise Pkcs11Error(f"no token labelled {token_label!r}", reason="pkcs11_token_not_found") from None
    except p11.MultipleTokensReturned:
        raise Pkcs11Error(f"more than one token labelled {token_label!r}", reason="pkcs11_token_ambiguous") from None
    except p11.PKCS11Error as exc:
        raise _mapped(exc, "finding the token") from None
    return token


def _close_quietly(session: pkcs11.Session) -> None:
    with suppress(p11.PKCS11Error):
        session.close()


def _find(session: pkcs11.Session, template: dict[Attribute, Any], what: str) -> pkcs11.Object:
    """The one object matching ``template``; the search is always ended (``C_FindObjectsFinal``) before returning."""
    search = session.get_objects(template)
    try:
        first = next(search, None)
        second = next(search, None) if first is not None else None
    finally:
        close = getattr(search, "close", None)  # a generator: closing it ends the search now, not at collection
        if close is not None:
            close()
    if first is None:
        raise Pkcs11Error(f"{what}: no such key in the token", reason="pkcs11_key_not_found")
    if second is not None:
        raise Pkcs11Error(f"{what}: more than one key matches", reason="pkcs11_key_ambiguous")
    return first


def _key_template(object_class: ObjectClass, label: str | None, key_id: bytes | None) -> dict[Attribute, Any]:
    template: dict[Attribute, Any] = {Attribute.CLASS: object_class, Attribute.KEY_TYPE: KeyType.EC}
    if label is not None:
        template[Attribute.LABEL] = label
    if key_id is not None:
        template[Attribute.ID] = key_id
    return template


# --- the token ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pkcs11KeyInfo:
    """An EC key pair in the token: what :meth:`Pkcs11Token.list_keys` lists (no secret, no handle)."""

    label: str
    key_id: bytes
    alg: str | None  # None: a curve govssi does not sign with


class _Session:
    """This connection's session, the private-key handles found in it and the login generation they belong to."""

    __slots__ = ("generation", "keys", "session")

    def __init__(self, session: pkcs11.Session, generation: int) -> None:
        self.session = session
        self.generation = generation
        self.keys: dict[tuple[str | None, bytes | None], pkcs11.SignMixin] = {}


class _KeyGone(p11.NoSuchKey):
    """A key that was there is not found any more: most likely the login is gone (private objects are hidden)."""


#: Errors after which the operation is tried once more after logging in again: the session or the login is gone
#: (Base §5.6: a logout invalidates private object handles; a token reset closes all sessions).
_RECOVERABLE: tuple[type[p11.PKCS11Error], ...] = (
    p11.SessionHandleInvalid,
    p11.SessionClosed,
    p11.UserNotLoggedIn,
    p11.ObjectHandleInvalid,
    p11.KeyHandleInvalid,
    p11.DeviceRemoved,
    p11.TokenNotPresent,
    _KeyGone,
)


class Pkcs11Token:
    """A logged-in connection to one PKCS#11 token.

    ``module`` is the path of the PKCS#11 library (``/usr/lib/softhsm/libsofthsm2.so``), ``token_label`` the
    token's label (``CK_TOKEN_INFO.label``, Base §5.5), ``pin`` the user PIN. Use it as a context manager or call
    :meth:`close`; signers obtained from it stop working when it is closed. Thread-safe: calls into the module are
    serialised (see :class:`_Module`), so one connection per token and process is enough.
    """

    def __init__(self, module: str | os.PathLike[str], token_label: str, pin: str) -> None:
        if not pin:
            raise Pkcs11Error("a PKCS#11 login needs the user PIN", reason="pkcs11_pin_required")
        self.module = os.path.realpath(os.fspath(module))
        self.token_label = token_label
        self._pid = os.getpid()
        self._session: _Session | None = None
        self._closed = False
        self._module = _module(self.module)
        self._lock = self._module.lock
        with self._lock:
            token = _find_token(self._module.lib, token_label)
            self._slot = token.slot.slot_id
            digest = _pin_digest(pin)
            login = self._module.logins.get(self._slot)
            if login is None:
                try:
                    session = token.open(user_pin=pin)
                except p11.PKCS11Error as exc:
                    raise _mapped(exc, "logging in") from None
                login = self._module.logins[self._slot] = _Login(token, session, digest)
            elif not hmac.compare_digest(login.pin_digest, digest):
                # Already logged in through another connection: without this check a wrong PIN would get in.
                raise Pkcs11Error("the token refused the PIN", reason="pkcs11_pin_incorrect")
            login.users += 1
            self._login = login
            self._pin = pin

    # -- running operations --

    def _check_usable(self) -> None:
        if self._closed:
            raise Pkcs11Error("the PKCS#11 token connection is closed", reason="pkcs11_closed")
        if os.getpid() != self._pid:
            # Base §6.7.1: a child process must call C_Initialize itself; the parent's sessions are not its own.
            raise Pkcs11Error(
                "a PKCS#11 token cannot be used across fork(); open it in this process", reason="pkcs11_fork"
            )

    def _current(self) -> _Session:
        current, generation = self._session, self._login.generation
        if current is None:
            current = self._session = _Session(self._login.token.open(rw=True), generation)
        elif current.generation != generation:
            current.keys.clear()  # logged in again since: the private key handles found before are dead
            current.generation = generation
        return current

    def _drop_session(self) -> None:
        if self._session is not None:
            # Its state is unknown (an operation may still be active in it): a fresh one replaces it.
            _close_quietly(self._session.session)
            self._session = None

    def _relogin(self, seen_generation: int) -> None:
        """Log in again, unless another connection to this token already did since ``seen_generation``."""
        login = self._login
        if login.generation != seen_generation:
            return
        if login.session is not None:
            _close_quietly(login.session)  # C_Logout + C_CloseSession; failing means it was gone already
            login.session = None
        login.generation += 1
        try:
            login.session = login.token.open(user_pin=self._pin)
        except p11.UserAlreadyLoggedIn:
            pass  # this application is logged in (by someone else's C_Login): that is what matters
        except p11.PKCS11Error as exc:
            raise _mapped(exc, "logging in again") from None

    def _run(self, what: str, operation: Callable[[_Session], T]) -> T:
        """Run ``operation`` on this connection's session; after a lost session or login, once more after logging in
        again."""
        self._check_usable()
        with self._lock:
            for attempt in (1, 2):
                seen = self._session.generation if self._session is not None else self._login.generation
                try:
                    return operation(self._current())
                except _RECOVERABLE as exc:
                    self._drop_session()
                    if attempt == 2:
                        raise _mapped(exc, what) from None
                    self._relogin(seen)
                except p11.PKCS11Error as exc:
                    self._drop_session()
                    raise _mapped(exc, what) from None
            raise AssertionError("unreachable")  # pragma: no cover

    # -- keys --

    def generate_key(
        self, alg: str = "ES256", *, label: str, key_id: bytes | None = None, kid: str | None = None
    ) -> Pkcs11Signer:
        """Generate an EC key pair inside the token (``CKM_EC_KEY_PAIR_GEN``) and return its signer.

        The private key is a token object with ``CKA_PRIVATE``, ``CKA_SENSITIVE`` and ``CKA_SIGN`` true and
        ``CKA_EXTRACTABLE``, ``CKA_DERIVE``, ``CKA_DECRYPT``, ``CKA_UNWRAP``, ``CKA_MODIFIABLE`` false: it signs and
        does nothing else, and nobody can change that later. ``key_id`` (``CKA_ID``) defaults to 16 random bytes;
        neither ``label`` nor ``key_id`` may be taken already (lookups would become ambiguous). ``kid`` defaults to
        the RFC 7638 thumbprint of the public key.
        """
        if alg not in _CURVES:
            raise UnsupportedAlgorithm(f"a PKCS#11 key can be made for {sorted(_CURVES)}, not {alg!r}")
        if not label:
            raise Pkcs11Error("a token key needs a label", reason="pkcs11_bad_label")
        key_id = secrets.token_bytes(16) if key_id is None else key_id
        if not key_id:
            raise Pkcs11Error("a token key id must not be empty", reason="pkcs11_bad_label")
        _, params = _CURVES[alg]

        def generate(current: _Session) -> None:
            session = current.session
            for template in ({Attribute.LABEL: label}, {Attribute.ID: key_id}):
                try:
                    _find(session, template, "")
                except Pkcs11Error as exc:
                    if exc.reason == "pkcs11_key_not_found":
                        continue
                raise Pkcs11Error("the token already holds a key with this label or id", reason="pkcs11_key_exists")
            domain = session.create_domain_parameters(KeyType.EC, {Attribute.EC_PARAMS: params}, local=True)
            domain.generate_keypair(
                id=key_id,
                label=label,
                store=True,
                capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
                public_template={Attribute.PRIVATE: False, Attribute.MODIFIABLE: False},
                private_template={
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.SIGN: True,
                    Attribute.DERIVE: False,
                    Attribute.DECRYPT: False,
                    Attribute.UNWRAP: False,
                    Attribute.MODIFIABLE: False,
                },
            )

        self._run("generating a key", generate)
        return self.signer(label=label, key_id=key_id, kid=kid)

    def signer(self, *, label: str | None = None, key_id: bytes | None = None, kid: str | None = None) -> Pkcs11Signer:
        """The signer of the key pair with this label and/or id (``CKA_LABEL`` / ``CKA_ID``).

        Refused: no or several matching keys, a curve other than P-256/secp256k1, a private key that is not
        sensitive or is extractable (its value may exist outside the token), a public key that does not verify the
        private key's signature.
        """
        if label is None and key_id is None:
            raise Pkcs11Error("find a token key by label, id or both", reason="pkcs11_bad_label")
        query = (label, key_id)

        def inspect(current: _Session) -> tuple[str, PublicKey, str, bytes, bytes]:
            private = _private_key(current, query, known=False)
            attrs = private.get_attributes([Attribute.SENSITIVE, Attribute.EXTRACTABLE, Attribute.ID, Attribute.LABEL])
            if attrs[Attribute.SENSITIVE] is not True or attrs[Attribute.EXTRACTABLE] is not False:
                raise Pkcs11Error(
                    "the token key is extractable or not sensitive; govssi signs only with keys that cannot leave",
                    reason="pkcs11_key_extractable",
                )
            found_id = bytes(attrs[Attribute.ID])
            # Base §4.8: CKA_ID pairs the public and private key of one key pair; without an id, the label does.
            template = _key_template(ObjectClass.PUBLIC_KEY, None if found_id else label, found_id or None)
            public = _find(current.session, template, "the public key")
            alg, public_key = _public_key(public)
            check = private.sign(hashlib.sha256(_PAIRING_CHALLENGE).digest(), mechanism=Mechanism.ECDSA)
            return alg, public_key, str(attrs[Attribute.LABEL]), found_id, check

        alg, public_key, found_label, found_id, check = self._run("finding the key", inspect)
        try:
            public_key.verify(alg, _PAIRING_CHALLENGE, check)
        except InvalidSignature:
            raise Pkcs11Error(
                "the token's public key does not belong to its private key", reason="pkcs11_key_mismatch"
            ) from None
        return Pkcs11Signer(self, query, alg, public_key, label=found_label, key_id=found_id, kid=kid)

    def list_keys(self) -> list[Pkcs11KeyInfo]:
        """The EC private keys visible to the logged-in user (label, id, algorithm)."""

        def listing(current: _Session) -> list[Pkcs11KeyInfo]:
            found = []
            for obj in current.session.get_objects(_key_template(ObjectClass.PRIVATE_KEY, None, None)):
                attrs = obj.get_attributes([Attribute.LABEL, Attribute.ID, Attribute.EC_PARAMS])
                alg = _PARAMS_TO_ALG.get(bytes(attrs[Attribute.EC_PARAMS]))
                found.append(Pkcs11KeyInfo(attrs[Attribute.LABEL], bytes(attrs[Attribute.ID]), alg))
            return sorted(found, key=lambda k: (k.label, k.key_id))

        return self._run("listing keys", listing)

    def _sign_digest(self, query: tuple[str | None, bytes | None], digest: bytes) -> bytes:
        def sign(current: _Session) -> bytes:
            signature: bytes = _private_key(current, query, known=True).sign(digest, mechanism=Mechanism.ECDSA)
            return signature

        return self._run("signing", sign)

    # -- lifecycle --

    def close(self) -> None:
        """Close this connection; the token's login ends when its last connection in the process closes."""
        if self._closed:
            return
        self._closed = True
        if os.getpid() != self._pid:
            return  # the parent's handles: closing them here would act on the parent's state in the module
        with self._lock:
            self._drop_session()
            login = self._login
            login.users -= 1
            if login.users == 0:
                if login.session is not None:
                    _close_quietly(login.session)
                del self._module.logins[self._slot]

    def __enter__(self) -> Pkcs11Token:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Pkcs11Token(module={self.module!r}, token_label={self.token_label!r})"

    def __reduce__(self) -> Any:
        raise TypeError("Pkcs11Token cannot be pickled")


def _private_key(current: _Session, query: tuple[str | None, bytes | None], *, known: bool) -> pkcs11.SignMixin:
    key = current.keys.get(query)
    if key is None:
        label, key_id = query
        try:
            found = _find(current.session, _key_template(ObjectClass.PRIVATE_KEY, label, key_id), "the private key")
        except Pkcs11Error as exc:
            if known and exc.reason == "pkcs11_key_not_found":
                raise _KeyGone() from None  # it was there when the signer was made: look again after a new login
            raise
        if not isinstance(found, pkcs11.SignMixin):  # python-pkcs11 adds SignMixin to keys with CKA_SIGN true
            raise Pkcs11Error("the token key is not allowed to sign (CKA_SIGN)", reason="pkcs11_key_cannot_sign")
        key = current.keys[query] = found
    return key


def _public_key(obj: pkcs11.Object) -> tuple[str, PublicKey]:
    """Current Mechanisms §2.3.3: ``CKA_EC_PARAMS`` (DER named curve) and ``CKA_EC_POINT`` (DER OCTET STRING)."""
    attrs = obj.get_attributes([Attribute.EC_PARAMS, Attribute.EC_POINT])
    params, point = bytes(attrs[Attribute.EC_PARAMS]), bytes(attrs[Attribute.EC_POINT])
    alg = _PARAMS_TO_ALG.get(params)
    if alg is None:
        raise UnsupportedAlgorithm("the token key's curve is neither P-256 nor secp256k1", reason="unsupported_key")
    size = 1 + 2 * _COORD
    if len(point) == size + 2 and point[:2] == bytes((0x04, size)):
        point = point[2:]  # the DER OCTET STRING the spec asks for; some tokens store the bare point instead
    if len(point) != size or point[0] != 0x04:
        raise KeyError_("the token's EC point is not an uncompressed point", reason="invalid_key")
    curve, _ = _CURVES[alg]
    try:
        crypto = ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
    except ValueError:
        raise KeyError_("the token's EC point is not on the curve", reason="invalid_key") from None
    return alg, PublicKey.from_crypto(crypto)


# --- the signer ---------------------------------------------------------------------------------------------------


class Pkcs11Signer:
    """A :class:`ssi.keys.Signer` whose private key stays in a PKCS#11 token (ES256 or ES256K).

    ``sign(data)`` hashes ``data`` with SHA-256 here and has the token sign the digest with ``CKM_ECDSA``; the
    result is the JWS ``r ‖ s`` (RFC 7518 §3.4). :meth:`sign_digest` signs a given 32-byte digest as it is (what a
    chain signer needs for keccak-256 digests). Thread-safe: each call takes a session from the token's pool.
    """

    __slots__ = ("_alg", "_kid", "_query", "_token", "key_id", "label", "public_key")

    def __init__(
        self,
        token: Pkcs11Token,
        query: tuple[str | None, bytes | None],
        alg: str,
        public_key: PublicKey,
        *,
        label: str,
        key_id: bytes,
        kid: str | None,
    ) -> None:
        self._token = token
        self._query = query
        self._alg = alg
        self.public_key = public_key
        self.label = label
        self.key_id = key_id
        self._kid = kid if kid is not None else public_key.thumbprint()

    @property
    def alg(self) -> str:
        return self._alg

    @property
    def kid(self) -> str | None:
        return self._kid

    @property
    def public_jwk(self) -> dict[str, str]:
        return self.public_key.jwk

    def sign(self, data: bytes) -> bytes:
        """JWS signature over ``data``: ECDSA with SHA-256 (RFC 7518 §3.4, RFC 8812 §3.2), ``r ‖ s``."""
        return self.sign_digest(hashlib.sha256(data).digest())

    def sign_digest(self, digest: bytes) -> bytes:
        """``CKM_ECDSA`` over a 32-byte digest, as it is; returns ``r ‖ s`` (64 octets)."""
        if not isinstance(digest, bytes | bytearray) or len(digest) != _COORD:
            raise ValueError("a token ECDSA signature is made over a 32-byte digest")
        signature = self._token._sign_digest(self._query, bytes(digest))
        if len(signature) != 2 * _COORD:
            # Current Mechanisms §2.3.1: r and s each as long as the order; anything else is a token fault.
            raise Pkcs11Error("the token returned a malformed ECDSA signature", reason="pkcs11_failed")
        return signature

    def __repr__(self) -> str:
        return f"Pkcs11Signer(alg={self._alg!r}, kid={self._kid!r}, label={self.label!r})"

    def __reduce__(self) -> Any:
        raise TypeError("Pkcs11Signer cannot be pickled")
