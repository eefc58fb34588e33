"""HTTP to credential issuers, the way a careful wallet does it (httpx).

- HTTPS only (OpenID4VCI 1.0 §4.1.3, §8, §9, §11: "MUST utilize TLS"; §12.2.4 endpoints "MUST use the https scheme");
  plain HTTP only to ``127.0.0.1``/``localhost`` when the development flag allows it.
- No redirects followed (a redirect could leave the checked origin or downgrade the scheme), bounded response size,
  timeouts, strict JSON (:func:`ssi.encoding.json_loads`: no duplicate names, no NaN, bounded depth).
- Every failure becomes one clear error: :class:`ssi.errors.FetchError` (``issuer_unreachable``, ``bad_response``)
  or :class:`ssi.errors.IssuerError` carrying the issuer's own error code (OAuth/OpenID4VCI error responses).
  Error descriptions from the network are reduced to the §8.3.1.2 character set before anyone prints them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from ssi.encoding import json_loads
from ssi.errors import EncodingError, FetchError, IssuerError, Oid4vciError
from ssi.oid4vci import check_https_url, error_description

__all__ = ["HttpAnswer", "IssuerHttp", "MAX_RESPONSE_BYTES"]

MAX_RESPONSE_BYTES: Final = 1024 * 1024
USER_AGENT: Final = "govssi-wallet-simulator/1"


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: httpx.Headers
    body: Any

    @property
    def error(self) -> str | None:
        """The OAuth ``error`` code of an error response, if it has one."""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), str):
            return str(self.body["error"])
        return None

    def www_authenticate_error(self) -> str | None:
        """The ``error`` parameter of a ``WWW-Authenticate`` challenge (RFC 6750 §3, RFC 9449 §7.1)."""
        value = self.headers.get("www-authenticate", "")
        marker = 'error="'
        start = value.find(marker)
        if start < 0:
            return None
        end = value.find('"', start + len(marker))
        return value[start + len(marker) : end] if end > 0 else None


class IssuerHttp:
    """The wallet's HTTP client for issuer endpoints. ``allow_http_loopback`` is the development flag."""

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        allow_http_loopback: bool = False,
        timeout: float = 15.0,
        max_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self._own = client is None
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)
        self.allow_http_loopback = allow_http_loopback
        self._max = max_bytes

    def close(self) -> None:
        if self._own:
            self._client.close()

    def check_url(self, url: Any, name: str) -> str:
        """An endpoint URL the wallet may contact (``https``; ``http`` on loopback in development)."""
        return check_https_url(url, name, allow_http_loopback=self.allow_http_loopback)

    def request(
        self,
        method: str,
        url: str,
        name: str,
        *,
        headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        json: Any = None,
        empty_body: bool = False,
    ) -> HttpAnswer:
        """One request; the body parsed as JSON when the response says ``application/json``."""
        self.check_url(url, name)
        all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        all_headers.update(headers or {})
        kwargs: dict[str, Any] = {"headers": all_headers}
        if form is not None:
            kwargs["data"] = dict(form)
        elif json is not None:
            kwargs["json"] = json
        elif empty_body:
            kwargs["content"] = b""
        host = urlsplit(url).netloc
        try:
            with self._client.stream(method, url, **kwargs) as response:
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self._max:
                        raise FetchError(f"the {name} answer from {host} is too large", reason="response_too_large")
                    chunks.append(chunk)
                raw = b"".join(chunks)
        except httpx.TimeoutException:
            raise FetchError(f"{host} did not answer in time ({name})", reason="issuer_unreachable") from None
        except httpx.HTTPError as exc:
            raise FetchError(
                f"{host} is unreachable ({name}): {type(exc).__name__}", reason="issuer_unreachable"
            ) from None
        if 300 <= response.status_code < 400:
            raise FetchError(
                f"{host} answered the {name} with a redirect, which wallets do not follow", reason="unexpected_redirect"
            )
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        body: Any = None
        if raw and content_type in ("application/json", "application/problem+json"):
            try:
                body = json_loads(raw)
            except EncodingError as exc:
                raise FetchError(
                    f"the {name} answer from {host} is not valid JSON: {exc.description}", reason="bad_response"
                ) from None
        elif raw and content_type in ("application/jwt", "text/plain", "application/dc+sd-jwt"):
            body = raw.decode("utf-8", errors="replace")
        return HttpAnswer(response.status_code, response.headers, body)

    def get_json(self, url: str, name: str) -> Any:
        """GET a JSON document (metadata, offer): 200 with ``application/json`` or a clear error."""
        answer = self.request("GET", url, name)
        if answer.status == 404:
            raise FetchError(f"there is no {name} at {url}", reason="not_found")
        self.raise_for_error(answer, name)
        if answer.status != 200 or not isinstance(answer.body, dict):
            raise FetchError(f"the {name} at {url} is not a JSON object", reason="bad_response")
        return answer.body

    @staticmethod
    def raise_for_error(answer: HttpAnswer, name: str) -> None:
        """An error status becomes :class:`IssuerError` with the issuer's ``error`` code (``server_error`` when the
        answer has none, e.g. a 500 page)."""
        if answer.status < 400:
            return
        code = answer.error or ("server_error" if answer.status >= 500 else "invalid_request")
        described = ""
        if isinstance(answer.body, dict) and isinstance(answer.body.get("error_description"), str):
            described = ": " + error_description(answer.body["error_description"])[:200]
        raise IssuerError(
            f"the issuer refused the {name} ({answer.status} {error_description(code)}{described})",
            code=error_description(code),
            status=answer.status,
        )


def expect_object(answer: HttpAnswer, name: str) -> dict[str, Any]:
    if not isinstance(answer.body, dict):
        raise Oid4vciError(f"the {name} response is not a JSON object", reason="bad_response")
    return answer.body
