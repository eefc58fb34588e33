"""Network nodes in this process (threads), over real HTTP on 127.0.0.1: sealing and gossip, the JSON-RPC methods of
a node (clique_*, admin_*, poa_*, and the standard ones with a pool), sync of a late and of a restarted node, and the
ledger client on top of them."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import rlp
from eth_utils.address import to_checksum_address
from node_support import ARTIFACT, dev, signed
from poa_support import address, dev_transaction, genesis_for, grow, signers, wait_until
from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware

from ledger.client import ChainClient, ClientPolicy, FailoverPolicy, SoftwareChainSigner, call_data
from ledger.node import dev_account_keys
from ledger.poa import CliqueChain, CliqueGenesis, PoaNode
from ledger.poa.peers import PeerClient, PeerError


def _ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class Cluster:
    def __init__(self, tmp_path: Path, keys: list[SoftwareChainSigner], genesis: CliqueGenesis) -> None:
        self.tmp_path = tmp_path
        self.keys = keys
        self.genesis = genesis
        self.ports = _ports(len(keys) + 1)
        self.urls = [f"http://127.0.0.1:{port}" for port in self.ports]
        self.nodes: list[PoaNode | None] = [None] * len(self.ports)

    def start(self, index: int, *, signer: bool = True) -> PoaNode:
        node = PoaNode(
            self.tmp_path / f"node-{index}",
            self.genesis,
            signer=self.keys[index] if signer and index < len(self.keys) else None,
            port=self.ports[index],
            peers=self.urls,
            sync_interval=0.3,
        ).start()
        self.nodes[index] = node
        return node

    def stop(self, index: int) -> None:
        node = self.nodes[index]
        if node is not None:
            node.stop()
            self.nodes[index] = None

    def call(self, index: int, method: str, *params: Any) -> Any:
        client = PeerClient(self.urls[index], timeout=5)
        try:
            return client.call(method, list(params))
        finally:
            client.close()

    def height(self, index: int) -> int:
        return int(self.call(index, "eth_blockNumber"), 16)

    def agree(self, indexes: list[int], at_least: int = 0) -> bool:
        """One chain: the same block at the lowest of the nodes' heights (newer ones may be on their way)."""
        low = min(self.height(index) for index in indexes)
        if low < at_least:
            return False
        return len({self.call(index, "eth_getBlockByNumber", hex(low), False)["hash"] for index in indexes}) == 1


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    keys = signers(3, seed=30)
    cluster = Cluster(tmp_path, keys, genesis_for(keys, period=1, age=5))
    for index in range(3):
        cluster.start(index)
    yield cluster
    for index in range(len(cluster.nodes)):
        cluster.stop(index)


def test_nodes_seal_by_turns_and_agree(cluster: Cluster) -> None:
    assert wait_until(lambda: int(cluster.call(0, "eth_blockNumber"), 16) >= 4, timeout=20)
    assert wait_until(lambda: cluster.agree([0, 1, 2], at_least=4), timeout=10)
    head = cluster.call(1, "eth_getBlockByNumber", "latest", False)
    assert int(head["totalDifficulty"], 16) >= int(head["number"], 16)  # every block weighs 1 or 2
    assert len(bytes.fromhex(head["extraData"][2:])) == 32 + 65  # vanity and seal
    status = cluster.call(0, "clique_status")
    assert status["numBlocks"] >= 4 and sum(status["sealerActivity"].values()) == status["numBlocks"]
    assert set(status["sealerActivity"]) == {key.address for key in cluster.keys}


def test_clique_methods(cluster: Cluster) -> None:
    expected = [str(to_checksum_address(a)) for a in sorted(address(key) for key in cluster.keys)]
    assert cluster.call(0, "clique_getSigners") == expected
    assert cluster.call(0, "clique_getSigners", "earliest") == expected
    genesis_hash = cluster.call(0, "eth_getBlockByNumber", "0x0", False)["hash"]
    assert cluster.call(0, "clique_getSignersAtHash", genesis_hash) == expected
    assert wait_until(lambda: int(cluster.call(0, "eth_blockNumber"), 16) >= 1, timeout=20)
    block_one = cluster.call(0, "eth_getBlockByNumber", "0x1", False)
    assert cluster.call(0, "clique_getSigner", "0x1") in expected
    assert cluster.call(0, "clique_getSigner", block_one["hash"]) == cluster.call(0, "clique_getSigner", "0x1")
    subject = "0x" + "ab" * 20
    assert cluster.call(0, "clique_propose", subject, True) is None
    assert cluster.call(0, "clique_proposals") == {str(to_checksum_address(subject)): True}
    cluster.call(0, "clique_discard", subject)
    assert cluster.call(0, "clique_proposals") == {}
    with pytest.raises(PeerError, match="invalid params"):
        cluster.call(0, "clique_propose", "0x12", True)
    assert cluster.call(0, "eth_mining") is True
    assert cluster.call(0, "eth_syncing") is False
    assert wait_until(lambda: cluster.call(0, "net_peerCount") == "0x2", timeout=10)
    info = cluster.call(0, "admin_nodeInfo")
    assert info["signer"] == cluster.keys[0].address and info["period"] == 1 and info["url"] == cluster.urls[0]
    peers = cluster.call(0, "admin_peers")
    assert {peer["url"] for peer in peers} == set(cluster.urls[1:])
    with pytest.raises(PeerError, match="invalid params"):
        cluster.call(0, "admin_addPeer", "http://example.org:80")


def test_pending_transactions_are_visible_before_they_are_mined(cluster: Cluster) -> None:
    """A transaction with a nonce gap waits in the pool: found by hash with null block fields (as geth answers),
    not counted in the pending nonce; filling the gap mines both, in order."""
    sender = to_checksum_address(address(SoftwareChainSigner.from_private_bytes(dev_account_keys()[3])))
    later = dev_transaction(3, nonce=1)
    tx_hash = cluster.call(0, "eth_sendRawTransaction", "0x" + later.hex())
    pending = cluster.call(0, "eth_getTransactionByHash", tx_hash)
    assert pending["blockHash"] is None and pending["blockNumber"] is None and pending["from"] == sender.lower()
    assert cluster.call(0, "eth_getTransactionCount", sender, "pending") == "0x0"
    assert wait_until(lambda: cluster.call(1, "eth_getTransactionByHash", tx_hash) is not None, timeout=5)  # gossip
    cluster.call(2, "eth_sendRawTransaction", "0x" + dev_transaction(3, nonce=0).hex())
    assert wait_until(lambda: cluster.call(0, "eth_getTransactionReceipt", tx_hash) is not None, timeout=20)
    assert cluster.call(0, "eth_getTransactionCount", sender, "latest") == "0x2"


def test_peer_protocol_refuses_bad_blocks_and_bounds_requests(cluster: Cluster) -> None:
    assert wait_until(lambda: int(cluster.call(0, "eth_blockNumber"), 16) >= 2, timeout=20)
    node = cluster.nodes[0]
    assert node is not None
    head = node.chain.head()
    blocks = cluster.call(0, "poa_getBlocks", "0x" + head.hash.hex(), 256)
    assert len(blocks) == head.block_number  # the head and its ancestors, genesis excluded
    assert node.chain.decode_block(bytes.fromhex(blocks[0][2:])).hash == head.hash
    with pytest.raises(PeerError, match="count"):
        cluster.call(0, "poa_getBlocks", "0x" + head.hash.hex(), 257)
    stranger = SoftwareChainSigner.from_private_bytes(b"\x55" * 32)
    forged = node.chain.build_block(stranger, timestamp=head.timestamp + 1)
    time.sleep(max(0.0, head.timestamp + 1 - time.time()) + 0.1)  # not from the future
    with pytest.raises(PeerError, match="not a signer"):
        cluster.call(1, "poa_newBlock", "0x" + rlp.encode(forged).hex())
    orphan = forged.copy(header=forged.header.copy(parent_hash=b"\x01" * 32))
    assert cluster.call(1, "poa_newBlock", "0x" + rlp.encode(orphan).hex()) == "unknown_parent"
    assert cluster.call(1, "poa_newBlock", blocks[0]) == "known"
    status = cluster.call(2, "poa_status")
    assert set(status) == {"genesis", "number", "hash", "td"}


def test_a_late_node_and_a_restarted_node_catch_up(cluster: Cluster) -> None:
    assert wait_until(lambda: int(cluster.call(0, "eth_blockNumber"), 16) >= 3, timeout=20)
    follower = cluster.start(3, signer=False)  # not a signer: it follows
    for index in range(3):
        cluster.call(index, "admin_addPeer", cluster.urls[3])
    assert wait_until(lambda: cluster.agree([0, 3], at_least=3), timeout=20)
    assert follower.sealer is None and cluster.call(3, "eth_mining") is False
    with pytest.raises(PeerError, match="no signer key"):
        cluster.call(3, "clique_propose", cluster.keys[0].address, False)
    cluster.stop(2)
    stopped_at = int(cluster.call(0, "eth_blockNumber"), 16)
    assert wait_until(lambda: int(cluster.call(0, "eth_blockNumber"), 16) >= stopped_at + 3, timeout=20)
    cluster.start(2)  # replays its block log, then syncs the blocks it missed
    assert wait_until(lambda: cluster.agree([0, 1, 2, 3], at_least=stopped_at + 3), timeout=20)


def test_the_ledger_client_waits_for_clique_finality(cluster: Cluster) -> None:
    """The client sees clique_getSigners: 3 signers → 2·⌊2/2⌋ = 2 confirmations by default; it fails over when the
    first node is gone."""
    policy = ClientPolicy(receipt_timeout=40, poll_interval=0.1)
    failover = FailoverPolicy(attempt_timeout=1, request_budget=3)
    client = ChainClient.connect(cluster.urls[:3], policy=policy, failover=failover)
    try:
        assert client.clique_signers() == 3 and client.finality_confirmations() == 2
        signer = SoftwareChainSigner.from_private_bytes(dev_account_keys()[4])
        sent = client.send(signer, to=signer.address, value=1)
        cluster.stop(0)
        receipt = client.wait_for_receipt(sent)
        assert receipt["status"] == 1
        assert client.block_number() >= receipt["blockNumber"] + 2
    finally:
        client.close()


def test_the_standard_methods_through_web3(cluster: Cluster) -> None:
    """What web3.py, anvil-style tools and did:ethr resolvers ask a node — chain id, block number, blocks by number
    and hash, gas price and fee history, estimate gas, send raw transaction, transaction by hash, receipt, nonce,
    call, and logs filtered by address, topic and range — answered by a network node, the blocks' ``extraData``
    carrying the Clique vanity and seal (web3's PoA middleware)."""
    w3 = Web3(Web3.HTTPProvider(cluster.urls[1], request_kwargs={"timeout": 10}))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    assert w3.eth.chain_id == 1337
    assert wait_until(lambda: w3.eth.block_number >= 1, timeout=20)
    by_number = w3.eth.get_block(1)
    assert w3.eth.get_block(by_number["hash"])["number"] == 1
    assert w3.eth.gas_price == 0  # base fee 0, no tips needed: a free-gas network
    history = w3.eth.fee_history(2, "latest", [50])
    assert all(fee == 0 for fee in history["baseFeePerGas"])
    account = dev(5)
    deploy = {"from": account.address, "data": ARTIFACT.bytecode}
    gas = w3.eth.estimate_gas(deploy)  # type: ignore[arg-type]
    assert 100_000 < gas < 3_000_000
    nonce = w3.eth.get_transaction_count(account.address)
    tx_hash = w3.eth.send_raw_transaction(signed(account, nonce=nonce, data=bytes.fromhex(ARTIFACT.bytecode[2:])))
    assert w3.eth.get_transaction(tx_hash)["from"] == account.address
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.2)
    assert receipt["status"] == 1 and receipt["contractAddress"]
    assert w3.eth.get_transaction_count(account.address) == nonce + 1
    registry = w3.eth.contract(address=receipt["contractAddress"], abi=ARTIFACT.abi)
    name = b"did/svc/Example".ljust(32, b"\0")
    call = registry.functions.setAttribute(account.address, name, b"x", 3600)
    to, data = call_data(call)
    raw = signed(account, nonce=nonce + 1, to=to, data=data, gas=200_000)
    mined = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw), timeout=30, poll_latency=0.2)
    assert registry.functions.changed(account.address).call() == mined["blockNumber"]  # eth_call
    topic = Web3.keccak(text="DIDAttributeChanged(address,bytes32,bytes,uint256,uint256)")  # ERC-1056
    logs = w3.eth.get_logs({"address": registry.address, "topics": [topic], "fromBlock": 0, "toBlock": "latest"})
    assert [log["blockNumber"] for log in logs] == [mined["blockNumber"]]
    assert w3.eth.get_logs({"address": registry.address, "fromBlock": 0, "toBlock": mined["blockNumber"] - 1}) == []
    other = Web3(Web3.HTTPProvider(cluster.urls[2], request_kwargs={"timeout": 10}))
    assert wait_until(lambda: other.eth.get_transaction_receipt(mined["transactionHash"]) is not None, timeout=20)


def test_four_of_seven_on_two_equally_heavy_heads_go_on(tmp_path: Path) -> None:
    """The "recently signed" deadlock between node processes' worth of nodes (threads here), without gossip: 7
    signers, only the nodes of k1, k2, k4, k5 run (more than half). Blocks 1 (k1) and 2 (k2) are in turn; then k4 and
    k5 each sealed a block 3 out of turn, and the other block never reached them: k1, k2, k4 hold 3(k4), k5 holds
    3(k5) — equally heavy. On 3(k4) only k5 may seal, on 3(k5) only k4 (EIP-225: none of the last ⌊7/2⌋ blocks is
    the signer's). Status polling alone must bring the nodes onto one head (a peer's equally heavy head the node has
    never seen is fetched; the EIP-3436 block choice rule picks the same one everywhere), and sealing goes on."""
    keys = signers(7, seed=120)
    genesis = genesis_for(keys)
    builder = CliqueChain.in_memory(genesis)
    common = grow(builder, keys, 2)
    timestamp = builder.head().timestamp + 1
    by_k4 = builder.build_block(keys[4], timestamp=timestamp)
    by_k5 = builder.build_block(keys[5], timestamp=timestamp)
    assert by_k4.header.difficulty == by_k5.header.difficulty == 1
    running = [1, 2, 4, 5]
    ports = _ports(len(running))
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    for index in running:
        with CliqueChain.open(tmp_path / f"node-{index}", genesis) as chain:
            for block in [*common, by_k5 if index == 5 else by_k4]:
                chain.import_block(block, sync=True)
    nodes: list[PoaNode] = []
    try:
        for index, port in zip(running, ports, strict=True):
            node = PoaNode(
                tmp_path / f"node-{index}", genesis, signer=keys[index], port=port, peers=urls, sync_interval=0.3
            )
            nodes.append(node.start())
        assert wait_until(lambda: min(node.chain.block_number for node in nodes) >= 5, timeout=60)
        assert wait_until(lambda: len({node.chain.header(5).hash for node in nodes}) == 1, timeout=20)  # type: ignore[union-attr]
        assert {node.chain.header(3).hash for node in nodes} == {by_k4.hash}  # type: ignore[union-attr]
    finally:
        for node in nodes:
            node.stop()
