"""Persistence of the local chain (``ledger.node.journal``): restart, torn writes, damage, kill -9.

The rule under test: a transaction whose hash the node returned is never lost, and a restarted node serves exactly
the same chain (block numbers, hashes, state, receipts, logs).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from node_support import ARTIFACT, abi_call, deploy_registry, dev, set_attribute, signed
from web3 import Web3

from ledger.node import BlockJournal, LocalChain, LogQuery
from ledger.node.chain import GENESIS_FILE, JOURNAL_FILE
from ssi.clock import FrozenClock
from ssi.errors import ChainError, ChainStorageError

START = 1_800_000_000
_SCRIPT = Path(sys.executable).with_name("govssi")
GOVSSI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from govssi.cli import main; main()"]


def _populate(chain: LocalChain) -> bytes:
    registry = deploy_registry(chain)
    for nonce in range(1, 4):
        set_attribute(chain, registry, dev(0), nonce, b"did/svc/Hub", f"https://hub.example/{nonce}".encode())
    return registry


def _fingerprint(chain: LocalChain) -> dict[str, Any]:
    """What must survive a restart: every block hash, the head state root, every receipt status and log."""
    blocks = [chain.block(n) for n in range(chain.block_number + 1)]
    return {
        "number": chain.block_number,
        "hashes": [block.hash for block in blocks if block is not None],
        "state_root": chain.head().state_root,
        "receipts": [
            [(receipt.state_root, receipt.gas_used) for receipt in chain.receipts(block)]
            for block in blocks
            if block is not None
        ],
        "logs": chain.logs(LogQuery(0, chain.block_number)),
    }


def test_a_reopened_chain_is_the_same_chain(tmp_path: Path) -> None:
    clock = FrozenClock(START)
    with LocalChain.open(tmp_path, clock=clock) as chain:
        registry = _populate(chain)
        before = _fingerprint(chain)
    clock.advance(3600)  # restarting later must not change old blocks
    with LocalChain.open(tmp_path, clock=clock) as chain:
        assert _fingerprint(chain) == before
        set_attribute(chain, registry, dev(0), 4, b"did/svc/Hub", b"after restart")
        assert chain.block_number == before["number"] + 1
        assert chain.head().timestamp == START + 3600
    with pytest.raises(ChainError, match="closed"):  # nothing may be mined that the journal would not keep
        set_attribute(chain, registry, dev(0), 5, b"did/svc/Hub", b"after close")


def test_genesis_is_written_once_and_the_chain_id_must_match(tmp_path: Path) -> None:
    with LocalChain.open(tmp_path, chain_id=4242) as chain:
        assert chain.chain_id == 4242
    genesis = json.loads((tmp_path / GENESIS_FILE).read_text())
    assert genesis["chain_id"] == 4242 and genesis["format"] == "govssi-chain/1"
    with LocalChain.open(tmp_path) as chain:  # no --chain-id: whatever the data dir holds
        assert chain.chain_id == 4242
    with pytest.raises(ChainStorageError) as mismatch:
        LocalChain.open(tmp_path, chain_id=1337)
    assert mismatch.value.reason == "chain_id_mismatch"


def test_only_one_node_may_open_a_data_dir(tmp_path: Path) -> None:
    with LocalChain.open(tmp_path), pytest.raises(ChainStorageError) as in_use:
        LocalChain.open(tmp_path)
    assert in_use.value.reason == "data_dir_in_use"
    LocalChain.open(tmp_path).close()  # released on close


def test_a_torn_last_record_is_dropped(tmp_path: Path) -> None:
    """A crash mid-write leaves a partial last line: that transaction was never acknowledged, so it is cut off."""
    with LocalChain.open(tmp_path) as chain:
        _populate(chain)
        before = _fingerprint(chain)
    journal = tmp_path / JOURNAL_FILE
    size = journal.stat().st_size
    with open(journal, "ab") as fh:
        fh.write(b'{"number":5,"timestamp":1,"tx":"0x02f8')
    with LocalChain.open(tmp_path) as chain:
        assert _fingerprint(chain) == before
    assert journal.stat().st_size == size


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda lines: [lines[0], b"not json\n", *lines[2:]], "journal_corrupt"),
        (lambda lines: [lines[0], *lines[2:]], "journal_corrupt"),  # a record missing: numbers out of order
        (lambda lines: [lines[0], lines[1].replace(b'"hash":"0x', b'"hash":"0x00', 1)], "journal_corrupt"),
        (lambda lines: [lines[0], _retimed(lines[1])], "journal_diverged"),
    ],
)
def test_a_damaged_journal_is_refused(tmp_path: Path, damage: Any, reason: str) -> None:
    """Never serve a different chain: damage other than a torn tail stops the node with a clear error."""
    with LocalChain.open(tmp_path) as chain:
        _populate(chain)
    journal = tmp_path / JOURNAL_FILE
    journal.write_bytes(b"".join(damage(journal.read_bytes().splitlines(keepends=True))))
    with pytest.raises(ChainStorageError) as refused:
        LocalChain.open(tmp_path)
    assert refused.value.reason == reason


def _retimed(line: bytes) -> bytes:
    record = json.loads(line)
    record["timestamp"] += 1  # a different timestamp gives a different block hash than the one recorded
    return json.dumps(record).encode() + b"\n"


@settings(max_examples=100, deadline=None)
@given(garbage=st.binary(min_size=1, max_size=200))
def test_arbitrary_bytes_after_the_records_never_crash_open(garbage: bytes) -> None:
    """Whatever follows the good records, opening either drops a torn tail or refuses with ChainStorageError."""
    with tempfile.TemporaryDirectory() as directory:
        journal_path = Path(directory) / JOURNAL_FILE
        journal_path.write_bytes(_GOOD_JOURNAL + garbage)
        try:
            journal = BlockJournal.open(journal_path)
        except ChainStorageError:
            return
        try:
            assert [record.to_line() for record in journal.records] == _GOOD_JOURNAL.splitlines(keepends=True)
            assert journal_path.read_bytes() == _GOOD_JOURNAL
        finally:
            journal.close()


def _good_journal() -> bytes:
    chain = LocalChain.in_memory(clock=FrozenClock(START))
    deploy_registry(chain)
    return b"".join(record.to_line() for record in chain._history)


_GOOD_JOURNAL = _good_journal()


def test_blocks_without_genesis_are_refused(tmp_path: Path) -> None:
    with LocalChain.open(tmp_path) as chain:
        _populate(chain)
    (tmp_path / GENESIS_FILE).unlink()
    with pytest.raises(ChainStorageError) as refused:
        LocalChain.open(tmp_path)
    assert refused.value.reason == "genesis_missing"


def test_a_failed_journal_write_undoes_the_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the record cannot be made durable the transaction is refused and the chain is as before (disk full...)."""
    with LocalChain.open(tmp_path) as chain:
        registry = _populate(chain)
        before = _fingerprint(chain)

        def no_space(fd: int) -> None:
            raise OSError(28, "No space left on device")

        with monkeypatch.context() as patch:
            patch.setattr(os, "fsync", no_space)
            with pytest.raises(ChainStorageError) as failed:
                set_attribute(chain, registry, dev(0), 4, b"did/svc/Hub", b"lost")
        assert failed.value.reason == "journal_write"
        assert _fingerprint(chain) == before
        set_attribute(chain, registry, dev(0), 4, b"did/svc/Hub", b"kept")  # the same nonce again: it never happened
    with LocalChain.open(tmp_path) as chain:
        assert chain.block_number == before["number"] + 1


# -- kill -9 -----------------------------------------------------------------------------------------------------


class _Node:
    """``govssi ledger node`` in a subprocess on a free port."""

    def __init__(self, data_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GOVSSI_")}
        self.process = subprocess.Popen(
            [*GOVSSI, "ledger", "node", "--port", "0", "--data-dir", str(data_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        ready = _read_line(self.process, timeout=30)
        self.ready = json.loads(ready)
        self.w3 = Web3(Web3.HTTPProvider(self.ready["rpc_url"], request_kwargs={"timeout": 10}))

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._close_pipes()

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=10)
        self._close_pipes()
        return code

    def _close_pipes(self) -> None:
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(process.stdout.readline() if process.stdout else ""))
    reader.start()
    reader.join(timeout)
    if not result or not result[0]:
        process.kill()
        stderr = process.stderr.read() if process.stderr else ""
        raise AssertionError(f"node did not become ready: {stderr[-2000:]}")
    return result[0]


@pytest.fixture
def nodes() -> Iterator[list[_Node]]:
    started: list[_Node] = []
    yield started
    for node in started:
        if node.process.poll() is None:
            node.kill()


def _send(w3: Web3, raw: bytes) -> bytes:
    return bytes(w3.eth.send_raw_transaction(raw))


def test_kill_9_loses_no_confirmed_transaction(tmp_path: Path, nodes: list[_Node]) -> None:
    """Start ``govssi ledger node``, send transactions over JSON-RPC, kill -9 it while a sender is still sending,
    restart: same block number, block hashes, state, receipts and logs; every acknowledged hash has its receipt."""
    node = _Node(tmp_path)
    nodes.append(node)
    assert node.ready["chain_id"] == 1337 and node.ready["block_number"] == 0
    w3 = node.w3
    account = dev(0)
    deploy = _send(w3, signed(account, nonce=0, data=bytes.fromhex(ARTIFACT.bytecode[2:])))
    registry = w3.eth.get_transaction_receipt(deploy)["contractAddress"]

    acknowledged: list[bytes] = []
    stop = threading.Event()

    def sender() -> None:
        nonce = 1
        while not stop.is_set():
            data = abi_call("setAttribute", account.address, b"did/svc/Hub".ljust(32, b"\0"), b"%d" % nonce, 86_400)
            try:
                acknowledged.append(_send(w3, signed(account, nonce=nonce, to=registry, data=data, gas=200_000)))
            except Exception:
                return  # the node died under us: that transaction was not acknowledged
            nonce += 1

    thread = threading.Thread(target=sender)
    thread.start()
    deadline = time.monotonic() + 15
    while len(acknowledged) < 15 and time.monotonic() < deadline:
        time.sleep(0.05)
    node.kill()  # mid-stream: the sender is still sending
    stop.set()
    thread.join(timeout=15)
    assert len(acknowledged) >= 15

    restarted = _Node(tmp_path)
    nodes.append(restarted)
    w3 = restarted.w3
    number = w3.eth.block_number
    # The deployment plus every acknowledged transaction, and perhaps the one in flight (durable, not yet answered).
    assert len(acknowledged) + 1 <= number <= len(acknowledged) + 2
    for tx_hash in [deploy, *acknowledged]:
        receipt = w3.eth.get_transaction_receipt(tx_hash)
        assert receipt["status"] == 1
        assert w3.eth.get_block(receipt["blockNumber"])["hash"] == receipt["blockHash"]
    contract = w3.eth.contract(address=registry, abi=ARTIFACT.abi)
    logs = contract.events.DIDAttributeChanged().get_logs(from_block=0)
    assert len(logs) == number - 1
    assert int(contract.functions.changed(account.address).call()) == number

    # A clean stop and a third start serve the very same chain.
    hashes = [w3.eth.get_block(n)["hash"] for n in range(number + 1)]
    state_root = w3.eth.get_block("latest")["stateRoot"]
    assert restarted.terminate() == 0
    third = _Node(tmp_path)
    nodes.append(third)
    assert third.ready["block_number"] == number
    assert [third.w3.eth.get_block(n)["hash"] for n in range(number + 1)] == hashes
    assert third.w3.eth.get_block("latest")["stateRoot"] == state_root
    assert third.terminate() == 0
