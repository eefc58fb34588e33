"""``govssi ledger members|propose|vote|accredit|suspend|revoke|status|dev-accredit`` and ``deploy --members``: the
cooperative from the command line (issue 5; stable interface, one JSON object on stdout, exit 0/1/2).

Most commands run in this process (typer's runner) against a bootstrapped local chain served over HTTP; the JSON and
exit-code contract is checked on the real ``govssi`` script too. ``dev-accredit --issuer`` reads a tiny issuer's
metadata (FastAPI on 127.0.0.1) — the two documents the issuer service publishes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import Runner
from cryptography import x509
from fastapi import FastAPI
from typer.testing import CliRunner

from govssi.cli import app
from infra.server import LoopbackServer
from ledger.bootstrap import DEV_ADDRESSES, MEMBERS_DIR, bootstrap_development_chain, dev_member_signers
from ledger.client import ChainClient
from ledger.node import EthereumApi, JsonRpcHandler, LocalChain, LocalChainProvider, RpcServer, serve
from ledger.trust import TrustRegistry
from ssi.keys import PrivateKey, write_key_file
from ssi.x509 import issue_certificate, make_self_signed_ca, spki_sha256, x5c_chain

PID = "urn:eudi:pid:de:1"
RESIDENCE = "https://kba.example/vct/residence"


@dataclass
class Node:
    server: RpcServer
    chain: LocalChain
    members_dir: Path

    @property
    def url(self) -> str:
        return self.server.url

    def key(self, n: int) -> str:
        return str(self.members_dir / f"member-{n}.jwk")

    def registry(self) -> TrustRegistry:
        return TrustRegistry(ChainClient(LocalChainProvider(self.chain)), DEV_ADDRESSES.trusted_issuer_registry)


def _node(tmp_path: Path, chain_id: int) -> Iterator[Node]:
    chain = LocalChain.in_memory(chain_id)
    result = bootstrap_development_chain(ChainClient(LocalChainProvider(chain)), tmp_path)
    server = serve(JsonRpcHandler(EthereumApi(chain)))
    assert result.members_dir is not None
    yield Node(server, chain, result.members_dir)
    server.stop()


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    yield from _node(tmp_path, 1337)


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """Run ``govssi`` in this process; (exit code, the JSON object on stdout or {})."""
    result = CliRunner().invoke(app, list(args), env={"GOVSSI_TRUSTED_ISSUER_REGISTRY": "", **(env or {})})
    out = result.stdout.strip()
    return result.exit_code, json.loads(out) if out.startswith("{") else {}


def ok(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    code, out = cli(*args, env=env)
    assert code == 0, out
    return out


def refused(*args: str) -> str:
    code, out = cli(*args)
    assert code == 1 and set(out) == {"error", "error_description"}, out
    return str(out["error"])


def did_of(label: str) -> str:
    return f"did:web:{label}.example"


def test_members(node: Node) -> None:
    out = ok("ledger", "members", "--rpc", node.url)
    assert out == {
        "registry": DEV_ADDRESSES.trusted_issuer_registry,
        "chain_id": 1337,
        "members": [signer.address for signer in dev_member_signers()],
        "quorum": 2,
        "voting_period": 7 * 86_400,
    }


def test_accredit_vote_and_status(node: Node) -> None:
    spki = "ab" * 32
    proposed = ok(
        "ledger", "accredit", "--rpc", node.url, "--key-file", node.key(1),
        "--did", did_of("kba"), "--types", f"{PID},{RESIDENCE}", "--cert-key-sha256", spki, "--valid-days", "30",
    )  # fmt: skip
    proposal = proposed["proposal"]
    assert proposal["kind"] == "accredit" and proposal["state"] == "open" and proposal["yes"] == 1
    assert proposal["parameters"]["credential_types"] == [PID, RESIDENCE]
    assert proposal["parameters"]["valid_until"] - proposal["parameters"]["valid_from"] == 30 * 86_400
    assert "accreditation_id" not in proposed
    decided = ok("ledger", "vote", str(proposal["id"]), "--rpc", node.url, "--key-file", node.key(2))
    assert decided["proposal"]["state"] == "executed" and decided["accreditation_id"] == 1
    status = ok("ledger", "status", "--rpc", node.url, "--cert-key-sha256", spki, "--type", PID)
    assert status["accreditation"]["did"] == did_of("kba") and status["accreditation"]["status"] == "active"
    assert status["check"]["accredited"] is True and status["check"]["reason"] is None
    later = ok(
        "ledger", "status", "--rpc", node.url, "--did", did_of("kba"), "--type", PID, "--at", "2999-01-01T00:00:00Z"
    )
    assert later["check"]["reason"] == "expired"
    overview = ok("ledger", "status", "--rpc", node.url)
    assert [a["id"] for a in overview["accreditations"]] == [1] and overview["open_proposals"] == []
    assert ok("ledger", "status", "--rpc", node.url, "--proposal", "1")["proposal"]["state"] == "executed"


def test_refusals_carry_the_contracts_code(node: Node, tmp_path: Path) -> None:
    outsider = tmp_path / "outsider.jwk"
    write_key_file(outsider, PrivateKey.generate("ES256K"))
    assert (
        refused("ledger", "propose", "add-member", "0x" + "12" * 20, "--rpc", node.url, "--key-file", str(outsider))
        == "not_member"
    )
    ok("ledger", "propose", "add-member", "0x" + "12" * 20, "--rpc", node.url, "--key-file", node.key(1))
    assert refused("ledger", "vote", "1", "--rpc", node.url, "--key-file", node.key(1)) == "already_voted"
    assert refused("ledger", "vote", "9", "--rpc", node.url, "--key-file", node.key(2)) == "no_proposal"
    assert refused("ledger", "suspend", "--did", did_of("nobody"), "--rpc", node.url, "--key-file", node.key(1)) == (
        "no_accreditation"
    )
    p256 = tmp_path / "p256.jwk"
    write_key_file(p256, PrivateKey.generate("ES256"))
    assert refused("ledger", "vote", "1", "--rpc", node.url, "--key-file", str(p256)) == "wrong_curve"
    empty_chain = LocalChain.in_memory()
    server = serve(JsonRpcHandler(EthereumApi(empty_chain)))
    try:
        assert refused("ledger", "members", "--rpc", server.url) == "no_registry"
    finally:
        server.stop()


def test_membership_suspension_reinstatement_revocation_and_compromise(node: Node) -> None:
    newcomer = "0x" + "34" * 20
    rpc = ["--rpc", node.url]
    proposal = ok("ledger", "propose", "add-member", newcomer, *rpc, "--key-file", node.key(1))["proposal"]
    assert proposal["parameters"] == {"member": "0x3434343434343434343434343434343434343434"}
    voted = ok("ledger", "vote", str(proposal["id"]), "--against", *rpc, "--key-file", node.key(2))
    assert voted["proposal"]["no"] == 1 and voted["proposal"]["state"] == "open"
    rejected = ok("ledger", "vote", str(proposal["id"]), "--against", *rpc, "--key-file", node.key(3))
    assert rejected["proposal"]["state"] == "rejected"

    def decide(*args: str) -> dict[str, Any]:
        opened = ok("ledger", *args, *rpc, "--key-file", node.key(1))
        return ok("ledger", "vote", str(opened["proposal"]["id"]), *rpc, "--key-file", node.key(2))

    decide("accredit", "--did", did_of("kba"), "--types", PID, "--cert-key-sha256", "cd" * 32)
    assert decide("suspend", "--did", did_of("kba"))["proposal"]["kind"] == "suspend"
    check = ok("ledger", "status", *rpc, "--did", did_of("kba"), "--type", PID)["check"]
    assert check["reason"] == "suspended"
    decide("propose", "reinstate", "--accreditation-id", "1")
    assert ok("ledger", "status", *rpc, "--did", did_of("kba"), "--type", PID)["check"]["accredited"] is True
    block = node.chain.block_number
    marked = decide("propose", "compromised", "--cert-key-sha256", "cd" * 32, "--since-block", str(block))
    since = marked["proposal"]["parameters"]["since"]
    assert since == node.chain.header(block).timestamp
    record = ok("ledger", "status", *rpc, "--did", did_of("kba"))["accreditation"]
    assert record["compromised_since"] == since
    decide("revoke", "--cert-key-sha256", "cd" * 32)
    assert ok("ledger", "status", *rpc, "--did", did_of("kba"))["accreditation"]["status"] == "revoked"
    removed = decide("propose", "remove-member", dev_member_signers()[2].address)
    assert removed["proposal"]["state"] == "executed"
    assert ok("ledger", "members", *rpc)["members"] == [s.address for s in dev_member_signers()[:2]]


@pytest.mark.parametrize(
    "args",
    [
        ["ledger", "accredit", "--did", "did:web:x", "--types", PID],  # no --key-file
        ["ledger", "accredit", "--key-file", "k", "--did", "not-a-did", "--types", PID],
        ["ledger", "accredit", "--key-file", "k", "--did", "did:web:x", "--types", " , "],
        ["ledger", "accredit", "--key-file", "k", "--did", "did:web:x", "--types", PID, "--cert-key-sha256", "xyz"],
        ["ledger", "accredit", "--key-file", "k", "--did", "did:web:x", "--types", PID, "--valid-from", "tomorrow"],
        ["ledger", "suspend", "--key-file", "k", "--did", "did:web:x", "--accreditation-id", "1"],
        ["ledger", "suspend", "--key-file", "k"],
        ["ledger", "propose", "elect-king", "--key-file", "k"],
        ["ledger", "propose", "add-member", "0x12", "--key-file", "k"],
        ["ledger", "propose", "compromised", "--key-file", "k", "--did", "did:web:x"],
        ["ledger", "vote", "1", "--key-file", "k", "--against", "--execute"],
        ["ledger", "status", "--type", PID],
        ["ledger", "status", "--registry", "nowhere"],
        ["ledger", "dev-accredit", "--did", "did:web:x"],
        ["ledger", "dev-accredit", "--issuer", "http://kba.example", "--types", PID],
    ],
)
def test_usage_errors(node: Node, args: list[str]) -> None:
    code, out = cli(*args, "--rpc", node.url)
    assert code == 2 and out == {}


def test_dev_accredit_with_did_and_types(node: Node) -> None:
    out = ok("ledger", "dev-accredit", "--rpc", node.url, "--did", did_of("kba"), "--types", PID)
    assert out["unchanged"] is False and out["proposal"]["state"] == "executed" and len(out["transactions"]) == 2
    accreditation = out["accreditation"]
    assert accreditation["credential_types"] == [PID] and accreditation["status"] == "active"
    assert accreditation["valid_until"] - accreditation["valid_from"] == 366 * 86_400
    again = ok("ledger", "dev-accredit", "--rpc", node.url, "--did", did_of("kba"), "--types", PID)
    assert again["unchanged"] is True and again["accreditation"] == accreditation
    widened = ok("ledger", "dev-accredit", "--rpc", node.url, "--did", did_of("kba"), "--types", f"{PID},{RESIDENCE}")
    assert widened["unchanged"] is False and widened["accreditation"]["id"] == 2


def test_dev_accredit_refuses_other_chains_unless_forced(tmp_path: Path) -> None:
    for other in _node(tmp_path, 4242):
        assert refused("ledger", "dev-accredit", "--rpc", other.url, "--did", did_of("x"), "--types", PID) == (
            "not_a_development_chain"
        )
        forced = ok("ledger", "dev-accredit", "--rpc", other.url, "--did", did_of("x"), "--types", PID, "--force")
        assert forced["chain_id"] == 4242 and forced["accreditation"]["did"] == did_of("x")


# -- dev-accredit --issuer ------------------------------------------------------------------------------------------


def issuer_app(signing_key: PrivateKey, certificate: x509.Certificate, *, did: str | None, path: str) -> FastAPI:
    """The two documents an issuer at ``http://127.0.0.1:<port>{path}`` publishes: OpenID4VCI Credential Issuer
    Metadata (with govssi's ``did``) and JWT VC Issuer Metadata (the signing key with its x5c)."""
    web = FastAPI()
    state: dict[str, str] = {}

    def identifier() -> str:
        return state["base"] + path

    @web.get("/.well-known/openid-credential-issuer" + path)
    def credential_issuer() -> dict[str, Any]:
        configurations = {
            "pid": {"format": "dc+sd-jwt", "vct": PID},
            "residence": {"format": "dc+sd-jwt", "vct": RESIDENCE},
            "mdl": {"format": "mso_mdoc", "doctype": "org.iso.18013.5.1.mDL"},
            "diploma": {
                "format": "jwt_vc_json",
                "credential_definition": {"type": ["VerifiableCredential", "UniversityDegreeCredential"]},
            },
            "pid again": {"format": "dc+sd-jwt", "vct": PID},
            "something else": {"format": "x-proprietary"},
        }
        document: dict[str, Any] = {
            "credential_issuer": identifier(),
            "credential_endpoint": identifier() + "/credential",
            "credential_configurations_supported": configurations,
        }
        if did is not None:
            document["did"] = did
        return document

    @web.get("/.well-known/jwt-vc-issuer" + path)
    def jwt_vc_issuer() -> dict[str, Any]:
        jwk = {**signing_key.public_key.jwk, "kid": "k1", "alg": "ES256", "use": "sig", "x5c": x5c_chain([certificate])}
        return {"issuer": identifier(), "jwks": {"keys": [jwk]}}

    web.state.values = state
    return web


@pytest.fixture
def issuer_keys() -> tuple[PrivateKey, x509.Certificate]:
    now = time.time()
    ca_key, signing_key = PrivateKey.generate("ES256"), PrivateKey.generate("ES256")
    ca = make_self_signed_ca(ca_key, "Test CA", now=now)
    return signing_key, issue_certificate(ca, ca_key, signing_key.public_key, "KBA issuer", now=now)


@pytest.mark.parametrize("path", ["", "/issuers/kba"])
def test_dev_accredit_reads_the_issuers_metadata(
    node: Node, issuer_keys: tuple[PrivateKey, x509.Certificate], path: str
) -> None:
    """DID from the ``did`` member, types by format (vct, doctype, last W3C type; each once; unknown formats
    skipped), the certificate key's SHA-256 from ``x5c[0]`` — well-known URIs inserted before the issuer's path."""
    signing_key, certificate = issuer_keys
    web = issuer_app(signing_key, certificate, did=did_of("kba"), path=path)
    with LoopbackServer(web) as server:
        web.state.values["base"] = server.url
        out = ok("ledger", "dev-accredit", "--rpc", node.url, "--issuer", server.url + path)
    accreditation = out["accreditation"]
    assert accreditation["did"] == did_of("kba")
    assert accreditation["credential_types"] == [PID, RESIDENCE, "org.iso.18013.5.1.mDL", "UniversityDegreeCredential"]
    assert accreditation["cert_key_sha256"] == spki_sha256(certificate).hex()
    registry = node.registry()
    assert registry.is_accredited(spki_sha256(certificate), PID, time.time()) is not None


def test_dev_accredit_issuer_without_did_or_with_a_foreign_x5c(
    node: Node, issuer_keys: tuple[PrivateKey, x509.Certificate]
) -> None:
    signing_key, certificate = issuer_keys
    web = issuer_app(signing_key, certificate, did=None, path="")
    with LoopbackServer(web) as server:
        web.state.values["base"] = server.url
        assert refused("ledger", "dev-accredit", "--rpc", node.url, "--issuer", server.url) == "no_did"
    web = issuer_app(PrivateKey.generate("ES256"), certificate, did=did_of("kba"), path="")
    with LoopbackServer(web) as server:
        web.state.values["base"] = server.url
        assert refused("ledger", "dev-accredit", "--rpc", node.url, "--issuer", server.url) == "x5c_key_mismatch"
        # the metadata must be the issuer's own: another identifier is refused (OpenID4VCI §12.2.4)
        assert refused("ledger", "dev-accredit", "--rpc", node.url, "--issuer", server.url + "/other") == (
            "metadata_unavailable"
        )


# -- deploy --members, and the script's contract --------------------------------------------------------------------


def test_deploy_with_a_genesis_members_file(govssi: Runner, tmp_path: Path) -> None:
    chain = LocalChain.in_memory(4242)
    server = serve(JsonRpcHandler(EthereumApi(chain)))
    try:
        deployer = tmp_path / "deployer.jwk"
        write_key_file(deployer, PrivateKey.generate("ES256K"))
        members = ["0x" + "12" * 20, "0x" + "34" * 20, "0x" + "56" * 20]
        (tmp_path / "members.json").write_text(json.dumps({"members": members, "voting_period": 3600}))
        result = govssi("ledger", "deploy", "--rpc", server.url, "--key", str(deployer), "--members", "members.json")
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout)
        assert set(out) == {"did_registry", "chain_id", "trusted_issuer_registry", "status_anchor"}
        registry = TrustRegistry(ChainClient(LocalChainProvider(chain)), out["trusted_issuer_registry"])
        assert [m.lower() for m in registry.members()] == members and registry.voting_period() == 3600
        (tmp_path / "bad.json").write_text(json.dumps({"members": ["0x12"]}))
        bad = govssi("ledger", "deploy", "--rpc", server.url, "--key", str(deployer), "--members", "bad.json")
        assert bad.returncode == 1 and json.loads(bad.stdout)["error"] == "bad_input_file"
    finally:
        server.stop()


def test_the_real_script_speaks_json_and_exit_codes(govssi: Runner, node: Node) -> None:
    members = govssi("ledger", "members", "--rpc", node.url)
    assert members.returncode == 0 and json.loads(members.stdout)["quorum"] == 2
    refusal = govssi("ledger", "vote", "7", "--rpc", node.url, "--key-file", node.key(1))
    assert refusal.returncode == 1 and json.loads(refusal.stdout)["error"] == "no_proposal"
    assert refusal.stderr.startswith("govssi: ") and len(refusal.stderr.strip().splitlines()) == 1
    usage = govssi("ledger", "status", "--rpc", node.url, "--type", PID)
    assert usage.returncode == 2 and usage.stdout == ""
    dev = govssi("ledger", "dev-accredit", "--rpc", node.url, "--did", did_of("kba"), "--types", PID)
    assert dev.returncode == 0 and json.loads(dev.stdout)["accreditation"]["did"] == did_of("kba")


def test_member_key_files_of_the_bootstrap(node: Node) -> None:
    assert sorted(p.name for p in node.members_dir.iterdir()) == [
        "cooperative.json",
        "member-1.jwk",
        "member-2.jwk",
        "member-3.jwk",
    ]
    assert node.members_dir.name == MEMBERS_DIR
