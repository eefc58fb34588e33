"""Fault tests on a network of node processes (ledger.poa.Network, period 1 s, free ports): nodes killed and
restarted, a majority lost and restored, a partition healed, forged blocks, validators voted out and in.

Every wait is bounded (the client's deadlines, ``Network.wait_for`` timeouts); a network is stopped whatever happens.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import rlp
from eth_utils.address import to_canonical_address
from poa_support import signers

from ledger.client import ChainClient, ClientPolicy, FailoverPolicy, SoftwareChainSigner, call_data
from ledger.contracts import DID_REGISTRY, load_artifact
from ledger.node import dev_account_keys
from ledger.poa import CliqueChain, CliqueGenesis, Network
from ledger.poa.clique import in_turn, seal_header, signer_limit
from ssi.errors import ChainError, ChainStalled, TransactionNotConfirmed
from ssi.keys import load_private_key

pytestmark = pytest.mark.slow

FAILOVER = FailoverPolicy(attempt_timeout=1, request_budget=3)


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Callable[..., Network]]:
    started: list[Network] = []

    def start(validators: int = 7, **options: Any) -> Network:
        network = Network(tmp_path / f"net-{len(started)}", validators=validators, period=1, base_port=0, **options)
        started.append(network)
        return network.start()

    yield start
    for network in started:
        network.stop()


def _client(urls: list[str], **policy: Any) -> ChainClient:
    return ChainClient.connect(urls, policy=ClientPolicy(poll_interval=0.2, **policy), failover=FAILOVER)


def _dev(index: int) -> SoftwareChainSigner:
    return SoftwareChainSigner.from_private_bytes(dev_account_keys()[index])


def _heads(network: Network, indexes: list[int]) -> set[str]:
    return {network.call(index, "eth_getBlockByNumber", ["latest", False])["hash"] for index in indexes}


def _agree(network: Network, indexes: list[int], *, at_least: int = 0) -> bool:
    """The nodes are on one chain: they hold the same block at the lowest of their heights (newer blocks may still be
    on their way to some), and that height is at least ``at_least``."""
    low = min(_height(network, index) for index in indexes)
    if low < at_least:
        return False
    return len({network.call(index, "eth_getBlockByNumber", [hex(low), False])["hash"] for index in indexes}) == 1


def _height(network: Network, index: int) -> int:
    return int(network.call(index, "eth_blockNumber"), 16)


def _attribute(registry: Any, owner: str, name: bytes, value: bytes) -> Any:
    return registry.functions.setAttribute(owner, name.ljust(32, b"\0"), value, 3600)


def test_two_killed_blocks_go_on_four_killed_sealing_stops_and_the_client_says_so(
    launch: Callable[..., Network],
) -> None:
    """7 validators. Two killed: blocks go on, anchoring confirms through the others (the client fails over, and
    waits for Clique finality by default); restarted, they sync to the same head. Four killed: 3 of 7 seal at most
    3 more blocks (one each: the signer limit is 4) and then nothing, since Clique needs more than half; the client's
    wait ends with ChainStalled instead of hanging. Restored, the network goes on and the same signed transaction
    confirms.

    "At most 3 more" is checked on the chain itself — no more than 3 blocks in a row at its head are the survivors'
    — not against a height read after the kills: a block a dying node sealed may still be on its way to node 0 then
    (and the survivors' 3 blocks come on top of it)."""
    network = launch()
    client = _client(network.urls, receipt_timeout=60)
    sender = _dev(0)
    registry, _ = client.deploy(load_artifact(DID_REGISTRY), sender=sender, confirmations=0)
    network.kill(0)
    network.kill(1)  # node 0 was the client's first choice: it fails over
    receipt = client.transact(_attribute(registry, sender.address, b"did/svc/Anchor", b"after kill"), sender=sender)
    assert receipt["status"] == 1
    assert client.block_number() >= receipt["blockNumber"] + 6  # Clique finality for 7 signers, by default
    reached = _height(network, 2)
    network.start_node(0)
    network.start_node(1)
    assert network.wait_for(lambda: _agree(network, list(range(7)), at_least=reached), timeout=30)
    for index in (0, 1):  # the restarted nodes have what was anchored while they were down
        found = network.call(index, "eth_getTransactionReceipt", ["0x" + bytes(receipt["transactionHash"]).hex()])
        assert found["blockHash"] == "0x" + bytes(receipt["blockHash"]).hex()
    client.close()

    for index in (3, 4, 5, 6):
        network.kill(index)
    client = _client(network.urls[:3], receipt_timeout=90, stall_timeout=6)
    signed = client.send(sender, to=sender.address, value=1)
    started = time.monotonic()
    with pytest.raises(ChainStalled) as caught:
        client.wait_for_receipt(signed)
    assert time.monotonic() - started < 60
    assert "more than half of its 7 signers" in caught.value.description
    assert caught.value.raw_transaction == signed.raw
    killed = {network.addresses[index].lower() for index in (3, 4, 5, 6)}
    survivors_in_a_row = 0
    for number in range(_height(network, 0), 0, -1):
        if network.call(0, "clique_getSigner", [hex(number)]).lower() in killed:
            break
        survivors_in_a_row += 1
    assert survivors_in_a_row <= 3
    for index in (3, 4, 5, 6):
        network.start_node(index)
    receipt = client.wait_for_receipt(signed, timeout=60)
    assert receipt["status"] == 1
    assert network.wait_for(lambda: _agree(network, list(range(7)), at_least=receipt["blockNumber"]), timeout=30)
    client.close()


def _able_to_seal_minority(network: Network, size: int = 3) -> tuple[list[int], list[int]]:
    """A minority of ``size`` validators none of which signed one of the last 3 blocks on node 0, and the rest.

    Clique lets a signer seal only if it signed none of the last ⌊N/2⌋ blocks (3 of 7): a minority cut off right
    after its members sealed those blocks could seal nothing, and its head would still be a block both sides hold."""
    head = _height(network, 0)
    recent = {
        network.call(0, "clique_getSigner", [hex(number)]).lower() for number in range(max(1, head - 2), head + 1)
    }
    free = [index for index, address in enumerate(network.addresses) if address.lower() not in recent]
    minority = free[:size]
    return minority, [index for index in range(len(network.addresses)) if index not in minority]


def _mined_only_on(network: Network, side: int, other: int, transaction: bytes) -> bool:
    """Node ``side`` has ``transaction`` in a block that node ``other`` does not hold (the two sides diverged)."""
    receipt = network.call(side, "eth_getTransactionReceipt", ["0x" + transaction.hex()])
    return receipt is not None and network.call(other, "eth_getBlockByHash", [receipt["blockHash"], False]) is None


def test_partition_three_four_heals_to_one_chain_and_nothing_final_is_lost(launch: Callable[..., Network]) -> None:
    """The minority (3) seals a few blocks, the majority (4) goes on; what the client reported final on the majority
    side (at the default depth, 7 blocks) survives the heal, every node converges on one chain, and a transaction
    the minority had mined is mined again on the winning chain.

    The minority is chosen among the validators that may seal next (none of the last 3 blocks is theirs), and the
    test waits, bounded, until the minority has mined its transaction in a block the majority does not hold. Cutting
    the network takes 42 RPC calls, so under load the minority may still have used its turns up before the cut took
    effect (or sealed before its transaction arrived): then the network is healed and the cut made again, at most 3
    times."""
    network = launch()
    sender, other = _dev(2), _dev(3)
    deployer = _client(network.urls, receipt_timeout=60)
    registry, _ = deployer.deploy(load_artifact(DID_REGISTRY), sender=sender, confirmations=0)
    attempts: list[str] = []
    for attempt in range(3):
        minority, majority = _able_to_seal_minority(network)
        network.partition([minority, majority])
        on_minority = _client([network.urls[i] for i in minority], receipt_timeout=30, stall_timeout=5)
        minority_outcome: dict[str, Any] = {}
        to, data = call_data(_attribute(registry, other.address, b"did/svc/Minority", b"minority %d" % attempt))
        signed = on_minority.send(other, to=to, data=data)
        minority_tx = bytes(signed.hash)

        def wait_on_minority(
            client: ChainClient = on_minority, tx: Any = signed, out: dict[str, Any] = minority_outcome
        ) -> None:
            try:
                out["receipt"] = client.wait_for_receipt(tx)
            except ChainError as exc:
                out["error"] = exc

        thread = threading.Thread(target=wait_on_minority)
        thread.start()
        diverged = functools.partial(_mined_only_on, network, minority[0], majority[0], minority_tx)
        if network.wait_for(diverged, timeout=20):
            break
        attempts.append(f"minority {minority}: its transaction not mined on its side only within 20 s")
        network.heal()
        thread.join(timeout=60)
        on_minority.close()
        assert network.wait_for(lambda: _agree(network, list(range(7))), timeout=30)
    else:
        pytest.fail("the cut-off minority never mined its transaction in a block of its own: " + "; ".join(attempts))
    on_majority = _client([network.urls[i] for i in majority], receipt_timeout=60)
    final = on_majority.transact(_attribute(registry, sender.address, b"did/svc/Final", b"majority"), sender=sender)
    thread.join(timeout=60)
    assert isinstance(minority_outcome.get("error"), TransactionNotConfirmed)  # never final on the minority side
    assert minority_outcome["error"].transaction_hash == minority_tx
    (minority_head,) = _heads(network, minority)  # stalled: one head
    minority_height = _height(network, minority[0])
    assert network.wait_for(lambda: _height(network, majority[0]) >= minority_height, timeout=30)
    majority_block = network.call(majority[0], "eth_getBlockByNumber", [hex(minority_height), False])
    assert majority_block["hash"] != minority_head  # two chains
    majority_height = max(_height(network, index) for index in majority)
    network.heal()
    assert network.wait_for(lambda: _agree(network, list(range(7)), at_least=majority_height), timeout=30)
    final_hash = "0x" + bytes(final["transactionHash"]).hex()
    for index in range(7):
        assert network.call(index, "eth_getTransactionReceipt", [final_hash])["blockHash"] == (
            "0x" + bytes(final["blockHash"]).hex()
        )
    moved = on_majority.wait_for_receipt(minority_tx, timeout=30)  # restored to the pools, mined on the winner
    assert moved["status"] == 1
    for client in (deployer, on_majority, on_minority):
        client.close()


def _synced_copy(network: Network, index: int) -> CliqueChain:
    """An in-process chain of the network's genesis holding node ``index``'s chain (fetched with poa_getBlocks)."""
    genesis = CliqueGenesis.read(network.data_dir / "genesis.json")
    chain = CliqueChain.in_memory(genesis)
    head = network.call(index, "eth_getBlockByNumber", ["latest", False])["hash"]
    blocks = network.call(index, "poa_getBlocks", [head, 256])
    for raw in reversed(blocks):
        chain.import_block(chain.decode_block(bytes.fromhex(raw[2:])), sync=False)
    return chain


def _send_everywhere(network: Network, block: Any) -> list[str]:
    """poa_newBlock to every node; the answers ("imported", "known", "unknown_parent") or the error texts."""
    answers = []
    for index in range(len(network.urls)):
        try:
            answers.append(network.call(index, "poa_newBlock", ["0x" + rlp.encode(block).hex()]))
        except ChainError as exc:
            answers.append(exc.description)
    return answers


def test_blocks_from_a_non_validator_or_out_of_order_are_ignored(launch: Callable[..., Network]) -> None:
    network = launch(4)
    assert network.wait_for(lambda: _height(network, 0) >= 3, timeout=30)
    rogue_chain = _synced_copy(network, 0)
    head = rogue_chain.head()
    time.sleep(max(0.0, head.timestamp + 1 - time.time()) + 0.1)  # the forged blocks are not from the future
    stranger = signers(1, seed=90)[0]
    validators = {
        bytes(to_canonical_address(address)): SoftwareChainSigner(
            load_private_key(network.data_dir / f"node-{index}" / "validator.jwk")
        )
        for index, address in enumerate(network.addresses)
    }
    last_signer = validators[rogue_chain.seal_signer(head)]
    current = rogue_chain.signers_after(head)
    recent = rogue_chain.recent_signers(head, signer_limit(len(current)) - 1)
    out_of_turn = next(
        key
        for address, key in validators.items()
        if not in_turn(head.block_number + 1, address, current) and address not in recent
    )
    timestamp = head.timestamp + 1
    forged = {
        "not a signer": rogue_chain.build_block(stranger, timestamp=timestamp),
        "signed one of the previous": rogue_chain.build_block(last_signer, timestamp=timestamp),
        "difficulty 2, expected 1": _claim_in_turn(
            rogue_chain.build_block(out_of_turn, timestamp=timestamp), out_of_turn
        ),
    }
    for expected, block in forged.items():
        for answer in _send_everywhere(network, block):
            assert expected in answer, answer
    orphan = forged["not a signer"].copy(header=forged["not a signer"].header.copy(parent_hash=b"\x42" * 32))
    assert _send_everywhere(network, orphan) == ["unknown_parent"] * 4  # out of order: not imported, nothing known
    before = max(_height(network, index) for index in range(4))
    assert network.wait_for(lambda: min(_height(network, index) for index in range(4)) >= before + 2, timeout=30)
    assert network.wait_for(lambda: _agree(network, list(range(4)), at_least=before + 2), timeout=15)
    for block in (*forged.values(), orphan):
        for index in range(4):
            assert network.call(index, "eth_getBlockByHash", ["0x" + block.hash.hex(), False]) is None


def _claim_in_turn(block: Any, signer: SoftwareChainSigner) -> Any:
    return block.copy(header=seal_header(block.header.copy(difficulty=2), signer))


def test_a_validator_voted_out_and_a_new_one_voted_in(launch: Callable[..., Network]) -> None:
    network = launch()
    newcomer = network.add_node()  # follows the chain, not a signer yet
    address = network.addresses[newcomer]
    assert address not in network.call(0, "clique_getSigners")
    for index in range(4):  # 4 of 7: more than half
        network.call(index, "clique_propose", [address, True])
    assert network.wait_for(lambda: address in network.call(0, "clique_getSigners"), timeout=40)
    leaving = network.addresses[6]
    for index in range(5):  # 5 of 8
        network.call(index, "clique_propose", [leaving, False])
    assert network.wait_for(lambda: leaving not in network.call(0, "clique_getSigners"), timeout=40)
    assert len(network.call(0, "clique_getSigners")) == 7

    def newcomer_sealed() -> bool:
        head = _height(network, 0)
        return any(network.call(0, "clique_getSigner", [hex(n)]) == address for n in range(max(1, head - 8), head + 1))

    assert network.wait_for(newcomer_sealed, timeout=30)  # its blocks are accepted by the others
    assert network.wait_for(lambda: _agree(network, list(range(8)), at_least=_height(network, 0) - 1), timeout=20)
    assert network.call(newcomer, "eth_mining") is True and network.call(6, "eth_mining") is False
