"""A network node's JSON-RPC methods: the standard ones of :class:`ledger.node.EthereumApi` over its Clique chain,
plus the Clique, admin and peer-protocol namespaces.

- ``clique_*`` (geth's Clique API): ``clique_getSigners([block])``, ``clique_getSignersAtHash(hash)``,
  ``clique_getSigner([block])`` (who sealed a block), ``clique_propose(address, authorize)``,
  ``clique_discard(address)``, ``clique_proposals()``, ``clique_status()`` (in-turn share and sealer activity over
  the last 64 blocks);
- ``admin_peers``, ``admin_addPeer(url)``, ``admin_removePeer(url)``, ``admin_nodeInfo`` (geth's names; peers are
  node URLs here). The node listens on 127.0.0.1 only; this is a model for tests and demonstrations;
- ``poa_status``, ``poa_newBlock(rlp)``, ``poa_newTransactions([raw…])``, ``poa_getBlocks(hash, count)``: the wire
  protocol between nodes (:mod:`ledger.poa.peers`);
- changed standard methods: ``eth_getTransactionCount`` at ``pending`` counts pooled transactions,
  ``eth_getTransactionByHash`` finds pooled ones (``blockHash``/``blockNumber`` null, as geth answers),
  ``eth_syncing``, ``eth_mining``, ``net_peerCount`` report the node's state, and block objects carry their
  ``totalDifficulty`` (the fork-choice weight).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import rlp  # type: ignore[import-untyped]
from eth_utils.address import to_checksum_address

from ledger.node import EthereumApi, schema
from ledger.node.schema import RpcError, encode_data, encode_quantity, invalid_params
from ledger.poa.clique import DIFF_IN_TURN
from ssi.errors import InvalidBlock

if TYPE_CHECKING:
    from ledger.poa.node import PoaNode

__all__ = ["MAX_BLOCKS_PER_REQUEST", "node_api"]

#: The most blocks one ``poa_getBlocks`` answer holds.
MAX_BLOCKS_PER_REQUEST = 256
_STATUS_WINDOW = 64


def _arguments(params: list[Any], required: int, optional: int = 0) -> list[Any]:
    if not required <= len(params) <= required + optional:
        raise invalid_params(f"expected {required} to {required + optional} parameters, got {len(params)}")
    return params + [None] * (required + optional - len(params))


def _checksummed(address: bytes) -> str:
    return str(to_checksum_address(address))


def node_api(node: PoaNode) -> EthereumApi:
    """The JSON-RPC methods of ``node`` (an :class:`EthereumApi` whose method table is extended)."""
    api = EthereumApi(node.chain)
    methods = _NodeMethods(node, api)
    api.methods.update(methods.table())
    return api


class _NodeMethods:
    def __init__(self, node: PoaNode, api: EthereumApi) -> None:
        self.node = node
        self.chain = node.chain
        self.api = api
        self._standard_block_by_number = api.methods["eth_getBlockByNumber"]
        self._standard_block_by_hash = api.methods["eth_getBlockByHash"]
        self._standard_transaction = api.methods["eth_getTransactionByHash"]
        self._standard_count = api.methods["eth_getTransactionCount"]

    def table(self) -> dict[str, Callable[[list[Any]], Any]]:
        return {
            "clique_getSigners": self.clique_getSigners,
            "clique_getSignersAtHash": self.clique_getSignersAtHash,
            "clique_getSigner": self.clique_getSigner,
            "clique_propose": self.clique_propose,
            "clique_discard": self.clique_discard,
            "clique_proposals": self.clique_proposals,
            "clique_status": self.clique_status,
            "admin_peers": self.admin_peers,
            "admin_addPeer": self.admin_addPeer,
            "admin_removePeer": self.admin_removePeer,
            "admin_nodeInfo": self.admin_nodeInfo,
            "poa_status": self.poa_status,
            "poa_newBlock": self.poa_newBlock,
            "poa_newTransactions": self.poa_newTransactions,
            "poa_getBlocks": self.poa_getBlocks,
            "eth_getTransactionCount": self.eth_getTransactionCount,
            "eth_getTransactionByHash": self.eth_getTransactionByHash,
            "eth_getBlockByNumber": self.eth_getBlockByNumber,
            "eth_getBlockByHash": self.eth_getBlockByHash,
            "eth_syncing": self.eth_syncing,
            "eth_mining": self.eth_mining,
            "net_peerCount": self.net_peerCount,
        }

    # -- helpers ---------------------------------------------------------------------------------------------------

    def _header(self, selector_value: Any) -> Any:
        """The canonical header a block parameter names (number, tag, or hash); ``header not found`` otherwise."""
        if isinstance(selector_value, str) and len(selector_value) == 66:  # a block hash
            selector = schema.BlockSelector(hash=schema.hash32(selector_value, "block hash"))
        else:
            selector = schema.LATEST if selector_value is None else schema.block_selector(selector_value)
        header = None
        if selector.hash is not None:
            block = self.chain.block_by_hash(selector.hash)
            header = None if block is None else block.header
        elif selector.tag is not None:
            header = self.chain.header(0) if selector.tag == "earliest" else self.chain.head()
        elif selector.number is not None:
            header = self.chain.header(selector.number)
        if header is None:
            raise RpcError(schema.SERVER_ERROR, "header not found")
        return header

    def _with_total_difficulty(self, block: dict[str, Any] | None) -> dict[str, Any] | None:
        if block is None:
            return None
        weight = self.chain.total_difficulty(bytes.fromhex(block["hash"][2:]))
        return {**block, "totalDifficulty": encode_quantity(weight)}  # a copy: EthereumApi caches its objects

    # -- clique ----------------------------------------------------------------------------------------------------

    def clique_getSigners(self, params: list[Any]) -> list[str]:
        (block,) = _arguments(params, 0, 1)
        return [_checksummed(signer) for signer in self.chain.signers_after(self._header(block))]

    def clique_getSignersAtHash(self, params: list[Any]) -> list[str]:
        (block_hash,) = _arguments(params, 1)
        block = self.chain.block_by_hash(schema.hash32(block_hash, "block hash"))
        if block is None:
            raise RpcError(schema.SERVER_ERROR, "unknown block")
        return [_checksummed(signer) for signer in self.chain.signers_after(block.header)]

    def clique_getSigner(self, params: list[Any]) -> str:
        (block,) = _arguments(params, 0, 1)
        return _checksummed(self.chain.seal_signer(self._header(block)))

    def clique_propose(self, params: list[Any]) -> None:
        address, authorize = _arguments(params, 2)
        self._sealer().propose(schema.address(address, "address"), schema.boolean(authorize, "authorize"))

    def clique_discard(self, params: list[Any]) -> None:
        (address,) = _arguments(params, 1)
        self._sealer().discard(schema.address(address, "address"))

    def clique_proposals(self, params: list[Any]) -> dict[str, bool]:
        _arguments(params, 0)
        sealer = self.node.sealer
        proposals = sealer.proposals() if sealer is not None else {}
        return {_checksummed(subject): authorize for subject, authorize in sorted(proposals.items())}

    def _sealer(self) -> Any:
        if self.node.sealer is None:
            raise RpcError(schema.SERVER_ERROR, "this node has no signer key; it cannot vote")
        return self.node.sealer

    def clique_status(self, params: list[Any]) -> dict[str, Any]:
        """geth's ``clique_status``: over the last 64 blocks, the share sealed in turn and blocks per signer."""
        _arguments(params, 0)
        head = self.chain.block_number
        first = max(1, head - _STATUS_WINDOW + 1)
        activity = {_checksummed(signer): 0 for signer in self.chain.signers_after(self.chain.head())}
        in_turn = 0
        for number in range(first, head + 1):
            header = self.chain.header(number)
            assert header is not None
            name = _checksummed(self.chain.seal_signer(header))
            activity[name] = activity.get(name, 0) + 1
            in_turn += header.difficulty == DIFF_IN_TURN
        count = head - first + 1 if head >= first else 0
        return {
            "inturnPercent": 100.0 * in_turn / count if count else 0.0,
            "numBlocks": count,
            "sealerActivity": activity,
        }

    # -- admin -----------------------------------------------------------------------------------------------------

    def admin_peers(self, params: list[Any]) -> list[dict[str, Any]]:
        _arguments(params, 0)
        return [
            {
                "url": status.url,
                "alive": status.alive,
                "head": None if status.head_number is None else encode_quantity(status.head_number),
                "headHash": None if status.head_hash is None else encode_data(status.head_hash),
                "totalDifficulty": None
                if status.total_difficulty is None
                else encode_quantity(status.total_difficulty),
                "lastError": status.last_error,
            }
            for status in self.node.peers.statuses()
        ]

    def _peer_url(self, value: Any) -> str:
        if not isinstance(value, str) or not value.startswith("http://127.0.0.1:") or len(value) > 64:
            raise invalid_params("a peer is named by its URL http://127.0.0.1:<port>")
        return value

    def admin_addPeer(self, params: list[Any]) -> bool:
        (url,) = _arguments(params, 1)
        return self.node.peers.add(self._peer_url(url))

    def admin_removePeer(self, params: list[Any]) -> bool:
        (url,) = _arguments(params, 1)
        return self.node.peers.remove(self._peer_url(url))

    def admin_nodeInfo(self, params: list[Any]) -> dict[str, Any]:
        _arguments(params, 0)
        sealer = self.node.sealer
        return {
            "url": self.node.url,
            "signer": None if sealer is None else _checksummed(sealer.address),
            "genesis": encode_data(self._genesis_hash()),
            "chainId": encode_quantity(self.chain.chain_id),
            "period": self.chain.genesis.period,
            "epoch": self.chain.genesis.epoch,
        }

    def _genesis_hash(self) -> bytes:
        genesis = self.chain.header(0)
        assert genesis is not None
        return bytes(genesis.hash)

    # -- peer protocol ---------------------------------------------------------------------------------------------

    def poa_status(self, params: list[Any]) -> dict[str, Any]:
        _arguments(params, 0)
        head = self.chain.head()
        return {
            "genesis": encode_data(self._genesis_hash()),
            "number": encode_quantity(head.block_number),
            "hash": encode_data(head.hash),
            "td": encode_quantity(self.chain.total_difficulty()),
        }

    def poa_newBlock(self, params: list[Any]) -> str:
        """Import a gossiped block: ``imported`` (and passed on if it became the head), ``known``, or
        ``unknown_parent`` (a sync round starts at once); a block breaking a rule is an error naming the rule."""
        (raw_value,) = _arguments(params, 1)
        block = self.chain.decode_block(schema.data(raw_value, "block"))
        try:
            result = self.chain.import_block(block, sync=False)
        except InvalidBlock as exc:
            if exc.reason == "unknown_parent":
                self.node.peers.wake()
                return "unknown_parent"
            raise
        if not result.new:
            return "known"
        if result.canonical:
            self.node.peers.broadcast_block(rlp.encode(block))
        return "imported"

    def poa_newTransactions(self, params: list[Any]) -> str:
        (raws,) = _arguments(params, 1)
        if not isinstance(raws, list) or len(raws) > 4096:
            raise invalid_params("a list of at most 4096 raw transactions")
        accepted = self.chain.receive_transactions([schema.data(raw, "transaction") for raw in raws])
        return encode_quantity(accepted)

    def poa_getBlocks(self, params: list[Any]) -> list[str]:
        block_hash, count = _arguments(params, 2)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_BLOCKS_PER_REQUEST:
            raise invalid_params(f"count must be 1 to {MAX_BLOCKS_PER_REQUEST}")
        blocks = self.chain.ancestors(schema.hash32(block_hash, "block hash"), count)
        return ["0x" + rlp.encode(block).hex() for block in blocks]

    # -- standard methods with a network's answers -----------------------------------------------------------------

    def eth_getTransactionCount(self, params: list[Any]) -> str:
        account, block = _arguments(params, 1, 1)
        if block == "pending":
            return encode_quantity(self.chain.pending_nonce(schema.address(account)))
        return str(self._standard_count(params))

    def eth_getTransactionByHash(self, params: list[Any]) -> dict[str, Any] | None:
        found = self._standard_transaction(params)
        if found is not None:
            return dict(found)
        (tx_hash,) = _arguments(params, 1)
        pooled = self.chain.pool.get(schema.hash32(tx_hash, "transaction hash"))
        if pooled is None:
            return None
        return schema.encode_transaction(pooled.tx, pooled.sender, None, None)

    def eth_getBlockByNumber(self, params: list[Any]) -> dict[str, Any] | None:
        return self._with_total_difficulty(self._standard_block_by_number(params))

    def eth_getBlockByHash(self, params: list[Any]) -> dict[str, Any] | None:
        return self._with_total_difficulty(self._standard_block_by_hash(params))

    def eth_syncing(self, params: list[Any]) -> Any:
        _arguments(params, 0)
        syncing = self.node.peers.syncing
        if syncing is None:
            return False
        start, current, highest = syncing
        return {
            "startingBlock": encode_quantity(start),
            "currentBlock": encode_quantity(current),
            "highestBlock": encode_quantity(highest),
        }

    def eth_mining(self, params: list[Any]) -> bool:
        _arguments(params, 0)
        sealer = self.node.sealer
        return sealer is not None and sealer.address in self.chain.signers_after(self.chain.head())

    def net_peerCount(self, params: list[Any]) -> str:
        _arguments(params, 0)
        return encode_quantity(self.node.peers.alive_count)
