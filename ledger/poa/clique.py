"""EIP-225 (Clique) on py-evm: the consensus adapter, the rules py-evm leaves to its caller, and sealing.

py-evm (``eth.consensus.clique``) implements most of Clique: header integrity (vanity, seal length, checkpoint
signer lists, nonce and mix digest, uncles, difficulty 1 or 2, no future timestamps), seal recovery, in-turn and
out-of-turn difficulty, signer snapshots with authorisation votes and epoch checkpoints. What it does not check, and
:func:`check_cascading_rules` does (EIP-225 "Block authorization" and geth's ``verifyCascadingFields``/``verifySeal``):

- ``timestamp ≥ parent.timestamp + BLOCK_PERIOD``;
- a signer "can only sign one block in every SIGNER_LIMIT consecutive blocks" (``SIGNER_LIMIT = ⌊N/2⌋ + 1``), i.e.
  none of the previous ``⌊N/2⌋`` blocks may have the same signer;
- a checkpoint block (``number % EPOCH_LENGTH == 0``) lists exactly the current signers.

**The BadSignature defect.** py-evm's ``CliqueConsensus.get_fee_recipient`` recovers the block's signer from the
seal and falls back to the coinbase on ``ValueError`` only. A block being built has a zero seal, and recovering it
raises eth-keys' ``BadSignature`` (an ``Exception``, not a ``ValueError``), which escapes from py-evm as soon as the
VM's state is touched. :class:`CliqueAdapter` catches it. It must not simply fall back to the coinbase (a vote
target in Clique), because every other node credits transaction fees — and answers ``COINBASE`` — with the signer it
recovers from the finished seal: the builder must use the same address, or its state root would differ from
everybody else's. So while a node builds a block it names itself (:func:`building_as`, a context variable), and the
adapter answers with that address for the unsealed header.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Final

from eth.abc import BlockHeaderAPI
from eth.consensus.clique._utils import get_block_signer, get_signature_hash, get_signers_at_checkpoint
from eth.consensus.clique.clique import CliqueApplier, CliqueConsensus
from eth.consensus.clique.constants import NONCE_AUTH, NONCE_DROP, SIGNATURE_LENGTH
from eth.typing import VMConfiguration
from eth_keys.exceptions import BadSignature
from eth_typing import Address
from eth_utils.address import to_canonical_address

from ledger.client.signer import ChainSigner
from ssi.errors import InvalidBlock

__all__ = [
    "DIFF_IN_TURN",
    "NONCE_AUTH",
    "NONCE_DROP",
    "DIFF_NO_TURN",
    "WIGGLE_TIME",
    "CliqueAdapter",
    "building_as",
    "canonical",
    "check_cascading_rules",
    "choice_rank",
    "clique_vm_configuration",
    "header_signer",
    "in_turn",
    "seal_header",
    "signer_limit",
    "vote_fields",
    "wiggle_window",
]

#: EIP-225 ``DIFF_INTURN`` / ``DIFF_NOTURN``: the weight of a block in the fork choice.
DIFF_IN_TURN: Final = 2
DIFF_NO_TURN: Final = 1
#: EIP-225 ``WIGGLE_TIME``: out-of-turn signers wait a random delay of up to ``(⌊N/2⌋ + 1) · 500 ms``.
WIGGLE_TIME: Final = 0.5

_building: contextvars.ContextVar[bytes | None] = contextvars.ContextVar("clique_building_as", default=None)


class CliqueAdapter(CliqueConsensus):
    """py-evm's Clique consensus with the ``BadSignature`` defect handled (see the module docstring)."""

    @classmethod
    def get_fee_recipient(cls, header: BlockHeaderAPI) -> Address:
        try:
            return get_block_signer(header)
        except (BadSignature, ValueError):
            builder = _building.get()
            return Address(builder) if builder is not None else header.coinbase


@contextlib.contextmanager
def building_as(signer: bytes) -> Iterator[None]:
    """While building a block that ``signer`` (a canonical address) will seal: its fee recipient is ``signer``."""
    token = _building.set(bytes(signer))
    try:
        yield
    finally:
        _building.reset(token)


def clique_vm_configuration(vm_configuration: VMConfiguration) -> VMConfiguration:
    """``vm_configuration`` amended for Clique as py-evm's ``CliqueApplier`` does, with :class:`CliqueAdapter` as the
    consensus class."""
    return tuple(
        (number, vm.configure(consensus_class=CliqueAdapter))
        for number, vm in CliqueApplier().amend_vm_configuration(vm_configuration)
    )


def signer_limit(signers: int) -> int:
    """EIP-225 ``SIGNER_LIMIT``: ``⌊N/2⌋ + 1`` — a signer seals at most one of that many consecutive blocks."""
    return signers // 2 + 1


def in_turn(number: int, signer: bytes, signers: list[bytes]) -> bool:
    """EIP-225: block ``number`` is ``signer``'s turn when ``number % N`` is its index among the sorted signers."""
    ordered = sorted(signers)
    return signer in ordered and number % len(ordered) == ordered.index(signer)


def wiggle_window(signers: int) -> float:
    """The longest random delay an out-of-turn signer waits (seconds)."""
    return signer_limit(signers) * WIGGLE_TIME


def choice_rank(
    header: BlockHeaderAPI, *, total_difficulty: int, signer_index: int, signer_count: int
) -> tuple[int, int, int, int]:
    """The rank of ``header`` as a chain head in the EIP-3436 block choice rule ("Expanded Clique Block Choice
    Rule"); of two heads the one with the greater rank is canonical. EIP-3436: "choose the block with the most total
    difficulty. Then choose the block with the lowest block number. Then choose the block whose validator had the least
    recent in-turn block assignment. Then choose the block with the lowest hash" — the third as the greatest
    ``(header_number - validator_index) % validator_count`` (the signer's index among the sorted signers), the fourth
    with the hash read as an unsigned 256-bit integer.

    EIP-225 alone says only "the chain with the most total difficulty"; keeping the first seen of two equally heavy
    heads (what most clients did) can stop a network for good although more than half of its signers are online:
    each eligible signer may sit on the head where it signed recently, while the others wait on the other head (the
    Goerli halts EIP-3436 was written for; geth's ``shouldPreserve`` comment shows one). A rule every node applies
    alike puts all nodes on one head, on which at least one online signer is not among the last ``⌊N/2⌋``.
    """
    number = header.block_number
    return (
        total_difficulty,
        -number,
        (number - signer_index) % signer_count if signer_count else 0,
        -int.from_bytes(header.hash, "big"),
    )


def vote_fields(subject: bytes | None, authorize: bool) -> tuple[bytes, bytes]:
    """(coinbase, nonce) of a block: a vote to add (``NONCE_AUTH``) or drop (``NONCE_DROP``) ``subject``, or no vote
    (zero coinbase, ``NONCE_DROP``: a drop vote for the zero address, which is never a signer, counts for nothing)."""
    if subject is None:
        return bytes(20), NONCE_DROP
    return bytes(subject), NONCE_AUTH if authorize else NONCE_DROP


def seal_header(header: BlockHeaderAPI, signer: ChainSigner) -> BlockHeaderAPI:
    """``header`` with its seal: the signer's signature over the header hash without the seal's 65 bytes (EIP-225
    ``sigHash``), as ``r ‖ s ‖ v`` with ``v`` the recovery id 0 or 1. ``header.extra_data`` must end in 65 bytes of
    room for it."""
    digest = get_signature_hash(header)
    signature = signer.sign_digest(digest)
    seal = signature.r.to_bytes(32, "big") + signature.s.to_bytes(32, "big") + bytes([signature.y_parity])
    return header.copy(extra_data=header.extra_data[:-SIGNATURE_LENGTH] + seal)


def header_signer(header: BlockHeaderAPI) -> bytes:
    """The address that sealed ``header`` (``ECDSARECOVER`` of the seal); :class:`InvalidBlock` if none did."""
    try:
        return bytes(get_block_signer(header))
    except (BadSignature, ValueError) as exc:
        raise InvalidBlock(f"block {header.block_number}: unreadable seal ({exc})", reason="invalid_seal") from None


def check_cascading_rules(
    header: BlockHeaderAPI,
    parent: BlockHeaderAPI,
    *,
    signer: bytes,
    signers: list[bytes],
    recent_signers: list[bytes],
    period: int,
    epoch: int,
) -> None:
    """The EIP-225 rules that depend on the chain before ``header``; :class:`InvalidBlock` on the first broken one.

    ``signers`` is the signer set after ``parent`` (its snapshot), ``recent_signers`` the signers of the
    ``⌊N/2⌋`` blocks up to and including ``parent`` (fewer near genesis).
    """
    number = header.block_number
    if header.timestamp < parent.timestamp + period:
        raise InvalidBlock(
            f"block {number}: timestamp {header.timestamp} is less than {period} s after its parent's "
            f"({parent.timestamp})",
            reason="invalid_timestamp",
        )
    if signer not in signers:
        raise InvalidBlock(f"block {number}: sealed by 0x{signer.hex()}, not a signer", reason="unauthorized_signer")
    if signer in recent_signers:
        raise InvalidBlock(
            f"block {number}: 0x{signer.hex()} signed one of the previous {signer_limit(len(signers)) - 1} blocks",
            reason="recently_signed",
        )
    expected = DIFF_IN_TURN if in_turn(number, signer, signers) else DIFF_NO_TURN
    if header.difficulty != expected:
        raise InvalidBlock(
            f"block {number}: difficulty {header.difficulty}, expected {expected} for 0x{signer.hex()}",
            reason="wrong_difficulty",
        )
    if number % epoch == 0:
        listed = [bytes(address) for address in get_signers_at_checkpoint(header)]
        if listed != sorted(signers):
            raise InvalidBlock(f"checkpoint block {number} lists other signers", reason="invalid_checkpoint")


def canonical(address: str | bytes) -> bytes:
    """A 20-byte address from its hex or canonical form."""
    return bytes(to_canonical_address(address)) if isinstance(address, str) else bytes(address)
