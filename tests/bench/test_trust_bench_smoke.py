"""The trust benchmark keeps working: it starts ``govssi ledger node``, deploys the development contracts, accredits
issuers and runs every measurement a few times. Nothing here is timed or compared (figures are never asserted in
tests); the workload's own checks (accredited by both keys, one transaction per batch) and the request counts are."""

from __future__ import annotations

import json

import pytest

from bench import trust_bench
from bench.trust_bench import BATCH_SIZES, LOOKUP_ROWS, format_table


@pytest.mark.slow
def test_command_line_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--no-pin: the test process must keep its CPU affinity."""
    assert trust_bench.main(["--iterations", "1", "--issuers", "2", "--json", "--no-pin"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["lookups"]) == set(LOOKUP_ROWS)
    assert set(report["anchoring"]) == {str(size) for size in BATCH_SIZES}
    requests = report["workload"]["json_rpc_requests"]
    assert requests["cached"] == {"eth_blockNumber": 1}
    assert requests["cached_stale"] == {}
    assert requests["uncached"] == {"eth_blockNumber": 1, "eth_call": 1}
    for size, row in report["anchoring"].items():
        assert row["lists_per_tx"] == int(size) and row["gas_per_list"] * int(size) <= row["gas_per_tx"]
    assert report["limits"]["max_batch"] == 512
    table = format_table(report)
    assert "is_accredited, uncached" in table and "anchorBatch x256" in table
