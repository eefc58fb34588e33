"""Gas per ERC-1056 registry call (issue 4: "report gas per call"), measured from receipts on the in-process EVM."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from ledger import gas_report
from ledger.contracts import DID_REGISTRY, load_artifact
from ledger.gas_report import GasFigure


@pytest.fixture(scope="module")
def figures() -> list[GasFigure]:
    return gas_report.measure_gas()


def test_every_state_changing_function_is_measured(
    figures: list[GasFigure], record_property: Callable[[str, object], None]
) -> None:
    """Each nonpayable function of the ABI appears as a first and a later change; the table goes into the report."""
    table = gas_report.format_table(figures)
    print("\n" + table)
    record_property("gas_report", table)
    functions = {e["name"] for e in load_artifact(DID_REGISTRY).abi if e.get("stateMutability") == "nonpayable"}
    measured = {(f.function, f.case) for f in figures}
    assert measured == {("deploy", "deploy")} | {
        (name, case) for name in functions for case in ("first change", "later change")
    }


def test_gas_figures_are_plausible(figures: list[GasFigure]) -> None:
    """Every call costs more than a plain transfer and stays far below a block; a later change is cheaper than the
    first (its storage slots are no longer zero). Bounds are loose guards against accidental blow-ups."""
    by_key = {(f.function, f.case): f.gas_used for f in figures}
    assert 500_000 < by_key["deploy", "deploy"] < 2_000_000
    for (function, case), gas in by_key.items():
        if case == "deploy":
            continue
        assert 21_000 < gas < 150_000, (function, case, gas)
        if case == "first change":
            assert by_key[function, "later change"] < gas


def test_gas_report_command(
    figures: list[GasFigure], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m ledger.gas_report`` prints the table; ``--json`` the figures as a JSON array."""
    monkeypatch.setattr(gas_report, "measure_gas", lambda: figures)
    assert gas_report.main([]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["function", "deploy", "first", "change", "later", "change"]
    assert "changeOwnerSigned" in out
    assert gas_report.main(["--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"function": f.function, "case": f.case, "gas_used": f.gas_used} for f in figures
    ]
