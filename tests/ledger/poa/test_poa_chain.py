"""CliqueChain in-process: EIP-225 sealing and checks, the BadSignature adapter, fork choice and reorganisations,
votes, checkpoints, the transaction pool and the block log."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from eth._utils.address import generate_contract_address
from eth.consensus.clique.clique import CliqueConsensus
from eth.consensus.clique.constants import NONCE_AUTH
from eth_keys.exceptions import BadSignature
from eth_typing import Address
from eth_utils.crypto import keccak
from node_support import ARTIFACT, abi_call, dev, signed
from poa_support import (
    address,
    dev_address,
    dev_transaction,
    genesis_for,
    grow,
    in_turn_signer,
    next_allowed,
    resealed,
    signers,
)

from ledger.client import SoftwareChainSigner
from ledger.node import LogQuery
from ledger.poa import CliqueChain, CliqueGenesis
from ledger.poa.clique import CliqueAdapter, building_as, in_turn
from ssi.errors import ChainStorageError, InvalidBlock, TransactionRejected


@pytest.fixture
def keys() -> list[SoftwareChainSigner]:
    return signers(3)


@pytest.fixture
def genesis(keys: list[SoftwareChainSigner]) -> CliqueGenesis:
    return genesis_for(keys)


def test_blocks_sealed_in_and_out_of_turn_are_imported_by_another_node(
    keys: list[SoftwareChainSigner], genesis: CliqueGenesis
) -> None:
    """EIP-225: difficulty 2 in turn, 1 out of turn; total difficulty is their sum; a second node agrees."""
    a, b = CliqueChain.in_memory(genesis), CliqueChain.in_memory(genesis)
    grow(a, keys, 3, others=(b,))  # in turn
    out_of_turn = [key for key in keys if not in_turn(4, address(key), a.signers_after(a.head()))]
    allowed = [key for key in out_of_turn if address(key) not in a.recent_signers(a.head(), 1)]
    block = a.build_block(allowed[0], timestamp=a.head().timestamp + 1)
    assert block.header.difficulty == 1
    assert a.import_block(block, sync=False).canonical and b.import_block(block, sync=False).canonical
    assert [a.header(n).difficulty for n in range(1, 5)] == [2, 2, 2, 1]  # type: ignore[union-attr]
    assert a.total_difficulty() == b.total_difficulty() == 1 + 2 + 2 + 2 + 1  # genesis weighs 1
    assert a.head().hash == b.head().hash
    assert b.import_block(block, sync=False).new is False


def test_py_evm_fee_recipient_defect_and_the_adapter(keys: list[SoftwareChainSigner], genesis: CliqueGenesis) -> None:
    """The defect: py-evm's Clique raises eth-keys' BadSignature for a header whose seal is still empty. The adapter
    answers with the address building the block (the later signer), or the coinbase outside a build."""
    chain = CliqueChain.in_memory(genesis)
    header = chain._chain.create_header_from_parent(  # a block being built: 65 zero bytes where the seal goes
        chain.head(), timestamp=chain.head().timestamp + 1, extra_data=bytes(32 + 65), coinbase=b"\x07" * 20
    )
    with pytest.raises(BadSignature):
        CliqueConsensus.get_fee_recipient(header)
    assert CliqueAdapter.get_fee_recipient(header) == b"\x07" * 20
    with building_as(address(keys[0])):
        assert CliqueAdapter.get_fee_recipient(header) == address(keys[0])
    sealed = chain.build_block(keys[1], timestamp=header.timestamp)
    assert CliqueAdapter.get_fee_recipient(sealed.header) == address(keys[1])


def test_tips_go_to_the_signer_on_every_node(keys: list[SoftwareChainSigner], genesis: CliqueGenesis) -> None:
    """The builder credits fees to itself before its seal exists; the importing node credits the signer it recovers
    from the seal: the state roots agree (otherwise the import fails)."""
    a, b = CliqueChain.in_memory(genesis), CliqueChain.in_memory(genesis)
    tip = 10**9
    a.send_raw_transaction(dev_transaction(0, maxFeePerGas=tip, maxPriorityFeePerGas=tip))
    signer = in_turn_signer(a, keys)
    block = a.build_block(signer, timestamp=a.head().timestamp + 1)
    assert len(block.transactions) == 1
    a.import_block(block, sync=False)
    assert b.import_block(block, sync=False).canonical
    assert b.state(1).get_balance(address(signer)) == 21_000 * tip
    assert len(a.pool) == 0


def _rejected(chain: CliqueChain, block: Any, reason: str) -> None:
    head = chain.head().hash
    with pytest.raises(InvalidBlock) as caught:
        chain.import_block(block, sync=False)
    assert caught.value.reason == reason, caught.value.description
    assert chain.head().hash == head


def test_a_block_sealed_by_a_non_signer_is_refused(keys: list[SoftwareChainSigner], genesis: CliqueGenesis) -> None:
    a, b = CliqueChain.in_memory(genesis), CliqueChain.in_memory(genesis)
    stranger = SoftwareChainSigner.from_private_bytes(b"\x42" * 32)
    _rejected(b, a.build_block(stranger, timestamp=a.head().timestamp + 1), "unauthorized_signer")


def test_a_signer_that_sealed_too_recently_is_refused(keys: list[SoftwareChainSigner], genesis: CliqueGenesis) -> None:
    """EIP-225: one block in every ⌊N/2⌋ + 1 — with 3 signers, never two blocks in a row."""
    a, b = CliqueChain.in_memory(genesis), CliqueChain.in_memory(genesis)
    (first,) = grow(a, keys, 1, others=(b,))
    same = next(key for key in keys if address(key) == b.seal_signer(first.header))
    _rejected(b, a.build_block(same, timestamp=a.head().timestamp + 1), "recently_signed")


def test_difficulty_must_match_the_turn(keys: list[SoftwareChainSigner], genesis: CliqueGenesis) -> None:
    a, b = CliqueChain.in_memory(genesis), CliqueChain.in_memory(genesis)
    turn = in_turn_signer(a, keys)
    other = next(key for key in keys if key is not turn)
    claimed = resealed(a.build_block(other, timestamp=a.head().timestamp + 1), other, difficulty=2)
    _rejected(b, claimed, "wrong_difficulty")
    modest = resealed(a.build_block(turn, timestamp=a.head().timestamp + 1), turn, difficulty=1)
    _rejected(b, modest, "wrong_difficulty")


def test_timestamps_follow_the_period_and_not_the_future(keys: list[SoftwareChainSigner]) -> None:
    genesis = genesis_for(keys, period=5)
    a, b = CliqueChain.in_memory(genesis), CliqueChain.in_memory(genesis)
    turn = in_turn_signer(a, keys)
    _rejected(b, a.build_block(turn, timestamp=a.head().timestamp + 4), "invalid_timestamp")
    _rejected(b, a.build_block(turn, timestamp=int(time.time()) + 60), "invalid_header")
    assert b.import_block(a.build_block(turn, timestamp=a.head().timestamp + 5), sync=False).canonical


def test_broken_seals_and_headers_are_refused(keys: list[SoftwareChainSigner], genesis: CliqueGenesis) -> None:
    a, b = CliqueChain.in_memory(genesis), CliqueChain.in_memory(genesis)
    turn = in_turn_signer(a, keys)
    good = a.build_block(turn, timestamp=a.head().timestamp + 1)
    extra = good.header.extra_data
    garbage_seal = good.copy(header=good.header.copy(extra_data=extra[:-65] + b"\xff" * 65))
    _rejected(b, garbage_seal, "invalid_seal")
    _rejected(b, good.copy(header=good.header.copy(extra_data=extra[:40])), "invalid_header")
    _rejected(b, resealed(good, turn, mix_hash=b"\x01" * 32), "invalid_header")
    _rejected(b, resealed(good, turn, state_root=b"\x02" * 32), "invalid_block")  # sealed, but not what executes
    _rejected(b, resealed(good, turn, parent_hash=b"\x03" * 32), "unknown_parent")
    with pytest.raises(InvalidBlock) as caught:
        b.decode_block(b"\xc1\x80")
    assert caught.value.reason == "malformed_block"
    assert b.import_block(good, sync=False).canonical  # the untampered block is fine


def test_checkpoints_list_the_signers(keys: list[SoftwareChainSigner]) -> None:
    """EIP-225: every EPOCH_LENGTH-th block carries the signer list (and no vote); a wrong list is refused."""
    genesis = genesis_for(keys, epoch=4)
    a, b = CliqueChain.in_memory(genesis), CliqueChain.in_memory(genesis)
    grow(a, keys, 3, others=(b,))
    signer = next_allowed(a, keys)
    checkpoint = a.build_block(signer, timestamp=a.head().timestamp + 1, vote=(b"\x09" * 20, True))
    assert checkpoint.header.extra_data[32:-65] == b"".join(sorted(address(key) for key in keys))
    assert checkpoint.header.coinbase == bytes(20)  # no vote on a checkpoint
    extra = checkpoint.header.extra_data
    wrong = resealed(checkpoint, signer, extra_data=extra[:32] + extra[52:])  # one signer left out
    _rejected(b, wrong, "invalid_checkpoint")
    assert b.import_block(checkpoint, sync=False).canonical
    grow(a, keys, 5, others=(b,))
    assert b.head().hash == a.head().hash


def test_votes_add_and_drop_signers(keys: list[SoftwareChainSigner], genesis: CliqueGenesis) -> None:
    """EIP-225 voting: more than half of the signers (2 of 3) add a fourth; then 3 of 4 drop one."""
    chain = CliqueChain.in_memory(genesis)
    newcomer = SoftwareChainSigner.from_private_bytes(b"\x77" * 32)
    grow(chain, keys, 1, vote=(address(newcomer), True))
    assert address(newcomer) not in chain.signers_after(chain.head())
    assert chain.tally(chain.head()) == {address(newcomer): (True, 1)}
    assert chain.head().nonce == NONCE_AUTH and chain.head().coinbase == address(newcomer)
    grow(chain, keys, 1, vote=(address(newcomer), True))
    assert address(newcomer) in chain.signers_after(chain.head())
    everyone = [*keys, newcomer]
    grow(chain, everyone, 6)
    assert any(chain.seal_signer(chain.header(n)) == address(newcomer) for n in range(3, 9))  # type: ignore[arg-type]
    dropped = keys[0]
    voters = [key for key in everyone if key is not dropped]
    for _ in range(3):
        grow(chain, voters, 1, vote=(address(dropped), False))
    assert sorted(chain.signers_after(chain.head())) == sorted(address(key) for key in voters)
    _rejected(chain, chain.build_block(dropped, timestamp=chain.head().timestamp + 1), "unauthorized_signer")


def _first_out_of_turn(chain: CliqueChain, keys: list[SoftwareChainSigner]) -> SoftwareChainSigner:
    head = chain.head()
    current = chain.signers_after(head)
    recent = chain.recent_signers(head, 1)
    return next(
        key for key in keys if address(key) not in recent and not in_turn(head.block_number + 1, address(key), current)
    )


def test_heaviest_chain_wins_and_a_reorganisation_keeps_transactions(
    keys: list[SoftwareChainSigner], genesis: CliqueGenesis
) -> None:
    """Fork choice by total difficulty: two out-of-turn blocks (weight 2) tie with one in-turn block, and of equally
    heavy heads the lower block number wins (EIP-3436 rule 2, geth's too), however late it arrives; the node
    reorganises to the other branch: the replaced block's transaction goes back to the pool, its logs leave the
    index, and it is mined again on the new branch."""
    a, b = CliqueChain.in_memory(genesis), CliqueChain.in_memory(genesis)
    deployer = dev(0)
    a.send_raw_transaction(signed(deployer, nonce=0, data=bytes.fromhex(ARTIFACT.bytecode[2:]), gas=3_000_000))
    (deployed,) = grow(a, keys, 1, others=(b,))
    assert len(deployed.transactions) == 1
    contract = bytes(generate_contract_address(Address(dev_address(0)), 0))  # from the sender and its nonce 0
    assert b.state(1).get_code(Address(contract))
    call = abi_call("setAttribute", deployer.address, b"did/svc/Example".ljust(32, b"\0"), b"x", 3600)
    raw = signed(deployer, nonce=1, to=contract, data=call, gas=200_000)
    a.send_raw_transaction(raw)
    grow(a, keys, 2, choose=_first_out_of_turn)  # A: blocks 2, 3 out of turn (weight 1 + 1), with the transaction
    assert len(a.logs(LogQuery(0, a.block_number, frozenset([contract])))) == 1
    heavy = b.build_block(in_turn_signer(b, keys), timestamp=b.head().timestamp + 1)  # B: block 2 in turn (2)
    b.import_block(heavy, sync=False)
    assert a.total_difficulty() == b.total_difficulty()
    result = a.import_block(heavy, sync=False)  # a tie: the shorter branch wins
    assert result.canonical and a.head().hash == b.head().hash and a.block_number == 2
    assert a.total_difficulty() == b.total_difficulty()
    (on_top,) = grow(b, keys, 1)
    assert a.import_block(on_top, sync=False).canonical and a.head().hash == b.head().hash
    assert a.logs(LogQuery(0, a.block_number, frozenset([contract]))) == []
    assert a.pool.get(_hash(raw)) is not None  # back in the pool
    assert a.transaction(_hash(raw)) is None
    grow(a, keys, 1)
    assert a.transaction(_hash(raw)) is not None
    assert len(a.logs(LogQuery(0, a.block_number, frozenset([contract])))) == 1


def _hash(raw: bytes) -> bytes:
    return bytes(keccak(raw))


def test_the_pool_orders_nonces_and_refuses_what_geth_refuses(
    keys: list[SoftwareChainSigner], genesis: CliqueGenesis
) -> None:
    chain = CliqueChain.in_memory(genesis)
    sender = dev_address(0)
    later = dev_transaction(0, nonce=1)
    assert chain.send_raw_transaction(later) == _hash(later)  # a future nonce waits in the pool
    assert chain.pending_nonce(sender) == 0
    first = dev_transaction(0, nonce=0)
    chain.send_raw_transaction(first)
    assert chain.pending_nonce(sender) == 2
    assert chain.send_raw_transaction(first) == _hash(first)  # delivered twice: accepted, nothing changes
    with pytest.raises(TransactionRejected) as caught:
        chain.send_raw_transaction(dev_transaction(0, nonce=1, value=2))
    assert caught.value.reason == "replacement_underpriced"
    with pytest.raises(TransactionRejected) as caught:
        chain.send_raw_transaction(dev_transaction(0, nonce=200))
    assert caught.value.reason == "nonce_too_high"
    with pytest.raises(TransactionRejected) as caught:
        chain.send_raw_transaction(dev_transaction(0, nonce=0, chainId=1))
    assert caught.value.reason == "wrong_chain_id"
    (block,) = grow(chain, keys, 1)
    assert [tx.nonce for tx in block.transactions] == [0, 1]
    assert len(chain.pool) == 0 and chain.pending_nonce(sender) == 2
    with pytest.raises(TransactionRejected) as caught:
        chain.send_raw_transaction(dev_transaction(0, nonce=0, value=5))
    assert caught.value.reason == "nonce_too_low"
    assert chain.send_raw_transaction(first) == _hash(first)  # mined already: accepted again, not pooled
    assert len(chain.pool) == 0


def test_gossiped_transactions_are_admitted_quietly(genesis: CliqueGenesis) -> None:
    chain = CliqueChain.in_memory(genesis)
    announced: list[list[bytes]] = []
    chain.on_transactions(announced.append)
    assert chain.receive_transactions([dev_transaction(1), b"\x01\x02", dev_transaction(1, chainId=5)]) == 1
    assert announced == []  # received from a peer: not passed on again
    chain.send_raw_transaction(dev_transaction(2))
    assert len(announced) == 1


def test_the_block_log_survives_a_restart(
    keys: list[SoftwareChainSigner], genesis: CliqueGenesis, tmp_path: Path
) -> None:
    data = tmp_path / "node"
    with CliqueChain.open(data, genesis) as chain:
        chain.send_raw_transaction(dev_transaction(0))
        grow(chain, keys, 4)
        head = chain.head().hash
        with pytest.raises(ChainStorageError) as caught:
            CliqueChain.open(data, genesis)
        assert caught.value.reason == "data_dir_in_use"
    with (data / "blocks.rlp").open("ab") as log:
        log.write(b"f90200aa")  # a torn last line: never made durable
    with CliqueChain.open(data, genesis) as chain:
        assert chain.head().hash == head and chain.transaction(_hash(dev_transaction(0))) is not None
    other = genesis_for(signers(3, seed=50))
    with pytest.raises(ChainStorageError) as caught:
        CliqueChain.open(data, other)
    assert caught.value.reason == "genesis_mismatch"
    (data / "blocks.rlp").write_bytes(b"zz\n")
    with pytest.raises(ChainStorageError) as caught:
        CliqueChain.open(data, genesis)
    assert caught.value.reason == "journal_corrupt"


def test_a_shorter_heavier_chain_wins_and_grows_on(keys: list[SoftwareChainSigner], genesis: CliqueGenesis) -> None:
    """The Clique case py-evm's ChainDB gets wrong (the adapter in ledger.poa.chain): three out-of-turn blocks (weight
    3) lose to two in-turn blocks (weight 4); the heavier chain is shorter, so block 3 of the old chain stops being
    canonical. After a lighter block 3 arrives (a third branch), the winner's block 3 must still be importable:
    py-evm believed it had a canonical block there and refused every later block 3 with HeaderNotFound — the node
    stalled for good."""
    a, b = CliqueChain.in_memory(genesis), CliqueChain.in_memory(genesis)
    old = grow(a, keys, 3, choose=_first_out_of_turn)
    assert a.total_difficulty() == 1 + 3
    winners = grow(b, keys, 3)  # in turn: 2 each
    assert a.import_block(winners[0], sync=False).canonical is False  # 2 + 1 < 3 + 1
    assert a.import_block(winners[1], sync=False).canonical  # 4 + 1 > 3 + 1: the shorter chain wins
    assert a.block_number == 2 and a.head().hash == winners[1].hash
    assert a.header(3) is None
    other = CliqueChain.in_memory(genesis)  # another block 3 on the old chain: lighter, not canonical
    for block in old[:2]:
        other.import_block(block, sync=False)
    sibling = other.build_block(_first_out_of_turn(other, keys), timestamp=old[1].header.timestamp + 2)
    assert sibling.hash != old[2].hash
    assert a.import_block(sibling, sync=False).canonical is False
    assert a.import_block(winners[2], sync=False).canonical
    assert a.head().hash == b.head().hash and a.block_number == 3
    grow(a, keys, 2, others=(b,))  # and both go on together
    assert a.head().hash == b.head().hash


def test_equally_heavy_heads_converge_so_the_recently_signed_rule_cannot_deadlock() -> None:
    """The EIP-225 "recently signed" deadlock and the EIP-3436 block choice rule that ends it.

    7 signers k0…k6 (sorted), blocks 1 and 2 in turn (k1, k2); k3, whose turn block 3 is, and k6, k0 are cut off, so
    k1, k2, k4, k5 (more than half) must go on. k4 and k5 both seal block 3 out of turn (difficulty 1 each): two
    equally heavy heads. With "the first seen stays", the node of k5 keeps 3(k5) and the others 3(k4): on 3(k4) only
    k5 may seal (k1, k2, k4 signed one of the last ⌊7/2⌋ = 3 blocks), on 3(k5) only k4 — and each sits on the other
    head, so nothing is ever sealed. EIP-3436 rule 3 picks the same head everywhere: the block whose signer's last
    in-turn assignment is least recent, the greatest ``(number − signer index) mod N``: 3(k4) with (3 − 4) mod 7 = 6
    over 3(k5) with 5."""
    keys = signers(7, seed=120)
    genesis = genesis_for(keys)
    nodes = [CliqueChain.in_memory(genesis) for _ in range(4)]  # the nodes of k1, k2, k4, k5
    grow(nodes[0], keys, 2, others=tuple(nodes[1:]))
    assert [nodes[0].seal_signer(nodes[0].header(n)) for n in (1, 2)] == [address(keys[1]), address(keys[2])]  # type: ignore[arg-type]
    timestamp = nodes[0].head().timestamp + 1
    by_k4 = nodes[2].build_block(keys[4], timestamp=timestamp)
    by_k5 = nodes[3].build_block(keys[5], timestamp=timestamp)
    assert by_k4.header.difficulty == by_k5.header.difficulty == 1
    for node in nodes[:3]:
        assert node.import_block(by_k4, sync=False).canonical
    assert nodes[3].import_block(by_k5, sync=False).canonical  # k5's node saw its own block first
    for node in nodes[:3]:
        assert node.import_block(by_k5, sync=False).canonical is False  # 3(k4) wins there …
    result = nodes[3].import_block(by_k4, sync=False)  # … and on k5's node too, though it came second
    assert result.canonical and nodes[3].head().hash == by_k4.hash
    assert {node.head().hash for node in nodes} == {by_k4.hash}
    assert nodes[3].total_difficulty() == nodes[0].total_difficulty()
    # On the common head k5 may seal block 4, and every node takes it: the network goes on.
    recent = nodes[3].recent_signers(nodes[3].head(), 3)
    assert address(keys[5]) not in recent
    block = nodes[3].build_block(keys[5], timestamp=timestamp + 1)
    for node in nodes:
        assert node.import_block(block, sync=False).canonical
    # The order of arrival does not matter: a node that saw 3(k5) first, then 3(k4), ends on 3(k4) as well; replayed
    # in the other order, the same.
    late = CliqueChain.in_memory(genesis)
    for known in [nodes[0].header(1), nodes[0].header(2)]:
        late.import_block(nodes[0].block_by_hash(known.hash), sync=False)  # type: ignore[union-attr, arg-type]
    late.import_block(by_k4, sync=False)
    assert late.import_block(by_k5, sync=False).canonical is False and late.head().hash == by_k4.hash
