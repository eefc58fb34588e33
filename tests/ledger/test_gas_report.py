"""Gas per contract call (issue 4: "report gas per call"; issue 5: "gas figures"), measured from receipts on the
in-process EVM."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from ledger import gas_report
from ledger.contracts import DID_REGISTRY, STATUS_LIST_ANCHOR, TRUSTED_ISSUER_REGISTRY, load_artifact
from ledger.gas_report import GasFigure


@pytest.fixture(scope="module")
def figures() -> list[GasFigure]:
    return gas_report.measure_gas()


def _nonpayable(contract: str) -> set[str]:
    abi = load_artifact(contract).abi
    return {e["name"] for e in abi if e["type"] == "function" and e["stateMutability"] == "nonpayable"}


def test_every_state_changing_function_is_measured(
    figures: list[GasFigure], record_property: Callable[[str, object], None]
) -> None:
    """Each nonpayable function of every contract's ABI appears in its table; the tables go into the report."""
    table = gas_report.format_table(figures)
    print("\n" + table)
    record_property("gas_report", table)
    did_registry = {(f.function, f.case) for f in figures if f.contract == DID_REGISTRY}
    assert did_registry == {("deploy", "deploy")} | {
        (name, case) for name in _nonpayable(DID_REGISTRY) for case in ("first change", "later change")
    }
    trust = {f.function.split(" (")[0] for f in figures if f.contract == TRUSTED_ISSUER_REGISTRY}
    assert trust == (_nonpayable(TRUSTED_ISSUER_REGISTRY) - {"vote"}) | {"deploy"}
    for figure in figures:
        if figure.contract == TRUSTED_ISSUER_REGISTRY and figure.function.startswith("propose"):
            cases = {f.case for f in figures if f.function == figure.function}
            assert cases == {"proposal", "other vote", "deciding vote"}  # every proposal kind is voted on
    anchor = {f.function.split(" ")[0] for f in figures if f.contract == STATUS_LIST_ANCHOR}
    assert anchor == _nonpayable(STATUS_LIST_ANCHOR) | {"deploy"}
    for figure in figures:
        assert figure.case in gas_report.CASES[figure.contract]


def test_gas_figures_are_plausible(figures: list[GasFigure]) -> None:
    """Every call costs more than a plain transfer and stays far below a block; a later change is cheaper than the
    first (its storage slots are no longer zero); batching makes each anchor cheaper. Bounds are loose guards against
    accidental blow-ups."""
    by_key = {(f.contract, f.function, f.case): f.gas_used for f in figures}
    assert 500_000 < by_key[DID_REGISTRY, "deploy", "deploy"] < 2_000_000
    for (contract, function, case), gas in by_key.items():
        if case == "deploy" or "(total)" in function:
            assert gas < 15_000_000, (contract, function, gas)
            continue
        # a transaction costs at least 21,000; one list's share of a batch less
        assert (5_000 if "(per list)" in function else 21_000) < gas < 1_000_000, (contract, function, case, gas)
        if case == "first change":
            assert by_key[contract, function, "later change"] < gas
        if case == "first version":
            assert by_key[contract, function, "later version"] < gas
    anchor = STATUS_LIST_ANCHOR
    for case in ("first version", "later version"):
        single = by_key[anchor, "anchor", case]
        per_list = [by_key[anchor, f"anchorBatch x{n} (per list)", case] for n in gas_report.BATCH_SIZES]
        assert single > per_list[0] > per_list[1]


def test_gas_report_command(
    figures: list[GasFigure], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m ledger.gas_report`` prints one table per contract; ``--json`` the figures as a JSON array."""
    monkeypatch.setattr(gas_report, "measure_gas", lambda: figures)
    assert gas_report.main([]) == 0
    out = capsys.readouterr().out
    tables = out.strip().split("\n\n")
    assert [table.split()[0] for table in tables] == [DID_REGISTRY, TRUSTED_ISSUER_REGISTRY, STATUS_LIST_ANCHOR]
    assert tables[0].splitlines()[0].split()[1:] == ["deploy", "first", "change", "later", "change"]
    assert "changeOwnerSigned" in tables[0] and "proposeAccreditation" in tables[1] and "anchorBatch" in tables[2]
    assert gas_report.main(["--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"function": f.function, "case": f.case, "gas_used": f.gas_used, "contract": f.contract} for f in figures
    ]
