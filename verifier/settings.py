"""The verifier's configuration (``GOVSSI_`` environment variables; DESIGN.md §3).

Only settings that decide behaviour live here; keys, the chain, the session store and the trust policy are built from
them by :func:`verifier.app.build_verifier` or injected directly by tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator

from infra.settings import ServiceSettings

__all__ = ["VerifierSettings"]


def _env(name: str, env: str) -> AliasChoices:
    return AliasChoices(name, env)


class VerifierSettings(ServiceSettings):
    """Verifier settings. ``public_url`` is where wallets reach the Request URI and Response URI endpoints: an HTTPS
    URL, or ``http://127.0.0.1:…`` with ``GOVSSI_DEV_ALLOW_HTTP``."""

    service_name: str = "verifier"
    #: GOVSSI_VERIFIER_PUBLIC_URL: scheme, host, optional port and path prefix, no trailing slash.
    public_url: str = Field(default="", validation_alias=_env("public_url", "GOVSSI_VERIFIER_PUBLIC_URL"))
    #: The Client Identifier Prefix (OpenID4VP 1.0 §5.9.3): ``x509_hash`` (HAIP 1.0, default), ``x509_san_dns``,
    #: ``decentralized_identifier`` (the portal's DID, GOVSSI_VERIFIER_DID), or ``redirect_uri`` (unsigned,
    #: development only: refused unless GOVSSI_VERIFIER_ALLOW_REDIRECT_URI).
    client_id_prefix: Literal["x509_hash", "x509_san_dns", "decentralized_identifier", "redirect_uri"] = Field(
        default="x509_hash", validation_alias=_env("client_id_prefix", "GOVSSI_VERIFIER_CLIENT_ID_PREFIX")
    )
    allow_redirect_uri: bool = Field(
        default=False, validation_alias=_env("allow_redirect_uri", "GOVSSI_VERIFIER_ALLOW_REDIRECT_URI")
    )
    #: GOVSSI_VERIFIER_DID / GOVSSI_VERIFIER_DID_KEY_FILE: the DID and the key file of its signing key
    #: (``kid`` = GOVSSI_VERIFIER_DID_KID, default ``<did>#controllerKey``) for ``decentralized_identifier``.
    did: str | None = Field(default=None, validation_alias=_env("did", "GOVSSI_VERIFIER_DID"))
    did_key_file: Path | None = Field(
        default=None, validation_alias=_env("did_key_file", "GOVSSI_VERIFIER_DID_KEY_FILE")
    )
    did_kid: str | None = Field(default=None, validation_alias=_env("did_kid", "GOVSSI_VERIFIER_DID_KID"))
    #: Default Response Mode (HAIP 1.0: ``direct_post.jwt``); ``direct_post`` per request when asked for.
    response_mode: Literal["direct_post.jwt", "direct_post"] = "direct_post.jwt"
    #: GOVSSI_VERIFIER_TRUST_ANCHORS: PEM bundle of the CAs credential issuers' ``x5c`` chains must lead to (HAIP).
    trust_anchors: Path | None = Field(
        default=None, validation_alias=_env("trust_anchors", "GOVSSI_VERIFIER_TRUST_ANCHORS")
    )
    #: GOVSSI_KEY_PASSPHRASE: protects the verifier's key files (and its demo CA key).
    key_passphrase: SecretStr | None = Field(
        default=None, validation_alias=_env("key_passphrase", "GOVSSI_KEY_PASSPHRASE")
    )
    #: Key files (default ``<data_dir>/verifier/keys``) and the demo CA issuing the request-signing certificate
    #: (``<data_dir>/verifier/ca``; ``ca.pem`` is the anchor wallets configure for this verifier).
    keys_dir: Path | None = Field(default=None, validation_alias=_env("keys_dir", "GOVSSI_VERIFIER_KEYS_DIR"))
    ca_dir: Path | None = Field(default=None, validation_alias=_env("ca_dir", "GOVSSI_VERIFIER_CA_DIR"))
    #: GOVSSI_VERIFIER_API_KEY: when set, the relying-party API (/api/…) requires ``Authorization: Bearer <key>``.
    api_key: SecretStr | None = Field(default=None, validation_alias=_env("api_key", "GOVSSI_VERIFIER_API_KEY"))
    #: GOVSSI_VERIFIER_PRESETS: a JSON file of named DCQL queries, added to the built-in presets.
    presets_file: Path | None = Field(default=None, validation_alias=_env("presets_file", "GOVSSI_VERIFIER_PRESETS"))

    #: Lifetimes (seconds): a presentation session (request to result), a verified result waiting to be fetched.
    session_ttl: float = Field(default=600.0, gt=0)
    result_ttl: float = Field(default=600.0, gt=0)
    #: Accepted age of a KB-JWT (``iat``), and clock skew.
    kb_max_age: float = Field(default=300.0, gt=0)
    clock_skew: float = Field(default=60.0, ge=0)
    #: Status lists: the verifier's maximum cache age (0: fetch on every check), and whether an unreachable status
    #: list (or anchor) lets a credential pass (fail open) — never by default.
    status_max_age: float = Field(default=300.0, ge=0)
    status_fail_open: bool = False
    #: Require a ``status`` claim in every credential (HAIP: SHOULD on the issuer's side; off by default).
    require_status: bool = False
    #: Require the issuer's accreditation in the trusted-issuer registry (the chain). Off only in development.
    require_accreditation: bool = True
    #: Require status list tokens to be anchored on the chain (their digest the latest anchored version).
    require_anchored_status: bool = True
    #: GOVSSI_VERIFIER_VERIFY_ON_EVENT_LOOP: verify Response URI posts on the worker's event loop instead of handing
    #: each to a thread. Only for deployments whose verification does not wait on the network — issuer trust and
    #: status answered from memory, sessions in a nearby Redis —, run with several workers: a lookup that does go to
    #: the network (a chain request, a status list fetch) then holds every other request of that worker until it
    #: returns. Off by default (the chain's accreditation lookups ask for the chain's head on every verification).
    #: On, a verification costs less CPU and queues in arrival order instead of sharing the GIL with dozens of others
    #: (bench/README.md, verifier, fourth pass).
    verify_on_event_loop: bool = Field(
        default=False, validation_alias=_env("verify_on_event_loop", "GOVSSI_VERIFIER_VERIFY_ON_EVENT_LOOP")
    )
    #: GOVSSI_VERIFIER_VERIFY_THREADS (1-64, default 2): threads per worker process that verify Response URI posts
    #: (in arrival order) when they are not verified on the event loop.
    verify_threads: int = Field(
        default=2, ge=1, le=64, validation_alias=_env("verify_threads", "GOVSSI_VERIFIER_VERIFY_THREADS")
    )
    #: GOVSSI_VERIFIER_CHAIN_MAX_STALENESS (seconds, 0-60; default 0): how long the chain readers' caches
    #: (trusted-issuer registry, status-list anchors, did:ethr registry) may answer without asking the chain for
    #: its head first. 0 asks on every verification (``eth_blockNumber`` per reader); a block period or two keeps
    #: verifications off the network while the caches are warm (what GOVSSI_VERIFIER_VERIFY_ON_EVENT_LOOP needs),
    #: at the price of seeing a registry change (a suspension, a compromise mark, a newly anchored status list) up
    #: to that much later. Status lists themselves are cached up to GOVSSI_STATUS_MAX_AGE (default 300 s) anyway.
    chain_max_staleness: float = Field(
        default=0.0,
        ge=0,
        le=60,
        validation_alias=_env("chain_max_staleness", "GOVSSI_VERIFIER_CHAIN_MAX_STALENESS"),
    )

    @field_validator("public_url")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.rstrip("/")

    def resolved_keys_dir(self) -> Path:
        return self.keys_dir or self.data_dir / "verifier" / "keys"

    def resolved_ca_dir(self) -> Path:
        return self.ca_dir or self.data_dir / "verifier" / "ca"
