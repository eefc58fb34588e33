"""Every chain write goes through ``ledger.client`` with a ``ChainSigner`` (issue 4, "Client": "Keys for chain accounts
behind the Signer protocol (secp256k1)"), and no project code hands a private key to eth-account.

- a static check over ``ledger/`` and ``govssi/``: no eth-account account objects (``Account``, ``LocalAccount``), no
  key-based signing calls, no ``.sign_transaction(...)`` on anything but through ``ledger.client.sign_transaction``;
- the client over the in-process chain (``LocalChainProvider``), which ``ledger.did_ethr`` writes through in tests;
- ``EthrDidController`` / ``send_transaction`` / ``deploy_contracts`` send through ``ChainClient.send`` and honour the
  confirmation depth; the old call forms (a ``Web3``, a ``SignerAccount``) are wrapped, not sent around the client.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils.address import to_checksum_address
from node_support import deploy_registry
from web3 import Web3

from ledger.accounts import SoftwareChainAccount
from ledger.client import ChainClient, FailoverPolicy, SoftwareChainSigner, signer_of
from ledger.contracts import DID_REGISTRY, load_artifact
from ledger.deploy import deploy_contracts
from ledger.did_ethr import EthrDidController, EthrDidDriver, ethr_did, send_transaction
from ledger.errors import ChainIdMismatch, TransactionNotConfirmed
from ledger.node import LocalChain, LocalChainProvider
from ssi.clock import FrozenClock
from ssi.errors import ExecutionReverted
from ssi.keys import PrivateKey

ROOT = Path(__file__).resolve().parents[2]
#: eth-account / eth-keys names that hold or use a raw private key.
KEY_HOLDERS = {"Account", "LocalAccount", "PrivateKey"}
KEY_MODULES = ("eth_account", "eth_keys")
#: Calls that sign with (or load) a raw private key in eth-account / eth-keys.
KEY_SIGNING_CALLS = {
    "from_key",
    "from_mnemonic",
    "privateKeyToAccount",
    "sign_msg",
    "sign_msg_hash",
    "sign_msg_hash_non_recoverable",
    "sign_message",
    "sign_typed_data",
    "sign_authorization",
    "unsafe_sign_hash",
    "signHash",
    "_sign_hash",
    "sign_transaction",  # as a method: transactions are signed by ledger.client.sign_transaction(signer, fields)
}
#: Files allowed to import a key holder, and why.
ALLOWED = {
    # Derives the addresses of the published development keys (DEV_MNEMONIC) for the genesis allocation; signs nothing.
    "ledger/node/genesis.py": {"PrivateKey"},
}


def _project_files() -> list[Path]:
    files = [path for package in ("ledger", "govssi", "ssi") for path in sorted((ROOT / package).rglob("*.py"))]
    return [path for path in files if "node_modules" not in path.parts]


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def _violations(path: Path, root: Path = ROOT) -> list[str]:
    relative = path.relative_to(root).as_posix()
    allowed = ALLOWED.get(relative, set())
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=relative)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in KEY_MODULES:
            for alias in node.names:
                if alias.name in KEY_HOLDERS - allowed or (node.module or "").startswith("eth_account.signers"):
                    found.append(f"{relative}:{node.lineno}: imports {node.module}.{alias.name}")
        elif isinstance(node, ast.Attribute) and node.attr in KEY_HOLDERS - allowed:
            if _dotted(node.value).split(".")[0] in KEY_MODULES:
                found.append(f"{relative}:{node.lineno}: uses {_dotted(node)}")
        elif (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in KEY_SIGNING_CALLS
        ):
            found.append(f"{relative}:{node.lineno}: calls .{node.func.attr}(...)")
    return found


def test_no_project_code_hands_a_private_key_to_eth_account() -> None:
    """Issue 4: chain keys sign behind the ChainSigner protocol. No module of ``ledger``, ``govssi`` or ``ssi`` imports
    an eth-account account or an eth-keys private key, or calls a key-based signing method; the one transaction signer
    is ``ledger.client.sign_transaction(signer, fields)`` (eth-account only serializes there)."""
    files = _project_files()
    assert any(path.name == "transactions.py" for path in files) and len(files) > 20
    violations = [violation for path in files for violation in _violations(path)]
    assert violations == []


def test_the_static_check_catches_the_old_software_account(tmp_path: Path) -> None:
    """The check is not vacuous: the former ``SoftwareChainAccount`` (``Account.from_key(d)``) fails it, and so do
    eth-keys private keys reached through a module path."""
    old = tmp_path / "ledger" / "accounts.py"
    old.parent.mkdir()
    old.write_text(
        "import eth_keys\n"
        "from eth_account import Account\n"
        "class SoftwareChainAccount:\n"
        "    def __init__(self, d):\n"
        "        self._account = Account.from_key(d)\n"
        "    def sign_transaction(self, transaction):\n"
        "        return self._account.sign_transaction(dict(transaction)).raw_transaction\n"
        "    def sign(self, d, digest):\n"
        "        return eth_keys.keys.PrivateKey(d)\n"
    )
    assert [line.split(": ", 1)[1] for line in _violations(old, tmp_path)] == [
        "imports eth_account.Account",
        "calls .from_key(...)",
        "calls .sign_transaction(...)",
        "uses eth_keys.keys.PrivateKey",
    ]


def test_signer_of_refuses_key_holding_accounts() -> None:
    """A sender is a ChainSigner or a SignerAccount; an eth-account LocalAccount (a raw key inside) is refused."""
    signer = SoftwareChainSigner.generate()
    assert signer_of(signer) is signer
    account = SoftwareChainAccount(PrivateKey.generate("ES256K"))
    assert signer_of(account) is account.signer
    with pytest.raises(TypeError, match="ChainSigner"):
        signer_of(Account.create())


# -- writes through the client, in process -------------------------------------------------------------------------


@pytest.fixture
def chain() -> tuple[LocalChain, str]:
    local = LocalChain.in_memory(1337, clock=FrozenClock(1_750_000_000))
    return local, str(to_checksum_address(deploy_registry(local)))


def test_client_over_the_in_process_chain(chain: tuple[LocalChain, str]) -> None:
    """ChainClient takes a web3 provider as it is (no failover): chain id, code, and a checked chain id."""
    local, registry = chain
    client = ChainClient(LocalChainProvider(local))
    assert client.chain_id == 1337 and client.status() == [] and client.failover is None
    assert client.code(registry) == bytes.fromhex(load_artifact(DID_REGISTRY).deployed_bytecode[2:])
    with pytest.raises(ChainIdMismatch):
        ChainClient.connect(LocalChainProvider(local), chain_id=1)
    with pytest.raises(ValueError, match="failover"):
        ChainClient(LocalChainProvider(local), failover=FailoverPolicy())


def test_did_ethr_changes_are_sent_by_the_client(
    chain: tuple[LocalChain, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """EthrDidController and send_transaction sign with the owner's ChainSigner and send through ChainClient.send,
    also when handed a plain Web3 (wrapped in a client) or a SignerAccount (unwrapped to its signer)."""
    local, registry = chain
    sent: list[str] = []
    original = ChainClient.send

    def counting_send(self: ChainClient, sender: Any, **fields: Any) -> Any:
        sent.append(sender.address)
        return original(self, sender, **fields)

    monkeypatch.setattr(ChainClient, "send", counting_send)
    owner = SoftwareChainSigner.generate()
    ctl = EthrDidController(Web3(LocalChainProvider(local)), registry, owner)
    change = ctl.publish_key(PrivateKey.generate("ES256").public_key)
    assert change.block_number == local.block_number and change.transaction_hash.startswith("0x")
    registry_contract = ctl.client.contract(registry, load_artifact(DID_REGISTRY))
    hub = [owner.address, b"did/svc/Hub".ljust(32, b"\0"), b"https://hub.example", 60]
    data = registry_contract.encode_abi("setAttribute", hub)
    account = SoftwareChainAccount(PrivateKey.generate("ES256K"))
    with pytest.raises(ExecutionReverted):  # not the identity's owner: refused at estimation, nothing sent
        send_transaction(ctl.client, account, registry, bytes.fromhex(data[2:]))
    send_transaction(ctl.client, owner, registry, bytes.fromhex(data[2:]))
    assert sent == [owner.address, account.address, owner.address]
    did = ethr_did(owner.address, 1337)
    now = float(local.head().timestamp)
    document = EthrDidDriver({1337: (ctl.w3, registry)}, clock=lambda: now).resolve(did)
    assert len(document.verification_method) == 2 and len(document.service) == 1


def test_changes_wait_for_the_configured_confirmations(chain: tuple[LocalChain, str]) -> None:
    """``confirmations``: a change returns only once that many blocks are on top of it. The local chain mines a block
    per transaction, so with nothing else sent the wait runs into its deadline: TransactionNotConfirmed (mined, not
    deep enough), never a hang; once another block is mined the same transaction is confirmed."""
    local, registry = chain
    client = ChainClient(LocalChainProvider(local))
    owner = SoftwareChainSigner.generate()
    deep = EthrDidController(client, registry, owner, confirmations=1, timeout=0.3)
    with pytest.raises(TransactionNotConfirmed) as waited:
        deep.set_attribute("did/svc/Hub", b"https://hub.example")
    assert "1 confirmations" in waited.value.description
    mined_in = local.block_number
    EthrDidController(client, registry, owner).set_attribute("did/svc/Hub", b"https://other.example")
    receipt = client.wait_for_receipt(waited.value.transaction_hash, confirmations=1, timeout=1)
    assert receipt["blockNumber"] == mined_in
    with pytest.raises(ValueError):
        EthrDidController(client, registry, owner, confirmations=-1)


def test_deploy_sends_through_the_client(chain: tuple[LocalChain, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """deploy_contracts creates the three contracts with ChainClient.deploy (a Web3 is wrapped, a SignerAccount
    unwrapped) and checks the code."""
    local, _ = chain
    calls: list[int] = []
    original = ChainClient.deploy

    def counting_deploy(self: ChainClient, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ChainClient, "deploy", counting_deploy)
    deployment = deploy_contracts(Web3(LocalChainProvider(local)), SoftwareChainAccount(PrivateKey.generate("ES256K")))
    assert calls == [1, 1, 1] and deployment.chain_id == 1337
    client = ChainClient(LocalChainProvider(local))
    assert client.code(deployment.did_registry) == bytes.fromhex(load_artifact(DID_REGISTRY).deployed_bytecode[2:])
