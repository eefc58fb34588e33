"""In-process mode: a web3.py provider that talks JSON-RPC to a :class:`LocalChain` without HTTP.

Requests and responses are encoded to JSON bytes and back, exactly as over HTTP, so code tested in-process behaves
the same against ``govssi ledger node`` — only the socket is missing.
"""

from __future__ import annotations

from typing import Any, cast

from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from ledger.node.chain import LocalChain
from ledger.node.methods import EthereumApi
from ledger.node.rpc import JsonRpcHandler

__all__ = ["LocalChainProvider"]


class LocalChainProvider(JSONBaseProvider):
    """``Web3(LocalChainProvider(chain))``: the chain's JSON-RPC methods, called in this process."""

    def __init__(self, chain: LocalChain | JsonRpcHandler) -> None:
        super().__init__()
        self.rpc = chain if isinstance(chain, JsonRpcHandler) else JsonRpcHandler(EthereumApi(chain))

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        raw = self.rpc.handle(self.encode_rpc_request(method, params))
        assert raw is not None  # web3 always sends an id, so there is always a response
        return self.decode_rpc_response(raw)

    def make_batch_request(self, requests: list[tuple[RPCEndpoint, Any]]) -> list[RPCResponse] | RPCResponse:
        raw = self.rpc.handle(self.encode_batch_rpc_request(requests))
        assert raw is not None
        decoded: Any = self.decode_rpc_response(raw)
        if isinstance(decoded, list):
            return sorted(cast(list[RPCResponse], decoded), key=lambda response: int(response.get("id") or 0))
        return cast(RPCResponse, decoded)

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True
