"""The issuer's configuration (``GOVSSI_`` environment variables; DESIGN.md §3).

Only settings that decide behaviour live here; keys, the chain and storage are built from them by
:func:`issuer.app.build_issuer` or injected directly by tests.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator

from infra.settings import ServiceSettings

__all__ = ["IssuerSettings"]


class IssuerSettings(ServiceSettings):
    """Issuer settings. ``public_url`` is the base every credential issuer identifier is built on
    (``{public_url}/issuers/{authority}``): an HTTPS URL, or ``http://127.0.0.1:…`` with ``GOVSSI_DEV_ALLOW_HTTP``."""

    service_name: str = "issuer"
    #: GOVSSI_ISSUER_PUBLIC_URL: scheme, host, optional port and path prefix, no trailing slash.
    public_url: str = Field(default="", validation_alias=AliasChoices("public_url", "GOVSSI_ISSUER_PUBLIC_URL"))
    #: GOVSSI_ISSUER_BOOTSTRAP_KEY: the demo authority's API key on first start (else one is generated and printed).
    bootstrap_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("bootstrap_key", "GOVSSI_ISSUER_BOOTSTRAP_KEY")
    )
    #: Slug of the demo authority created on first start with an empty database.
    bootstrap_authority: str = "demo"
    #: GOVSSI_KEY_PASSPHRASE: protects the issuer's key files (and the demo CA key).
    key_passphrase: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("key_passphrase", "GOVSSI_KEY_PASSPHRASE")
    )
    #: Where key files live (default ``<data_dir>/issuer/keys``) and the demo CA (``<data_dir>/issuer/ca``).
    keys_dir: Path | None = Field(default=None, validation_alias=AliasChoices("keys_dir", "GOVSSI_ISSUER_KEYS_DIR"))
    ca_dir: Path | None = Field(default=None, validation_alias=AliasChoices("ca_dir", "GOVSSI_ISSUER_CA_DIR"))
    #: GOVSSI_DID_REGISTRY: the ERC-1056 registry on the chain (default: a development deployment, see issuer.chain).
    did_registry: str | None = Field(default=None, validation_alias=AliasChoices("did_registry", "GOVSSI_DID_REGISTRY"))

    #: Lifetimes (seconds).
    offer_ttl: float = 24 * 3600.0
    access_token_ttl: float = 300.0  # OpenID4VCI §13.7: tokens longer than 5 minutes are "long lived"
    c_nonce_ttl: float = 300.0
    dpop_nonce_ttl: float = 300.0
    #: Accepted age of DPoP proofs and key proofs (``iat`` window, plus ``clock_skew`` into the future).
    proof_max_age: float = 300.0
    clock_skew: float = 60.0
    #: Transaction codes: digits, and how many wrong ones kill an offer.
    tx_code_length: int = Field(default=6, ge=4, le=12)
    tx_code_max_attempts: int = 5
    #: ``batch_credential_issuance.batch_size`` (§12.2.4: at least 2).
    batch_size: int = Field(default=10, ge=2, le=100)
    #: Algorithms accepted for DPoP proofs and key proofs.
    proof_algorithms: tuple[str, ...] = ("ES256", "EdDSA")
    #: Entries per status list (2 bits each) and the share allocated before a fresh list is started.
    status_list_size: int = Field(default=2**17, ge=1024)
    status_list_fill: float = Field(default=0.5, gt=0, le=0.9)

    #: Status list publication (issuer.publishing): changes are published in batches, at most this many seconds
    #: after they were made (GOVSSI_STATUS_PUBLISH_WINDOW).
    status_publish_window: float = Field(default=1.0, gt=0.01, le=3600)
    #: ``ttl`` of Status List Tokens (how long relying parties may cache one) and their lifetime (``exp - iat``); a
    #: list is re-published when less than half of its lifetime is left, changed or not.
    status_list_ttl: int = Field(default=300, ge=1)
    status_list_validity: int = Field(default=86400, ge=60)
    #: GOVSSI_STATUS_ANCHOR: the status-list anchor contract (Ledger II); without it lists are not anchored.
    status_anchor: str | None = Field(
        default=None, validation_alias=AliasChoices("status_anchor", "GOVSSI_STATUS_ANCHOR")
    )
    #: Seconds before another anchoring attempt after the chain refused or failed.
    anchor_retry: float = Field(default=30.0, ge=0)

    #: Deferred issuance (OpenID4VCI §9): the ``interval`` wallets are told, and how long a request may wait.
    deferred_interval: int = Field(default=30, ge=1)
    deferred_ttl: float = Field(default=30 * 86400.0, gt=0)

    #: Token endpoint rate limit per client address: requests per window (0: off).
    token_rate_limit: int = Field(default=300, ge=0)
    token_rate_window: float = Field(default=60.0, gt=0)

    #: Keys in a PKCS#11 token (HSM) instead of key files: the module (GOVSSI_PKCS11_MODULE), the token's label, and
    #: key labels with ``{authority}`` for the authority's slug. The PIN comes from GOVSSI_PKCS11_PIN(_FILE).
    #: ``pkcs11_controller_label`` empty: the DID controller key stays in a key file.
    pkcs11_module: str | None = None
    pkcs11_token_label: str | None = None
    pkcs11_key_label: str = "{authority}-signing"
    pkcs11_controller_label: str = "{authority}-controller"

    #: PID provider role (issuer/pid_provider.py): the authority slug that issues ``urn:eudi:pid:de:1`` through the eID
    #: (GOVSSI_ISSUER_PID_AUTHORITY; unset: no PID provider), the PEM file of accepted wallet providers' CAs
    #: (GOVSSI_ISSUER_PID_WALLET_PROVIDERS; unset: the demo wallet provider, development only), the eID sources it
    #: accepts (``card``; ``smart-eid`` too when its level of assurance is high) and the refresh token lifetime.
    pid_authority: str | None = Field(
        default=None, validation_alias=AliasChoices("pid_authority", "GOVSSI_ISSUER_PID_AUTHORITY")
    )
    pid_wallet_providers: Path | None = Field(
        default=None, validation_alias=AliasChoices("pid_wallet_providers", "GOVSSI_ISSUER_PID_WALLET_PROVIDERS")
    )
    #: GOVSSI_ISSUER_PID_ADMIN_KEY: the PID authority's API key, made on its first start — for its admin API (lost
    #: cards, records).
    pid_admin_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("pid_admin_key", "GOVSSI_ISSUER_PID_ADMIN_KEY")
    )
    pid_eid_sources: tuple[str, ...] = ("card",)
    pid_refresh_token_ttl: float = Field(default=30 * 86400.0, gt=0)

    @field_validator("public_url")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.rstrip("/")

    def resolved_keys_dir(self) -> Path:
        return self.keys_dir or self.data_dir / "issuer" / "keys"

    def resolved_ca_dir(self) -> Path:
        return self.ca_dir or self.data_dir / "issuer" / "ca"
