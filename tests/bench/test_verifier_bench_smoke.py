"""The verifier benchmark keeps working: worker processes on one socket, Redis sessions, the open-loop generator,
full OIDC logins and the profile, in a tiny configuration. Nothing is timed or compared (figures are never asserted);
what is checked is that every request was answered 200 and every login ended with an ID Token."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from bench import verifier_bench


@pytest.mark.slow
def test_command_line_json(capsys: pytest.CaptureFixture[str], redis_prefix: tuple[str, str]) -> None:
    url, prefix = redis_prefix
    code = verifier_bench.main(
        [
            "--workers", "1", "--seconds", "0.5", "--start-rate", "20", "--max-rate", "20",
            "--login-clients", "1", "--login-seconds", "0.5",
            "--profile", "--profile-calls", "20", "--top", "5", "--profile-rate", "20", "--profile-seconds", "0.5",
            "--redis-url", url, "--redis-prefix", prefix, "--json",
        ]
    )  # fmt: skip
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    (step,) = report["direct_post"]["steps"]
    assert step["sent"] == 10 and step["errors"] == 0 and step["ok"] == 10
    assert step["server_cpu_ms"] is None or step["server_cpu_ms"] >= 0
    assert report["http_floor"]["errors"] == 0 and report["store_roundtrip"]["p50_ms"] > 0
    login = report["oidc_login"]
    assert login["failures"] == 0 and login["logins"] >= 1
    assert report["profile"]["calls"] == 20 and "function calls" in report["profile"]["top"]
    assert step["p50_ms"] <= step["p90_ms"] <= step["p99_ms"] and step["generator_cpu_ms"] >= 0
    spy = report["worker_profile"]  # py-spy when installed, else a note saying so
    assert spy["available"] is False or (spy["errors"] == 0 and spy["busy_samples"] > 0 and spy["buckets"])
    assert "direct_post verifications" in verifier_bench.format_table(report)
    assert report["verify_on_event_loop"] is False  # the product's default: the worker's verification threads


@pytest.mark.slow
def test_sql_session_store_on_postgresql(capsys: pytest.CaptureFixture[str], postgres_url: str) -> None:
    """Two workers sharing sessions through the SQL store on PostgreSQL (its own table, dropped afterwards)."""
    code = verifier_bench.main(
        [
            "--workers", "2", "--seconds", "0.5", "--start-rate", "20", "--max-rate", "20",
            "--login-clients", "0", "--store", "postgres", "--postgres-url", postgres_url, "--json",
            "--verify-on-event-loop",
        ]
    )  # fmt: skip
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    (step,) = report["direct_post"]["steps"]
    assert report["store"] == "postgres" and step["ok"] == 10 and step["errors"] == 0
    assert report["verify_on_event_loop"] is True
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        tables = sa.inspect(conn).get_table_names()
    engine.dispose()
    assert not [t for t in tables if t.startswith("bench_ephemeral_")]


def test_worker_profile_samples_are_summarised_by_bucket() -> None:
    """py-spy's raw (collapsed) stacks: idle threads left out, each sample in the first bucket found on its stack."""
    lines = [
        "thread (1);WorkerThread.run (anyio/_backends/_asyncio.py:1);PresentationService.handle_response "
        "(verifier/service.py:373);RedisEphemeralStore.get (infra/ephemeral.py:196);Redis.get (redis/client.py:9) 3",
        "thread (1);WorkerThread.run (anyio/_backends/_asyncio.py:1);PresentationService.handle_response "
        "(verifier/service.py:380);verify_vp_token (verifier/presentations.py:336) 1",
        "thread (2);Thread._bootstrap (threading.py:1);Condition.wait (threading.py:320) 6",
        "not a sample",
    ]
    summary = verifier_bench.summarise_samples(lines, 3)
    assert summary["busy_samples"] == 4 and summary["idle_samples"] == 6
    assert dict(summary["buckets"]) == {
        "session store (client and round trips)": 75.0,
        "credential checks (verify_vp_token)": 25.0,
    }
    assert summary["self"][0] == ("Redis.get (redis/client.py)", 75.0)


def test_rate_search_bisects_between_the_last_pass_and_the_first_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """The search grows the rate by ``step`` until a step fails, then ``refine`` bisection steps narrow the highest
    passing rate (a server that keeps p99 under the limit below 1 000/s, simulated; nothing is measured)."""
    offered: list[float] = []

    async def fake_open_loop(host: str, port: int, requests: list[bytes], rate: float, connections: int) -> object:
        offered.append(rate)
        p99 = 5.0 if rate < 1000 else 80.0
        return verifier_bench.StepResult(rate, len(requests), len(requests), 0, rate, 2.0, p99, p99)

    monkeypatch.setattr(verifier_bench, "_open_loop", fake_open_loop)
    monkeypatch.setattr(verifier_bench, "prepare", lambda service, material, count, host: [b""] * count)
    monkeypatch.setattr(verifier_bench, "cpu_seconds", lambda pids: None)
    common = {"url": "http://127.0.0.1:9", "step": 2.0, "max_rate": 5000.0, "seconds": 0.01, "connections": 1}
    steps = verifier_bench.direct_post_search(None, None, start=200, refine=2, **common)  # type: ignore[arg-type]
    # warm-up at 200/s, then 200, 400, 800, 1 600 (fails), 1 200 (fails), 1 000 (fails)
    assert offered == [200, 200, 400, 800, 1600, 1200, 1000]
    assert [step.passed for step in steps] == [True, True, True, False, False, False]
    offered.clear()
    steps = verifier_bench.direct_post_search(None, None, start=300, refine=3, **common)  # type: ignore[arg-type]
    # 300, 600, 1 200 (fails); 900 passes, 1 050 fails, 975 passes
    assert [step.rate for step in steps] == [300, 600, 1200, 900, 1050, 975]
    assert max(step.rate for step in steps if step.passed) == 975
    offered.clear()
    no_refine = verifier_bench.direct_post_search(None, None, start=300, refine=0, **common)  # type: ignore[arg-type]
    assert [step.rate for step in no_refine] == [300, 600, 1200]
