"""Two verifier instances behind one address, sharing sessions in one Redis (``GOVSSI_REDIS_URL``; DESIGN.md §3): the
request is created on one instance, the wallet fetches it from and answers the other, the relying party reads the
result from the first — and the nonce stays single-use across both. The same with SQL state shared by two instances
on one database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from verifier_support import (
    FakeTrust,
    HeldCredential,
    TestIssuer,
    TestWallet,
    settings,
    sqlite_store,
    verifier_identity,
)

from infra.ephemeral import RedisEphemeralStore
from infra.server import LoopbackServer
from ssi.keys import SoftwareSigner
from ssi.oid4vp import response_form
from verifier import VerifierRedisStore, build_verifier, create_app


def _pair(directory: Path, stores: tuple[Any, Any]) -> Iterator[tuple[LoopbackServer, LoopbackServer, TestIssuer, Any]]:
    issuer = TestIssuer.create()
    trust = FakeTrust()
    trust.trust_issuer(issuer)
    # One public address (a load balancer): both instances are configured with the first one's URL.
    first_port = _free_port()
    public = f"http://127.0.0.1:{first_port}"
    identity = verifier_identity(public)
    config = settings(directory, public_url=public, dev_allow_http=True)
    services = [
        build_verifier(
            config,
            store=store,
            keys=identity.keys,
            trust=trust,
            key_history=None,
            did_resolver=None,
            anchors=[issuer.ca],
            fetcher=issuer.server,
        )
        for store in stores
    ]
    with (
        LoopbackServer(create_app(config, service=services[0]), port=first_port) as first,
        LoopbackServer(create_app(config, service=services[1])) as second,
    ):
        yield first, second, issuer, identity.ca.certificate


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(first: LoopbackServer, second: LoopbackServer, issuer: TestIssuer, ca: Any) -> None:
    with httpx.Client(timeout=30) as http:
        created = http.post(f"{first.url}/api/presentations", json={"preset": "pid_identification"}).json()
        holder = SoftwareSigner.generate("ES256")
        compact, idx = issuer.issue(holder)
        # the load balancer sends the wallet to the other instance
        wallet = TestWallet(
            http, ca, [HeldCredential(compact, holder, idx)], route=lambda url: url.replace(first.url, second.url)
        )
        request = wallet.fetch_request(created["authorization_request"])
        form = response_form(request, wallet.presentations(request))
        answers: list[httpx.Response] = []

        def post(target: str) -> None:
            answers.append(http.post(request.response_uri.replace(first.url, target), data=form))

        # the same response to both instances at once: one wins
        threads = [threading.Thread(target=post, args=(url,)) for url in (second.url, first.url, second.url)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(a.status_code for a in answers) == [200, 400, 400]
        assert http.get(f"{second.url}/api/presentations/{created['session']}/status").json()["status"] == "verified"
        result = http.get(f"{first.url}/api/presentations/{created['session']}/result")
        assert result.status_code == 200 and result.json()["status"] == "verified"
        assert result.json()["credentials"]["pid"][0]["claims"]["family_name"] == "MUSTERMANN"
        # fetched once, whichever instance is asked next
        assert http.get(f"{second.url}/api/presentations/{created['session']}/result").status_code == 404


@pytest.mark.parametrize("store_class", [VerifierRedisStore, RedisEphemeralStore])
def test_two_instances_share_redis(tmp_path: Path, redis_prefix: tuple[str, str], store_class: type[Any]) -> None:
    """With the verifier's Redis store (the nonce taken and the decision written in one Lua script) and with the plain
    one (``take``, then ``replace_many``): one of the concurrent responses wins, on either instance."""
    url, prefix = redis_prefix
    stores = (store_class(url, prefix=prefix), store_class(url, prefix=prefix))
    for pair in _pair(tmp_path, stores):
        _run(*pair)


def test_two_instances_share_a_database(tmp_path: Path) -> None:
    stores = (sqlite_store(tmp_path), sqlite_store(tmp_path))
    for pair in _pair(tmp_path, stores):
        _run(*pair)


@pytest.mark.parametrize("prefix", ["x509_san_dns"])
def test_other_client_id_prefix_over_http(tmp_path: Path, prefix: str) -> None:
    """``x509_san_dns``: the Client Identifier is the public host, a dNSName SAN of the request-signing certificate."""
    issuer = TestIssuer.create()
    trust = FakeTrust()
    trust.trust_issuer(issuer)
    port = _free_port()
    public = f"http://127.0.0.1:{port}"
    identity = verifier_identity(public)
    config = settings(tmp_path, public_url=public, dev_allow_http=True, client_id_prefix=prefix)
    service = build_verifier(
        config,
        store=sqlite_store(tmp_path),
        keys=identity.keys,
        trust=trust,
        key_history=None,
        did_resolver=None,
        anchors=[issuer.ca],
        fetcher=issuer.server,
    )
    with LoopbackServer(create_app(config, service=service), port=port), httpx.Client(timeout=30) as http:
        created = http.post(f"{public}/api/presentations", json={"preset": "age_over_18"}).json()
        assert created["client_id"] == "x509_san_dns:127.0.0.1"
        holder = SoftwareSigner.generate("ES256")
        compact, idx = issuer.issue(holder)
        wallet = TestWallet(http, identity.ca.certificate, [HeldCredential(compact, holder, idx)])
        assert wallet.present(created["authorization_request"]).response.status_code == 200
        result = http.get(f"{public}/api/presentations/{created['session']}/result").json()
        assert result["credentials"]["pid"][0]["claims"] == {"age_equal_or_over": {"18": True}}


def test_govssi_redis_url_selects_redis(
    tmp_path: Path, redis_prefix: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``GOVSSI_REDIS_URL`` (DESIGN.md §3) puts the verifier's sessions into Redis instead of the database."""
    import redis

    url, _prefix = redis_prefix
    monkeypatch.setenv("GOVSSI_REDIS_URL", url)
    config = settings(tmp_path)
    assert config.redis_url == url
    service = build_verifier(
        config, keys=verifier_identity(config.public_url).keys, trust=None, key_history=None, did_resolver=None
    )
    assert isinstance(service.store, VerifierRedisStore)
    created = service.create(service.query_for(preset="pid_identification")[0])
    client = redis.Redis.from_url(url)
    try:
        keys = [key.decode() for key in client.scan_iter(match=f"govssi:verifier:*{created.request_id}*")]
        assert keys, "the session is in Redis"
        assert service.status(created.transaction_id)["status"] == "created"
    finally:
        for key in client.scan_iter(match="govssi:verifier:*"):
            if created.request_id in key.decode() or created.transaction_id in key.decode():
                client.delete(key)
        client.close()
