"""One mapping from transport and JSON-RPC failures (requests, web3) to the chain errors of :mod:`ssi.errors`.

Used wherever code talks to a node through web3 directly (the deployer's first contact, the did:ethr registry
reader), so every caller reports "no node answered", "the node answered with an error" and "a call reverted" the
same way, and no web3 or requests exception escapes to a CLI or an HTTP endpoint.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import requests
from web3.exceptions import ContractLogicError, Web3Exception, Web3RPCError

from ssi.errors import ChainError, ChainUnavailable

__all__ = ["rpc_errors"]


@contextlib.contextmanager
def rpc_errors(endpoint: str, action: str) -> Iterator[None]:
    """Map transport and JSON-RPC failures to :class:`ChainError`."""
    try:
        yield
    except (requests.ConnectionError, requests.Timeout) as exc:
        kind = "timed out" if isinstance(exc, requests.Timeout) else "refused or failed"
        raise ChainUnavailable(f"no chain node answered at {endpoint} ({action}: connection {kind})") from None
    except requests.RequestException as exc:
        raise ChainUnavailable(f"no chain node answered at {endpoint} ({action}: {type(exc).__name__})") from None
    except ContractLogicError as exc:
        raise ChainError(f"{action}: the registry call reverted ({exc.message})", reason="execution_reverted") from None
    except Web3RPCError as exc:
        raise ChainError(f"{action}: the node answered with an error: {exc.message}", reason="rpc_error") from None
    except (Web3Exception, ValueError, KeyError, TypeError) as exc:
        raise ChainUnavailable(f"{endpoint} did not answer as an Ethereum JSON-RPC node ({action}: {exc})") from None
