"""The PID benchmark keeps working: it starts ``govssi issuer serve`` with the PID provider role and runs complete
PID issuances through the eID card. Figures are never asserted; the workload's own counts are (every measured
issuance, plus the three warm-up ones, stored one PID in the wallet)."""

from __future__ import annotations

import json

import pytest

from bench import pid_bench


@pytest.mark.slow
def test_command_line_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--no-pin: the test process must keep its CPU affinity."""
    assert pid_bench.main(["--iterations", "2", "--batch", "2", "--json", "--no-pin"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["issuances"]["iterations"] == 2 and report["batch"] == 2
    assert report["workload"]["issued_total"] == report["workload"]["held_by_wallet"] == 2 + 3
    assert report["issuances"]["ops_per_s"] > 0
    assert "issuances/s" in pid_bench.format_table(report)
