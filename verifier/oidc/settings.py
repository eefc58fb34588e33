"""The OpenID Provider's configuration (``GOVSSI_VERIFIER_OIDC_…``; the verifier's own settings give the issuer URL,
the data directory and the key passphrase)."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ssi.encoding import b64url_decode, b64url_encode
from ssi.errors import EncodingError
from ssi.keys import PrivateKey, SoftwareSigner, load_private_key, write_key_file
from verifier.presets import PID_VCT

__all__ = ["EIDAS_LOA", "OidcSettings", "load_id_token_signer", "load_pairwise_secret"]

#: eIDAS levels of assurance as ``acr`` values (the URIs of the eIDAS SAML attribute profile, which German
#: Servicekonten use as OpenID Connect ``acr`` too).
EIDAS_LOA = {
    "low": "http://eidas.europa.eu/LoA/low",
    "substantial": "http://eidas.europa.eu/LoA/substantial",
    "high": "http://eidas.europa.eu/LoA/high",
}


def _env(name: str, env: str) -> AliasChoices:
    return AliasChoices(name, env)


class OidcSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOVSSI_VERIFIER_OIDC_", extra="ignore")

    #: GOVSSI_VERIFIER_OIDC_CLIENTS: the portal clients (JSON file, verifier/oidc/clients.py); …_CLIENTS_JSON: the
    #: document itself (wins over the file).
    clients: Path | None = Field(default=None, validation_alias=_env("clients", "GOVSSI_VERIFIER_OIDC_CLIENTS"))
    clients_json: str | None = Field(
        default=None, validation_alias=_env("clients_json", "GOVSSI_VERIFIER_OIDC_CLIENTS_JSON")
    )
    #: GOVSSI_VERIFIER_OIDC_SECRET: the key of the pairwise pseudonyms (base64url, ≥ 32 bytes). Default: a random
    #: secret created once in ``<data_dir>/verifier/oidc/pairwise.secret`` (0600). Changing it changes every ``sub``.
    secret: SecretStr | None = Field(default=None, validation_alias=_env("secret", "GOVSSI_VERIFIER_OIDC_SECRET"))
    #: Where the ID Token signing key lives (default ``<data_dir>/verifier/oidc``).
    keys_dir: Path | None = Field(default=None, validation_alias=_env("keys_dir", "GOVSSI_VERIFIER_OIDC_KEYS_DIR"))
    #: How long disclosed claims may be kept at all (seconds; DSGVO storage limitation): the authorization code and the
    #: access token (and with it /userinfo) never outlive it.
    claims_ttl: float = Field(default=300.0, gt=0, le=3600)
    #: A login (authorize → presentation → code), an authorization code (RFC 6749 §4.1.2: "A maximum authorization
    #: code lifetime of 10 minutes is RECOMMENDED"), an access token, an ID Token.
    login_ttl: float = Field(default=600.0, gt=0)
    code_ttl: float = Field(default=60.0, gt=0, le=600)
    access_token_ttl: float = Field(default=300.0, gt=0)
    id_token_ttl: float = Field(default=300.0, gt=0)
    #: ``acr`` per credential type, when the issuer is accredited for it: the German PID comes from the eID
    #: (PID-DE: eID card, LoA high).
    acr_by_vct: dict[str, str] = Field(default_factory=lambda: {PID_VCT: EIDAS_LOA["high"]})

    def effective_code_ttl(self) -> float:
        return min(self.code_ttl, self.claims_ttl)

    def effective_access_token_ttl(self) -> float:
        return min(self.access_token_ttl, self.claims_ttl)


def load_pairwise_secret(settings: OidcSettings, directory: Path) -> bytes:
    if settings.secret is not None:
        try:
            secret = b64url_decode(settings.secret.get_secret_value())
        except EncodingError:
            raise ValueError("GOVSSI_VERIFIER_OIDC_SECRET must be base64url") from None
        if len(secret) < 32:
            raise ValueError("GOVSSI_VERIFIER_OIDC_SECRET needs at least 32 bytes")
        return secret
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / "pairwise.secret"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(b64url_encode(secrets.token_bytes(32)), encoding="ascii")
    # OpenID Connect Core §8.1: the pairwise sub "MUST NOT be reversible by any party other than the OpenID
    # Provider" — an empty, truncated or corrupt file (an interrupted first start) is refused here, at start-up.
    try:
        secret = b64url_decode(path.read_text(encoding="ascii").strip())
    except (EncodingError, UnicodeDecodeError):
        raise ValueError(f"{path} (the pairwise secret) is not base64url") from None
    if len(secret) < 32:
        raise ValueError(f"{path} (the pairwise secret) holds fewer than 32 bytes")
    return secret


def load_id_token_signer(directory: Path, passphrase: str | None) -> SoftwareSigner:
    """The ES256 key that signs ID Tokens (created on first use), ``kid`` its JWK thumbprint (RFC 7638)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / "id-token-signing.key.json"
    if not path.exists():
        write_key_file(path, PrivateKey.generate("ES256"), passphrase=passphrase, kid="id-token")
    key = load_private_key(path, passphrase)
    return SoftwareSigner(key, kid=key.public_key.thumbprint())
