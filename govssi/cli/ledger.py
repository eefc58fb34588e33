"""``govssi ledger``: run a local chain node, deploy govssi's contracts, govern the cooperative's trusted-issuer
registry, generate a production network's genesis.

``govssi ledger node`` serves a persistent local chain (``ledger.node``) over Ethereum JSON-RPC on 127.0.0.1 and prints
one JSON line (``rpc_url``, ``chain_id``, ``block_number``, ``data_dir``; with ``--bootstrap`` also ``contracts`` and
``members_dir``) when it is ready; SIGTERM or Ctrl-C stop it cleanly. ``govssi ledger deploy`` deploys the contracts to
any chain and prints where they are; ``--rpc`` (or ``GOVSSI_CHAIN_RPC``) lists one or more JSON-RPC URLs, tried in
order with failover (``govssi.cli._chain``).

The cooperative (``ledger.trust``; stable interface, one JSON object on stdout): ``members``, ``status`` read;
``accredit``, ``suspend``, ``revoke`` and ``propose`` (``add-member``, ``remove-member``, ``reinstate``,
``compromised``) make a proposal that counts the member's vote; ``vote`` votes. Member keys come from ``--key-file``
(a secp256k1 JWK or encrypted key file, ``$GOVSSI_KEY_PASSPHRASE``), never from the command line; the registry's
address from ``--registry``, else ``$GOVSSI_TRUSTED_ISSUER_REGISTRY``, else the development deployment's.
``dev-accredit`` makes the demo cooperative of ``node --bootstrap`` accredit an issuer (development chains only).
A refusal by the contract is exit 1 with the contract's code as ``error`` (``not_member``, ``already_voted`` …).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from govssi.cli._chain import RPC_HELP, chain_client, required_rpc_urls
from govssi.cli._files import InputFileError, load_private, read_json_object
from govssi.cli._output import emit, fail, guarded, usage_error

if TYPE_CHECKING:
    from ledger.client import ChainClient, SoftwareChainSigner
    from ledger.trust import TrustRegistry

app = typer.Typer(
    help="Local chain node, contract deployment, the cooperative's trusted-issuer registry, production genesis.",
    no_args_is_help=True,
)

DATA_DIR_ENV = "GOVSSI_DATA_DIR"
#: Commands here send several requests: a node that failed is tried only after the others for the rest of the run.
COMMAND_BACKOFF = 600.0


def default_chain_dir() -> Path:
    """``$GOVSSI_DATA_DIR/chain``, else ``<user data dir>/govssi/chain`` (DESIGN.md §3, Config)."""
    base = os.environ.get(DATA_DIR_ENV)
    if not base:
        import platformdirs

        base = platformdirs.user_data_dir("govssi")
    return Path(base) / "chain"


@app.command("node")
@guarded
def node(
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="TCP port on 127.0.0.1 (0: any free port).")
    ] = 8545,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Chain data directory \\[default: $GOVSSI_DATA_DIR/chain or the user data dir]."
        ),
    ] = None,
    chain_id: Annotated[
        int | None,
        typer.Option(
            "--chain-id", min=1, help="Chain id of a new chain \\[default: 1337]; must match an existing one."
        ),
    ] = None,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to listen on: 127.0.0.1, or a container's address for its neighbours (deploy/compose.yaml);"
            " the node has no authentication, never expose it beyond a private network.",
        ),
    ] = "127.0.0.1",
    bootstrap: Annotated[
        bool,
        typer.Option(
            "--bootstrap",
            help="Deploy govssi's contracts at the fixed development addresses with a demo cooperative (member keys "
            "in <data dir>/cooperative) unless they are there already. Development only.",
        ),
    ] = False,
) -> None:
    """Serve a persistent local chain over Ethereum JSON-RPC on 127.0.0.1 until SIGTERM or Ctrl-C."""
    from ledger.node import EthereumApi, JsonRpcHandler, LocalChain, LocalChainProvider, RpcServer

    directory = data_dir if data_dir is not None else default_chain_dir()
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    chain = LocalChain.open(directory, chain_id=chain_id, on_replay=_replay_progress())
    try:
        bootstrapped: dict[str, Any] = {}
        if bootstrap:
            from ledger.bootstrap import bootstrap_development_chain
            from ledger.client import ChainClient

            result = bootstrap_development_chain(ChainClient(LocalChainProvider(chain)), directory)
            bootstrapped = {"contracts": result.addresses.to_json(), "members_dir": str(result.members_dir)}
        try:
            server = RpcServer(JsonRpcHandler(EthereumApi(chain)), port, host)
        except OSError as exc:
            fail("address_in_use", f"cannot listen on {host}:{port}: {exc.strerror or exc}")
        server.start()
        ready = {
            "rpc_url": server.url,
            "chain_id": chain.chain_id,
            "block_number": chain.block_number,
            "data_dir": str(directory),
            **bootstrapped,
        }
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        sys.stderr.write(f"govssi: ledger node: chain {chain.chain_id} at {server.url}, data in {directory}\n")
        sys.stderr.flush()
        stop.wait()
        server.stop()
    finally:
        chain.close()
    sys.stderr.write("govssi: ledger node stopped\n")


def _replay_progress() -> Callable[[int, int], None] | None:
    """A replay progress callback: a progress bar on a terminal, nothing otherwise."""
    if not sys.stderr.isatty():
        return None
    from rich.progress import Progress

    progress = Progress(transient=True)
    task = progress.add_task("replaying blocks", total=None)

    def report(done: int, total: int) -> None:
        if done == 1:
            progress.start()
        progress.update(task, completed=done, total=total)
        if done == total:
            progress.stop()

    return report


@app.command("deploy")
@guarded
def deploy(
    key: Annotated[
        Path,
        typer.Option("--key", help="secp256k1 (ES256K) private JWK or encrypted key file ($GOVSSI_KEY_PASSPHRASE)."),
    ],
    rpc: Annotated[str | None, typer.Option("--rpc", help=RPC_HELP)] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=0.1,
            help="Seconds to wait for the nodes and for each deployment.",
        ),
    ] = 60.0,
    confirmations: Annotated[
        int, typer.Option("--confirmations", min=0, help="Blocks on top of each deployment before it counts.")
    ] = 0,
    members: Annotated[
        Path | None,
        typer.Option(
            "--members",
            help='Genesis members of the trusted-issuer registry: a JSON file {"members": ["0x…", …], '
            '"voting_period": seconds} \\[default: the deployer alone — development only].',
        ),
    ] = None,
) -> None:
    """Deploy govssi's contracts (DID registry, trusted-issuer registry, status-list anchor) and print their
    addresses as JSON."""
    urls = required_rpc_urls(rpc)
    from ledger.deploy import GenesisMembers, deploy_contracts

    genesis = None
    if members is not None:
        try:
            genesis = GenesisMembers.from_json(read_json_object(members))
        except ValueError as exc:
            raise InputFileError(f"{members}: {exc}") from None
    signer = _chain_signer(key)
    with chain_client(urls, timeout=timeout, confirmations=confirmations, backoff=COMMAND_BACKOFF) as client:
        emit(deploy_contracts(client, signer, members=genesis, timeout=timeout).to_json())
    if genesis is None:
        sys.stderr.write("govssi: no --members file: the deployer is the registry's only member\n")


# -- the cooperative (ledger.trust) -------------------------------------------------------------------------------

RegistryAddressOption = Annotated[
    str | None,
    typer.Option(
        "--registry",
        help="Address of the trusted-issuer registry \\[default: $GOVSSI_TRUSTED_ISSUER_REGISTRY, else the development "
        "deployment's].",
    ),
]
KeyFileOption = Annotated[
    Path,
    typer.Option(
        "--key-file",
        help="The member's secp256k1 (ES256K) private JWK or encrypted key file ($GOVSSI_KEY_PASSPHRASE).",
    ),
]
ChainTimeoutOption = Annotated[
    float, typer.Option("--timeout", min=0.1, help="Seconds to wait for the nodes and for each transaction.")
]
ConfirmationsOption = Annotated[
    int, typer.Option("--confirmations", min=0, help="Blocks on top of each transaction before it counts.")
]
DidOption = Annotated[str | None, typer.Option("--did", help="The issuer's DID, exactly as it writes it into iss.")]
CertKeyOption = Annotated[
    str | None,
    typer.Option(
        "--cert-key-sha256",
        help="SHA-256 (64 hex digits) of the DER SubjectPublicKeyInfo of the issuer certificate's key.",
    ),
]
AccreditationIdOption = Annotated[
    int | None, typer.Option("--accreditation-id", min=1, help="The accreditation, by its id.")
]


def _chain_signer(path: Path) -> SoftwareChainSigner:
    from ledger.client import SoftwareChainSigner

    private_key, _ = load_private(path)
    if private_key.alg != "ES256K":
        fail("wrong_curve", f"{path} holds a {private_key.alg} key; chain accounts need secp256k1 (ES256K)")
    return SoftwareChainSigner(private_key)


def _registry_address(option: str | None) -> str:
    from eth_utils.address import is_address, to_checksum_address

    from ledger.bootstrap import addresses_from_env

    if option is None:
        return addresses_from_env().trusted_issuer_registry
    if not is_address(option):
        usage_error("--registry must be an Ethereum address (0x and 40 hex digits)")
    return str(to_checksum_address(option))


def _registry(client: ChainClient, option: str | None) -> TrustRegistry:
    from ledger.trust import TrustRegistry

    address = _registry_address(option)
    if not client.code(address):
        fail("no_registry", f"there is no contract at {address} on chain {client.chain_id} (deploy or --bootstrap)")
    return TrustRegistry(client, address)


def _address_argument(value: str, what: str) -> str:
    from eth_utils.address import is_address, to_checksum_address

    if not is_address(value):
        usage_error(f"{what} must be an Ethereum address (0x and 40 hex digits)")
    return str(to_checksum_address(value))


def _cert_key(value: str | None) -> bytes | None:
    from ledger.trust import parse_cert_key_sha256

    if value is None:
        return None
    try:
        return parse_cert_key_sha256(value)
    except ValueError:
        usage_error("--cert-key-sha256 is 64 hex digits (the SHA-256 of the certificate key's SubjectPublicKeyInfo)")


def _did(value: str | None) -> str | None:
    if value is not None and (not value.startswith("did:") or len(value.encode()) > 256):
        usage_error("--did must be a DID (did:…, at most 256 bytes)")
    return value


def _types(value: str) -> list[str]:
    types = [part.strip() for part in value.split(",") if part.strip()]
    if not types or len(types) > 32 or any(len(t.encode()) > 256 for t in types):
        usage_error("--types lists 1 to 32 credential types (vct, doctype, W3C type), comma-separated")
    return list(dict.fromkeys(types))


def _timestamp(value: str | None, option: str) -> int | None:
    """Unix seconds, or an RFC 3339 date-time with a time zone (``2027-01-01T00:00:00Z``)."""
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        usage_error(f"{option} is Unix seconds or an RFC 3339 date-time such as 2027-01-01T00:00:00Z")
    if parsed.tzinfo is None:
        usage_error(f"{option} needs a time zone (Z or ±hh:mm)")
    return int(parsed.timestamp())


def _head_time(client: ChainClient) -> int:
    from ledger.client.rpc_errors import rpc_errors

    with rpc_errors("the chain", "eth_getBlockByNumber"):
        return int(client.w3.eth.get_block("latest")["timestamp"])


def _issuer(did: str | None, cert_key: str | None, accreditation_id: int | None) -> str | bytes | int:
    """Exactly one way of naming an accreditation."""
    given = [value for value in (_did(did), _cert_key(cert_key), accreditation_id) if value is not None]
    if len(given) != 1:
        usage_error("name the issuer with exactly one of --did, --cert-key-sha256, --accreditation-id")
    return given[0]


def _member_session(
    rpc: str | None, registry: str | None, key_file: Path, timeout: float, confirmations: int
) -> tuple[ChainClient, Any]:
    from ledger.trust import RegistryMember

    urls = required_rpc_urls(rpc)
    signer = _chain_signer(key_file)
    client = chain_client(urls, timeout=timeout, confirmations=confirmations, backoff=COMMAND_BACKOFF)
    trust = _registry(client, registry)
    return client, RegistryMember(trust, signer, timeout=timeout)


def _outcome(member: Any, outcome: Any) -> None:
    emit({"registry": member.registry.address, "chain_id": member.registry.client.chain_id, **outcome.to_json()})


@app.command("members")
@guarded
def members_command(
    rpc: Annotated[str | None, typer.Option("--rpc", help=RPC_HELP)] = None,
    registry: RegistryAddressOption = None,
    timeout: ChainTimeoutOption = 30.0,
) -> None:
    """The cooperative's members, the quorum and the voting period."""
    with chain_client(required_rpc_urls(rpc), timeout=timeout) as client:
        trust = _registry(client, registry)
        emit(
            {
                "registry": trust.address,
                "chain_id": client.chain_id,
                "members": trust.members(),
                "quorum": trust.quorum(),
                "voting_period": trust.voting_period(),
            }
        )


@app.command("accredit")
@guarded
def accredit_command(
    key_file: KeyFileOption,
    did: Annotated[str, typer.Option("--did", help="The issuer's DID, exactly as it writes it into iss.")],
    types: Annotated[str, typer.Option("--types", help="Credential types (vct, doctype, W3C type), comma-separated.")],
    cert_key_sha256: CertKeyOption = None,
    valid_from: Annotated[
        str | None, typer.Option("--valid-from", help="Unix seconds or RFC 3339 \\[default: the chain's time].")
    ] = None,
    valid_until: Annotated[
        str | None,
        typer.Option("--valid-until", help="Unix seconds or RFC 3339 (exclusive) \\[default: --valid-days]."),
    ] = None,
    valid_days: Annotated[int, typer.Option("--valid-days", min=1, help="Validity from --valid-from, in days.")] = 365,
    rpc: Annotated[str | None, typer.Option("--rpc", help=RPC_HELP)] = None,
    registry: RegistryAddressOption = None,
    timeout: ChainTimeoutOption = 60.0,
    confirmations: ConfirmationsOption = 0,
) -> None:
    """Propose accrediting an issuer for credential types (the proposal counts your vote)."""
    issuer_did, credential_types = _did(did), _types(types)
    cert = _cert_key(cert_key_sha256)
    start, end = _timestamp(valid_from, "--valid-from"), _timestamp(valid_until, "--valid-until")
    client, member = _member_session(rpc, registry, key_file, timeout, confirmations)
    with client:
        start = _head_time(client) if start is None else start
        end = start + valid_days * 86_400 if end is None else end
        if end <= start:
            usage_error("--valid-until must be after --valid-from")
        outcome = member.propose_accreditation(
            str(issuer_did), credential_types, valid_from=start, valid_until=end, cert_key_sha256=cert
        )
        _outcome(member, outcome)


def _status_change(action: str) -> Callable[..., None]:
    def command(
        key_file: KeyFileOption,
        did: DidOption = None,
        cert_key_sha256: CertKeyOption = None,
        accreditation_id: AccreditationIdOption = None,
        rpc: Annotated[str | None, typer.Option("--rpc", help=RPC_HELP)] = None,
        registry: RegistryAddressOption = None,
        timeout: ChainTimeoutOption = 60.0,
        confirmations: ConfirmationsOption = 0,
    ) -> None:
        issuer = _issuer(did, cert_key_sha256, accreditation_id)
        client, member = _member_session(rpc, registry, key_file, timeout, confirmations)
        with client:
            _outcome(member, getattr(member, f"propose_{action}")(issuer))

    return command


suspend_command = app.command(
    "suspend", help="Propose suspending an issuer's accreditation (--did, --cert-key-sha256 or --accreditation-id)."
)(guarded(_status_change("suspension")))
revoke_command = app.command(
    "revoke",
    help="Propose revoking an issuer's accreditation for good (--did, --cert-key-sha256 or --accreditation-id).",
)(guarded(_status_change("revocation")))

PROPOSALS = ("add-member", "remove-member", "reinstate", "compromised")


@app.command("propose")
@guarded
def propose_command(
    action: Annotated[str, typer.Argument(help=f"One of: {', '.join(PROPOSALS)}.")],
    key_file: KeyFileOption,
    member: Annotated[
        str | None, typer.Argument(help="add-member / remove-member: the account address.", show_default=False)
    ] = None,
    did: DidOption = None,
    cert_key_sha256: CertKeyOption = None,
    accreditation_id: AccreditationIdOption = None,
    since: Annotated[
        str | None, typer.Option("--since", help="compromised: from when (Unix seconds or RFC 3339).")
    ] = None,
    since_block: Annotated[
        int | None, typer.Option("--since-block", min=0, help="compromised: from this block's time on.")
    ] = None,
    rpc: Annotated[str | None, typer.Option("--rpc", help=RPC_HELP)] = None,
    registry: RegistryAddressOption = None,
    timeout: ChainTimeoutOption = 60.0,
    confirmations: ConfirmationsOption = 0,
) -> None:
    """Propose admitting or removing a member, reinstating a suspended accreditation, or marking an issuer key
    compromised since a time (the proposal counts your vote)."""
    if action not in PROPOSALS:
        usage_error(f"propose takes one of {', '.join(PROPOSALS)}, not {action!r}")
    if action in ("add-member", "remove-member"):
        if member is None or did or cert_key_sha256 or accreditation_id:
            usage_error(f"propose {action} takes the member's address and nothing else")
        account = _address_argument(member, "the member")
    elif member is not None:
        usage_error(f"propose {action} takes no address argument")
    if action == "compromised":
        if accreditation_id is not None:
            usage_error("propose compromised names the key with --did or --cert-key-sha256")
        key = _issuer(did, cert_key_sha256, None)
        if (since is None) == (since_block is None):
            usage_error("propose compromised needs exactly one of --since, --since-block")
    issuer = _issuer(did, cert_key_sha256, accreditation_id) if action == "reinstate" else None
    client, session = _member_session(rpc, registry, key_file, timeout, confirmations)
    with client:
        if action == "add-member":
            outcome = session.propose_admission(account)
        elif action == "remove-member":
            outcome = session.propose_removal(account)
        elif action == "reinstate":
            outcome = session.propose_reinstatement(issuer)
        else:
            moment = _timestamp(since, "--since") if since_block is None else _block_time(client, since_block)
            outcome = session.propose_compromise(key, moment)
        _outcome(session, outcome)


def _block_time(client: ChainClient, number: int) -> int:
    from web3.exceptions import BlockNotFound

    from ledger.client.rpc_errors import rpc_errors

    with rpc_errors("the chain", "eth_getBlockByNumber"):
        try:
            return int(client.w3.eth.get_block(number)["timestamp"])
        except BlockNotFound:
            fail("no_such_block", f"the chain has no block {number} yet")


@app.command("vote")
@guarded
def vote_command(
    proposal_id: Annotated[int, typer.Argument(min=1, help="The proposal's id.")],
    key_file: KeyFileOption,
    against: Annotated[bool, typer.Option("--against", help="Vote no (default: yes).")] = False,
    execute: Annotated[
        bool,
        typer.Option("--execute", help="Do not vote: decide a proposal that already has its majority."),
    ] = False,
    rpc: Annotated[str | None, typer.Option("--rpc", help=RPC_HELP)] = None,
    registry: RegistryAddressOption = None,
    timeout: ChainTimeoutOption = 60.0,
    confirmations: ConfirmationsOption = 0,
) -> None:
    """Vote on an open proposal; the vote completing a majority executes it."""
    if execute and against:
        usage_error("--execute and --against exclude each other")
    client, member = _member_session(rpc, registry, key_file, timeout, confirmations)
    with client:
        _outcome(member, member.execute(proposal_id) if execute else member.vote(proposal_id, not against))


@app.command("status")
@guarded
def status_command(
    did: DidOption = None,
    cert_key_sha256: CertKeyOption = None,
    credential_type: Annotated[
        str | None, typer.Option("--type", help="With --did/--cert-key-sha256: may it issue this type?")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="…at this time (Unix seconds or RFC 3339) \\[default: the chain's time].")
    ] = None,
    status_list: Annotated[
        str | None,
        typer.Option("--status-list", help="With --did: the latest anchored digest of this status list URI."),
    ] = None,
    proposal: Annotated[int | None, typer.Option("--proposal", min=1, help="Show this proposal.")] = None,
    rpc: Annotated[str | None, typer.Option("--rpc", help=RPC_HELP)] = None,
    registry: RegistryAddressOption = None,
    timeout: ChainTimeoutOption = 30.0,
) -> None:
    """The registry at a glance (members, open proposals, accreditations), or one issuer, or one proposal."""
    issuer = _did(did) if did is not None else _cert_key(cert_key_sha256)
    if did is not None and cert_key_sha256 is not None:
        usage_error("name the issuer with --did or --cert-key-sha256, not both")
    if (credential_type or at) and issuer is None:
        usage_error("--type and --at need --did or --cert-key-sha256")
    if status_list is not None and did is None:
        usage_error("--status-list needs --did (the issuer whose anchors to read)")
    if proposal is not None and issuer is not None:
        usage_error("--proposal shows one proposal; leave out --did/--cert-key-sha256")
    moment = _timestamp(at, "--at")
    with chain_client(required_rpc_urls(rpc), timeout=timeout) as client:
        trust = _registry(client, registry)
        out: dict[str, Any] = {"registry": trust.address, "chain_id": client.chain_id}
        if proposal is not None:
            out["proposal"] = trust.proposal(proposal).to_json()
        elif issuer is not None:
            found = trust.accreditation(issuer)
            out["accreditation"] = found.to_json() if found else None
            if credential_type is not None:
                moment = _head_time(client) if moment is None else moment
                out["check"] = {"credential_type": credential_type, "at": moment} | trust.check(
                    issuer, credential_type, moment
                ).to_json()
            if status_list is not None:
                out["status_list"] = _anchored(client, str(did), status_list)
        else:
            out["members"] = trust.members()
            out["quorum"] = trust.quorum()
            out["open_proposals"] = [p.to_json() for p in trust.proposals(open_only=True)]
            out["accreditations"] = [a.to_json() for a in trust.accreditations()]
        emit(out)


def _anchored(client: ChainClient, did: str, uri: str) -> dict[str, Any]:
    from ledger.bootstrap import addresses_from_env
    from ledger.trust import StatusAnchorReader

    address = addresses_from_env().status_anchor
    if not client.code(address):
        fail("no_status_anchor", f"there is no contract at {address} (set GOVSSI_STATUS_ANCHOR)")
    try:
        latest = StatusAnchorReader(client, address).latest(did, uri)
    except ValueError:
        usage_error("--status-list needs a did:ethr issuer")
    return {"uri": uri, "anchor": address, "latest": latest.to_json() if latest else None}


@app.command("dev-accredit")
@guarded
def dev_accredit_command(
    rpc: Annotated[str | None, typer.Option("--rpc", help=RPC_HELP)] = None,
    did: DidOption = None,
    cert_key_sha256: CertKeyOption = None,
    types: Annotated[
        str | None, typer.Option("--types", help="Credential types (vct, doctype, W3C type), comma-separated.")
    ] = None,
    issuer: Annotated[
        str | None,
        typer.Option(
            "--issuer",
            help="Read DID, types and certificate key from this credential issuer's metadata instead "
            "(OpenID4VCI and JWT VC Issuer Metadata; plain HTTP only on 127.0.0.1).",
        ),
    ] = None,
    valid_days: Annotated[int, typer.Option("--valid-days", min=1, help="Validity in days from a day ago.")] = 365,
    force: Annotated[
        bool, typer.Option("--force", help="Also on a chain whose id is not a development chain id.")
    ] = False,
    registry: RegistryAddressOption = None,
    timeout: ChainTimeoutOption = 60.0,
) -> None:
    """Development: the demo cooperative of `ledger node --bootstrap` votes to accredit an issuer."""
    from ledger.bootstrap import DEVELOPMENT_CHAIN_IDS, dev_member_signers
    from ledger.trust import RegistryMember, describe_issuer

    if issuer is not None:
        if did or cert_key_sha256 or types:
            usage_error(
                "--issuer reads DID, types and certificate key itself: leave out --did, --cert-key-sha256, --types"
            )
        if not issuer.startswith(("https://", "http://127.0.0.1", "http://localhost", "http://[::1]")):
            usage_error("--issuer must be an https URL (or http on 127.0.0.1 for development)")
        credential_types, cert = None, None
    else:
        if did is None or types is None:
            usage_error("give --did and --types (and optionally --cert-key-sha256), or --issuer")
        credential_types, cert = _types(types), _cert_key(cert_key_sha256)
    urls = required_rpc_urls(rpc)
    with chain_client(urls, timeout=timeout, backoff=COMMAND_BACKOFF) as client:
        if client.chain_id not in DEVELOPMENT_CHAIN_IDS and not force:
            fail(
                "not_a_development_chain",
                f"chain {client.chain_id} is not a development chain "
                f"({', '.join(map(str, sorted(DEVELOPMENT_CHAIN_IDS)))}): dev-accredit uses the published demo keys; "
                "use --force only on a disposable chain",
            )
        if issuer is not None:
            described = describe_issuer(issuer.rstrip("/"))
            did, credential_types, cert = described.did, list(described.credential_types), described.cert_key_sha256
        assert did is not None and credential_types is not None
        trust = _registry(client, registry)
        members = [RegistryMember(trust, signer, timeout=timeout) for signer in dev_member_signers()]
        if not all(trust.is_member(m.signer.address) for m in members[: trust.quorum()]):
            fail(
                "not_bootstrapped",
                "the demo cooperative's members are not this registry's members (ledger node --bootstrap)",
            )
        now = _head_time(client)
        current = trust.accreditation(did)
        if (
            current is not None
            and all(current.permits(t, now) for t in credential_types)
            and current.cert_key_sha256 == cert
        ):
            emit(
                {
                    "registry": trust.address,
                    "chain_id": client.chain_id,
                    "unchanged": True,
                    "accreditation": current.to_json(),
                }
            )
            return
        outcome = members[0].propose_accreditation(
            did, credential_types, valid_from=now - 86_400, valid_until=now + valid_days * 86_400, cert_key_sha256=cert
        )
        transactions = [outcome.transaction_hash]
        for voter in members[1:]:
            if outcome.accreditation_id is not None:
                break
            outcome = voter.vote(outcome.proposal.id)
            transactions.append(outcome.transaction_hash)
        if outcome.accreditation_id is None:
            fail("not_decided", f"proposal {outcome.proposal.id} did not reach a majority of the demo members")
        accreditation = trust.accreditation_by_id(outcome.accreditation_id)
        emit(
            {
                "registry": trust.address,
                "chain_id": client.chain_id,
                "unchanged": False,
                "accreditation": accreditation.to_json(),
                "proposal": outcome.proposal.to_json(),
                "transactions": transactions,
            }
        )


# -- production network ----------------------------------------------------------------------------------------------


@app.command("genesis")
@guarded
def genesis_command(
    validators: Annotated[int, typer.Option("--validators", min=1, max=64, help="Number of QBFT validators.")],
    chain_id: Annotated[int, typer.Option("--chain-id", min=1, help="The network's chain id.")],
    out: Annotated[Path, typer.Option("--out", help="New (or empty) directory for the network's files.")],
    hosts: Annotated[
        str | None,
        typer.Option(
            "--hosts",
            help="The validators' hosts, comma-separated: one per validator, or one for all (ports counted up) "
            "\\[default: 127.0.0.1].",
        ),
    ] = None,
    p2p_port: Annotated[int, typer.Option("--p2p-port", min=1, max=65535, help="First/only P2P port.")] = 30303,
    rpc_port: Annotated[int, typer.Option("--rpc-port", min=1, max=65535, help="First/only JSON-RPC port.")] = 8545,
    block_period: Annotated[int, typer.Option("--block-period", min=1, help="Seconds between blocks.")] = 2,
    gas_limit: Annotated[int, typer.Option("--gas-limit", min=5_000_000, help="Block gas limit.")] = 50_000_000,
    members: Annotated[
        Path | None,
        typer.Option("--members", help="Genesis members of the trusted-issuer registry (as for ledger deploy)."),
    ] = None,
) -> None:
    """Write genesis and node configuration for a permissioned Hyperledger Besu QBFT network (zero gas price,
    validator keys generated here) plus the key and instructions for deploying govssi's contracts."""
    from ledger.deploy import GenesisMembers
    from ledger.qbft import generate_network

    host_list = [part.strip() for part in (hosts or "").split(",") if part.strip()]
    if host_list and len(host_list) not in (1, validators):
        usage_error("--hosts names one host for all validators or one per validator")
    genesis_members = None
    if members is not None:
        try:
            genesis_members = GenesisMembers.from_json(read_json_object(members))
        except ValueError as exc:
            raise InputFileError(f"{members}: {exc}") from None
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        fail("exists", f"{out} exists and is not an empty directory; refusing to overwrite a network's keys")
    try:
        network = generate_network(
            out,
            chain_id=chain_id,
            validators=validators,
            hosts=host_list,
            p2p_port=p2p_port,
            rpc_port=rpc_port,
            block_period_seconds=block_period,
            gas_limit=gas_limit,
            members=genesis_members,
            timestamp=int(time.time()),
            passphrase=os.environ.get("GOVSSI_KEY_PASSPHRASE") or None,
        )
    except ValueError as exc:
        usage_error(str(exc))
    emit(network.to_json())
    sys.stderr.write(f"govssi: wrote a {validators}-validator QBFT network for chain {chain_id} to {out}\n")
