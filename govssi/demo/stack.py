"""The demo's process tree: every service of the trust triangle on localhost, started and stopped together.

Boot order (each step reported to ``progress``):

1. the chain, with govssi's contracts and the demo cooperative bootstrapped at their documented development addresses
   (``ledger.bootstrap``): ``chain="dev"`` — a persistent local node in this process (``ledger.node``) serving
   JSON-RPC on ``chain_port``; ``chain="poa"`` — the PoA network model (``ledger.poa.Network``): ``validators``
   Clique signers, one process each, node i on ``chain_port + i``, a block every second, every transaction waited
   for until final;
2. the issuer service with the municipal authority "Stadt Musterstadt — Bürgeramt" and the PID provider (the PID
   through the simulated eID): their did:ethr anchored with their signing keys, then accredited for their credential
   types by the demo cooperative's votes;
3. the verifier (OpenID4VP 1.0, ``verifier``) with its OpenID Provider, and the demo portal "Bürgerportal
   Musterstadt" (an OpenID Connect client of it, ``verifier/portal.py``): issuers' ``x5c`` chains must lead to the
   issuer's CA, accreditation and status-list anchors are read from the demo chain;
4. the citizen's web wallet (``wallet_sim``), plain HTTP to the loopback services allowed;
5. the demo pages (start page, ledger explorer, guided journey).

State lives under ``data_dir`` (``--fresh`` removes it first). Ports are fixed and configurable so the printed URLs
stay valid across restarts; a taken port fails the boot with a precise message before anything else starts.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.server import LoopbackServer

__all__ = [
    "DEMO_API_KEY",
    "DEMO_CLERK",
    "DEMO_PASSPHRASE",
    "DEMO_PID_API_KEY",
    "MUNICIPALITY",
    "PID_AUTHORITY",
    "PORTAL_NAME",
    "DemoConfig",
    "DemoError",
    "DemoStack",
]

#: The clerk's API key of the demo authority (development only: printed in the demo's table and README).
DEMO_API_KEY = "demo-musterstadt.0123456789abcdef0123456789abcdef"
#: Protects the demo's key files (development only: every demo key is test data).
DEMO_PASSPHRASE = "govssi demo only"  # noqa: S105 - a published development value
#: The relying party's name in the verifier's request-signing certificate (what the wallet shows).
PORTAL_NAME = "Bürgerportal Musterstadt"
#: The clerk's login to the issuer's admin web UI (development only: printed in the demo's table).
DEMO_CLERK = ("sachbearbeitung", "Musterstadt-Demo-2026!")
#: The PID provider's authority slug and its API key (development only).
PID_AUTHORITY = "pid"
DEMO_PID_API_KEY = "demo-pid-provider.0123456789abcdef0123456789abcdef"
#: The demo portal's OpenID Connect client (client_secret_basic; development only).
PORTAL_CLIENT_SECRET = "demo-buergerportal-musterstadt-client-secret"  # noqa: S105 - a published development value
#: The municipal authority's slug and names.
MUNICIPALITY = ("musterstadt", "Stadt Musterstadt — Bürgeramt", "City of Musterstadt — Citizens' Office")

Progress = Callable[[str], None]


class DemoError(Exception):
    """The demo cannot start; the message says precisely why (a port taken, a dependency missing...)."""


@dataclass
class DemoConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    start_port: int = 8000
    issuer_port: int = 8001
    verifier_port: int = 8002
    wallet_port: int = 8003
    portal_port: int = 8004
    chain_port: int = 8545
    fresh: bool = False
    #: ``dev`` (one in-process node) or ``poa`` (the PoA network model, one process per validator).
    chain: str = "dev"
    #: Validators of the PoA network (``chain="poa"``); a new network needs the same count on every start.
    validators: int = 3

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}"


#: In the data directory: the ports it was set up with (see DemoStack.check_kept_ports).
PORTS_RECORD = "demo-ports.json"


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


@dataclass
class DemoStack:
    config: DemoConfig
    progress: Progress = field(default=lambda message: None)
    servers: list[LoopbackServer] = field(default_factory=list)
    closers: list[Callable[[], None]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    stopped: threading.Event = field(default_factory=threading.Event)

    def check_ports(self) -> None:
        cfg = self.config
        wanted = {
            "start page": cfg.start_port,
            "issuer": cfg.issuer_port,
            "verifier": cfg.verifier_port,
            "wallet": cfg.wallet_port,
            "portal": cfg.portal_port,
            "chain JSON-RPC": cfg.chain_port,
        }
        if cfg.chain == "poa":
            wanted.update({f"PoA validator {i} JSON-RPC": cfg.chain_port + i for i in range(1, cfg.validators)})
        taken = [f"{name} port {port}" for name, port in wanted.items() if not port_is_free(cfg.host, port)]
        if taken:
            raise DemoError(
                f"cannot start: {', '.join(taken)} on {cfg.host} already in use (another govssi demo running? "
                "move the five web ports with --port-base, the chain with --chain-port)"
            )

    def check_kept_ports(self) -> None:
        """A kept data directory is started on the ports it was set up with: the issuer's address is inside what it
        issued and stored (credential issuer, vct URLs, status-list URIs in credentials and in its database), so
        the same directory on another issuer port would issue credentials whose status lists cannot be fetched."""
        cfg = self.config
        record = cfg.data_dir / PORTS_RECORD
        if not record.is_file():
            return
        kept = json.loads(record.read_text(encoding="utf-8"))
        if kept.get("issuer_port") != cfg.issuer_port:
            raise DemoError(
                f"cannot start: {cfg.data_dir} was set up with --port-base {kept.get('port_base')} (issuer on port "
                f"{kept.get('issuer_port')}, an address inside its credentials and status lists); start it with "
                f"--port-base {kept.get('port_base')}, or add --fresh to start over, or give another --data-dir"
            )

    def start(self) -> dict[str, Any]:
        cfg = self.config
        self.check_ports()
        if cfg.fresh and cfg.data_dir.exists():
            shutil.rmtree(cfg.data_dir)
        self.check_kept_ports()
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        (cfg.data_dir / PORTS_RECORD).write_text(
            json.dumps({"port_base": cfg.start_port, "issuer_port": cfg.issuer_port}) + "\n", encoding="utf-8"
        )
        try:
            client = self._start_chain()
            self._start_issuer(client)
            self._start_verifier(client)
            self._start_wallet()
            self._start_pages(client)
        except BaseException:
            self.stop()
            raise
        return self.info

    # -- 1. chain -----------------------------------------------------------------------------------------------

    def _start_chain(self) -> Any:
        if self.config.chain == "poa":
            return self._start_poa_network()
        from ledger.bootstrap import bootstrap_development_chain
        from ledger.client import ChainClient
        from ledger.node import EthereumApi, JsonRpcHandler, LocalChain, RpcServer

        cfg = self.config
        self.progress("chain: opening the local node")
        chain_dir = cfg.data_dir / "chain"
        chain = LocalChain.open(chain_dir)
        self.closers.append(chain.close)
        node = RpcServer(JsonRpcHandler(EthereumApi(chain)), cfg.chain_port)
        node.start()
        self.closers.append(node.stop)
        client = ChainClient([node.url])
        self.closers.append(client.close)
        self.progress("chain: bootstrapping contracts and the demo cooperative")
        result = bootstrap_development_chain(client, chain_dir)
        self.info["chain"] = {"kind": "dev", "rpc_url": node.url, **result.to_json()}
        return client

    def _start_poa_network(self) -> Any:
        """The PoA network model: Clique signers in their own processes gossiping blocks; the client fails over
        between all nodes and waits for the network's finality depth (``ClientPolicy(confirmations=None)``) on every
        transaction, as a production client would."""
        from ledger.client import ChainClient
        from ledger.poa import Network
        from ledger.poa.bootstrap import bootstrap_network

        cfg = self.config
        self.progress(f"chain: starting {cfg.validators} PoA validators (one process each)")
        network = Network(cfg.data_dir / "poa", validators=cfg.validators, period=1, base_port=cfg.chain_port)
        network.start()
        self.closers.append(network.stop)
        self.progress("chain: bootstrapping contracts and the demo cooperative (waiting for finality)")
        result = bootstrap_network(network.urls, cfg.data_dir / "poa")
        client = ChainClient.connect(network.urls)
        self.closers.append(client.close)
        self.info["chain"] = {
            "kind": "poa",
            "rpc_url": network.urls[0],
            "rpc": network.rpc,
            "rpc_urls": network.urls,
            "validators": network.addresses,
            **result.to_json(),
        }
        return client

    # -- 2. issuer ----------------------------------------------------------------------------------------------

    def _start_issuer(self, client: Any) -> None:
        from pydantic import SecretStr

        from issuer import (
            IssuerChain,
            IssuerSettings,
            LedgerStatusAnchoring,
            build_issuer,
            create_app,
            shipped_credential_types,
        )
        from issuer.chain import accreditation_registry
        from ledger.bootstrap import DEV_ADDRESSES

        cfg = self.config
        self.progress("issuer: keys, database and the municipal authority")
        settings = IssuerSettings(
            data_dir=cfg.data_dir / "issuer",
            public_url=cfg.url(cfg.issuer_port),
            dev_allow_http=True,
            chain_rpc=self.info["chain"].get("rpc", self.info["chain"]["rpc_url"]),
            did_registry=DEV_ADDRESSES.did_registry,
            status_anchor=DEV_ADDRESSES.status_anchor,
            key_passphrase=SecretStr(DEMO_PASSPHRASE),
            # a list published before the cooperative's vote is refused by the anchor contract: retry soon
            anchor_retry=3.0,
            # the PID provider role (PID through the simulated eID; the demo eID PKI and wallet provider)
            pid_authority=PID_AUTHORITY,
            pid_admin_key=SecretStr(DEMO_PID_API_KEY),
        )
        issuer_chain = IssuerChain(client, DEV_ADDRESSES.did_registry, accreditation_registry(client))
        anchoring = LedgerStatusAnchoring(client, DEV_ADDRESSES.status_anchor)
        issuer = build_issuer(settings, chain=issuer_chain, bootstrap=False, anchoring=anchoring)
        storage = issuer.context.storage
        slug, name_de, name_en = MUNICIPALITY
        if storage.authority(slug) is None:
            authority = storage.create_authority(slug, name_de, name_en)
            for ctype in shipped_credential_types().values():
                storage.put_credential_type(authority.id, ctype)
            storage.create_api_key(authority.id, "demo clerk", key=DEMO_API_KEY)
            from issuer.web import StaffAccounts, create_staff_account

            create_staff_account(
                issuer,
                StaffAccounts(storage.engine),
                issuer.context.tenant(slug),
                username=DEMO_CLERK[0],
                password=DEMO_CLERK[1],
                role="clerk",
                actor="govssi:demo",
            )
        app = create_app(settings, issuer=issuer)  # creates the PID provider's authority on first start
        self.progress("issuer: anchoring the authorities' did:ethr")
        report = issuer.check_chain()
        server = LoopbackServer(app, host=cfg.host, port=cfg.issuer_port).start()
        self.servers.append(server)
        credential_issuer = issuer.context.credential_issuer(slug)
        pid_issuer = issuer.context.credential_issuer(PID_AUTHORITY)
        self.progress("chain: the demo cooperative votes to accredit the authorities")
        accreditation = self._accredit(client, credential_issuer)
        pid_accreditation = self._accredit(client, pid_issuer)
        report = issuer.check_chain()  # now with the accreditations the members voted for
        self.info["issuer"] = {
            "url": server.url,
            "ca_pem": str(settings.resolved_ca_dir() / "ca.pem"),
            "credential_issuer": credential_issuer,
            "api_key": DEMO_API_KEY,
            "admin_ui": f"{server.url}/admin/{slug}/",
            "clerk": {"username": DEMO_CLERK[0], "password": DEMO_CLERK[1]},
            "chain_report": report,
            "accreditation": accreditation,
            "pid_issuer": pid_issuer,
            "pid_api_key": DEMO_PID_API_KEY,
            "pid_accreditation": pid_accreditation,
        }

    def _accredit(self, client: Any, credential_issuer: str) -> dict[str, Any]:
        from ledger.bootstrap import DEV_ADDRESSES, dev_member_signers
        from ledger.trust import RegistryMember, TrustRegistry, describe_issuer

        described = describe_issuer(credential_issuer)
        trust = TrustRegistry(client, DEV_ADDRESSES.trusted_issuer_registry)
        current = trust.accreditation(described.did)
        now = int(client.w3.eth.get_block("latest")["timestamp"])
        # kept only while it still covers what the issuer publishes now: its own vct URLs carry the issuer's port, so
        # a kept data directory started with another --port-base needs a new vote (as `ledger dev-accredit` decides)
        if (
            current is not None
            and all(current.permits(t, now) for t in described.credential_types)
            and current.cert_key_sha256 == described.cert_key_sha256
        ):
            return current.to_json()
        members = [RegistryMember(trust, signer) for signer in dev_member_signers()]
        outcome = members[0].propose_accreditation(
            described.did,
            list(described.credential_types),
            valid_from=now - 86_400,
            valid_until=now + 365 * 86_400,
            cert_key_sha256=described.cert_key_sha256,
        )
        for voter in members[1:]:
            if outcome.accreditation_id is not None:
                break
            outcome = voter.vote(outcome.proposal.id)
        if outcome.accreditation_id is None:
            raise DemoError("the demo cooperative did not reach a majority to accredit the issuer")
        return trust.accreditation_by_id(outcome.accreditation_id).to_json()

    # -- 3. verifier --------------------------------------------------------------------------------------------

    def _start_verifier(self, client: Any) -> None:
        """The verifier trusts what the demo chain says: accreditation in the trusted-issuer registry, status lists
        anchored in the status-list anchor, compromise marks on did:ethr; ``x5c`` chains must lead to the issuer's CA.
        Status lists are fetched on every check (``status_max_age`` 0) so a revocation shows at the next login."""
        from pydantic import SecretStr

        from ledger.bootstrap import DEV_ADDRESSES
        from ledger.did_ethr import EthrDidDriver, SigningKeyHistory
        from ledger.trust import StatusAnchorReader, TrustRegistry
        from ssi.did import DidResolver
        from ssi.x509 import load_pem_certificates
        from verifier import ChainIssuerTrust, VerifierSettings, build_verifier, create_app
        from verifier.keys import load_request_signing_keys

        cfg = self.config
        self.progress("verifier: request-signing key, issuer trust from the chain")
        ca_pem = Path(self.info["issuer"]["ca_pem"])
        settings = VerifierSettings(
            data_dir=cfg.data_dir / "verifier",
            public_url=cfg.url(cfg.verifier_port),
            dev_allow_http=True,
            trust_anchors=ca_pem,
            key_passphrase=SecretStr(DEMO_PASSPHRASE),
            status_max_age=0.0,
        )
        driver = EthrDidDriver({client.chain_id: (client.w3, DEV_ADDRESSES.did_registry)})
        trust = ChainIssuerTrust(
            TrustRegistry(client, DEV_ADDRESSES.trusted_issuer_registry),
            StatusAnchorReader(client, DEV_ADDRESSES.status_anchor),
            did_driver=driver,
            chain_id=client.chain_id,
        )
        keys = load_request_signing_keys(
            settings.resolved_keys_dir(),
            settings.resolved_ca_dir(),
            public_url=settings.public_url,
            passphrase=DEMO_PASSPHRASE,
            name=PORTAL_NAME,
        )
        service = build_verifier(
            settings,
            keys=keys,
            trust=trust,
            key_history=SigningKeyHistory(driver),
            did_resolver=DidResolver([driver]),
            anchors=load_pem_certificates(ca_pem.read_bytes()),
        )
        provider, portal = self._openid_provider(settings, service)
        app = create_app(settings, service=service, oidc=provider)
        server = LoopbackServer(app, host=cfg.host, port=cfg.verifier_port).start()
        self.servers.append(server)
        self.progress("portal: Bürgerportal Musterstadt (OpenID Connect client of the verifier)")
        from verifier.portal import create_portal_app

        portal_server = LoopbackServer(create_portal_app(portal), host=cfg.host, port=cfg.portal_port).start()
        self.servers.append(portal_server)
        self.info["portal"] = portal_server.url + "/"
        self.info["verifier"] = {
            "url": server.url,
            "ca_pem": str(settings.resolved_ca_dir() / "ca.pem"),
            "trust_anchor": str(ca_pem),
            "registry": trust.registry_id,
        }

    def _openid_provider(self, settings: Any, service: Any) -> tuple[Any, Any]:
        """The verifier's OpenID Provider with one registered portal, the Bürgerportal Musterstadt (an ordinary authlib
        client, ``verifier/portal.py``); its ``parking_permit`` scope asks for the municipal permit's plate and zone."""
        from verifier.oidc import OidcSettings, PortalRegistry, build_provider
        from verifier.portal import PortalConfig, portal_registration

        cfg = self.config
        portal = PortalConfig(
            op_url=settings.public_url, base_url=cfg.url(cfg.portal_port), client_secret=PORTAL_CLIENT_SECRET
        )
        permit_vct = f"{self.info['issuer']['credential_issuer']}/vct/bewohnerparkausweis"
        document = {
            "scopes": {
                "parking_permit": {
                    "description": "Bewohnerparkausweis: Kennzeichen und Parkzone",
                    "credentials": [
                        {
                            "id": "parking_permit",
                            "format": "dc+sd-jwt",
                            "meta": {"vct_values": [permit_vct]},
                            "claims": [{"path": ["license_plate"]}, {"path": ["parking_zone"]}],
                        }
                    ],
                }
            },
            "clients": [portal_registration(portal)],
        }
        registry = PortalRegistry.from_document(document, dev_allow_http=True)
        oidc_settings = OidcSettings(keys_dir=cfg.data_dir / "verifier" / "oidc")
        provider = build_provider(settings, service, oidc_settings=oidc_settings, registry=registry)
        return provider, portal

    # -- 4. wallet ----------------------------------------------------------------------------------------------

    def _start_wallet(self) -> None:
        from wallet_sim.web.app import create_wallet_app

        cfg = self.config
        self.progress("wallet: the citizen's web wallet")
        from ssi.oid4vp import WalletRequestPolicy
        from ssi.x509 import load_pem_certificates

        verifier_ca = load_pem_certificates(Path(self.info["verifier"]["ca_pem"]).read_bytes())
        policy = WalletRequestPolicy(x509_anchors=verifier_ca, allow_http_loopback=True)
        from wallet_sim.web.pid import PID_ISSUER_ENV

        if PID_ISSUER_ENV not in os.environ:  # the PID page's provider field, prefilled with the demo's
            os.environ[PID_ISSUER_ENV] = self.info["issuer"]["pid_issuer"]
            self.closers.append(lambda: os.environ.pop(PID_ISSUER_ENV, None))
        app = create_wallet_app(cfg.data_dir / "wallet", allow_http_loopback=True, verifier_policy=policy)
        server = LoopbackServer(app, host=cfg.host, port=cfg.wallet_port).start()
        self.servers.append(server)
        self.info["wallet"] = server.url + "/"
        self.info["wallet_dir"] = str(cfg.data_dir / "wallet")

    # -- 5. pages -----------------------------------------------------------------------------------------------

    def _start_pages(self, client: Any) -> None:
        from govssi.demo.explorer import ChainExplorer
        from govssi.demo.web import DemoRole, create_demo_app
        from ledger.bootstrap import DEV_ADDRESSES
        from ssi.oid4vci import well_known_url

        cfg = self.config
        names = {
            DEV_ADDRESSES.did_registry: "DID registry (ERC-1056)",
            DEV_ADDRESSES.trusted_issuer_registry: "Trusted-issuer registry",
            DEV_ADDRESSES.status_anchor: "Status-list anchor",
        }
        roles = [
            DemoRole("wallet", self.info["wallet"]),
            DemoRole("issuer_admin", self.info["issuer"]["admin_ui"]),
            DemoRole(  # its metadata: the credential issuer identifier itself is no page
                "pid",
                self.info["issuer"]["pid_issuer"],
                link=well_known_url(self.info["issuer"]["pid_issuer"], "openid-credential-issuer"),
            ),
            DemoRole("portal", self.info["portal"]),
            DemoRole("verifier", self.info["verifier"]["url"] + "/"),
            DemoRole("chain", self.info["chain"]["rpc_url"], link="/explorer"),  # JSON-RPC answers POST only
        ]
        from govssi.demo.content import demo_identities, journey_steps, sensitive_values, trust_picture

        app = create_demo_app(
            roles=roles,
            explorer=ChainExplorer(client, names=names),
            trust=lambda snap: trust_picture(client, snap),
            identities=demo_identities(),
            steps=lambda lang: journey_steps(lang, self.info),
            sensitive=sensitive_values(),
            sealer=clique_sealer(client) if self.info["chain"]["kind"] == "poa" else None,
        )
        server = LoopbackServer(app, host=cfg.host, port=cfg.start_port).start()
        self.servers.append(server)
        self.info["start_page"] = server.url

    # -- stop ---------------------------------------------------------------------------------------------------

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()
        self.servers.clear()
        for close in reversed(self.closers):
            try:
                close()
            except Exception:  # noqa: S112 - stopping everything else matters more than one failed close
                continue
        self.closers.clear()
        self.stopped.set()


def clique_sealer(client: Any) -> Callable[[dict[str, Any]], str]:
    """Who sealed a block of a Clique network (``clique_getSigner``; the header's ``miner`` is zero there)."""

    def sealer(block: dict[str, Any]) -> str:
        response = client.provider.make_request("clique_getSigner", [hex(block["number"])])
        return str(response.get("result", "")) if "error" not in response else ""

    return sealer
