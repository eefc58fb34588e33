"""Single-use values consumed atomically, over real HTTP and across processes (issue 6, "Storage and robustness":
"200 concurrent token requests with one pre-authorized code → exactly one success; a DPoP proof replayed →
refused"): ``govssi issuer serve --workers 2`` (two uvicorn processes on one SQLite database) receives 200
concurrent token requests for one pre-authorized code, each with its own DPoP key — OpenID4VCI 1.0 §4.1.1 (the code
is single-use) and §6.3 (``invalid_grant``); then one DPoP proof sent twice at once — RFC 9449
§11.1 (``jti`` replay)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from issuer_support import ADMIN, SAMPLE_CLAIMS
from test_cli import API_KEY, _serve, _stop

from ssi.dpop import create_dpop_proof
from ssi.keys import SoftwareSigner

REQUESTS = 200
GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


def _offer(http: httpx.Client, base: str) -> tuple[str, str]:
    created = http.post(
        f"{base}/admin/offers",
        headers=ADMIN,
        json={"credential_configuration_id": "dienstausweis", "claims": SAMPLE_CLAIMS["dienstausweis"]},
    )
    assert created.status_code == 201, created.text
    offer = created.json()
    (offer_uri,) = parse_qs(urlsplit(offer["offer_uri"]).query)["credential_offer_uri"]
    document = http.get(offer_uri).json()
    return document["grants"][GRANT]["pre-authorized_code"], offer["tx_code"]


def _server_nonce(http: httpx.Client, token_endpoint: str) -> str:
    probe = http.post(
        token_endpoint,
        data={"grant_type": GRANT, "pre-authorized_code": "x"},
        headers={"DPoP": create_dpop_proof(SoftwareSigner.generate(), htm="POST", htu=token_endpoint, now=time.time())},
    )
    assert probe.status_code == 400 and probe.json()["error"] == "use_dpop_nonce"
    return probe.headers["DPoP-Nonce"]


def test_200_concurrent_token_requests_over_http_with_two_workers(tmp_path: Path) -> None:
    env = {"GOVSSI_DEV_ALLOW_HTTP": "1", "GOVSSI_ISSUER_BOOTSTRAP_KEY": API_KEY, "GOVSSI_KEY_PASSPHRASE": "pw"}
    # Every request with the transaction code counts as an attempt, a right one too (§6.3 brute-force bound), and
    # a request past the limit voids the offer; with the default of 5 such a request could void it before the one
    # that held attempt 1 takes the code (tests/issuer/test_concurrency.py races the default limit on its own).
    env["GOVSSI_TX_CODE_MAX_ATTEMPTS"] = str(REQUESTS)
    process, ready = _serve(tmp_path, "--no-chain", "--workers", "2", env=env)
    try:
        (base,) = ready["credential_issuers"]  # type: ignore[misc]
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=0)  # new connections: both workers
        with httpx.Client(timeout=60, limits=limits) as http:
            token_endpoint = f"{base}/token"
            code, tx_code = _offer(http, base)
            nonce = _server_nonce(http, token_endpoint)
            form = {"grant_type": GRANT, "pre-authorized_code": code}
            if tx_code is not None:
                form["tx_code"] = tx_code
            proofs = [
                create_dpop_proof(
                    SoftwareSigner.generate(), htm="POST", htu=token_endpoint, now=time.time(), nonce=nonce
                )
                for _ in range(REQUESTS)
            ]

            def attempt(proof: str) -> tuple[int, str]:
                response = http.post(token_endpoint, data=form, headers={"DPoP": proof})
                body = response.json()
                return response.status_code, body.get("token_type") or body.get("error")

            with ThreadPoolExecutor(max_workers=32) as pool:
                outcomes = list(pool.map(attempt, proofs))
            assert outcomes.count((200, "DPoP")) == 1, sorted(set(outcomes))
            assert set(outcomes) - {(200, "DPoP")} == {(400, "invalid_grant")}

            # One DPoP proof, two requests at once (for two fresh offers): the jti is accepted once.
            replay = create_dpop_proof(
                SoftwareSigner.generate(), htm="POST", htu=token_endpoint, now=time.time(), nonce=nonce
            )
            forms = []
            for _ in range(2):
                code, tx_code = _offer(http, base)
                forms.append(
                    {"grant_type": GRANT, "pre-authorized_code": code, **({"tx_code": tx_code} if tx_code else {})}
                )
            with ThreadPoolExecutor(max_workers=2) as pool:
                answers = list(pool.map(lambda f: http.post(token_endpoint, data=f, headers={"DPoP": replay}), forms))
            codes = sorted((a.status_code, a.json().get("error")) for a in answers)
            assert codes == [(200, None), (400, "invalid_dpop_proof")], codes
    finally:
        _stop(process)
    assert process.returncode == 0
