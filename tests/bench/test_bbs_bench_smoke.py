"""The BBS benchmark keeps working: every measurement runs a few iterations. Nothing is timed or compared (figures
are never asserted in tests); the workload's own checks (``check()``) and the report's shape are what is tested."""

from __future__ import annotations

import json

import pytest

from bench import bbs_bench
from bench.bbs_bench import (
    DISCLOSED,
    MESSAGES,
    OPERATIONS,
    OPERATIONS_2023,
    TARGETS_US,
    Bbs2023Workload,
    BbsWorkload,
    format_table,
    profile_operation,
)


def test_workload_is_15_messages_with_5_disclosed() -> None:
    assert len(MESSAGES) == 15 and len(DISCLOSED) == 5
    work = BbsWorkload()
    work.check()
    assert len(work.proof) == 272 + 32 * 10


def test_command_line_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--no-pin: the test process must keep its CPU affinity."""
    assert bbs_bench.main(["--iterations", "2", "--json", "--no-pin"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["environment"]["cpu"] is None
    assert set(report["results"]) == set(OPERATIONS)
    assert all(m["iterations"] == 2 and m["cpu_p50_us"] > 0 for m in report["results"].values())
    assert len(report["primitives"]) == 5
    assert set(report["targets"]) == set(TARGETS_US)
    assert set(report["bbs_2023"]["results"]) == set(OPERATIONS_2023)
    assert any(name.startswith("verify: BBS ProofVerify") for name in report["bbs_2023"]["parts"])
    table = format_table(report)
    assert "ProofVerify" in table and "targets (p50)" in table and "where the time goes" in table


def test_bbs_2023_workload_checks_itself() -> None:
    work = Bbs2023Workload()
    work.check()
    for part in work.parts().values():
        part()


def test_profile_lists_the_pairing() -> None:
    assert "pairing_check" in profile_operation("proof_verify", count=2)
    assert "pairing_check" in profile_operation("verify", count=1, top=40)  # bbs-2023 verify
