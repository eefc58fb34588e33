"""The tables ``govssi demo`` prints on stderr once it is up, rendered as a newcomer sees them: an 80-column terminal
or a log file (rich then renders 80 columns). Every URL, login, API key and directory must be there whole — a value
cut with "…" cannot be opened or pasted (seen: the clerk's API key and the issuer's URLs were cut)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from govssi.cli.demo import identities_table, services_table
from govssi.demo.content import demo_identities
from govssi.demo.stack import DEMO_API_KEY, DEMO_CLERK


def _info(chain: str) -> dict[str, Any]:
    base = "http://127.0.0.1:18100"
    chain_info: dict[str, Any] = (
        {"kind": "dev", "rpc_url": "http://127.0.0.1:18645"}
        if chain == "dev"
        else {
            "kind": "poa",
            "rpc": "http://127.0.0.1:18645,http://127.0.0.1:18646,http://127.0.0.1:18647",
            "rpc_urls": ["http://127.0.0.1:18645", "http://127.0.0.1:18646", "http://127.0.0.1:18647"],
        }
    )
    return {
        "start_page": base,
        "issuer": {
            "credential_issuer": "http://127.0.0.1:18101/issuers/musterstadt",
            "admin_ui": "http://127.0.0.1:18101/admin/musterstadt/",
            "clerk": {"username": DEMO_CLERK[0], "password": DEMO_CLERK[1]},
            "api_key": DEMO_API_KEY,
            "pid_issuer": "http://127.0.0.1:18101/issuers/pid",
        },
        "portal": "http://127.0.0.1:18104/",
        "verifier": {"url": "http://127.0.0.1:18102"},
        "wallet": "http://127.0.0.1:18103/",
        "wallet_dir": "/home/newcomer/.local/share/govssi/demo/wallet",
        "chain": chain_info,
    }


def _render(table: Any, width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None, legacy_windows=False).print(table)
    return out.getvalue()


def _cells(text: str) -> str:
    """The table's text with borders and line breaks removed, so a value folded over lines reads whole again."""
    return re.sub(r"[\s│┃┏┓┗┛┡┩└┘┳┻╇┬┴━─╭╮╰╯]+", "", text)


@pytest.mark.parametrize("chain", ["dev", "poa"])
@pytest.mark.parametrize("width", [80, 100])
def test_every_service_value_is_printed_whole_and_unbroken(chain: str, width: int) -> None:
    """At 80 columns and wider every value stands on one line, uncut (URLs and the API key can be copied)."""
    info = _info(chain)
    data_dir = Path("/home/newcomer/.local/share/govssi/demo")
    text = _render(services_table(info, data_dir, 11.4), width)
    assert "…" not in text
    lines = text.splitlines()
    values = [
        info["start_page"],
        info["issuer"]["credential_issuer"],
        info["issuer"]["admin_ui"],
        DEMO_API_KEY,
        info["issuer"]["pid_issuer"],
        info["portal"],
        info["verifier"]["url"] + "/",
        info["wallet"],
        info["wallet_dir"],
        str(data_dir),
        info["chain"]["rpc_url"] if chain == "dev" else info["chain"]["rpc_urls"][0],
    ]
    for value in values:
        assert any(value in line for line in lines), f"{value} not on one line at {width} columns:\n{text}"
    assert "ready in 11.4 s" in text


def test_a_terminal_narrower_than_a_value_folds_it_instead_of_cutting_it() -> None:
    """Too narrow even for the "where" column: the value is folded over lines, all of its characters shown."""
    info = _info("poa")
    text = _render(services_table(info, Path("/tmp/d"), 1.0), 50)
    assert "…" not in text
    assert DEMO_API_KEY in _cells(text)
    assert info["chain"]["rpc"].replace(",", "") in _cells(text).replace(",", "")


def _column(text: str, index: int) -> str:
    """Column ``index`` of the table's body, top to bottom, whitespace removed: what a reader can piece together."""
    body = [line for line in text.splitlines() if line.startswith("│")]
    return "".join(re.sub(r"\s+", "", line.split("│")[index + 1]) for line in body)


@pytest.mark.parametrize("width", [80, 120])
def test_identities_table_shows_every_test_value_uncut(width: int) -> None:
    """The test identities' PINs, CANs, PUKs and notes are public test values a newcomer types in or reads: no cell
    is cut, each column holds exactly the identities' values in order."""
    text = _render(identities_table(), width)
    assert "…" not in text
    people = demo_identities()
    expected = {
        0: [p["id"] for p in people],
        1: [p["name"] for p in people],
        2: [f"(PIN {p['pin']})" if p["pin"] else p["transport_pin"] for p in people],
        3: [p["can"] for p in people],
        4: [p["puk"] for p in people],
        5: [p["note"] for p in people],
    }
    for index, values in expected.items():
        assert _column(text, index) == "".join(re.sub(r"\s+", "", v) for v in values), (index, text)
