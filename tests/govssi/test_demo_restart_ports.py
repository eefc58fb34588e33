"""``govssi demo`` started again on a kept data directory with another ``--port-base``.

The municipal issuer's address is inside what it issued and stored: its vct URLs
(``http://127.0.0.1:<port>/issuers/musterstadt/vct/bewohnerparkausweis``) and the status-list URIs in its database and
credentials. Seen by a newcomer: after a run with ``--port-base 9200``, a run with ``--port-base 9300`` on the same
directory kept the old accreditation (the permit was refused with ``issuer_not_accredited_for_type``) and, once that
was re-voted, issued permits whose status list pointed at port 9201 (refused with ``status_unavailable``). The demo now
refuses such a start before anything runs, naming the options that work; and its cooperative votes again whenever the
accreditation no longer covers the types the issuer publishes, as ``ledger dev-accredit`` decides."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from test_demo_boot import _free_block

from govssi.demo.stack import PORTS_RECORD, DemoConfig, DemoError, DemoStack
from ledger.bootstrap import DEV_ADDRESSES
from ledger.client import ChainClient
from ledger.trust import TrustRegistry, describe_issuer

pytestmark = pytest.mark.slow


def _config(data_dir: Path, base: int, *, fresh: bool = False) -> DemoConfig:
    return DemoConfig(
        data_dir=data_dir,
        start_port=base,
        issuer_port=base + 1,
        verifier_port=base + 2,
        wallet_port=base + 3,
        portal_port=base + 4,
        chain_port=base + 5,
        fresh=fresh,
    )


def _two_blocks() -> tuple[int, int]:
    first = _free_block(6)
    second = _free_block(6)
    while abs(second - first) < 6:
        second = _free_block(6)
    return first, second


def _boot(data_dir: Path, base: int, *, fresh: bool = False) -> tuple[dict[str, Any], list[str]]:
    """Boot on the port block at ``base``; the municipal issuer's published types the chain refuses; stop."""
    stack = DemoStack(_config(data_dir, base, fresh=fresh))
    info = stack.start()
    try:
        municipal = describe_issuer(info["issuer"]["credential_issuer"])
        client = ChainClient.connect(info["chain"]["rpc_url"])
        current = TrustRegistry(client, DEV_ADDRESSES.trusted_issuer_registry).accreditation(municipal.did)
        assert current is not None
        now = int(client.w3.eth.get_block("latest")["timestamp"])
        return info, [t for t in municipal.credential_types if not current.permits(t, now)]
    finally:
        stack.stop()


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_a_kept_directory_on_other_ports_is_refused_before_anything_starts(tmp_path: Path) -> None:
    first, second = _two_blocks()
    _boot(tmp_path / "demo", first)
    with pytest.raises(DemoError) as refused:
        DemoStack(_config(tmp_path / "demo", second)).start()
    message = str(refused.value)
    assert f"--port-base {first}" in message and "--fresh" in message and "--data-dir" in message
    assert not any(_listening(port) for port in range(second, second + 6))
    # the remedies work: the same ports again, or --fresh on the new ones
    info, refused_types = _boot(tmp_path / "demo", first)
    assert refused_types == [] and info["start_page"].endswith(f":{first}")
    info, refused_types = _boot(tmp_path / "demo", second, fresh=True)
    assert refused_types == [] and info["start_page"].endswith(f":{second}")


def test_the_cooperative_votes_again_when_the_published_types_changed(tmp_path: Path) -> None:
    """A directory set up before the port record existed, started on other ports: the issuer's vct URLs moved, the
    kept accreditation no longer covers them, so the members accredit the types it publishes now."""
    first, second = _two_blocks()
    before, refused_before = _boot(tmp_path / "demo", first)
    assert refused_before == []
    (tmp_path / "demo" / PORTS_RECORD).unlink()
    after, refused_after = _boot(tmp_path / "demo", second)
    assert after["issuer"]["credential_issuer"] != before["issuer"]["credential_issuer"]
    assert refused_after == []
    permit = f"{after['issuer']['credential_issuer']}/vct/bewohnerparkausweis"
    assert permit in after["issuer"]["accreditation"]["credential_types"]
    assert after["issuer"]["pid_accreditation"]["credential_types"] == ["urn:eudi:pid:de:1"]
