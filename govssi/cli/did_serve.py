"""``govssi did serve``: DID resolution over HTTP on 127.0.0.1 — ``GET /1.0/identifiers/{did}`` as the DIF Universal
Resolver serves it (W3C DID Resolution §12.1, :mod:`ledger.resolver_api`) and ``GET /healthz``.

Resolves did:key, did:jwk and did:web, and did:ethr with ``--registry`` and ``--rpc`` (one or more JSON-RPC URLs,
comma-separated for failover; default ``$GOVSSI_CHAIN_RPC``), read through ``ledger.client``. Prints one JSON line
(``url``, ``methods``) when it accepts connections; SIGTERM or Ctrl-C stop it cleanly (exit 0).
"""

from __future__ import annotations

from typing import Annotated

import typer

from govssi.cli._chain import AllowHttpLoopbackOption, RegistryOption, RpcOption, TimeoutOption, chain_client
from govssi.cli._output import fail, guarded
from govssi.cli.did import _chain_options


@guarded
def serve(
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="TCP port on 127.0.0.1 (0: any free port).")
    ] = 8080,
    rpc: RpcOption = None,
    registry: RegistryOption = None,
    timeout: TimeoutOption = 10.0,
    allow_http_loopback: AllowHttpLoopbackOption = False,
) -> None:
    """Serve DID resolution over HTTP on 127.0.0.1 (GET /1.0/identifiers/{did}, as the DIF Universal Resolver;
    GET /healthz) until SIGTERM or Ctrl-C. Prints {"url", "methods"} when ready."""
    urls = _chain_options(rpc, registry)
    import json
    import signal
    import socket
    import sys
    import threading

    import uvicorn

    from ledger.resolver_api import resolver_app
    from ssi.did import default_resolver, did_web_http_fetcher

    fetcher = did_web_http_fetcher(allow_http=allow_http_loopback, allow_loopback=allow_http_loopback)
    resolver = default_resolver(fetcher=fetcher, http_for_localhost=allow_http_loopback)
    if urls is not None and registry is not None:
        from ledger.did_ethr import EthrDidDriver

        client = chain_client(urls, timeout=timeout)
        resolver.register(EthrDidDriver({client.chain_id: (client.w3, registry)}))
    # IPPROTO_TCP: asyncio then sets TCP_NODELAY on accepted connections (no ~40 ms Nagle wait on keep-alive requests)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", port))
    except OSError as exc:
        listener.close()
        fail("address_in_use", f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}")
    listener.listen(128)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    config = uvicorn.Config(resolver_app(resolver), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    # uvicorn serves in a thread and this thread owns the signals: uvicorn would re-raise them after shutting down,
    # and the command exits 0 on SIGTERM like `govssi ledger node`.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="did-resolver-http")
    thread.start()
    sys.stdout.write(json.dumps({"url": url, "methods": sorted(resolver.methods)}) + "\n")
    sys.stdout.flush()
    sys.stderr.write(f"govssi: DID resolver at {url}/1.0/identifiers/<did>\n")
    sys.stderr.flush()
    while not stop.wait(0.5) and thread.is_alive():
        pass
    failed = not stop.is_set()
    server.should_exit = True
    thread.join()
    listener.close()
    if failed:
        fail("server_failed", "the HTTP server stopped unexpectedly")
    sys.stderr.write("govssi: DID resolver stopped\n")
