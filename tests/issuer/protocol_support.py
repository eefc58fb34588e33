"""An in-process wallet for the protocol tests: calls ``issuer.tokens`` / ``issuer.credentials`` directly (no HTTP),
with real DPoP proofs and key proofs, so each test can change exactly one thing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from issuer_support import SAMPLE_CLAIMS

from issuer import Issuer
from issuer.context import Tenant
from issuer.offers import CreatedOffer
from ssi.clock import FrozenClock
from ssi.dpop import create_dpop_proof
from ssi.keys import SoftwareSigner
from ssi.oid4vci import PRE_AUTHORIZED_CODE_GRANT, CredentialResponse, TokenResponse, create_proof_jwt

T0 = 1_800_000_000.0


class InProcessWallet:
    def __init__(self, issuer: Issuer, clock: FrozenClock, slug: str = "demo") -> None:
        self.issuer = issuer
        self.clock = clock
        self.slug = slug
        self.dpop_key = SoftwareSigner.generate("ES256")

    @property
    def tenant(self) -> Tenant:
        return self.issuer.context.tenant(self.slug)

    def offer(self, type_id: str = "bewohnerparkausweis", *, tx_code: bool = True, **claims: Any) -> CreatedOffer:
        values = {**SAMPLE_CLAIMS[type_id], **claims}
        return self.issuer.offers.create(self.tenant, type_id, values, tx_code=tx_code)

    def dpop(
        self,
        url: str,
        *,
        token: str | None = None,
        nonce: str | bool | None = True,
        key: SoftwareSigner | None = None,
        method: str = "POST",
    ) -> list[str]:
        server_nonce = self.issuer.context.dpop_nonces.issue() if nonce is True else (nonce or None)
        return [
            create_dpop_proof(
                key or self.dpop_key, htm=method, htu=url, now=self.clock(), nonce=server_nonce, access_token=token
            )
        ]

    def token_form(self, offer: CreatedOffer, tx_code: str | None = None, **extra: str) -> list[tuple[str, str]]:
        grant = offer.credential_offer.pre_authorized_code
        assert grant is not None
        form = [("grant_type", PRE_AUTHORIZED_CODE_GRANT), ("pre-authorized_code", grant.pre_authorized_code)]
        if tx_code is not None:
            form.append(("tx_code", tx_code))
        form += list(extra.items())
        return form

    def token(
        self, offer: CreatedOffer, tx_code: str | None = None, *, dpop: bool = True, **extra: str
    ) -> TokenResponse:
        tenant = self.tenant
        headers = self.dpop(tenant.token_endpoint) if dpop else []
        return self.issuer.tokens.exchange(
            tenant, self.token_form(offer, tx_code, **extra), dpop_headers=headers, url=tenant.token_endpoint
        )

    def c_nonce(self) -> str:
        return self.issuer.context.c_nonces.issue(self.tenant.authority.id)

    def proofs(self, holders: Sequence[SoftwareSigner], nonce: str | None = None, **kwargs: Any) -> list[str]:
        nonce = nonce or self.c_nonce()
        audience = kwargs.pop("audience", self.tenant.credential_issuer)
        return [create_proof_jwt(h, audience=audience, now=self.clock(), nonce=nonce, **kwargs) for h in holders]

    def credential(
        self,
        token: TokenResponse,
        body: dict[str, Any],
        *,
        scheme: str | None = None,
        dpop_headers: list[str] | None = None,
    ) -> CredentialResponse:
        tenant = self.tenant
        scheme = scheme or token.token_type
        headers = (
            dpop_headers
            if dpop_headers is not None
            else (self.dpop(tenant.credential_endpoint, token=token.access_token) if scheme == "DPoP" else [])
        )
        return self.issuer.credentials.issue(
            tenant,
            body,
            f"{scheme} {token.access_token}",
            dpop_headers=headers,
            url=tenant.credential_endpoint,
        )

    def request_body(self, holders: Sequence[SoftwareSigner], type_id: str = "bewohnerparkausweis") -> dict[str, Any]:
        return {"credential_configuration_id": type_id, "proofs": {"jwt": self.proofs(holders)}}


def race_credential_requests(wallet: InProcessWallet, issuer: Issuer, requests: int = 20) -> None:
    """``requests`` credential requests with one access token at once, each with its own key proof and DPoP proof:
    exactly one delivers (the others are refused as ``credential_request_denied`` or ``invalid_token``), and the
    offer is delivered with one credential."""
    from concurrent.futures import ThreadPoolExecutor

    from ssi.errors import SsiError

    offer = wallet.offer()
    token = wallet.token(offer, offer.tx_code)
    bodies = [wallet.request_body([SoftwareSigner.generate()]) for _ in range(requests)]
    proofs = [wallet.dpop(wallet.tenant.credential_endpoint, token=token.access_token) for _ in bodies]

    def attempt(args: tuple[dict[str, Any], list[str]]) -> str:
        try:
            wallet.credential(token, args[0], dpop_headers=args[1])
            return "ok"
        except SsiError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(attempt, zip(bodies, proofs, strict=True)))
    assert outcomes.count("ok") == 1
    assert set(outcomes) - {"ok"} <= {"credential_request_denied", "invalid_token"}
    record = issuer.context.storage.offer(offer.offer_id)
    assert record is not None and record.state == "delivered" and record.credentials_issued == 1
