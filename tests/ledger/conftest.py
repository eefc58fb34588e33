"""An in-process chain (eth-tester on py-evm) with the committed ERC-1056 registry artifact deployed.

One chain per test module; every test starts from the snapshot taken right after deployment (eth-tester snapshots),
which is much faster than a new chain per test and just as isolated.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ledger_support import RegistryChain, deploy_registry


@pytest.fixture(scope="module")
def deployed_chain() -> tuple[RegistryChain, int]:
    chain = deploy_registry()
    return chain, chain.tester.take_snapshot()


@pytest.fixture
def chain(deployed_chain: tuple[RegistryChain, int]) -> Iterator[RegistryChain]:
    registry_chain, snapshot = deployed_chain
    registry_chain.tester.revert_to_snapshot(snapshot)
    yield registry_chain
    registry_chain.tester.enable_auto_mine_transactions()
