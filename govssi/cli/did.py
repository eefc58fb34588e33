"""``govssi did``: resolve DIDs (did:key, did:jwk, did:web; did:ethr with ``--registry`` and ``--rpc``) and anchor a
did:ethr (``govssi did create ethr``).

``--rpc`` lists one or more JSON-RPC URLs (comma-separated, failover) and defaults to ``$GOVSSI_CHAIN_RPC``
(``govssi.cli._chain``); reads and the anchoring transaction go through ``ledger.client``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from govssi.cli._chain import (
    CHAIN_RPC_ENV,
    RPC_HELP,
    AllowHttpLoopbackOption,
    RegistryOption,
    RpcOption,
    TimeoutOption,
    chain_client,
    required_rpc_urls,
    rpc_urls,
)
from govssi.cli._output import emit, fail, guarded, usage_error

app = typer.Typer(help="Resolve and create DIDs (W3C DID Core 1.0).", no_args_is_help=True)
create_app = typer.Typer(help="Create a DID.", no_args_is_help=True)
app.add_typer(create_app, name="create")

#: A year, in seconds: how long a published signing key stays valid unless --validity says otherwise.
DEFAULT_VALIDITY = 365 * 24 * 3600


def _check_registry(registry: str) -> None:
    from eth_utils.address import is_address

    if not is_address(registry):
        usage_error("--registry must be a 0x address (40 hex digits)")


def _chain_options(rpc: str | None, registry: str | None) -> list[str] | None:
    """The chain's URLs for did:ethr: ``--rpc`` (or ``$GOVSSI_CHAIN_RPC``) and ``--registry`` go together."""
    if registry is None:
        if rpc is not None:
            usage_error("--rpc and --registry go together (the chain's JSON-RPC URLs and its ERC-1056 registry)")
        return None
    _check_registry(registry)
    urls = rpc_urls(rpc)
    if urls is None:
        usage_error(f"--registry needs --rpc (or {CHAIN_RPC_ENV}): the chain's JSON-RPC URLs")
    return urls


@app.command("resolve")
@guarded
def resolve(
    did: Annotated[
        str,
        typer.Argument(
            help="The DID to resolve (did:key, did:jwk, did:web; did:ethr with --rpc and --registry), optionally "
            "with DID parameters (did:ethr:…?versionId=12)."
        ),
    ],
    allow_http_loopback: AllowHttpLoopbackOption = False,
    rpc: RpcOption = None,
    registry: RegistryOption = None,
    timeout: TimeoutOption = 10.0,
    metadata: Annotated[
        bool,
        typer.Option(
            "--metadata",
            help="Print the whole resolution result (didDocument, didDocumentMetadata, didResolutionMetadata).",
        ),
    ] = False,
) -> None:
    """Resolve a DID and print its DID document (application/did+json) on stdout."""
    urls = _chain_options(rpc, registry)
    from ssi.did import default_resolver, did_web_http_fetcher

    fetcher = did_web_http_fetcher(allow_http=allow_http_loopback, allow_loopback=allow_http_loopback)
    resolver = default_resolver(fetcher=fetcher, cache_ttl=0, http_for_localhost=allow_http_loopback)
    if urls is not None and registry is not None:
        from ledger.did_ethr import EthrDidDriver

        client = chain_client(urls, timeout=timeout)
        resolver.register(EthrDidDriver({client.chain_id: (client.w3, registry)}))
    if not metadata and "?" not in did:
        emit(resolver.resolve(did).to_json())
        return
    result = resolver.resolve_result(did)
    emit(result.to_json() if metadata else result.document.to_json())


@create_app.command("ethr")
@guarded
def create_ethr(
    registry: Annotated[str, typer.Option("--registry", help="Address of the ERC-1056 DID registry on that chain.")],
    signing_key: Annotated[
        Path,
        typer.Option(
            "--signing-key",
            help="The key to publish (P-256, Ed25519 or secp256k1): a JWK file or encrypted key file; only its public "
            "part is used.",
        ),
    ],
    rpc: Annotated[str | None, typer.Option("--rpc", help=RPC_HELP)] = None,
    controller_key_file: Annotated[
        Path | None,
        typer.Option(
            "--controller-key-file",
            help="secp256k1 key that controls the DID (its address is the DID). Default: a new key written next to "
            "the signing key as <name>.controller.jwk (mode 0600; encrypted when $GOVSSI_KEY_PASSPHRASE is set).",
        ),
    ] = None,
    validity: Annotated[
        int, typer.Option("--validity", min=1, help="Seconds the published key stays valid \\[default: one year].")
    ] = DEFAULT_VALIDITY,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds to wait for the nodes and for the transaction.")
    ] = 60.0,
    confirmations: Annotated[
        int, typer.Option("--confirmations", min=0, help="Blocks on top of the transaction before the DID counts.")
    ] = 0,
) -> None:
    """Anchor a did:ethr: publish the signing key as a veriKey attribute of the controller key's identity.

    Prints {"did", "chain_id", "verification_method", "controller_key_file", "registry"}.
    """
    _check_registry(registry)
    urls = required_rpc_urls(rpc)
    import os

    from govssi.cli._files import PASSPHRASE_ENV, load_private, load_public
    from ledger.client import SoftwareChainSigner
    from ledger.did_ethr import EthrDidController, EthrDidDriver, RegistryReader, key_attribute
    from ssi.keys import PrivateKey, write_key_file

    public_key = load_public(signing_key)
    key_attribute(public_key)  # every key type ssi holds has a did:ethr attribute; refuse early if not
    with chain_client(urls, timeout=timeout, confirmations=confirmations) as client:
        chain_id = client.chain_id
        reader = RegistryReader(client.w3, registry)
        if not client.code(reader.registry):
            fail("no_registry", f"there is no contract at {reader.registry} on chain {chain_id}")
        if controller_key_file is None:
            controller_key_file = signing_key.with_name(f"{signing_key.name.split('.')[0]}.controller.jwk")
            controller = PrivateKey.generate("ES256K")
            write_key_file(controller_key_file, controller, passphrase=os.environ.get(PASSPHRASE_ENV) or None)
        else:
            controller, _ = load_private(controller_key_file)
            if controller.alg != "ES256K":
                fail("wrong_curve", f"{controller_key_file} holds a {controller.alg} key, not secp256k1")
        ethr = EthrDidController(client, reader.registry, SoftwareChainSigner(controller), timeout=timeout)
        ethr.publish_key(public_key, validity=validity)
        did = ethr.did(chain_id)
        document = EthrDidDriver({chain_id: (client.w3, reader.registry)}).resolve(did)
    thumbprint = public_key.thumbprint()
    method_id: Any = next(
        (vm.id for vm in document.verification_method if _thumbprint(vm.to_json()) == thumbprint), None
    )
    emit(
        {
            "did": did,
            "chain_id": chain_id,
            "verification_method": method_id,
            "controller_key_file": str(controller_key_file),
            "registry": reader.registry,
        }
    )


def _thumbprint(method: dict[str, Any]) -> str | None:
    from ledger.did_ethr import verification_method_thumbprint

    return verification_method_thumbprint(method)
