"""py-evm's chain database with the defect that stalls a Clique node after a reorganisation to a shorter chain.

**The defect.** In Clique a shorter chain can be heavier than a longer one (in-turn blocks weigh 2), so a node
reorganises to a head *below* its old one. py-evm then de-canonicalises the old chain's blocks above the new head
(``HeaderDB._decanonicalize_descendant_orphans`` deletes their number → hash entries and reopens the *header* gaps)
but leaves its *block* gaps (``ChainDB``'s record of which heights have a canonical block) as they were. When another
header for such a height arrives first on a branch that does not win (it closes the header gap), the next header at
that height reaches ``ChainDB._update_header_chain_gaps``, which believes a canonical block exists there, asks for
it, and gets ``HeaderNotFound`` — the import fails, and it fails for every later block at that height: the node can
never follow the winning chain again, and a network whose signers all hit it stops sealing. Seen under load with 7
nodes; ``tests/ledger/poa/test_poa_chain.py::test_a_shorter_heavier_chain_wins_and_grows_on`` reproduces it with
three blocks.

**The adapter.** :class:`CliqueChainDB` answers that case as py-evm answers a changed header at a height it holds:
the height has no canonical block, so its block gap is reopened (persisting the canonical block there later fills
it). Everything else is py-evm's code. The installed package is not modified.
"""

from __future__ import annotations

import rlp  # type: ignore[import-untyped]
from eth.abc import BlockHeaderAPI, DatabaseAPI
from eth.db.chain import ChainDB
from eth.db.chain_gaps import GapChange, GapInfo, reopen_gap
from eth.db.schema import SchemaV1
from eth.exceptions import HeaderNotFound
from eth.rlp.sedes import chain_gaps
from eth.typing import ChainGaps

__all__ = ["CliqueChainDB"]


class CliqueChainDB(ChainDB):
    """:class:`eth.db.chain.ChainDB` with the header-gap defect handled (see the module docstring)."""

    @classmethod
    def _update_header_chain_gaps(
        cls, db: DatabaseAPI, persisting_header: BlockHeaderAPI, base_gaps: ChainGaps | None = None
    ) -> GapInfo:
        try:
            return super()._update_header_chain_gaps(db, persisting_header, base_gaps)  # type: ignore[arg-type]
        except HeaderNotFound:
            # Raised only on py-evm's "no gap change" path, before it wrote anything: the header gaps are unchanged.
            gaps = base_gaps if base_gaps is not None else cls._get_header_chain_gaps(db)
            block_gaps = reopen_gap(persisting_header.block_number, cls._get_chain_gaps(db))
            db.set(SchemaV1.make_chain_gaps_lookup_key(), rlp.encode(block_gaps, sedes=chain_gaps))
            return GapChange.NoChange, gaps
