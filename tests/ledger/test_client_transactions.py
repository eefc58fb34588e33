"""Transactions through ``ledger.client`` over real JSON-RPC: the local chain node and anvil (same tests for both).

Deploy and transact on the ERC-1056 registry, confirmation depth, concurrent senders of one account, idempotent
resending, nonce resynchronisation, reverts with their reason, chunked logs. anvil comes from the pinned npm package
(``ledger/anvil``); its tests are skipped with the reason when npm is absent or the install fails.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from client_support import Backend, backend, dev_signer
from eth_account import Account
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3.contract import Contract

from ledger.client import (
    ChainClient,
    ClientPolicy,
    SoftwareChainSigner,
    call_data,
    sign_transaction,
)
from ledger.contracts import DID_REGISTRY, load_artifact
from ledger.deploy import deploy_contracts
from ledger.erc1056 import bytes32
from ledger.errors import TransactionFailed, TransactionNotConfirmed, TransactionRejected

ARTIFACT = load_artifact(DID_REGISTRY)
POLICY = ClientPolicy(poll_interval=0.02, receipt_timeout=20, rebroadcast_interval=0.5)


@dataclass
class Chain:
    backend: Backend
    client: ChainClient
    registry: Contract

    def other_client(self) -> ChainClient:
        """A second client (another process, as far as nonces go) on the same chain."""
        return ChainClient([self.backend.url], policy=POLICY)


@pytest.fixture(scope="module", params=["node", "anvil"])
def chain(request: pytest.FixtureRequest) -> Iterator[Chain]:
    """One chain per backend for the module (overrides the eth-tester ``chain`` of conftest.py here)."""
    with backend(request.param) as started:
        client = ChainClient.connect([started.url], policy=POLICY)
        registry, receipt = client.deploy(ARTIFACT, sender=dev_signer(0))
        assert receipt["status"] == 1
        yield Chain(started, client, registry)
        client.close()


def _attribute(registry: Contract, identity: str, value: bytes) -> Any:
    return registry.functions.setAttribute(identity, bytes32("did/svc/Test"), value, 3600)


def _bump(chain: Chain, blocks: int, signer_index: int = 9) -> None:
    """Mine ``blocks`` blocks (both chains mine one block per transaction) with transfers from another account."""
    signer = dev_signer(signer_index)
    client = chain.other_client()
    for _ in range(blocks):
        client.wait_for_receipt(client.send(signer, to=signer.address, value=1, gas=21_000))
    client.close()


# -- deploy, transact, call, logs --------------------------------------------------------------------------------------


def test_deploy_transact_call_and_logs(chain: Chain) -> None:
    signer = dev_signer(1)
    receipt = chain.client.transact(
        _attribute(chain.registry, signer.address, b"https://issuer.example"), sender=signer
    )
    assert receipt["status"] == 1
    assert chain.client.call(chain.registry.functions.identityOwner(signer.address)) == signer.address
    assert chain.client.call(chain.registry.functions.changed(signer.address)) == receipt["blockNumber"]
    events = chain.client.get_logs(
        chain.registry.events.DIDAttributeChanged,
        from_block=receipt["blockNumber"],
        argument_filters={"identity": signer.address},
    )
    assert [event["args"]["value"] for event in events] == [b"https://issuer.example"]
    code = bytes(chain.client.w3.eth.get_code(chain.registry.address))
    assert code == bytes.fromhex(ARTIFACT.deployed_bytecode[2:])


def test_fees_follow_the_chain(chain: Chain) -> None:
    """EIP-1559 fields when blocks have a base fee (both chains here); maxFee covers twice the base fee plus tip."""
    fees = chain.client.fees()
    base_fee = chain.client.w3.eth.get_block("latest")["baseFeePerGas"]
    assert set(fees) == {"maxFeePerGas", "maxPriorityFeePerGas"}
    assert fees["maxFeePerGas"] >= 2 * base_fee + fees["maxPriorityFeePerGas"] - 1


def test_logs_in_chunks_equal_logs_at_once(chain: Chain) -> None:
    signer = dev_signer(2)
    start = chain.client.block_number() + 1
    for index in range(5):
        chain.client.transact(_attribute(chain.registry, signer.address, b"v%d" % index), sender=signer)
    event = chain.registry.events.DIDAttributeChanged
    filters = {"identity": signer.address}
    whole = chain.client.get_logs(event, from_block=start, argument_filters=filters)
    for size in (1, 2, 3):
        chunked = chain.client.get_logs(event, from_block=start, argument_filters=filters, chunk_size=size)
        assert chunked == whole
    assert [entry["args"]["value"] for entry in whole] == [b"v%d" % index for index in range(5)]
    raw = chain.client.get_logs({"address": chain.registry.address}, from_block=start, chunk_size=2)
    assert [bytes(log["transactionHash"]) for log in raw] == [bytes(entry["transactionHash"]) for entry in whole]


# -- confirmation depth ----------------------------------------------------------------------------------------------


def test_transact_waits_for_the_confirmation_depth(chain: Chain) -> None:
    """receipt block + confirmations <= head before transact returns."""
    signer = dev_signer(3)
    outcome: dict[str, Any] = {}

    def transact() -> None:
        call = _attribute(chain.registry, signer.address, b"deep")
        outcome["receipt"] = chain.client.transact(call, sender=signer, confirmations=2)
        outcome["head"] = chain.client.block_number()

    worker = threading.Thread(target=transact)
    worker.start()
    time.sleep(0.5)
    assert "receipt" not in outcome  # mined but not deep enough: still waiting
    _bump(chain, 2)
    worker.join(timeout=15)
    receipt = outcome["receipt"]
    assert receipt["status"] == 1 and receipt["blockNumber"] + 2 <= outcome["head"]


def test_not_confirmed_in_time_carries_the_transaction_for_later(chain: Chain) -> None:
    """At the deadline: TransactionNotConfirmed with hash and raw bytes; waiting again later succeeds."""
    signer = dev_signer(3)
    call = _attribute(chain.registry, signer.address, b"later")
    with pytest.raises(TransactionNotConfirmed) as pending:
        chain.client.transact(call, sender=signer, confirmations=3, timeout=0.3)
    assert pending.value.code == "temporarily_unavailable" and pending.value.raw_transaction
    _bump(chain, 3)
    receipt = chain.client.wait_for_receipt(pending.value.transaction_hash, confirmations=3, timeout=5)
    assert bytes(receipt["transactionHash"]) == pending.value.transaction_hash


# -- nonces and idempotency ------------------------------------------------------------------------------------------


def test_concurrent_senders_of_one_account(chain: Chain) -> None:
    """4 threads x 10 transactions from one account: 40 distinct, consecutive nonces; all mined with status 1."""
    signer = SoftwareChainSigner.generate()
    _fund(chain, signer)
    first_nonce = chain.client.transaction_count(signer.address)

    def send_ten(worker: int) -> list[Any]:
        receipts = []
        for index in range(10):
            call = _attribute(chain.registry, signer.address, b"w%d-%d" % (worker, index))
            receipts.append(chain.client.transact(call, sender=signer))
        return receipts

    with ThreadPoolExecutor(max_workers=4) as pool:
        receipts = [receipt for batch in pool.map(send_ten, range(4)) for receipt in batch]
    assert all(receipt["status"] == 1 for receipt in receipts)
    nonces = sorted(chain.client.w3.eth.get_transaction(receipt["transactionHash"])["nonce"] for receipt in receipts)
    assert nonces == list(range(first_nonce, first_nonce + 40))
    assert chain.client.transaction_count(signer.address) == first_nonce + 40


def test_resending_the_same_transaction_applies_it_once(chain: Chain) -> None:
    """The same signed bytes (same nonce, same hash) sent again and again, by this and another client: one effect."""
    signer = dev_signer(4)
    before = chain.client.transaction_count(signer.address)
    to, data = call_data(_attribute(chain.registry, signer.address, b"once"))
    signed = chain.client.send(signer, to=to, data=data)
    other = chain.other_client()
    for _ in range(3):
        assert chain.client.resend(signed) == signed.hash
        assert other.resend(signed.raw) == signed.hash
    receipt = chain.client.wait_for_receipt(signed)
    assert chain.client.resend(signed) == signed.hash  # mined: still "known", still one transaction
    assert chain.client.transaction_count(signer.address) == before + 1
    events = chain.client.get_logs(chain.registry.events.DIDAttributeChanged, from_block=receipt["blockNumber"])
    assert [bytes(event["transactionHash"]) for event in events if event["args"]["value"] == b"once"] == [signed.hash]
    # The next transaction of this client takes the next nonce: resends never consumed one.
    follow_up = chain.client.send(signer, to=signer.address, value=0, gas=21_000)
    assert follow_up.nonce == signed.nonce + 1
    chain.client.wait_for_receipt(follow_up)
    other.close()


def test_nonce_used_by_another_process_is_resynchronised(chain: Chain) -> None:
    """Another process sends from the same account: our next send meets "nonce too low", re-reads, and succeeds."""
    signer = dev_signer(5)
    chain.client.transact(_attribute(chain.registry, signer.address, b"mine"), sender=signer)
    stale = chain.client._nonces.peek(signer.address)
    assert stale is not None
    other = chain.other_client()
    other.transact(_attribute(chain.registry, signer.address, b"theirs"), sender=signer)
    other.close()
    receipt = chain.client.transact(_attribute(chain.registry, signer.address, b"mine again"), sender=signer)
    assert receipt["status"] == 1
    assert chain.client.w3.eth.get_transaction(receipt["transactionHash"])["nonce"] == stale + 1


def test_transaction_whose_nonce_was_taken_can_never_be_mined(chain: Chain) -> None:
    """Signed with nonce n but never delivered; another transaction takes n: resending it is refused for good."""
    signer = dev_signer(6)
    nonce = chain.client.transaction_count(signer.address)
    orphan = sign_transaction(
        signer,
        {
            "chainId": chain.client.chain_id,
            "nonce": nonce,
            "gas": 21_000,
            "to": signer.address,
            "value": 7,
            **chain.client.fees(),
        },
    )
    chain.client.transact(_attribute(chain.registry, signer.address, b"taker"), sender=signer)
    with pytest.raises(TransactionRejected) as replaced:
        chain.client.resend(orphan)
    assert replaced.value.reason == "nonce_replaced"


# -- failures ----------------------------------------------------------------------------------------------------------


def test_revert_at_estimation_is_reported_and_nothing_is_sent(chain: Chain) -> None:
    """ERC-1056: only the owner changes an identity ("bad_actor"); the revert reason comes back, no nonce is used."""
    owner, intruder = dev_signer(7), dev_signer(8)
    before = chain.client.transaction_count(intruder.address)
    with pytest.raises(TransactionFailed) as failed:
        chain.client.transact(chain.registry.functions.changeOwner(owner.address, intruder.address), sender=intruder)
    assert failed.value.revert_reason == "bad_actor" and failed.value.transaction_hash is None
    assert chain.client.transaction_count(intruder.address) == before


def test_mined_revert_is_transaction_failed_with_reason(chain: Chain) -> None:
    """With an explicit gas limit the transaction is mined and reverts (status 0): the reason is replayed."""
    owner, intruder = dev_signer(7), dev_signer(8)
    with pytest.raises(TransactionFailed) as failed:
        chain.client.transact(
            chain.registry.functions.changeOwner(owner.address, intruder.address), sender=intruder, gas=100_000
        )
    assert failed.value.revert_reason == "bad_actor"
    assert failed.value.transaction_hash is not None
    receipt = chain.client.w3.eth.get_transaction_receipt(HexBytes(failed.value.transaction_hash))
    assert receipt["status"] == 0
    # The reverted transaction used its nonce; the next one goes through.
    assert chain.client.transact(_attribute(chain.registry, intruder.address, b"ok"), sender=intruder)["status"] == 1


def test_refused_transaction_does_not_burn_a_nonce(chain: Chain) -> None:
    """A node refusal (intrinsic gas too low) is TransactionRejected; the account's next nonce stays usable."""
    signer = dev_signer(6)
    nonce = chain.client.transaction_count(signer.address)
    with pytest.raises(TransactionRejected):
        chain.client.send(signer, to=signer.address, value=1, gas=20_000)
    follow_up = chain.client.send(signer, to=signer.address, value=1, gas=21_000)
    assert follow_up.nonce == nonce
    assert chain.client.wait_for_receipt(follow_up)["status"] == 1


def _fund(chain: Chain, signer: SoftwareChainSigner) -> None:
    """Give a fresh account ether for fees (anvil charges a base fee; the local node does not)."""
    chain.client.wait_for_receipt(chain.client.send(dev_signer(0), to=signer.address, value=10**18, gas=21_000))


def test_signed_transactions_recover_to_the_sender(chain: Chain) -> None:
    signer = dev_signer(0)
    signed = chain.client.send(signer, to=signer.address, value=0, gas=21_000)
    assert Account.recover_transaction(signed.raw) == signer.address
    assert chain.client.wait_for_receipt(signed)["from"] == signer.address


def test_ledger_deploy_runs_over_the_client(chain: Chain) -> None:
    """``ledger.deploy`` sends through a ChainClient (failover, nonces, confirmations) with a ChainSigner."""
    deployment = deploy_contracts(chain.client, dev_signer(0), timeout=20)
    assert deployment.chain_id == chain.backend.chain_id
    code = bytes(chain.client.w3.eth.get_code(to_checksum_address(deployment.did_registry)))
    assert code == bytes.fromhex(ARTIFACT.deployed_bytecode[2:])
