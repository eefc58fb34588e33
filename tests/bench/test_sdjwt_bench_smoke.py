"""The SD-JWT benchmark keeps working: every function runs for a few iterations. Nothing here is timed or compared
(figures are never asserted in tests); the workload's own checks (``check()``) are what is tested."""

from __future__ import annotations

import itertools
import json

import pytest

from bench import sdjwt_bench
from bench.sdjwt_bench import (
    DISCLOSABLE,
    OPERATIONS,
    PID_CLAIMS,
    PRESENTED,
    BenchKeys,
    Es256Limit,
    NewHolders,
    OursWorkload,
    format_profile,
    format_table,
    measure,
    measure_interleaved,
    modules_line,
    profile_operation,
    run_benchmark,
)
from ssi._compiled import MODULES
from ssi.sd_jwt import HeldSdJwt

ITERATIONS = 20


@pytest.fixture(scope="module")
def keys() -> BenchKeys:
    return BenchKeys.generate()


def test_workload_is_a_15_claim_pid_with_19_disclosures(keys: BenchKeys) -> None:
    assert len(PID_CLAIMS) == 15
    assert len(DISCLOSABLE) == 19
    work = OursWorkload(keys)
    work.check()
    held = HeldSdJwt.parse(work.issue())
    assert len(held.disclosed) == 19
    assert held.claims["address"]["locality"] == "KÖLN"
    assert work.verify()["given_name"] == "ERIKA"
    assert len(PRESENTED) == 3


def test_measure_runs_a_fixed_number_of_iterations() -> None:
    calls: list[int] = []
    m = measure(lambda: calls.append(1), iterations=ITERATIONS)
    assert m.iterations == ITERATIONS
    assert len(calls) == ITERATIONS + 3  # three warm-up calls
    assert m.ops_per_s > 0
    assert m.cpu_ops_per_s > 0  # per second of this thread's CPU time
    assert m.p50_us <= m.p99_us


def test_measure_interleaved_takes_turns_and_runs_each_operation_as_often() -> None:
    calls: list[str] = []
    a, b = measure_interleaved([lambda: calls.append("a"), lambda: calls.append("b")], iterations=16)
    assert a.iterations == b.iterations == 16
    measured = calls[6:]  # after three warm-up calls each
    assert sorted(measured) == ["a"] * 16 + ["b"] * 16
    assert measured[:2] == ["a", "a"] and measured[2:4] == ["b", "b"]  # turns of an eighth each
    assert all(m.ops_per_s > 0 and m.cpu_ops_per_s > 0 and m.p50_us <= m.p99_us for m in (a, b))


def test_measure_interleaved_by_time_gives_each_operation_its_seconds() -> None:
    calls: list[str] = []
    ms = measure_interleaved([lambda: calls.append("a"), lambda: calls.append("b")], seconds=0.02, slice_seconds=0.005)
    assert all(m.seconds >= 0.02 for m in ms)
    turns = sum(1 for x, y in itertools.pairwise(calls) if x != y)
    assert turns >= 3  # a, b, a, b, ...


def test_es256_limit_verifies_the_presentation_signatures(keys: BenchKeys) -> None:
    Es256Limit(keys, OursWorkload(keys).presentation).verify_two()


def test_run_benchmark_ours_only(keys: BenchKeys) -> None:
    report = run_benchmark(iterations=ITERATIONS, reference=False, keys=keys, new_holders=0)
    assert set(report["results"]) == {"govssi"}
    assert set(report["results"]["govssi"]) == set(OPERATIONS)
    assert "ratios" not in report
    assert report["es256"]["verify_limit_ops_per_s"] > 0


def test_run_benchmark_with_the_reference_library(keys: BenchKeys) -> None:
    pytest.importorskip("sd_jwt")
    report = run_benchmark(iterations=ITERATIONS, keys=keys, new_holders=3)
    assert set(report["results"]) == {"govssi", "sd-jwt"}
    fresh = report["verify_new_holders"]
    assert fresh["holders"] == 3 and fresh["govssi"]["iterations"] == fresh["sd-jwt"]["iterations"] == ITERATIONS
    assert fresh["ratio_cpu"] > 0
    assert set(report["ratios"]) == set(report["ratios_p50"]) == set(report["ratios_cpu"]) == set(OPERATIONS)
    assert set(report["targets"]) == {"issue", "verify"}
    table = format_table({"environment": sdjwt_bench.environment(None), "seconds": 0, **report})
    assert "govssi / sd-jwt, ops/s" in table
    assert "two-ES256-verifications limit" in table
    assert "verify with a new holder each time (3 holders in turn" in table


def test_new_holders_verify_presentations_of_distinct_holder_keys(keys: BenchKeys) -> None:
    many = NewHolders(keys, 3, reference=False)
    seen = set()
    for _ in range(3):
        claims = many.ours()
        assert claims["given_name"] == "ERIKA"
        seen.add(claims["cnf"]["jwk"]["x"])
    assert len(seen) == 3


@pytest.mark.parametrize("operation", OPERATIONS)
def test_profile_operation(keys: BenchKeys, operation: str) -> None:
    profile = profile_operation(operation, count=5, top=5, keys=keys)
    assert profile["operation"] == operation
    assert len(profile["by_tottime"]) == 5
    assert "top by total (own) time" in format_profile(profile)
    assert set(profile["modules"]) == set(MODULES)
    assert ("invisible to cProfile" in format_profile(profile)) == ("compiled" in profile["modules"].values())


def test_the_table_says_how_govssi_ran() -> None:
    """Figures of the compiled build and of the Python source are not comparable: the table names which ran."""
    compiled = dict.fromkeys(MODULES, "compiled")
    assert modules_line(compiled, "3.2.4") == (
        "govssi SD-JWT/JOSE modules: all 12 compiled (Cython 3.2.4; ssi/_compiled.py)"
    )
    mixed = {**compiled, "ssi.sd_jwt.verify": "python (stale build)", "ssi.encoding": "python (stale build)"}
    assert modules_line(mixed, "3.2.4") == (
        "govssi SD-JWT/JOSE modules: 10 of 12 compiled; 2 run as Python source: python (stale build)"
    )
    assert set(sdjwt_bench.environment(None)["govssi_modules"]) == set(MODULES)


def test_command_line_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--no-pin: the test process must keep its CPU affinity (xdist workers share the machine)."""
    assert sdjwt_bench.main(["--iterations", "5", "--json", "--no-pin", "--no-reference", "--holders", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["environment"]["cpu"] is None
    assert report["workload"]["disclosable"] == 19


def test_command_line_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert sdjwt_bench.main(["--profile", "--profile-count", "3", "--top", "3", "--no-pin"]) == 0
    assert "cProfile over 3 govssi verify operations" in capsys.readouterr().out


@pytest.mark.parametrize("operation", [*OPERATIONS, "limit"])
def test_repeat_runs_one_operation_with_fixed_keys(operation: str) -> None:
    sdjwt_bench.repeat_operation(operation, 2)
    assert BenchKeys.fixed().issuer.public_key == BenchKeys.fixed().issuer.public_key
    assert sdjwt_bench.main(["--repeat", operation, "--count", "1"]) == 0


def test_repeat_of_the_reference_library() -> None:
    pytest.importorskip("sd_jwt")
    sdjwt_bench.repeat_operation("verify", 1, reference=True)
    with pytest.raises(ValueError):
        sdjwt_bench.repeat_operation("sign", 1)
