"""The PoA network model: a govdigital-style network of Clique (EIP-225) validators on py-evm, one process per node.

DESIGN.md §3, chain runtime (c). A **model for tests and demonstrations**, built on py-evm's Clique rules
(:mod:`eth.consensus.clique`) with the parts py-evm leaves out (:mod:`ledger.poa.clique`); production networks run
Hyperledger Besu with QBFT from ``govssi ledger genesis``. docs/ledger.md ("The PoA network model") explains the
model, its limits, the finality depth and how the validators relate to the trusted-issuer registry's members.

Starting and stopping a network (the public API; ``govssi ledger network`` is the same from the command line)::

    from ledger.poa import Network

    network = Network(Path("net"), validators=7, period=2, base_port=8545).start()  # keys + genesis on first start
    network.urls            # ["http://127.0.0.1:8545", …, "http://127.0.0.1:8551"], node i on base_port + i
    network.rpc             # the same, comma-separated: the value for GOVSSI_CHAIN_RPC
    network.status()        # [NodeStatus(index, url, address, running, signer, height, head_hash, peers, last_signer)]
    network.stop()          # every node process stopped (SIGTERM, then SIGKILL); also on leaving `with Network(...)`

``base_port=0`` picks free ports. For fault injection: ``kill(i)`` (SIGKILL), ``stop_node(i)``, ``start_node(i)``,
``partition([[0, 1, 2], [3, 4, 5, 6]])`` / ``heal()``, ``add_node()`` (a non-signer that a majority can vote in with
``clique_propose``), ``call(i, method, params)``.

The ledger client works unchanged on the network: ``ChainClient.connect(network.urls)`` fails over between nodes and,
seeing ``clique_getSigners``, waits for the Clique finality depth (:func:`ledger.client.finality.clique_finality_depth`)
by default.

Pieces: :class:`CliqueChain` (one node's chain, pool and block log), :class:`PoaNode` (chain + sealer + peers +
JSON-RPC server, in-process), :class:`Sealer`, :class:`PeerSet`, :class:`CliqueGenesis`.
"""

from ledger.client.finality import clique_confirmations, clique_finality_depth
from ledger.poa.chain import CliqueChain, HeadChange
from ledger.poa.genesis import DEFAULT_EPOCH, DEFAULT_PERIOD, CliqueGenesis
from ledger.poa.network import DEFAULT_BASE_PORT, Network, NodeStatus
from ledger.poa.node import PoaNode
from ledger.poa.peers import PeerSet
from ledger.poa.sealer import Sealer
from ssi.errors import InvalidBlock

__all__ = [
    "DEFAULT_BASE_PORT",
    "DEFAULT_EPOCH",
    "DEFAULT_PERIOD",
    "CliqueChain",
    "CliqueGenesis",
    "HeadChange",
    "InvalidBlock",
    "Network",
    "NodeStatus",
    "PeerSet",
    "PoaNode",
    "Sealer",
    "clique_confirmations",
    "clique_finality_depth",
]
