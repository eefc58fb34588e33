"""``govssi wallet eid`` in subprocesses, as scripts use it: JSON on stdout, one human line on stderr, exit 0 ok,
1 refused, 2 usage; the cards' state persists between processes in the wallet's directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import Runner


def _json(out: str) -> Any:
    return json.loads(out)


def test_cards_lists_every_test_card_with_its_test_secrets(govssi: Runner, tmp_path: Path) -> None:
    wallet = tmp_path / "wallet"
    result = govssi("wallet", "--data-dir", str(wallet), "eid", "cards")
    assert result.returncode == 0, result.stderr
    listed = {card["id"]: card for card in _json(result.stdout)["cards"]}
    assert {"erika", "oeztuerk", "weiss", "haddad", "dubois", "leon", "schmidt", "meier"} <= set(listed)
    erika = listed["erika"]
    assert erika["name"] == "ERIKA MUSTERMANN" and erika["state"] == "transport_pin"
    assert (erika["transport_pin"], erika["can"], erika["puk"]) == ("13579", "246801", "1357924680")
    assert listed["oeztuerk"]["name"] == "GÜL ÖZTÜRK"  # UTF-8 on stdout, not \u escapes
    assert "GÜL ÖZTÜRK" in result.stdout
    assert listed["meier"]["state"] == "blocked" and listed["schmidt"]["expired"] is True
    assert result.stderr.count("\n") == 1
    assert (wallet / "eid" / "cards" / "erika.json").is_file()


def test_wallet_dir_from_the_environment(govssi: Runner, tmp_path: Path) -> None:
    result = govssi("wallet", "eid", "cards", env={"GOVSSI_WALLET_DIR": str(tmp_path / "w")})
    assert result.returncode == 0, result.stderr
    assert _json(result.stdout)["data_dir"] == str(tmp_path / "w" / "eid")


def test_change_pin_with_retry_counter_and_can(govssi: Runner, tmp_path: Path) -> None:
    """Two wrong transport PINs (each process sees the previous one's count), then the CAN is needed."""
    base = ("wallet", "--data-dir", str(tmp_path / "wallet"), "eid")
    for left in (2, 1):
        result = govssi(*base, "change-pin", "--card", "erika", "--old", "00000", "--new", "123456")
        assert result.returncode == 1
        assert _json(result.stdout)["error"] == "eid_wrong_pin"
        assert f"{left} tr" in result.stderr or "one try left" in result.stderr
    result = govssi(*base, "change-pin", "--card", "erika", "--old", "13579", "--new", "123456")
    assert result.returncode == 1 and _json(result.stdout)["error"] == "eid_can_required"
    result = govssi(*base, "change-pin", "--card", "erika", "--old", "13579", "--new", "123456", "--can", "246801")
    assert result.returncode == 0, result.stdout
    assert _json(result.stdout) == {"card": "erika", "changed": True, "state": "active", "retry_counter": 3}
    result = govssi(*base, "change-pin", "--card", "erika", "--old", "123456", "--new", "12345")
    assert result.returncode == 1 and _json(result.stdout)["error"] == "eid_pin_format"


def test_unblock_with_the_puk(govssi: Runner, tmp_path: Path) -> None:
    base = ("wallet", "--data-dir", str(tmp_path / "wallet"), "eid")
    result = govssi(*base, "unblock", "--card", "meier", "--puk", "0000000000")
    assert result.returncode == 1 and _json(result.stdout)["error"] == "eid_wrong_puk"
    result = govssi(*base, "unblock", "--card", "meier", "--puk", "1414213562")
    assert result.returncode == 0, result.stdout
    assert _json(result.stdout) == {
        "card": "meier",
        "unblocked": True,
        "state": "active",
        "retry_counter": 3,
        "puk_uses_left": 8,
    }
    result = govssi(*base, "reset", "--card", "meier")
    assert result.returncode == 0 and _json(result.stdout)["state"] == "blocked"  # as the test citizen is issued


def test_refusals_and_usage_errors(govssi: Runner, tmp_path: Path) -> None:
    base = ("wallet", "--data-dir", str(tmp_path / "wallet"), "eid")
    result = govssi(*base, "unblock", "--card", "nobody", "--puk", "1234567890")
    assert result.returncode == 1 and _json(result.stdout)["error"] == "unknown_card"
    assert "erika" in _json(result.stdout)["error_description"]
    result = govssi(*base, "change-pin", "--card", "erika", "--old", "13579")
    assert result.returncode == 2 and result.stdout == ""
    assert "--new" in result.stderr
    result = govssi(*base, "smart-eid", "--card", "erika", "--card-pin", "1", "--pin", "2", "--level", "medium")
    assert result.returncode == 2


def test_smart_eid_setup_and_pki(govssi: Runner, tmp_path: Path) -> None:
    base = ("wallet", "--data-dir", str(tmp_path / "wallet"), "eid")
    assert govssi(*base, "change-pin", "--card", "erika", "--old", "13579", "--new", "123456").returncode == 0
    result = govssi(*base, "smart-eid", "--card", "erika", "--card-pin", "123456", "--pin", "654321")
    assert result.returncode == 0, result.stdout + result.stderr
    smart = _json(result.stdout)["smart_eid"]
    assert (smart["card"], smart["state"], smart["level_of_assurance"]) == ("erika", "active", "substantial")
    result = govssi(*base, "pki")
    assert result.returncode == 0
    files = _json(result.stdout)["files"]
    assert Path(files["csca"]).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert "DECVCAGOV00001" in Path(files["readme"]).read_text()
