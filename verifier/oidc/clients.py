"""Portal clients of the OpenID Provider, registered by configuration (no dynamic registration).

A configuration is a JSON document — a file (``GOVSSI_VERIFIER_OIDC_CLIENTS``) or the document itself
(``GOVSSI_VERIFIER_OIDC_CLIENTS_JSON``)::

    {
      "scopes": {                                  # optional: scopes besides the built-in ones (or replacing them)
        "parking_permit": {"description": "Bewohnerparkausweis",
                           "credentials": [{"id": "parking_permit", "format": "dc+sd-jwt",
                                            "meta": {"vct_values": ["https://…/vct/bewohnerparkausweis"]},
                                            "claims": [{"path": ["license_plate"]}, {"path": ["parking_zone"]}]}]}
      },
      "clients": [{
        "client_id": "buergerportal",
        "client_name": "Bürgerportal Musterstadt",
        "redirect_uris": ["https://portal.musterstadt.de/callback"],
        "token_endpoint_auth_method": "client_secret_basic",   # or "private_key_jwt" with "jwks": {"keys": [...]}
        "client_secret": "…",
        "scopes": ["pid_basic", "age_over_18", "parking_permit"],   # or {"name": <scope definition>} per client
        "sector_identifier": "portal.musterstadt.de"                # default: the redirect URIs' host
      }]
    }

Each scope is the DCQL Credential Queries (OpenID4VP 1.0 §6.1) the login needs; ``openid`` is implicit. Built in:
``pid_basic`` (given_name, family_name, birthdate of the German PID) and ``age_over_18`` (only
``age_equal_or_over.18``, which must be ``true``). The configuration is checked on load: every DCQL query parses,
redirect URIs are absolute https URLs without fragment (http only on loopback with ``dev_allow_http``), a
``client_secret_basic`` client has a secret of at least 32 characters, a ``private_key_jwt`` client public keys.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ssi.dcql import DcqlQuery
from ssi.errors import DcqlError, SsiError
from ssi.keys import ALGORITHMS, PublicKey
from verifier.oidc.subject import IDENTIFYING_CLAIMS, PSEUDONYM_CLAIMS
from verifier.presets import PID_VCT

__all__ = [
    "BUILTIN_SCOPES",
    "AUTH_METHODS",
    "OidcConfigurationError",
    "PortalClient",
    "PortalRegistry",
    "Scope",
    "load_portal_registry",
]

AUTH_METHODS = ("client_secret_basic", "private_key_jwt")
PID_QUERY_ID = "pid"


class OidcConfigurationError(SsiError):
    """The portal client configuration is malformed (raised at start-up, never per request)."""

    code = "server_error"
    reason = "oidc_configuration"


def _pid_query(claims: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": PID_QUERY_ID, "format": "dc+sd-jwt", "meta": {"vct_values": [PID_VCT]}, "claims": claims}


@dataclass(frozen=True)
class Scope:
    """A scope and the Credential Queries it asks the wallet for."""

    name: str
    description: str
    credentials: tuple[Mapping[str, Any], ...]

    @property
    def identifying(self) -> bool:
        """Whether the scope discloses the identifying PID claims (then ``sub`` is pairwise)."""
        for credential in self.credentials:
            if PID_VCT in credential.get("meta", {}).get("vct_values", []):
                paths = {tuple(claim["path"]) for claim in credential.get("claims", [])}
                if all((name,) in paths for name in IDENTIFYING_CLAIMS):
                    return True
        return False


def _scope(name: str, doc: Any) -> Scope:
    if not isinstance(doc, Mapping) or not isinstance(doc.get("credentials"), list) or not doc["credentials"]:
        raise OidcConfigurationError(f"scope {name!r} needs a non-empty list of credential queries")
    credentials = tuple(copy.deepcopy(dict(c)) for c in doc["credentials"] if isinstance(c, Mapping))
    if len(credentials) != len(doc["credentials"]):
        raise OidcConfigurationError(f"scope {name!r}: credential queries are objects")
    for credential in credentials:
        if "claim_sets" in credential or "claims" not in credential:
            # scopes are merged claim by claim; a claim_sets choice would not survive the merge
            raise OidcConfigurationError(f"scope {name!r}: each credential query lists its claims, without claim_sets")
    try:
        DcqlQuery.parse({"credentials": list(credentials)})
    except DcqlError as exc:
        raise OidcConfigurationError(f"scope {name!r}: {exc.description}") from None
    return Scope(name, str(doc.get("description", name)), credentials)


BUILTIN_SCOPES: dict[str, Scope] = {
    "pid_basic": Scope(
        "pid_basic",
        "Vorname, Familienname und Geburtsdatum laut Personalausweis (PID)",
        (_pid_query([{"path": ["given_name"]}, {"path": ["family_name"]}, {"path": ["birthdate"]}]),),
    ),
    "age_over_18": Scope(
        "age_over_18",
        "Nur die Bestätigung: volljährig (18 Jahre oder älter)",
        (_pid_query([{"path": ["age_equal_or_over", "18"], "values": [True]}]),),
    ),
}


def login_query(scopes: Sequence[Scope]) -> tuple[DcqlQuery, frozenset[tuple[str, tuple[Any, ...]]]]:
    """The DCQL query of a login with ``scopes``: their Credential Queries merged by ``id`` (claims united), and for
    an identifying login the PID's ``place_of_birth`` added for the pseudonym. Also the (credential query id, path)
    pairs the portal asked for — what the ID Token may carry."""
    merged: dict[str, dict[str, Any]] = {}
    released: set[tuple[str, tuple[Any, ...]]] = set()
    for scope in scopes:
        for credential in scope.credentials:
            target = merged.setdefault(credential["id"], {**copy.deepcopy(dict(credential)), "claims": []})
            if {k: v for k, v in target.items() if k != "claims"} != {
                k: v for k, v in credential.items() if k != "claims"
            }:
                raise DcqlError(
                    f"scopes disagree about credential query {credential['id']!r}", reason="dcql_scope_conflict"
                )
            for claim in credential["claims"]:
                released.add((credential["id"], tuple(claim["path"])))
                if not any(existing["path"] == claim["path"] for existing in target["claims"]):
                    target["claims"].append(copy.deepcopy(dict(claim)))
    if any(scope.identifying for scope in scopes):
        for credential in merged.values():
            if PID_VCT in credential.get("meta", {}).get("vct_values", []):
                paths = [claim["path"] for claim in credential["claims"]]
                for name in PSEUDONYM_CLAIMS:
                    if [name] not in paths:
                        credential["claims"].append({"path": [name]})
                break
    return DcqlQuery.parse({"credentials": list(merged.values())}), frozenset(released)


@dataclass(frozen=True)
class PortalClient:
    """A registered portal (OpenID Connect Core §2 Client, RFC 7591 metadata names)."""

    client_id: str
    client_name: str
    redirect_uris: tuple[str, ...]
    token_endpoint_auth_method: str
    scopes: Mapping[str, Scope]
    sector_identifier: str
    client_secret: str | None = None
    #: (kid, key) of a private_key_jwt client
    jwks: tuple[tuple[str | None, PublicKey], ...] = ()
    logo_text: str = field(default="")

    def scope_list(self, requested: Iterable[str]) -> list[Scope]:
        return [self.scopes[name] for name in requested]


def _check_redirect_uri(uri: Any, dev_allow_http: bool, where: str) -> str:
    if not isinstance(uri, str):
        raise OidcConfigurationError(f"{where}: redirect URIs are strings")
    parts = urlsplit(uri)
    loopback = parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if parts.fragment or not parts.hostname:
        raise OidcConfigurationError(f"{where}: {uri!r} must be absolute, without fragment (RFC 6749 §3.1.2)")
    if not (parts.scheme == "https" or (dev_allow_http and loopback and parts.scheme == "http")):
        raise OidcConfigurationError(f"{where}: {uri!r} must use https")
    return uri


def _client(doc: Any, catalogue: Mapping[str, Scope], dev_allow_http: bool) -> PortalClient:
    if not isinstance(doc, Mapping) or not isinstance(doc.get("client_id"), str) or not doc["client_id"]:
        raise OidcConfigurationError("every client needs a client_id")
    client_id = doc["client_id"]
    where = f"client {client_id!r}"
    uris = doc.get("redirect_uris")
    if not isinstance(uris, list) or not uris:
        raise OidcConfigurationError(f"{where}: redirect_uris must be a non-empty list")
    redirect_uris = tuple(_check_redirect_uri(uri, dev_allow_http, where) for uri in uris)
    method = doc.get("token_endpoint_auth_method", "client_secret_basic")
    if method not in AUTH_METHODS:
        raise OidcConfigurationError(f"{where}: token_endpoint_auth_method is one of {', '.join(AUTH_METHODS)}")
    secret = doc.get("client_secret")
    keys: tuple[tuple[str | None, PublicKey], ...] = ()
    if method == "client_secret_basic":
        if not isinstance(secret, str) or len(secret) < 32:
            raise OidcConfigurationError(f"{where}: client_secret needs at least 32 characters")
    else:
        secret = None
        jwks = doc.get("jwks")
        if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
            raise OidcConfigurationError(f"{where}: private_key_jwt needs jwks with the client's public keys")
        try:
            keys = tuple((jwk.get("kid"), PublicKey.from_jwk(jwk)) for jwk in jwks["keys"])
        except SsiError as exc:
            raise OidcConfigurationError(f"{where}: {exc.description}") from None
        for _kid, key in keys:
            if key.jwk.get("kty") not in {kty for kty, _ in ALGORITHMS.values()}:
                raise OidcConfigurationError(f"{where}: unsupported key type")
    wanted = doc.get("scopes", list(catalogue))
    scopes: dict[str, Scope] = {}
    if isinstance(wanted, list):
        for name in wanted:
            if name not in catalogue:
                raise OidcConfigurationError(f"{where}: unknown scope {name!r}")
            scopes[name] = catalogue[name]
    elif isinstance(wanted, Mapping):
        for name, definition in wanted.items():
            if definition is None:
                if name not in catalogue:
                    raise OidcConfigurationError(f"{where}: unknown scope {name!r}")
                scopes[name] = catalogue[name]
            else:
                scopes[name] = _scope(name, definition)
    else:
        raise OidcConfigurationError(f"{where}: scopes is a list of names or an object of definitions")
    if "openid" in scopes:
        raise OidcConfigurationError(f"{where}: 'openid' is implicit")
    sector = doc.get("sector_identifier")
    if sector is None:
        hosts = {urlsplit(uri).hostname for uri in redirect_uris}
        if len(hosts) != 1:
            # OpenID Connect Core §8.1: several hosts need a sector identifier
            raise OidcConfigurationError(f"{where}: redirect URIs on several hosts need a sector_identifier")
        sector = hosts.pop()
    if not isinstance(sector, str) or not sector:
        raise OidcConfigurationError(f"{where}: sector_identifier must be a non-empty string")
    return PortalClient(
        client_id=client_id,
        client_name=str(doc.get("client_name", client_id)),
        redirect_uris=redirect_uris,
        token_endpoint_auth_method=method,
        scopes=scopes,
        sector_identifier=sector,
        client_secret=secret,
        jwks=keys,
    )


class PortalRegistry:
    """The registered clients by ``client_id`` and the scope catalogue."""

    def __init__(self, clients: Iterable[PortalClient], scopes: Mapping[str, Scope] | None = None) -> None:
        self.clients: dict[str, PortalClient] = {}
        for client in clients:
            if client.client_id in self.clients:
                raise OidcConfigurationError(f"client {client.client_id!r} is registered twice")
            self.clients[client.client_id] = client
        self.scopes = dict(scopes if scopes is not None else BUILTIN_SCOPES)

    def get(self, client_id: str) -> PortalClient | None:
        return self.clients.get(client_id)

    @classmethod
    def from_document(cls, doc: Any, *, dev_allow_http: bool = False) -> PortalRegistry:
        if not isinstance(doc, Mapping):
            raise OidcConfigurationError("the client configuration is a JSON object")
        catalogue = dict(BUILTIN_SCOPES)
        extra = doc.get("scopes", {})
        if not isinstance(extra, Mapping):
            raise OidcConfigurationError("scopes is an object of scope definitions")
        for name, definition in extra.items():
            catalogue[name] = _scope(name, definition)
        clients = doc.get("clients", [])
        if not isinstance(clients, list):
            raise OidcConfigurationError("clients is a list")
        return cls((_client(c, catalogue, dev_allow_http) for c in clients), catalogue)


def load_portal_registry(
    path: Path | None, document: str | None = None, *, dev_allow_http: bool = False
) -> PortalRegistry:
    """The registry from a file or a JSON text (the text wins); empty when neither is given."""
    if document:
        text = document
    elif path is not None:
        text = path.read_text(encoding="utf-8")
    else:
        return PortalRegistry(())
    try:
        doc = json.loads(text)
    except ValueError:
        raise OidcConfigurationError("the client configuration is not valid JSON") from None
    return PortalRegistry.from_document(doc, dev_allow_http=dev_allow_http)
