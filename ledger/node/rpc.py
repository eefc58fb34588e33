"""JSON-RPC 2.0 (https://www.jsonrpc.org/specification) over the node's methods, independent of any transport.

What the spec requires and where it is enforced:
- §4.2 (parse error): the body must be one JSON value (RFC 8259, duplicate names refused, nesting bounded).
- §4: a request is an object with ``"jsonrpc": "2.0"``, a string ``method``, optional ``params`` (Ethereum methods
  take positional arrays; named params are refused as invalid params) and an optional ``id`` (string, number or null);
  without ``id`` it is a notification and gets no response (§4.1).
- §5: a response carries either ``result`` or ``error`` and echoes the ``id`` (``null`` when it could not be read).
- §5.1: ``-32700`` parse error, ``-32600`` invalid request, ``-32601`` method not found, ``-32602`` invalid params,
  ``-32603`` internal error. An unexpected failure is logged and answered with ``-32603`` — never a traceback.
- §6: a batch is a non-empty array, answered with an array of the responses that are not notifications (no body when
  there are none). Batches hold at most :data:`MAX_BATCH` requests.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ledger.node.methods import EthereumApi
from ledger.node.schema import INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR, RpcError
from ssi.encoding import json_loads
from ssi.errors import EncodingError

__all__ = ["MAX_BATCH", "JsonRpcHandler"]

MAX_BATCH = 100
_log = logging.getLogger("ledger.node")


def _response(request_id: Any, *, result: Any = None, error: RpcError | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
    if error is not None:
        response["error"] = error.to_json()
    else:
        response["result"] = result
    return response


def _valid_id(value: Any) -> bool:
    return value is None or isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool))


class JsonRpcHandler:
    """Turns JSON-RPC request bodies into response bodies."""

    def __init__(self, api: EthereumApi) -> None:
        self.api = api

    def handle(self, body: bytes) -> bytes | None:
        """The response body for ``body``, or ``None`` when nothing is to be sent (notifications only)."""
        try:
            # Strict RFC 8259 parsing with bounded nesting: py-evm raises the recursion limit, so a nesting bomb would
            # otherwise overflow the C stack and kill the node.
            request = json_loads(body)
        except EncodingError:
            return self._encode(_response(None, error=RpcError(PARSE_ERROR, "parse error")))
        if isinstance(request, list):
            if not request:
                return self._encode(_response(None, error=RpcError(INVALID_REQUEST, "invalid request: empty batch")))
            if len(request) > MAX_BATCH:
                error = RpcError(INVALID_REQUEST, f"invalid request: batch larger than {MAX_BATCH}")
                return self._encode(_response(None, error=error))
            responses = [response for item in request if (response := self.handle_request(item)) is not None]
            return self._encode(responses) if responses else None
        response = self.handle_request(request)
        return None if response is None else self._encode(response)

    def handle_request(self, request: Any) -> dict[str, Any] | None:
        """One request object: its response, or ``None`` for a valid notification."""
        if not isinstance(request, dict):
            return _response(None, error=RpcError(INVALID_REQUEST, "invalid request: not an object"))
        request_id = request.get("id")
        if not _valid_id(request_id):
            return _response(None, error=RpcError(INVALID_REQUEST, "invalid request: bad id"))
        method = request.get("method")
        if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
            return _response(
                request_id,
                error=RpcError(INVALID_REQUEST, 'invalid request: needs "jsonrpc": "2.0" and a string "method"'),
            )
        params = request.get("params", [])
        is_notification = "id" not in request
        try:
            if params is None:
                params = []
            if not isinstance(params, list):
                raise RpcError(INVALID_PARAMS, "invalid params: params must be an array")
            result = self.api.call(method, params)
        except RpcError as error:
            return None if is_notification else _response(request_id, error=error)
        except Exception:
            _log.exception("internal error in %s", method[:64])
            internal = RpcError(INTERNAL_ERROR, "internal error")
            return None if is_notification else _response(request_id, error=internal)
        return None if is_notification else _response(request_id, result=result)

    @staticmethod
    def _encode(response: Any) -> bytes:
        return json.dumps(response, separators=(",", ":")).encode("utf-8")
