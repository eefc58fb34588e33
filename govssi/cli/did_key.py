"""``govssi did key``: the signing keys of a did:ethr over their life (ledger/README.md, "Key lifecycle").

- ``list DID``: every key ever published on the DID (``did/pub/`` attributes) with its state — ``published`` (in the
  current document), ``revoked``, ``expired``, ``compromised`` or ``deactivated`` (the whole DID) — its verification
  method, RFC 7638 thumbprint (``jkt``, what the document metadata's ``compromisedKeys`` lists) and ``key_sha256``
  (SHA-256 of its DER SubjectPublicKeyInfo, how ``govssi ledger … --cert-key-sha256`` names a certificate key);
- ``revoke DID (--key FILE | --key-sha256 HEX | --method ID) --controller-key-file F|--controller-key-label L``:
  routine rotation, ``revokeAttribute`` of the key's live ``did/pub`` attributes (``EthrDidController.revoke_key``):
  the key leaves the document; what it signed before stays verifiable until it expires (verifiers resolve the DID at
  the credential's ``iat``);
- ``compromised DID (--key FILE | --key-sha256 HEX | --method ID) (controller as for revoke) [--yes]``: the final
  compromise mark ``did/compromised/jkt`` = thumbprint (``EthrDidController.mark_compromised``), then the revocation
  of its live attributes; verifiers refuse everything the key signed, whatever its ``iat`` (``keyCompromised``).
- ``govssi did deactivate DID --controller-key-file F|--controller-key-label L [--yes]`` (registered on ``govssi
  did``): the owner becomes 0x0 (did:ethr "Delete (Revoke)"), final; every signature of every key of the DID is
  refused (``deactivated``) — the step for a stolen controller key.

Key arguments are files (a public or private JWK, or an encrypted key file: only the public part is read); a key
that is no longer at hand (PKCS#11, archived) is named by its ``key_sha256`` or its verification method id, both from
``list``. The controller key (secp256k1) is a file (``--controller-key-file``, e.g. the issuer's
``<authority>.controller.json``; encrypted files need ``$GOVSSI_KEY_PASSPHRASE``) or a key in a PKCS#11 token
(``--controller-key-label``; module, token label and PIN from the issuer's ``GOVSSI_PKCS11_*`` environment); it must
be the DID's current owner, which is checked before anything is sent.

A compromise mark cannot be undone, nor can a deactivation, so ``compromised`` and ``deactivate`` ask for confirmation
at a terminal, and without a terminal need ``--yes`` (a usage error otherwise, exit 2). ``govssi wallet delete``
deletes at once without a terminal; its deletion touches only the holder's own wallet, a mark is final for every
verifier.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from govssi.cli._chain import RPC_HELP, chain_client, required_rpc_urls
from govssi.cli._output import emit, fail, guarded, usage_error
from govssi.cli.did import _check_registry

if TYPE_CHECKING:
    from ledger.client import ChainClient, ChainSigner
    from ledger.did_ethr import AttributeChanged, EthrDidController, RegistryChange
    from ssi.did import DidDocument
    from ssi.keys import PublicKey

app = typer.Typer(
    help="A did:ethr's signing keys: list them, revoke one (rotation), mark one compromised (final).",
    no_args_is_help=True,
)

DidArgument = Annotated[str, typer.Argument(help="The did:ethr (did:ethr:0x539:0x…).", show_default=False)]
#: What the issuer reads its DID registry's address from (issuer/chain.py); an operator's shell has it already.
DID_REGISTRY_ENV = "GOVSSI_DID_REGISTRY"
Registry = Annotated[
    str | None,
    typer.Option(
        "--registry",
        help=f"Address of the ERC-1056 DID registry on that chain \\[default: ${DID_REGISTRY_ENV}].",
        show_default=False,
    ),
]
Rpc = Annotated[str | None, typer.Option("--rpc", help=RPC_HELP)]
KeyFile = Annotated[
    Path | None,
    typer.Option(
        "--key",
        help="The key: a JWK file or encrypted key file (only its public part is read).",
        show_default=False,
    ),
]
KeySha256 = Annotated[
    str | None,
    typer.Option(
        "--key-sha256",
        help="The key by the SHA-256 (64 hex digits) of its DER SubjectPublicKeyInfo (see 'govssi did key list').",
        show_default=False,
    ),
]
Method = Annotated[
    str | None,
    typer.Option(
        "--method",
        help="The key by its verification method id in the current document (did:ethr:…#delegate-1 or #delegate-1).",
        show_default=False,
    ),
]
ControllerKeyFile = Annotated[
    Path | None,
    typer.Option(
        "--controller-key-file",
        help="The secp256k1 key controlling the DID (JWK or encrypted key file; passphrase from "
        "$GOVSSI_KEY_PASSPHRASE).",
        show_default=False,
    ),
]
ControllerKeyLabel = Annotated[
    str | None,
    typer.Option(
        "--controller-key-label",
        help="PKCS#11 instead of a file: label of the secp256k1 controller key in the token (the issuer's "
        "{authority}-controller with the slug filled in); PIN from $GOVSSI_PKCS11_PIN(_FILE) or a prompt.",
        show_default=False,
    ),
]
Pkcs11Module = Annotated[
    str | None,
    typer.Option(
        "--module",
        envvar="GOVSSI_PKCS11_MODULE",
        help="With --controller-key-label: the PKCS#11 library.",
        show_default=False,
    ),
]
Pkcs11TokenLabel = Annotated[
    str | None,
    typer.Option(
        "--token-label",
        envvar="GOVSSI_PKCS11_TOKEN_LABEL",
        help="With --controller-key-label: the token's label.",
        show_default=False,
    ),
]


@dataclass(frozen=True)
class ControllerKey:
    """Where the DID's controller key is: a key file, or a key in a PKCS#11 token (as the issuer keeps it)."""

    file: Path | None
    label: str | None
    module: str | None
    token_label: str | None

    def check(self) -> None:
        """Usage errors, before anything is read or asked."""
        if (self.file is None) == (self.label is None):
            usage_error("name the controller key with exactly one of --controller-key-file, --controller-key-label")
        if self.label is not None and not (self.module and self.token_label):
            usage_error(
                "--controller-key-label needs --module (or GOVSSI_PKCS11_MODULE) and --token-label "
                "(or GOVSSI_PKCS11_TOKEN_LABEL)"
            )


Timeout = Annotated[
    float, typer.Option("--timeout", min=0.1, help="Seconds to wait for the nodes and for each transaction.")
]
Confirmations = Annotated[
    int, typer.Option("--confirmations", min=0, help="Blocks on top of each transaction before it counts.")
]


@dataclass
class PublishedKey:
    """One key the DID's history published, with the last event of each of its ``did/pub`` attributes."""

    key: PublicKey
    thumbprint: str
    key_sha256: str
    attributes: dict[tuple[str, bytes], AttributeChanged] = field(default_factory=dict)

    def live(self, now: int) -> list[AttributeChanged]:
        """Attributes a resolver still applies at ``now`` (did:ethr: "Only events with a validTo [...] greater or
        equal to the current time should be included")."""
        return [event for event in self.attributes.values() if event.valid_to >= now]

    def purposes(self, now: int) -> list[str]:
        return sorted({event.name.split("/")[3] for event in self.live(now)})


@dataclass
class Identity:
    """What the chain says about one did:ethr right now."""

    did: str
    address: str
    chain_id: int
    registry: str
    document: DidDocument
    deactivated: bool
    owner: str | None
    now: int
    keys: list[PublishedKey]
    marks: frozenset[str]

    def state(self, published: PublishedKey) -> str:
        if published.thumbprint in self.marks:
            return "compromised"
        if self.deactivated:  # "Delete (Revoke)": every key and signature of the DID is revoked
            return "deactivated"
        if published.live(self.now):
            return "published"
        if all(event.valid_to == 0 for event in published.attributes.values()):
            return "revoked"
        return "expired"

    def method_of(self, thumbprint: str) -> str | None:
        from ledger.did_ethr import verification_method_thumbprint

        return next(
            (
                vm.id
                for vm in self.document.verification_method
                if verification_method_thumbprint(vm.to_json()) == thumbprint
            ),
            None,
        )

    def find(self, thumbprint: str) -> PublishedKey | None:
        return next((published for published in self.keys if published.thumbprint == thumbprint), None)

    def describe(self, published: PublishedKey) -> dict[str, Any]:
        live = published.live(self.now)
        return {
            "verification_method": self.method_of(published.thumbprint),
            "alg": published.key.alg,
            "jkt": published.thumbprint,
            "key_sha256": published.key_sha256,
            "state": self.state(published),
            "purposes": published.purposes(self.now),
            "valid_until": _iso(max(event.valid_to for event in live)) if live else None,
        }


def _iso(timestamp: int) -> str:
    """A validTo as RFC 3339 UTC; validities beyond the year 9999 (compromise marks: a century and more) are capped."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(min(timestamp, 253402300799), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def key_sha256(key: PublicKey) -> str:
    """SHA-256 of the key's DER SubjectPublicKeyInfo, hex (as :func:`ssi.x509.spki_sha256` names certificate keys)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return hashlib.sha256(key.key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def _selector(key_file: Path | None, sha256: str | None, method: str | None) -> None:
    if sum(option is not None for option in (key_file, sha256, method)) != 1:
        usage_error("name the key with exactly one of --key, --key-sha256, --method")
    if sha256 is not None:
        digits = sha256.removeprefix("0x")
        if len(digits) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            usage_error("--key-sha256 is 64 hex digits (the SHA-256 of the key's DER SubjectPublicKeyInfo)")


@contextmanager
def _session(
    rpc: str | None, registry: str | None, did: str, *, timeout: float, confirmations: int
) -> Iterator[tuple[ChainClient, Identity]]:
    """Connect, check the registry and that the DID is on this chain, and read the identity's history once."""
    registry = registry or os.environ.get(DID_REGISTRY_ENV) or None
    if registry is None:
        usage_error(f"--registry (or {DID_REGISTRY_ENV}) is needed: the address of the chain's ERC-1056 registry")
    _check_registry(registry)
    urls = required_rpc_urls(rpc)
    from ledger.did_ethr import (
        AttributeChanged,
        EthrDidDriver,
        RegistryReader,
        attribute_key,
        compromised_thumbprints,
        parse_ethr_did,
    )
    from ssi.errors import DidError

    ethr = parse_ethr_did(did)
    with chain_client(urls, timeout=timeout, confirmations=confirmations, backoff=timeout) as client:
        chain_id = client.chain_id
        reader = RegistryReader(client.w3, registry)
        if not client.code(reader.registry):
            fail("no_registry", f"there is no contract at {reader.registry} on chain {chain_id}")
        driver = EthrDidDriver({chain_id: (client.w3, reader.registry)}, timeout=timeout)
        try:
            network = driver.network(ethr.network)
        except DidError:
            fail("wrong_chain", f"{ethr.did} is a DID of network {ethr.network}; the node serves chain {chain_id}")
        result = driver.resolve_at(ethr.did)
        head, head_time = network.cache.sync()
        history = network.cache.history(ethr.address, head)
        now = max(math.floor(time.time()), head_time)
        keys: dict[str, PublishedKey] = {}
        for event in history:
            if not isinstance(event, AttributeChanged):
                continue
            key = attribute_key(event.name, event.value)
            if key is None:
                continue
            thumbprint = key.thumbprint()
            published = keys.setdefault(thumbprint, PublishedKey(key, thumbprint, key_sha256(key)))
            published.attributes[(event.name, bytes(event.value))] = event
        deactivated = bool(result.document_metadata.get("deactivated"))
        owner = None
        if not deactivated:
            controller = result.document.find_verification_method(f"{ethr.did}#controller", "authentication")
            owner = str(controller.to_json()["blockchainAccountId"]).rsplit(":", 1)[1]
        yield (
            client,
            Identity(
                did=ethr.did,
                address=ethr.address,
                chain_id=chain_id,
                registry=reader.registry,
                document=result.document,
                deactivated=deactivated,
                owner=owner,
                now=now,
                keys=list(keys.values()),
                marks=compromised_thumbprints(history),
            ),
        )


def _target(
    identity: Identity, key_file: Path | None, sha256: str | None, method: str | None
) -> tuple[PublicKey, PublishedKey | None, str]:
    """The named key, its history on the DID (``None`` when only a file names it and the DID never published it), and
    how the command line named it (for messages)."""
    if key_file is not None:
        from govssi.cli._files import load_public

        key = load_public(key_file)
        return key, identity.find(key.thumbprint()), f"the key in {key_file}"
    if sha256 is not None:
        digest = sha256.removeprefix("0x").lower()
        found = next((published for published in identity.keys if published.key_sha256 == digest), None)
        if found is None:
            fail("key_not_found", f"no key with SHA-256 {digest} was ever published on {identity.did}")
        return found.key, found, f"the key with SHA-256 {digest}"
    assert method is not None
    vm_id = identity.did + method if method.startswith("#") else method
    found = next((p for p in identity.keys if identity.method_of(p.thumbprint) == vm_id), None)
    if found is None:
        fail("key_not_found", f"{vm_id} is not a signing key in the current document of {identity.did}")
    return found.key, found, vm_id


def _controller(identity: Identity, where: ControllerKey, stack: ExitStack) -> ChainSigner:
    """The owner's signer, checked against the DID's current owner before anything is sent (ERC-1056: "All state
    changes [...] require authorization from the current controller (owner) of the identity"). A token stays open
    (in ``stack``) while the transactions are signed."""
    if identity.deactivated or identity.owner is None:
        fail("deactivated", f"{identity.did} is deactivated: it has no controller, and every key of it is revoked")
    signer: ChainSigner
    if where.file is not None:
        from govssi.cli._files import load_private
        from ledger.client import SoftwareChainSigner

        named = str(where.file)
        controller, _ = load_private(where.file)
        if controller.alg != "ES256K":
            fail("wrong_curve", f"{where.file} holds a {controller.alg} key, not secp256k1")
        signer = SoftwareChainSigner(controller)
    else:
        from govssi.cli.keys import _token_pin
        from ledger.client.pkcs11_signer import Pkcs11ChainSigner
        from ssi.keys import Pkcs11Token

        assert where.module is not None and where.token_label is not None and where.label is not None
        named = f"the token key {where.label!r}"
        token = stack.enter_context(Pkcs11Token(where.module, where.token_label, _token_pin()))
        token_key = token.signer(label=where.label)
        if token_key.alg != "ES256K":
            fail("wrong_curve", f"{named} is a {token_key.alg} key, not secp256k1")
        signer = Pkcs11ChainSigner(token_key)
    if signer.address.lower() != identity.owner.lower():
        fail(
            "not_controller",
            f"{named} is the key of {signer.address}; {identity.did} is controlled by {identity.owner}",
        )
    return signer


def _owner_session(client: ChainClient, identity: Identity, signer: ChainSigner, timeout: float) -> EthrDidController:
    from ledger.did_ethr import EthrDidController

    return EthrDidController(client, identity.registry, signer, identity=identity.address, timeout=timeout)


def _change(change: RegistryChange, attribute: str) -> dict[str, Any]:
    return {"attribute": attribute, "transaction_hash": change.transaction_hash, "block_number": change.block_number}


def _revoke_live(ethr: EthrDidController, published: PublishedKey | None, now: int) -> list[dict[str, Any]]:
    """``revokeAttribute`` of every live ``did/pub`` attribute of the key, in the encoding it was published in."""
    if published is None:
        return []
    return [_change(ethr.revoke_attribute(event.name, bytes(event.value)), event.name) for event in published.live(now)]


@app.command("list")
@guarded
def list_keys(
    did: DidArgument,
    registry: Registry = None,
    rpc: Rpc = None,
    timeout: Timeout = 10.0,
) -> None:
    """Every key the DID ever published, with its state (published, revoked, expired, compromised, deactivated).

    Prints {"did", "controller", "deactivated", "keys": [{"verification_method", "alg", "jkt", "key_sha256",
    "state", "purposes", "valid_until"}], "compromised_keys"}.
    """
    with _session(rpc, registry, did, timeout=timeout, confirmations=0) as (_, identity):
        emit(
            {
                "did": identity.did,
                "controller": identity.owner,
                "deactivated": identity.deactivated,
                "keys": [identity.describe(published) for published in identity.keys],
                "compromised_keys": sorted(identity.marks),
            }
        )


@app.command("revoke")
@guarded
def revoke(
    did: DidArgument,
    controller_key_file: ControllerKeyFile = None,
    controller_key_label: ControllerKeyLabel = None,
    module: Pkcs11Module = None,
    token_label: Pkcs11TokenLabel = None,
    registry: Registry = None,
    key_file: KeyFile = None,
    sha256: KeySha256 = None,
    method: Method = None,
    rpc: Rpc = None,
    timeout: Timeout = 60.0,
    confirmations: Confirmations = 0,
) -> None:
    """Routine rotation: revoke a key's did/pub attributes, so it leaves the DID document.

    What it signed before stays verifiable until it expires (verifiers take the key the DID had at the credential's
    iat); it signs nothing dated later. Prints {"did", "verification_method", "jkt", "key_sha256", "state",
    "revoked": [{"attribute", "transaction_hash", "block_number"}]}.
    """
    _selector(key_file, sha256, method)
    where = ControllerKey(controller_key_file, controller_key_label, module, token_label)
    where.check()
    with (
        ExitStack() as stack,
        _session(rpc, registry, did, timeout=timeout, confirmations=confirmations) as (
            client,
            identity,
        ),
    ):
        _, published, named = _target(identity, key_file, sha256, method)
        if published is None:
            fail("key_not_found", f"{named} was never published on {identity.did}")
        if not published.live(identity.now):
            state = identity.state(published)
            fail("key_not_published", f"{named} is not published on {identity.did} any more ({state})")
        signer = _controller(identity, where, stack)
        method_id = identity.method_of(published.thumbprint)
        revoked = _revoke_live(_owner_session(client, identity, signer, timeout), published, identity.now)
    emit(
        {
            "did": identity.did,
            "verification_method": method_id,
            "jkt": published.thumbprint,
            "key_sha256": published.key_sha256,
            "state": "compromised" if published.thumbprint in identity.marks else "revoked",
            "revoked": revoked,
        }
    )


def _interactive() -> bool:
    return sys.stdin.isatty()


@app.command("compromised")
@guarded
def compromised(
    did: DidArgument,
    controller_key_file: ControllerKeyFile = None,
    controller_key_label: ControllerKeyLabel = None,
    module: Pkcs11Module = None,
    token_label: Pkcs11TokenLabel = None,
    registry: Registry = None,
    key_file: KeyFile = None,
    sha256: KeySha256 = None,
    method: Method = None,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Mark without asking (needed without a terminal: a mark is final)."),
    ] = False,
    rpc: Rpc = None,
    timeout: Timeout = 60.0,
    confirmations: Confirmations = 0,
) -> None:
    """Mark a key compromised on the DID (final), then revoke its did/pub attributes.

    Verifiers refuse everything the key signed, whatever its iat (did/compromised/jkt, ledger/README.md "Key
    lifecycle"). A key named by --key need not be published (e.g. one only ever in a certificate). Asks at a
    terminal; without one it needs --yes. Prints {"did", "verification_method", "jkt", "key_sha256", "state",
    "marked": {"attribute", "transaction_hash", "block_number"} or null (marked before), "revoked": [...]}.
    """
    _selector(key_file, sha256, method)
    where = ControllerKey(controller_key_file, controller_key_label, module, token_label)
    where.check()
    if not yes and not _interactive():
        usage_error("a compromise mark is final: confirm it at a terminal, or pass --yes")
    with (
        ExitStack() as stack,
        _session(rpc, registry, did, timeout=timeout, confirmations=confirmations) as (
            client,
            identity,
        ),
    ):
        from ledger.did_ethr import COMPROMISE_ATTRIBUTE

        key, published, named = _target(identity, key_file, sha256, method)
        thumbprint = key.thumbprint()
        signer = _controller(identity, where, stack)
        method_id = identity.method_of(thumbprint)
        already = thumbprint in identity.marks
        if not yes and not already:
            sys.stderr.write(
                f"{named} ({method_id or 'not in the current document'}, jkt {thumbprint}) of {identity.did}: "
                "every verifier will refuse everything it signed, whatever its date. This cannot be undone.\n"
            )
            if not typer.confirm("Mark it compromised?", default=False, err=True):
                fail("cancelled", f"not marked: {named} stays as it is on {identity.did}")
        ethr = _owner_session(client, identity, signer, timeout)
        marked = None if already else _change(ethr.mark_compromised(key, purpose=None), COMPROMISE_ATTRIBUTE)
        revoked = _revoke_live(ethr, published, identity.now)
    emit(
        {
            "did": identity.did,
            "verification_method": method_id,
            "jkt": thumbprint,
            "key_sha256": key_sha256(key),
            "state": "compromised",
            "marked": marked,
            "revoked": revoked,
        }
    )


@guarded
def deactivate(
    did: DidArgument,
    controller_key_file: ControllerKeyFile = None,
    controller_key_label: ControllerKeyLabel = None,
    module: Pkcs11Module = None,
    token_label: Pkcs11TokenLabel = None,
    registry: Registry = None,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Deactivate without asking (needed without a terminal: it is final)."),
    ] = False,
    rpc: Rpc = None,
    timeout: Timeout = 60.0,
    confirmations: Confirmations = 0,
) -> None:
    """Deactivate a did:ethr for good: its owner becomes 0x0 (did:ethr "Delete (Revoke)").

    "If the intention is to revoke all the signatures corresponding to the DID, this option MUST be used": verifiers
    refuse everything any key of the DID signed (deactivated). For a stolen controller key; issue under a new DID.
    Asks at a terminal; without one it needs --yes. Prints {"did", "deactivated": true, "transaction_hash",
    "block_number"} (both null when it was deactivated before).
    """
    where = ControllerKey(controller_key_file, controller_key_label, module, token_label)
    where.check()
    if not yes and not _interactive():
        usage_error("deactivating a DID is final: confirm it at a terminal, or pass --yes")
    with (
        ExitStack() as stack,
        _session(rpc, registry, did, timeout=timeout, confirmations=confirmations) as (
            client,
            identity,
        ),
    ):
        change = None
        if not identity.deactivated:
            signer = _controller(identity, where, stack)
            if not yes:
                sys.stderr.write(
                    f"{identity.did}: every verifier will refuse everything any of its keys signed, and nobody can "
                    "change it any more. This cannot be undone.\n"
                )
                if not typer.confirm("Deactivate it?", default=False, err=True):
                    fail("cancelled", f"not deactivated: {identity.did} stays as it is")
            change = _owner_session(client, identity, signer, timeout).deactivate()
    emit(
        {
            "did": identity.did,
            "deactivated": True,
            "transaction_hash": None if change is None else change.transaction_hash,
            "block_number": None if change is None else change.block_number,
        }
    )
