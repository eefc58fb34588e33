"""``govssi did``: resolve DIDs (did:key, did:jwk, did:web)."""

from __future__ import annotations

from typing import Annotated

import typer

from govssi.cli._output import emit, guarded

app = typer.Typer(help="Resolve DIDs (W3C DID Core 1.0).", no_args_is_help=True)


@app.command("resolve")
@guarded
def resolve(
    did: Annotated[str, typer.Argument(help="The DID to resolve (did:key, did:jwk or did:web).")],
    allow_http_loopback: Annotated[
        bool,
        typer.Option(
            "--allow-http-loopback",
            help="Development and tests only: fetch did:web:localhost… over plain HTTP, and allow loopback addresses.",
        ),
    ] = False,
) -> None:
    """Resolve a DID and print its DID document (application/did+json) on stdout."""
    from ssi.did import default_resolver, did_web_http_fetcher

    fetcher = did_web_http_fetcher(allow_http=allow_http_loopback, allow_loopback=allow_http_loopback)
    resolver = default_resolver(fetcher=fetcher, cache_ttl=0, http_for_localhost=allow_http_loopback)
    emit(resolver.resolve(did).to_json())
