"""The PoA benchmark keeps working on a tiny configuration (3 validators, a handful of transactions, a backlog of 12
blocks). Figures are never asserted; what is checked is the workload's own accounting: every transaction sent was
mined and reached the finality depth for 3 signers, and the restarted node caught up with the others' head."""

from __future__ import annotations

import json

import pytest

from bench import poa_bench
from ledger.client.finality import clique_finality_depth

pytestmark = pytest.mark.slow


def test_command_line_json(capsys: pytest.CaptureFixture[str]) -> None:
    arguments = ["--validators", "3", "--transactions", "6", "--senders", "2", "--backlog", "12"]
    assert poa_bench.main([*arguments, "--block-seconds", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["network"] == {"validators": 3, "period_s": 1}
    txs = report["transactions"]
    assert txs["transactions"] == 6 and txs["senders"] == 2 and txs["final_depth"] == clique_finality_depth(3)
    assert txs["blocks_used"] >= 1 and txs["depth_1"]["tx_per_s"] > 0 and txs["final"]["tx_per_s"] > 0
    presigned = txs["presigned"]  # the second round, pre-signed and delivered raw over the nodes
    assert presigned["transactions"] == 6 and presigned["final_depth"] == txs["final_depth"]
    assert presigned["final"]["p50_ms"] >= presigned["depth_1"]["p50_ms"]
    catch_up = report["catch_up"]
    assert catch_up["backlog"] == 12 and catch_up["target_height"] >= 12
    assert "catch-up of" in poa_bench.format_table(report)


def test_refuses_impossible_configurations() -> None:
    with pytest.raises(SystemExit):
        poa_bench.main(["--senders", "11"])
