"""Interface utilities of the BBS draft (draft-irtf-cfrg-bbs-signatures-09 §4.1): the generators, the fixed point
``P1`` (§7.2) and the mapping of messages to scalars, plus ``calculate_domain`` (§4.2.3).

Generators are constants per ciphersuite and ``api_id``; §4.1.1: "implementations MAY cache its result [...] Care
must be taken, to guarantee that the generators will be fetched from the cache in the same order" — we keep one
growing list per (suite, api_id) together with the last ``v`` so it is extended, never recomputed.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from typing import Final

from py_arkworks_bls12381 import G1Point

from ssi.bbs._octets import i2osp8, serialize_points
from ssi.bbs._suite import EXPAND_LEN, MAX_MESSAGES, Ciphersuite
from ssi.errors import BbsInputError


class _GeneratorCache:
    def __init__(self, suite: Ciphersuite, seed_dst: bytes, generator_dst: bytes, generator_seed: bytes) -> None:
        self._suite = suite
        self._seed_dst = seed_dst
        self._generator_dst = generator_dst
        self._generator_seed = generator_seed
        self._points: list[G1Point] = []
        self._v: bytes | None = None
        self._lock = threading.Lock()

    def take(self, count: int) -> list[G1Point]:
        """§4.1.1 ``create_generators(count, api_id)``: the first ``count`` generators."""
        with self._lock:
            suite = self._suite
            if self._v is None:
                # 1. v = expand_message(generator_seed, seed_dst, expand_len)
                self._v = suite.expand_message(self._generator_seed, self._seed_dst, EXPAND_LEN)
            # 2. for i in (1, 2, ..., count):
            for i in range(len(self._points) + 1, count + 1):
                # 3. v = expand_message(v || I2OSP(i, 8), seed_dst, expand_len)
                self._v = suite.expand_message(self._v + i2osp8(i), self._seed_dst, EXPAND_LEN)
                # 4. generator_i = hash_to_curve_g1(v, generator_dst)
                self._points.append(suite.hash_to_curve_g1(self._v, self._generator_dst))
            return self._points[:count]


_CACHES: dict[tuple[str, bytes], _GeneratorCache] = {}
_CACHES_LOCK: Final = threading.Lock()


def create_generators(count: int, api_id: bytes, suite: Ciphersuite) -> list[G1Point]:
    """§4.1.1 ``create_generators`` with ``seed_dst = api_id || "SIG_GENERATOR_SEED_"``, ``generator_dst = api_id ||
    "SIG_GENERATOR_DST_"``, ``generator_seed = api_id || "MESSAGE_GENERATOR_SEED"``. ``count`` is at most
    ``MAX_MESSAGES + 1``."""
    if count > MAX_MESSAGES + 1:
        raise BbsInputError(f"at most {MAX_MESSAGES} messages are supported", reason="bbs_too_many_messages")
    with _CACHES_LOCK:
        cache = _CACHES.get((suite.name, api_id))
        if cache is None:
            cache = _CACHES[(suite.name, api_id)] = _GeneratorCache(
                suite,
                api_id + b"SIG_GENERATOR_SEED_",
                api_id + b"SIG_GENERATOR_DST_",
                api_id + b"MESSAGE_GENERATOR_SEED",
            )
    return cache.take(count)


@functools.cache
def p1(suite: Ciphersuite) -> G1Point:
    """§7.2: ``P1`` is ``create_generators`` with ``count = 1``, no ``api_id`` and the DSTs ``ciphersuite_id ||
    "H2G_HM2S_SIG_GENERATOR_SEED_"``, ``ciphersuite_id || "H2G_HM2S_SIG_GENERATOR_DST_"`` and the seed
    ``ciphersuite_id || "H2G_HM2S_BP_MESSAGE_GENERATOR_SEED"``."""
    cid = suite.ciphersuite_id
    return _GeneratorCache(
        suite,
        cid + b"H2G_HM2S_SIG_GENERATOR_SEED_",
        cid + b"H2G_HM2S_SIG_GENERATOR_DST_",
        cid + b"H2G_HM2S_BP_MESSAGE_GENERATOR_SEED",
    ).take(1)[0]


def messages_to_scalars(messages: Sequence[bytes], api_id: bytes, suite: Ciphersuite) -> list[int]:
    """§4.1.2 ``messages_to_scalars``: ``hash_to_scalar(messages[i], api_id || "MAP_MSG_TO_SCALAR_AS_HASH_")``."""
    if len(messages) > MAX_MESSAGES:
        raise BbsInputError(f"at most {MAX_MESSAGES} messages are supported", reason="bbs_too_many_messages")
    map_dst = api_id + b"MAP_MSG_TO_SCALAR_AS_HASH_"
    for message in messages:
        if not isinstance(message, bytes):
            raise BbsInputError("every message must be an octet string", reason="bbs_message_not_octets")
    return [suite.hash_to_scalar(message, map_dst) for message in messages]


def calculate_domain(
    pk: bytes, generators: Sequence[G1Point], header: bytes, *, api_id: bytes, suite: Ciphersuite
) -> int:
    """§4.2.3 ``calculate_domain`` with ``generators = (Q_1, H_1, ..., H_L)``:
    ``hash_to_scalar(PK || serialize((L, Q_1, H_1, ..., H_L)) || api_id || I2OSP(length(header), 8) || header,
    api_id || "H2S_")``."""
    dom_octs = i2osp8(len(generators) - 1) + serialize_points(generators) + api_id
    return suite.hash_to_scalar(pk + dom_octs + i2osp8(len(header)) + header, api_id + b"H2S_")
