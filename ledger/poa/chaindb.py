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

**The block choice rule.** py-evm makes a block canonical only when it is strictly heavier than the head; the Clique
tie-break of EIP-3436 (:func:`ledger.poa.clique.choice_rank`) needs to make an equally heavy one canonical:
:meth:`CliqueChainDB.set_canonical_head` does what py-evm does for a heavier block (its header and transaction
lookups), for a block that is already stored.

**The adapter.** :class:`CliqueChainDB` answers that case as py-evm answers a changed header at a height it holds:
the height has no canonical block, so its block gap is reopened (persisting the canonical block there later fills
it). Everything else is py-evm's code. The installed package is not modified.
"""

from __future__ import annotations

import rlp  # type: ignore[import-untyped]
from eth.abc import BlockHeaderAPI, DatabaseAPI
from eth.constants import GENESIS_PARENT_HASH
from eth.db.chain import ChainDB
from eth.db.chain_gaps import GapChange, GapInfo, reopen_gap
from eth.db.schema import SchemaV1
from eth.exceptions import HeaderNotFound
from eth.rlp.sedes import chain_gaps
from eth.typing import ChainGaps
from eth_typing import Hash32

__all__ = ["CliqueChainDB"]


class CliqueChainDB(ChainDB):
    """:class:`eth.db.chain.ChainDB` with the header-gap defect handled and equally heavy heads switchable (see the
    module docstring)."""

    def set_canonical_head(self, header: BlockHeaderAPI) -> tuple[tuple[Hash32, ...], tuple[Hash32, ...]]:
        """Make the stored block ``header`` the canonical head as ``ChainDB.persist_block`` does for a heavier block
        (canonical header chain, transaction lookups of the blocks that become canonical); the hashes of the blocks
        that became canonical and of those that stopped being canonical."""
        with self.db.atomic_batch() as db:
            new_headers, old_headers = self._set_as_canonical_chain_head(db, header, GENESIS_PARENT_HASH)
            for new in new_headers:
                for index, transaction_hash in enumerate(self._get_block_transaction_hashes(db, new)):
                    self._add_transaction_to_canonical_chain(db, transaction_hash, new, index)
        return tuple(new.hash for new in new_headers), tuple(old.hash for old in old_headers)

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
