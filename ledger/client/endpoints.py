"""A web3 provider over a list of JSON-RPC endpoints with failover, per-request timeouts and a chain-id check.

DESIGN.md §3 (chain runtime b): ``GOVSSI_CHAIN_RPC=url1,url2`` names several nodes of one chain. What this provider
guarantees:

- **Timeouts everywhere.** One attempt at one endpoint is bounded by :attr:`FailoverPolicy.attempt_timeout` (connect,
  then reading the answer: the deadline is checked between socket reads, so a node that trickles bytes is cut off
  too); one request over all endpoints by :attr:`FailoverPolicy.request_budget`. A request therefore either returns
  or raises :class:`~ssi.errors.ChainUnavailable` within about the budget — never hangs.
- **Failover.** An endpoint that refuses, times out, answers HTTP != 200 or anything that is not a JSON-RPC 2.0
  response (JSON-RPC spec §5: an object with ``"jsonrpc": "2.0"`` and ``result`` or ``error``) has failed: the request
  moves on to the next endpoint, and the failed one is skipped by later requests until its back-off expires
  (:attr:`~FailoverPolicy.backoff_initial` doubling up to :attr:`~FailoverPolicy.backoff_max`). Endpoints in back-off
  are still tried, last and earliest-expiry first, when every healthy endpoint failed. A JSON-RPC *error* response is
  an answer (the node works; the request was refused) and is returned as it is.
- **One chain.** Before an endpoint serves its first request — and again after every failure, since a node that
  comes back may have been replaced — it must answer ``eth_chainId`` (EIP-695) with the provider's chain id; one that
  does not is treated as failed (and logged), so no request ever reaches a node of another chain.
  :meth:`FailoverProvider.check_chain_id` asks every endpoint at once and raises
  :class:`~ledger.errors.ChainIdMismatch` if the answers differ.

Replaying a request on another endpoint is safe for every method the client sends: reads are idempotent, and a
signed raw transaction names itself (one nonce, one hash), so a second delivery is "already known", never a second
application. Endpoint URLs appear in errors and logs only as ``scheme://host:port`` (paths and query strings often
hold API keys).

Transport: keep-alive HTTP/1.1 connections (:class:`ledger.client.http1.Http1Connection`), a small pool per endpoint
(:class:`_Connections`). It reads answers without the email-package header parsing of ``http.client`` — which is
what requests/urllib3 use too and costs as much as a loopback node takes to answer ``eth_blockNumber``, the one request
of a cached DID resolution. No proxy or ``.netrc`` from the environment; credentials in a URL's user info are sent as
HTTP Basic authentication. A pooled connection the node closed while idle is noticed before reuse; one that breaks
while a request is being sent on it is replaced once by a new connection (replaying the request is safe, as said
above).

``eth_chainId`` is answered by the provider itself once an endpoint has been verified: every endpoint serves the one
chain id checked above before it serves anything, so asking again only costs a round trip — and web3 asks before
every ``eth_call`` and ``eth_estimateGas`` (its request validation).
"""

from __future__ import annotations

import base64
import json
import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from ledger.client.http1 import AnswerTooLarge, ConnectionDropped, Http1Connection, MalformedAnswer
from ledger.errors import ChainIdMismatch, ChainUnavailable
from ssi.clock import Clock

__all__ = ["EndpointStatus", "FailoverPolicy", "FailoverProvider", "display_url", "endpoint_urls"]

_log = logging.getLogger("ledger.client")
_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "govssi-ledger"}


@dataclass(frozen=True)
class FailoverPolicy:
    """Time bounds and back-off of a :class:`FailoverProvider` (seconds)."""

    #: One attempt at one endpoint: connecting plus reading the whole answer.
    attempt_timeout: float = 5.0
    #: One request over all endpoints; later endpoints get what is left of it.
    request_budget: float = 12.0
    #: First back-off after a failure; doubles with each further consecutive failure.
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    #: Answers larger than this are a failure of the endpoint (a node does not send 64 MiB for one request).
    max_response_bytes: int = 64 * 1024 * 1024
    #: Parallel connections kept per endpoint (concurrent senders and readers share them).
    pool_size: int = 16

    def __post_init__(self) -> None:
        if not (0 < self.attempt_timeout <= self.request_budget):
            raise ValueError("need 0 < attempt_timeout <= request_budget")
        if not (0 < self.backoff_initial <= self.backoff_max):
            raise ValueError("need 0 < backoff_initial <= backoff_max")

    def backoff(self, consecutive_failures: int) -> float:
        """How long an endpoint is skipped after its ``consecutive_failures``-th failure in a row (1, 2, ...)."""
        exponent = min(max(consecutive_failures - 1, 0), 32)
        return float(min(self.backoff_initial * 2**exponent, self.backoff_max))


def display_url(url: str) -> str:
    """``scheme://host:port`` of ``url``: what errors and logs may show (no user info, path or query)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme or 'http'}://{host}" + (f":{port}" if port else "")


@dataclass(frozen=True)
class EndpointStatus:
    """A snapshot of one endpoint, for health pages and tests."""

    url: str
    healthy: bool
    verified: bool
    consecutive_failures: int
    retry_in: float
    last_error: str | None


class _EndpointFailure(Exception):
    """One attempt at one endpoint failed at the transport level (not a JSON-RPC error answer)."""


class _Connections:
    """Keep-alive connections to one endpoint: any number in use at once, at most ``size`` kept while idle."""

    def __init__(self, url: str, size: int, clock: Clock) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) JSON-RPC URL: {display_url(url)}")
        try:
            port = parts.port
            target = ((parts.path or "/") + (f"?{parts.query}" if parts.query else "")).encode("ascii")
            authority = parts.netloc.rpartition("@")[2].encode("ascii")
        except (ValueError, UnicodeEncodeError):
            raise ValueError(f"not an http(s) JSON-RPC URL: {display_url(url)}") from None
        if any(byte <= 0x20 or byte == 0x7F for byte in target + authority):
            raise ValueError(f"not an http(s) JSON-RPC URL: {display_url(url)}")
        self.host = parts.hostname
        self.port = port or (443 if parts.scheme == "https" else 80)
        self.tls = ssl.create_default_context() if parts.scheme == "https" else None
        fields = [b"Host: " + authority, *(f"{name}: {value}".encode() for name, value in _JSON_HEADERS.items())]
        if parts.username is not None:
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            fields.append(b"Authorization: Basic " + base64.b64encode(credentials))
        #: The request line and fields of every request (Content-Length follows per request).
        self.head = b"POST " + target + b" HTTP/1.1\r\n" + b"".join(field + b"\r\n" for field in fields)
        self.size = size
        self._clock = clock
        self._idle: list[Http1Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def acquire(self) -> tuple[Http1Connection, bool]:
        """A connection (and whether it is a reused one); idle connections the node has closed are dropped."""
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return self.new(), False
            if _still_open(connection):
                return connection, True
            connection.close()

    def new(self) -> Http1Connection:
        return Http1Connection(self.host, self.port, tls=self.tls, clock=self._clock)

    def release(self, connection: Http1Connection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.size:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


def _still_open(connection: Http1Connection) -> bool:
    """An idle keep-alive connection is usable if the node has not closed it: nothing may be readable on it (a
    readable idle socket holds the end of the stream or bytes nobody asked for)."""
    sock = connection.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


class _Endpoint:
    def __init__(self, url: str, policy: FailoverPolicy, clock: Clock) -> None:
        self.url = url
        self.label = display_url(url)
        self.connections = _Connections(url, policy.pool_size, clock)
        self.consecutive_failures = 0
        self.retry_at = 0.0
        self.verified = False
        self.last_error: str | None = None


class FailoverProvider(JSONBaseProvider):
    """``Web3(FailoverProvider([url1, url2]))``: JSON-RPC over HTTP with failover across ``urls``. Thread-safe."""

    def __init__(
        self,
        urls: str | Sequence[str],
        *,
        policy: FailoverPolicy | None = None,
        chain_id: int | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__()
        urls = endpoint_urls(urls)
        if not urls:
            raise ValueError("at least one JSON-RPC URL is needed")
        self.policy = policy or FailoverPolicy()
        self._endpoints = [_Endpoint(url, self.policy, clock) for url in urls]
        if len({endpoint.url for endpoint in self._endpoints}) != len(self._endpoints):
            raise ValueError("the same JSON-RPC URL is listed twice")
        self._chain_id = chain_id
        self._clock = clock
        self._lock = threading.Lock()
        #: JSON-RPC requests answered by a node, by method (``"batch"`` for batches): for metrics and benchmarks.
        #: ``eth_chainId`` answered from the verified chain id is not counted.
        self.answered: dict[str, int] = {}

    # -- web3 provider interface ---------------------------------------------------------------------------------

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        if method == "eth_chainId" and not params:
            known = self._verified_chain_id()
            if known is not None:  # see the module docstring: every endpoint in use serves this chain id
                return cast(RPCResponse, {"jsonrpc": "2.0", "id": next(self.request_counter), "result": hex(known)})
        body = self.encode_rpc_request(method, params)
        return cast(RPCResponse, self._request(body, str(method), batch=False))

    def _verified_chain_id(self) -> int | None:
        with self._lock:
            if self._chain_id is None or not any(endpoint.verified for endpoint in self._endpoints):
                return None
            return self._chain_id

    def make_batch_request(self, requests: list[tuple[RPCEndpoint, Any]]) -> list[RPCResponse] | RPCResponse:
        body = self.encode_batch_rpc_request(requests)
        answer = self._request(body, "batch", batch=True)
        if isinstance(answer, list):
            return sorted(cast(list[RPCResponse], answer), key=lambda response: int(response.get("id") or 0))
        return cast(RPCResponse, answer)

    def is_connected(self, show_traceback: bool = False) -> bool:
        try:
            self._request(self.encode_rpc_request(RPCEndpoint("eth_chainId"), []), "eth_chainId", batch=False)
        except ChainUnavailable:
            if show_traceback:
                raise
            return False
        return True

    # -- chain id ------------------------------------------------------------------------------------------------

    @property
    def chain_id(self) -> int | None:
        """The chain id every endpoint must report (``None`` until configured or first learnt)."""
        return self._chain_id

    def check_chain_id(self) -> int:
        """Ask every endpoint for its chain id at once; all that answer must agree (and match a configured id).

        Endpoints that do not answer are marked failed (they are verified when they come back). Raises
        :class:`ChainIdMismatch` on disagreement and :class:`ChainUnavailable` when no endpoint answers.
        """
        budget = self.policy.attempt_timeout
        with ThreadPoolExecutor(max_workers=len(self._endpoints), thread_name_prefix="chain-id") as pool:
            answers = list(pool.map(lambda endpoint: self._probe_chain_id(endpoint, budget), self._endpoints))
        reported = {
            endpoint.label: answer
            for endpoint, answer in zip(self._endpoints, answers, strict=True)
            if isinstance(answer, int)
        }
        if not reported:
            failures = "; ".join(
                f"{endpoint.label}: {answer}" for endpoint, answer in zip(self._endpoints, answers, strict=True)
            )
            raise ChainUnavailable(f"no chain node answered eth_chainId ({failures})")
        distinct = set(reported.values())
        expected = self._chain_id
        if len(distinct) > 1 or (expected is not None and distinct != {expected}):
            listing = ", ".join(f"{label} is chain {chain_id}" for label, chain_id in reported.items())
            wanted = f"; expected chain {expected}" if expected is not None else ""
            raise ChainIdMismatch(f"the JSON-RPC endpoints are not one chain: {listing}{wanted}")
        (chain_id,) = distinct
        now = self._clock()
        with self._lock:
            self._chain_id = chain_id
            for endpoint, answer in zip(self._endpoints, answers, strict=True):
                if isinstance(answer, int):
                    endpoint.verified = True
                    self._succeeded(endpoint)
                else:
                    self._failed(endpoint, answer, now)
        return chain_id

    def _probe_chain_id(self, endpoint: _Endpoint, timeout: float) -> int | str:
        try:
            return self._fetch_chain_id(endpoint, self._clock() + timeout)
        except _EndpointFailure as failure:
            return str(failure)

    def _fetch_chain_id(self, endpoint: _Endpoint, deadline: float) -> int:
        answer = self._post(endpoint, self.encode_rpc_request(RPCEndpoint("eth_chainId"), []), deadline, batch=False)
        result = answer.get("result") if isinstance(answer, dict) else None
        if not isinstance(result, str) or not result.startswith("0x"):
            raise _EndpointFailure("no chain id in its eth_chainId answer")
        try:
            return int(result, 16)
        except ValueError:
            raise _EndpointFailure("no chain id in its eth_chainId answer") from None

    def _verify(self, endpoint: _Endpoint, deadline: float) -> None:
        """EIP-695: the endpoint must be on our chain before it serves anything."""
        chain_id = self._fetch_chain_id(endpoint, deadline)
        with self._lock:
            if self._chain_id is None:
                self._chain_id = chain_id
            expected = self._chain_id
        if chain_id != expected:
            _log.error("chain endpoint %s reports chain id %d, not %d; not used", endpoint.label, chain_id, expected)
            raise _EndpointFailure(f"wrong chain: chain id {chain_id}, expected {expected}")
        with self._lock:
            endpoint.verified = True

    # -- failover ------------------------------------------------------------------------------------------------

    def status(self) -> list[EndpointStatus]:
        now = self._clock()
        with self._lock:
            return [
                EndpointStatus(
                    url=endpoint.label,
                    healthy=endpoint.retry_at <= now,
                    verified=endpoint.verified,
                    consecutive_failures=endpoint.consecutive_failures,
                    retry_in=max(0.0, endpoint.retry_at - now),
                    last_error=endpoint.last_error,
                )
                for endpoint in self._endpoints
            ]

    def _attempt_order(self, now: float) -> list[_Endpoint]:
        """Healthy endpoints in configured order (the first URL is the preferred one), then those in back-off by
        earliest expiry."""
        with self._lock:
            healthy = [endpoint for endpoint in self._endpoints if endpoint.retry_at <= now]
            waiting = sorted((e for e in self._endpoints if e.retry_at > now), key=lambda endpoint: endpoint.retry_at)
        return healthy + waiting

    def _request(self, body: bytes, method: str, *, batch: bool) -> Any:
        start = self._clock()
        deadline = start + self.policy.request_budget
        failures: list[str] = []
        for endpoint in self._attempt_order(start):
            now = self._clock()
            if now >= deadline:
                failures.append(
                    f"{endpoint.label}: not tried, request budget of {self.policy.request_budget:g} s spent"
                )
                continue
            attempt_deadline = min(deadline, now + self.policy.attempt_timeout)
            try:
                if not endpoint.verified:
                    self._verify(endpoint, attempt_deadline)
                answer = self._post(endpoint, body, attempt_deadline, batch=batch)
            except _EndpointFailure as failure:
                with self._lock:
                    self._failed(endpoint, str(failure), self._clock())
                failures.append(f"{endpoint.label}: {failure}")
                continue
            with self._lock:
                self._succeeded(endpoint)
                self.answered[method] = self.answered.get(method, 0) + 1
            return answer
        raise ChainUnavailable(f"no chain node answered {method} ({'; '.join(failures)})")

    def _failed(self, endpoint: _Endpoint, error: str, now: float) -> None:
        endpoint.consecutive_failures += 1
        endpoint.verified = False
        endpoint.last_error = error
        pause = self.policy.backoff(endpoint.consecutive_failures)
        endpoint.retry_at = now + pause
        # Once per outage at warning level; a long outage would otherwise log on every request.
        level = logging.WARNING if endpoint.consecutive_failures == 1 else logging.DEBUG
        _log.log(level, "chain endpoint %s failed (%s); skipped for %.1f s", endpoint.label, error, pause)

    def _succeeded(self, endpoint: _Endpoint) -> None:
        if endpoint.consecutive_failures:
            _log.info("chain endpoint %s answers again", endpoint.label)
        endpoint.consecutive_failures = 0
        endpoint.retry_at = 0.0
        endpoint.last_error = None

    # -- transport -----------------------------------------------------------------------------------------------

    def _post(self, endpoint: _Endpoint, body: bytes, deadline: float, *, batch: bool) -> Any:
        """POST ``body``; the decoded JSON-RPC answer, or :class:`_EndpointFailure`. Never exceeds ``deadline`` by more
        than one socket operation's timeout, which is what is left of it."""
        if deadline - self._clock() <= 0:
            raise _EndpointFailure("timed out")
        connections = endpoint.connections
        limit = self.policy.max_response_bytes
        connection, reused = connections.acquire()
        completed = False
        try:
            try:
                status, raw = connection.post(connections.head, body, deadline, max_bytes=limit)
            except (ConnectionDropped, ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
                if not reused:
                    raise
                # The node closed the idle connection as we sent on it: once more on a new connection.
                connection.close()
                connection = connections.new()
                status, raw = connection.post(connections.head, body, deadline, max_bytes=limit)
            completed = True
        except TimeoutError:
            raise _EndpointFailure(f"timed out after {self.policy.attempt_timeout:g} s") from None
        except AnswerTooLarge:
            raise _EndpointFailure(f"answer larger than {limit} bytes") from None
        except MalformedAnswer as exc:
            raise _EndpointFailure(f"answered with a malformed HTTP message ({exc})") from None
        except ConnectionRefusedError:
            raise _EndpointFailure("connection refused") from None
        except (ConnectionDropped, ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
            raise _EndpointFailure("connection dropped") from None
        except socket.gaierror:
            raise _EndpointFailure("host not found") from None
        except ssl.SSLError:
            raise _EndpointFailure("TLS connection failed") from None
        except OSError:
            raise _EndpointFailure("connection failed") from None
        finally:
            if completed and connection.connected:
                connections.release(connection)
            else:
                connection.close()
        if status != 200:
            raise _EndpointFailure(f"HTTP {status}")
        try:
            answer = json.loads(raw)
        except (ValueError, RecursionError):
            raise _EndpointFailure("answered with something that is not JSON") from None
        if not _is_jsonrpc_answer(answer, batch=batch):
            raise _EndpointFailure("answered with something that is not a JSON-RPC 2.0 response")
        return answer

    def close(self) -> None:
        for endpoint in self._endpoints:
            endpoint.connections.close()

    def __repr__(self) -> str:
        return f"FailoverProvider({', '.join(endpoint.label for endpoint in self._endpoints)})"


def _is_jsonrpc_answer(answer: Any, *, batch: bool) -> bool:
    if batch and isinstance(answer, list):
        return bool(answer) and all(_is_jsonrpc_answer(item, batch=False) for item in answer)
    if not isinstance(answer, dict) or answer.get("jsonrpc") != "2.0":
        return False
    if "result" in answer:
        return "error" not in answer
    error = answer.get("error")
    return isinstance(error, dict) and isinstance(error.get("code"), int) and isinstance(error.get("message"), str)


def endpoint_urls(value: str | Sequence[str]) -> list[str]:
    """``GOVSSI_CHAIN_RPC``-style input (comma-separated) or a list, as a clean list of URLs."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    return [part.strip() for part in parts if part.strip()]
