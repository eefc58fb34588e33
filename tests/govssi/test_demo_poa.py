"""``govssi demo --chain poa`` (issue 13): the whole demo on the PoA network model (ledger.poa) — validators in their
own processes, the contracts bootstrapped through them, the authority anchored and accredited by transactions that
are waited for until final — and the explorer names each block's Clique sealer."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from test_demo_boot import _free_block

from govssi.demo.stack import DemoConfig, DemoError, DemoStack


@pytest.mark.slow
def test_demo_on_the_poa_network_model(tmp_path: Path) -> None:
    base = _free_block(7)
    config = DemoConfig(
        data_dir=tmp_path / "demo",
        start_port=base,
        issuer_port=base + 1,
        verifier_port=base + 2,
        wallet_port=base + 3,
        portal_port=base + 4,
        chain_port=base + 5,
        chain="poa",
        validators=2,
    )
    stack = DemoStack(config)
    info = stack.start()
    try:
        chain = info["chain"]
        assert chain["kind"] == "poa"
        assert chain["rpc_urls"] == [f"http://127.0.0.1:{base + 5}", f"http://127.0.0.1:{base + 6}"]
        # every node answers with the same chain: the validators gossip blocks to each other
        heads = [
            httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "clique_getSigners", "params": []}).json()
            for url in chain["rpc_urls"]
        ]
        assert [sorted(head["result"]) for head in heads] == [sorted(chain["validators"])] * 2
        start = httpx.get(info["start_page"] + "/?lang=en", timeout=20).text
        assert "<td>active</td>" in start  # the cooperative's votes went through the network
        explorer = httpx.get(info["start_page"] + "/explorer?lang=en", timeout=20).text
        assert "no hits" in explorer
        sealers = set(re.findall(r'<td class="mono">(0x[0-9a-fA-F]{40})</td></tr>', explorer))
        assert sealers and sealers <= set(chain["validators"])
        assert httpx.get(info["verifier"]["url"] + "/healthz", timeout=20).status_code == 200
    finally:
        stack.stop()
    for url in chain["rpc_urls"]:  # stopping the demo stops every validator process
        with pytest.raises(httpx.TransportError):
            httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}, timeout=2)


def test_poa_validator_ports_are_checked_before_anything_starts(tmp_path: Path) -> None:
    import socket

    base = _free_block(8)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", base + 7))
        busy.listen()
        config = DemoConfig(
            data_dir=tmp_path / "demo",
            start_port=base,
            issuer_port=base + 1,
            verifier_port=base + 2,
            wallet_port=base + 3,
            portal_port=base + 4,
            chain_port=base + 5,
            chain="poa",
            validators=3,
        )
        with pytest.raises(DemoError, match=f"PoA validator 2 JSON-RPC port {base + 7}"):
            DemoStack(config).start()
    assert not (tmp_path / "demo").exists()
