"""The ledger benchmark keeps working: it starts ``govssi ledger node``, builds the did:ethr with its history, and runs
every measurement a few times. Nothing here is timed or compared (figures are never asserted in tests); the
workload's own checks (the document, the request counts, the sender's nonce) are what is tested."""

from __future__ import annotations

import json

import pytest

from bench import ledger_bench
from bench.ledger_bench import RESOLUTION_ROWS, TRANSACTION_ROWS, format_table, measure_threads


def test_measure_threads_counts_every_operation() -> None:
    calls: list[int] = []
    m = measure_threads(lambda: calls.append(1), threads=4, seconds=10, iterations=20)
    assert m.iterations == len(calls) == 20
    assert m.p50_us <= m.p99_us


def test_measure_threads_reports_a_failure() -> None:
    def fail() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        measure_threads(fail, threads=2, seconds=1, iterations=5)


def test_command_line_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--no-pin: the test process must keep its CPU affinity."""
    assert ledger_bench.main(["--iterations", "3", "--json", "--no-pin"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["environment"]["cpu"] is None and report["environment"]["node_cpu"] is None
    assert set(report["resolution"]) == set(RESOLUTION_ROWS)
    assert set(report["transactions"]) == set(TRANSACTION_ROWS)
    assert report["transactions"]["threads"]["iterations"] == 3
    work = report["workload"]
    assert work["history_blocks"] == 7 and work["verification_methods"] == 5
    # uncached: the head, its block, changed(identity), and per history block its logs and its block
    assert work["json_rpc_requests"]["uncached"] == {
        "eth_blockNumber": 1,
        "eth_getBlockByNumber": 8,
        "eth_call": 1,
        "eth_getLogs": 7,
    }
    assert work["json_rpc_requests"]["cached"] == {"eth_blockNumber": 1}
    assert set(report["targets"]) == {"cached_p50_us", "uncached_p99_us"}
    table = format_table(report)
    assert "did:ethr resolve, uncached" in table and "targets: cached p50" in table


def test_command_line_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert ledger_bench.main(["--profile", "cached", "--profile-count", "3", "--no-pin"]) == 0
    assert "cProfile over 3 cached resolutions" in capsys.readouterr().out
