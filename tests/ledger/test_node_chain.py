"""The local chain in-process (``ledger.node.LocalChain``): genesis, automine, the checks before accepting a
transaction, calls and estimates, logs, timestamps, and the web3 provider without HTTP."""

from __future__ import annotations

import pytest
import rlp  # type: ignore[import-untyped]
from eth_abi.abi import decode as abi_decode
from eth_account import Account
from eth_typing import Address
from eth_utils.address import to_canonical_address
from eth_utils.crypto import keccak
from node_support import ARTIFACT, STRANGER, abi_call, deploy_registry, dev, set_attribute, signed
from web3 import Web3

from ledger.node import (
    DEV_ACCOUNT_BALANCE,
    CallMessage,
    Genesis,
    LocalChain,
    LocalChainProvider,
    LogQuery,
    dev_account_keys,
)
from ssi.clock import FrozenClock
from ssi.errors import ChainError, ExecutionReverted, TransactionRejected

START = 1_800_000_000
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
ATTRIBUTE_CHANGED = keccak(b"DIDAttributeChanged(address,bytes32,bytes,uint256,uint256)")
OWNER_CHANGED = keccak(b"DIDOwnerChanged(address,address,uint256)")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def chain(clock: FrozenClock) -> LocalChain:
    return LocalChain.in_memory(clock=clock)


def _address(account: object) -> bytes:
    return to_canonical_address(account.address)  # type: ignore[attr-defined]


# -- genesis -----------------------------------------------------------------------------------------------------


def test_development_genesis_funds_the_public_test_accounts(chain: LocalChain) -> None:
    """The dev accounts are the well-known test-mnemonic ones (same as anvil/Hardhat), each with 10,000 ether."""
    assert dev(0).address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert len(dev_account_keys()) == 10
    state = chain.state(0)
    for key in dev_account_keys():
        assert state.get_balance(Address(_address(Account.from_key(key)))) == DEV_ACCOUNT_BALANCE
    assert chain.chain_id == 1337 and chain.block_number == 0
    genesis = chain.head()
    assert genesis.timestamp == START and genesis.base_fee_per_gas == 0 and genesis.gas_limit == 30_000_000


def test_genesis_round_trips_and_rejects_nonsense() -> None:
    genesis = Genesis.development(4242, timestamp=START)
    assert Genesis.from_json(genesis.to_json()) == genesis
    with pytest.raises(ValueError, match="chain id"):
        Genesis(chain_id=0, timestamp=START)
    with pytest.raises(ValueError, match="fork"):
        Genesis(chain_id=1, timestamp=START, fork="frontier")


def test_same_genesis_and_transactions_give_the_same_block_hashes(clock: FrozenClock) -> None:
    """Determinism (what journal replay relies on): nothing random goes into a block, not even PREVRANDAO."""
    first, second = LocalChain.in_memory(clock=clock), LocalChain.in_memory(clock=clock)
    for chain in (first, second):
        deploy_registry(chain)
    assert first.head().hash == second.head().hash
    assert first.head().mix_hash != b"\x00" * 32


def test_chain_id_is_configurable(clock: FrozenClock) -> None:
    chain = LocalChain.in_memory(31337, clock=clock)
    assert chain.chain_id == 31337
    deploy_registry(chain)
    with pytest.raises(TransactionRejected, match="chain id") as refused:
        chain.send_raw_transaction(signed(dev(1), 1337, nonce=0))
    assert refused.value.reason == "wrong_chain_id"


# -- automine ----------------------------------------------------------------------------------------------------


def test_each_transaction_is_mined_into_its_own_block(chain: LocalChain) -> None:
    registry = deploy_registry(chain)
    hashes = [set_attribute(chain, registry, dev(0), nonce, b"did/svc/x", b"v") for nonce in (1, 2, 3)]
    assert chain.block_number == 4
    for number, tx_hash in enumerate(hashes, start=2):
        found = chain.transaction(tx_hash)
        assert found is not None
        block, index = found
        assert (block.number, index, len(block.transactions)) == (number, 0, 1)
        assert chain.receipts(block)[0].state_root == b"\x01"  # EIP-658 status: success


def test_timestamps_follow_the_clock_but_strictly_increase(chain: LocalChain, clock: FrozenClock) -> None:
    registry = deploy_registry(chain)
    set_attribute(chain, registry, dev(0), 1, b"a", b"")  # same second: next second
    clock.advance(100)
    set_attribute(chain, registry, dev(0), 2, b"b", b"")
    header = chain.header
    assert [header(n).timestamp for n in (1, 2, 3)] == [START + 1, START + 2, START + 100]  # type: ignore[union-attr]


def test_a_reverting_transaction_is_mined_with_status_zero(chain: LocalChain) -> None:
    registry = deploy_registry(chain)
    data = abi_call("changeOwner", dev(0).address, STRANGER.address)
    tx_hash = chain.send_raw_transaction(signed(dev(1), nonce=0, to=registry, data=data, gas=100_000))
    found = chain.transaction(tx_hash)
    assert found is not None
    receipt = chain.receipts(found[0])[0]
    assert receipt.state_root == b"" and receipt.logs == ()


def test_a_stranger_without_ether_can_send_zero_fee_transactions(chain: LocalChain) -> None:
    """Free gas (base fee 0), like a permissioned Besu network: any key can anchor its DID."""
    registry = deploy_registry(chain)
    set_attribute(chain, registry, STRANGER, 0, b"did/svc/x", b"v")
    assert chain.state(chain.block_number).get_nonce(Address(_address(STRANGER))) == 1


def test_resending_a_mined_transaction_changes_nothing(chain: LocalChain) -> None:
    raw = signed(dev(0), nonce=0, data=bytes.fromhex(ARTIFACT.bytecode[2:]))
    first = chain.send_raw_transaction(raw)
    assert chain.send_raw_transaction(raw) == first
    assert chain.block_number == 1


# -- refusals (nothing mined) ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"nonce": 1}, "nonce_too_high"),
        ({"gas": 20_999}, "intrinsic_gas"),
        ({"gas": 30_000_001}, "gas_limit"),
        ({"value": DEV_ACCOUNT_BALANCE + 1}, "insufficient_funds"),
        ({"maxFeePerGas": 1, "maxPriorityFeePerGas": 2}, "fee_cap"),
        (
            {"maxFeePerGas": 10**9, "gas": 21_000, "value": DEV_ACCOUNT_BALANCE, "to": b"\x01" * 20},
            "insufficient_funds",
        ),
    ],
)
def test_invalid_transactions_are_refused(chain: LocalChain, fields: dict[str, int], reason: str) -> None:
    with pytest.raises(TransactionRejected) as refused:
        chain.send_raw_transaction(signed(dev(0), **{"nonce": 0, **fields}))
    assert refused.value.reason == reason
    assert chain.block_number == 0


def test_nonce_too_low_is_refused(chain: LocalChain) -> None:
    deploy_registry(chain)
    with pytest.raises(TransactionRejected, match="nonce too low"):
        chain.send_raw_transaction(signed(dev(0), nonce=0, to=b"\x01" * 20))


@pytest.mark.parametrize("raw", [b"", b"\x02", b"\xc0", b"\x05\xc0", b"\xf8\x01" + b"\x00" * 10])
def test_malformed_transactions_are_refused(chain: LocalChain, raw: bytes) -> None:
    with pytest.raises(TransactionRejected):
        chain.send_raw_transaction(raw)


def test_unprotected_legacy_transactions_are_refused(chain: LocalChain) -> None:
    """EIP-155: a signature without chain id could be replayed on every chain."""
    raw = bytes(
        dev(0)
        .sign_transaction({"nonce": 0, "gas": 21_000, "gasPrice": 0, "to": b"\x01" * 20, "value": 0})
        .raw_transaction
    )
    with pytest.raises(TransactionRejected, match="replay-protected"):
        chain.send_raw_transaction(raw)


def test_legacy_and_access_list_transactions_are_accepted(chain: LocalChain) -> None:
    legacy = dev(0).sign_transaction(
        {"chainId": 1337, "nonce": 0, "gas": 21_000, "gasPrice": 0, "to": b"\x01" * 20, "value": 1}
    )
    access_list = dev(0).sign_transaction(
        {"type": 1, "chainId": 1337, "nonce": 1, "gas": 30_000, "gasPrice": 0, "to": b"\x01" * 20, "accessList": []}
    )
    chain.send_raw_transaction(bytes(legacy.raw_transaction))
    chain.send_raw_transaction(bytes(access_list.raw_transaction))
    assert chain.block_number == 2


def test_a_malleable_signature_is_refused(chain: LocalChain) -> None:
    """EIP-2: s above secp256k1n/2 is invalid, although (r, n - s) with the other parity verifies mathematically."""
    raw = signed(dev(0), nonce=0, to=b"\x01" * 20)
    fields = rlp.decode(raw[1:])
    s = int.from_bytes(fields[-1], "big")
    fields[-3] = b"" if fields[-3] == b"\x01" else b"\x01"
    fields[-1] = (SECP256K1_N - s).to_bytes(32, "big")
    with pytest.raises(TransactionRejected) as refused:
        chain.send_raw_transaction(raw[:1] + rlp.encode(fields))
    assert refused.value.reason == "invalid_signature"
    assert chain.block_number == 0


# -- calls and estimates -----------------------------------------------------------------------------------------


def test_call_reads_state_at_a_block(chain: LocalChain) -> None:
    registry = deploy_registry(chain)
    set_attribute(chain, registry, dev(0), 1, b"did/svc/x", b"v")
    message = CallMessage(to=registry, data=abi_call("changed", dev(0).address))
    assert int.from_bytes(chain.call(message, 2), "big") == 2
    assert int.from_bytes(chain.call(message, 1), "big") == 0
    assert chain.call(message, 0) == b""  # no contract yet
    with pytest.raises(ChainError, match="not found"):
        chain.call(message, 3)


def test_call_revert_carries_the_revert_data(chain: LocalChain) -> None:
    registry = deploy_registry(chain)
    message = CallMessage(
        sender=_address(STRANGER), to=registry, data=abi_call("changeOwner", dev(0).address, dev(1).address)
    )
    with pytest.raises(ExecutionReverted) as reverted:
        chain.call(message, 1)
    assert reverted.value.data[:4] == bytes.fromhex("08c379a0")
    assert abi_decode(["string"], reverted.value.data[4:]) == ("bad_actor",)
    with pytest.raises(ExecutionReverted):
        chain.estimate_gas(message, 1)


def test_estimate_gas_is_enough_and_tight(chain: LocalChain) -> None:
    registry = deploy_registry(chain)
    data = abi_call("setAttribute", dev(0).address, b"did/svc/x".ljust(32, b"\0"), b"v", 86_400)
    estimate = chain.estimate_gas(CallMessage(sender=_address(dev(0)), to=registry, data=data), 1)
    too_little = chain.send_raw_transaction(signed(dev(0), nonce=1, to=registry, data=data, gas=estimate - 1001))
    enough = chain.send_raw_transaction(signed(dev(0), nonce=2, to=registry, data=data, gas=estimate))
    assert _status(chain, too_little) == b""  # out of gas: mined with status 0
    assert _status(chain, enough) == b"\x01"


def _status(chain: LocalChain, tx_hash: bytes) -> bytes:
    found = chain.transaction(tx_hash)
    assert found is not None
    return bytes(chain.receipts(found[0])[found[1]].state_root)


def test_calls_run_at_the_injected_clock(chain: LocalChain, clock: FrozenClock) -> None:
    """A delegate valid for 100 s is valid now and not once the clock has passed its end (block.timestamp in calls)."""
    registry = deploy_registry(chain)
    delegate_type = b"veriKey".ljust(32, b"\0")
    add = abi_call("addDelegate", dev(0).address, delegate_type, dev(1).address, 100)
    chain.send_raw_transaction(signed(dev(0), nonce=1, to=registry, data=add, gas=200_000))
    query = CallMessage(to=registry, data=abi_call("validDelegate", dev(0).address, delegate_type, dev(1).address))
    assert chain.call(query, 2)[-1] == 1
    clock.advance(150)  # the delegate was added at START + 2, valid until START + 102
    assert chain.call(query, 2)[-1] == 0


# -- logs --------------------------------------------------------------------------------------------------------


def test_logs_filter_by_block_range_address_and_topics(chain: LocalChain) -> None:
    registry = deploy_registry(chain)
    other = deploy_registry(chain, dev(1))
    set_attribute(chain, registry, dev(0), 1, b"a", b"1")  # block 3
    set_attribute(chain, other, dev(1), 1, b"b", b"2")  # block 4
    set_attribute(chain, registry, dev(2), 0, b"c", b"3")  # block 5
    change = abi_call("changeOwner", dev(0).address, dev(3).address)
    chain.send_raw_transaction(signed(dev(0), nonce=2, to=registry, data=change, gas=200_000))  # block 6
    identity = lambda account: _address(account).rjust(32, b"\0")  # noqa: E731

    def numbers(**query: object) -> list[int]:
        return [log.block_number for log in chain.logs(LogQuery(**{"from_block": 0, "to_block": 6, **query}))]  # type: ignore[arg-type]

    assert numbers() == [3, 4, 5, 6]
    assert numbers(addresses=frozenset([registry])) == [3, 5, 6]
    assert numbers(addresses=frozenset([registry, other])) == [3, 4, 5, 6]
    assert numbers(topics=(frozenset([ATTRIBUTE_CHANGED]),)) == [3, 4, 5]
    assert numbers(topics=(None, frozenset([identity(dev(0))]))) == [3, 6]
    assert numbers(topics=(frozenset([OWNER_CHANGED, ATTRIBUTE_CHANGED]), frozenset([identity(dev(2))]))) == [5]
    assert numbers(topics=(None, None, None)) == []  # our events have 2 topics; a third position cannot match
    assert numbers(from_block=4, to_block=5) == [4, 5]
    log = chain.logs(LogQuery(5, 5))[0]
    assert (log.address, log.transaction_index, log.log_index) == (registry, 0, 0)
    assert log.block_hash == chain.head().parent_hash


def test_too_many_logs_is_an_error_not_an_unbounded_answer(chain: LocalChain, monkeypatch: pytest.MonkeyPatch) -> None:
    import ledger.node.chain as chain_module

    registry = deploy_registry(chain)
    for nonce in (1, 2, 3):
        set_attribute(chain, registry, dev(0), nonce, b"a", b"")
    monkeypatch.setattr(chain_module, "MAX_LOG_RESULTS", 2)
    with pytest.raises(ChainError) as too_many:
        chain.logs(LogQuery(0, chain.block_number))
    assert too_many.value.reason == "too_many_results"


# -- in-process web3 ---------------------------------------------------------------------------------------------


def test_web3_in_process_deploys_and_uses_the_registry(chain: LocalChain) -> None:
    """The same chain without HTTP: web3 through LocalChainProvider (JSON bytes in and out, as over HTTP)."""
    w3 = Web3(LocalChainProvider(chain))
    account = dev(0)
    factory = w3.eth.contract(abi=ARTIFACT.abi, bytecode=ARTIFACT.bytecode)
    deploy = factory.constructor().build_transaction({"from": account.address, "nonce": 0})
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(account.sign_transaction(deploy).raw_transaction)
    )
    registry = w3.eth.contract(address=receipt["contractAddress"], abi=ARTIFACT.abi)
    assert registry.functions.identityOwner(account.address).call() == account.address
    assert w3.eth.get_code(registry.address) == bytes.fromhex(ARTIFACT.deployed_bytecode[2:])
    assert w3.is_connected() and w3.eth.accounts == []
