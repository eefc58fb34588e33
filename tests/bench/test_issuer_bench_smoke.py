"""The issuer benchmark keeps working: it starts ``govssi issuer serve``, creates offers through the admin API and
runs the pre-authorized flow over HTTP at a tiny rate. Nothing here is timed or compared (figures are never asserted
in tests); what is checked is that every flow got its credential, that every request was measured, and that the
search and the profile produce their reports."""

from __future__ import annotations

import asyncio
import gc
import json
import os
from typing import Any

import pytest

from bench import issuer_bench
from bench.issuer_bench import REQUESTS, Wallet, Workload, format_table


@pytest.mark.slow
def test_search_on_sqlite(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--db", "sqlite", "--workers", "1", "--seconds", "1", "--start-rate", "4", "--max-rate", "6"]
    assert issuer_bench.main([*argv, "--json", "--quiet", "--p99-ms", "100000"]) == 0
    report = json.loads(capsys.readouterr().out)
    result = report["databases"]["sqlite"]
    assert [step["rate"] for step in result["steps"]] == [4.0, 6.0]  # ×1.5, then past --max-rate
    for step in result["steps"]:
        assert step["errors"] == 0 and step["completed"] == step["flows"] == round(step["rate"]), step
        assert set(step["latency_ms"]) == set(REQUESTS)
        assert all(0 < step["latency_ms"][name]["p50"] <= step["latency_ms"][name]["max"] for name in REQUESTS)
        assert step["server_cpu_ms_per_credential"] > 0 and step["passed"] is True
    assert result["best_rate"] == 6.0
    table = format_table(report)
    assert "sqlite: highest passing rate 6.0/s" in table


@pytest.mark.slow
def test_profile(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--db", "sqlite", "--profile", "--rate", "5", "--seconds", "1", "--top", "10", "--json"]
    assert issuer_bench.main(argv) == 0
    profile = json.loads(capsys.readouterr().out)
    assert profile["step"]["errors"] == 0 and profile["count"] == profile["step"]["completed"] == 5
    # govssi's own functions by cumulative time, the issuer's request handling among them; no idle waits.
    assert profile["by_cumtime"] and all(
        r["function"].split("/")[0] in ("issuer", "ssi", "infra") for r in profile["by_cumtime"]
    )
    assert any(r["function"].startswith("issuer/") for r in profile["by_cumtime"])
    assert not any("acquire' of '_thread.lock" in r["function"] for r in profile["by_tottime"])
    assert "top by cumulative:" in issuer_bench.format_profile(profile)


@pytest.mark.parametrize("client_loop", ["uvloop", "asyncio"])
def test_no_garbage_collection_in_the_generator_during_a_step(
    monkeypatch: pytest.MonkeyPatch, client_loop: str
) -> None:
    """A step runs with the load generator's collector off (a pause would delay reading every answer in flight and
    count as the server's latency) and turns it back on afterwards, nothing left frozen; on the event loop chosen."""
    seen: list[bool] = []
    loops: list[str] = []

    def prepare(self: Workload, count: int) -> list[Wallet]:
        return [Wallet("code", None, None) for _ in range(count)]

    async def step(self: Workload, wallets: list[Wallet], rate: float) -> Any:
        seen.append(gc.isenabled())
        loops.append(type(asyncio.get_running_loop()).__module__.split(".")[0])
        await asyncio.sleep(0.1)  # a few clock ticks of /proc/stat
        return {name: [0.001] * len(wallets) for name in REQUESTS}, 0, None, 1.0

    monkeypatch.setattr(Workload, "prepare", prepare)
    monkeypatch.setattr(Workload, "_step", step)
    assert gc.isenabled()
    result = Workload("http://127.0.0.1:9/issuer", os.getpid(), client_loop=client_loop).run_step(2.0, 1.0)
    assert seen == [False] and result.passed and result.completed == 2
    assert loops == [client_loop]
    # the machine's busy CPUs during the step, shown in the step's line
    assert result.machine_cores_busy is not None and 0 <= result.machine_cores_busy <= (os.cpu_count() or 1)
    shown = result.to_json()["machine_cores_busy"]  # the line is written from the step's JSON row (rounded there)
    assert f"machine {shown:.2f} cores busy" in issuer_bench.format_step("sqlite", result)
    assert gc.isenabled() and gc.get_freeze_count() == 0
