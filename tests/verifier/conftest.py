"""A verifier over real HTTP (uvicorn on 127.0.0.1) with a test issuer, the chain's answers as data and a test wallet.

One verifier per module (starting uvicorn costs), reset to a trusted issuer before every test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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

from infra.server import LoopbackServer
from ssi.keys import SoftwareSigner
from ssi.status_list import STATUS_LIST_JWT_MEDIA_TYPE
from verifier import PresentationService, loopback_verifier


@dataclass
class Env:
    issuer: TestIssuer
    trust: FakeTrust
    server: LoopbackServer
    service: PresentationService
    http: httpx.Client
    verifier_ca: object
    directory: Path

    @property
    def url(self) -> str:
        return self.server.url

    def wallet(self, *credentials: HeldCredential) -> TestWallet:
        return TestWallet(self.http, self.verifier_ca, list(credentials))  # type: ignore[arg-type]

    def credential(self, **kwargs: object) -> HeldCredential:
        holder = SoftwareSigner.generate("ES256")
        compact, idx = self.issuer.issue(holder, **kwargs)  # type: ignore[arg-type]
        return HeldCredential(compact, holder, idx)

    def create(self, **body: object) -> dict:
        body.setdefault("preset", "pid_identification")
        answer = self.http.post(f"{self.url}/api/presentations", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def result(self, session: str, **params: str) -> httpx.Response:
        return self.http.get(f"{self.url}/api/presentations/{session}/result", params=params)

    def reset(self) -> None:
        self.trust.__init__()  # type: ignore[misc]
        self.issuer.server.down = False
        self.issuer.server.content_type = STATUS_LIST_JWT_MEDIA_TYPE
        self.service.credentials.require_status = False
        for uri in list(self.issuer.lists):
            self.issuer.lists.pop(uri)
        self.issuer.server.tokens.clear()
        self.issuer.next_index = 0
        self.issuer.publish("1")
        self.trust.trust_issuer(self.issuer)
        self.service.credentials.status._verifier.clear_cache()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    directory = tmp_path_factory.mktemp("verifier")
    issuer = TestIssuer.create()
    trust = FakeTrust()
    trust.trust_issuer(issuer)
    identity = verifier_identity("http://127.0.0.1")
    with (
        loopback_verifier(
            settings(directory),
            store=sqlite_store(directory),
            keys=identity.keys,
            trust=trust,
            key_history=None,
            did_resolver=None,
            anchors=[issuer.ca],
            fetcher=issuer.server,
        ) as (server, service),
        httpx.Client(timeout=30) as http,
    ):
        yield Env(issuer, trust, server, service, http, identity.ca.certificate, directory)


@pytest.fixture
def fresh(env: Env) -> Env:
    env.reset()
    return env
