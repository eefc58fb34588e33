"""ssi.x5c_cache: remembered chain validations answer exactly as RFC 5280 §6.1 path validation (ssi.x509.verify_x5c)
at every moment — a path validated once validates again only while every certificate on it is within its validity
period (§6.1.3 (a)(2)); failures are never remembered."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssi.errors import CertificateError
from ssi.keys import PrivateKey
from ssi.x5c_cache import X5cChainCache
from ssi.x509 import issue_certificate, make_self_signed_ca, verify_x5c, x5c_chain

NOW = 1_800_000_000.0
DAY = 86400.0


@pytest.fixture(scope="module")
def pki() -> dict[str, object]:
    """Root (10 years) → intermediate (valid 30 days from NOW) → leaf (valid 365 days from NOW - 1 day): the
    intermediate, not the leaf, ends the path's window."""
    ca_key = PrivateKey.generate("ES256")
    ca = make_self_signed_ca(ca_key, "Cache Root CA", now=NOW - 10 * DAY, days=3650)
    sub_key = PrivateKey.generate("ES256")
    sub = issue_certificate(ca, ca_key, sub_key.public_key, "Cache Issuing CA", now=NOW, days=30, ca=True)
    leaf_key = PrivateKey.generate("ES256")
    leaf = issue_certificate(sub, sub_key, leaf_key.public_key, "Leaf", now=NOW - DAY, days=365)
    other_key = PrivateKey.generate("ES256")
    other_ca = make_self_signed_ca(other_key, "Other Root CA", now=NOW - 10 * DAY, days=3650)
    other_leaf = issue_certificate(other_ca, other_key, leaf_key.public_key, "Other Leaf", now=NOW - DAY)
    return {
        "ca": ca,
        "x5c": x5c_chain([leaf, sub]),
        "leaf_key": leaf_key,
        "sub": sub,
        "other_ca": other_ca,
        "other_x5c": x5c_chain([other_leaf]),
    }


def _outcome(call: object) -> str:
    try:
        chain = call()  # type: ignore[operator]
    except CertificateError as exc:
        return f"refused:{exc.reason}"
    return f"valid:{chain.leaf.serial_number}:{chain.public_key.thumbprint()}"


def test_rfc5280_s6_1_repeated_validation_is_answered_from_memory(pki: dict[str, object]) -> None:
    cache = X5cChainCache([pki["ca"]])  # type: ignore[list-item]
    first = cache.verify(pki["x5c"], now=NOW)
    second = cache.verify(list(pki["x5c"]), now=NOW + 3600)  # type: ignore[call-overload]
    direct = verify_x5c(pki["x5c"], [pki["ca"]], now=NOW + 3600)  # type: ignore[list-item]
    assert (cache.misses, cache.hits) == (1, 1)
    assert second is first
    assert second.public_key == direct.public_key == pki["leaf_key"].public_key  # type: ignore[attr-defined]
    assert second.chain == direct.chain and len(second.chain) == 3


def test_rfc5280_s6_1_3_a_2_an_expired_intermediate_ends_the_remembered_validity(pki: dict[str, object]) -> None:
    """The leaf is still valid, the intermediate is not: the remembered path must not be used."""
    cache = X5cChainCache([pki["ca"]])  # type: ignore[list-item]
    cache.verify(pki["x5c"], now=NOW + DAY)
    expired = pki["sub"].not_valid_after_utc.timestamp() + 60  # type: ignore[attr-defined]
    with pytest.raises(CertificateError) as refused:
        cache.verify(pki["x5c"], now=expired)
    assert refused.value.reason == "x5c_untrusted"
    with pytest.raises(CertificateError):
        cache.verify(pki["x5c"], now=NOW - 2 * DAY)  # before the leaf and the intermediate
    assert cache.hits == 0


def test_rfc7515_s4_1_6_failures_are_never_remembered(pki: dict[str, object]) -> None:
    cache = X5cChainCache([pki["ca"]])  # type: ignore[list-item]
    for _ in range(2):
        with pytest.raises(CertificateError) as refused:
            cache.verify(pki["other_x5c"], now=NOW)
        assert refused.value.reason == "x5c_untrusted"
    with pytest.raises(CertificateError) as malformed:
        cache.verify("not an array", now=NOW)
    assert malformed.value.reason == "x5c_malformed"
    assert (cache.hits, cache.misses) == (0, 0)


def test_rfc5280_s6_1_the_anchors_are_the_caches_own(pki: dict[str, object]) -> None:
    """A chain validated by one verifier's cache is not trusted by a cache with other anchors."""
    X5cChainCache([pki["ca"]]).verify(pki["x5c"], now=NOW)  # type: ignore[list-item]
    with pytest.raises(CertificateError):
        X5cChainCache([pki["other_ca"]]).verify(pki["x5c"], now=NOW)  # type: ignore[list-item]


def test_least_recently_used_chain_is_dropped_at_the_bound(pki: dict[str, object]) -> None:
    cache = X5cChainCache([pki["ca"], pki["other_ca"]], max_entries=1)  # type: ignore[list-item]
    cache.verify(pki["x5c"], now=NOW)
    cache.verify(pki["other_x5c"], now=NOW)
    cache.verify(pki["x5c"], now=NOW)
    assert (cache.hits, cache.misses) == (0, 3)
    with pytest.raises(ValueError, match="max_entries"):
        X5cChainCache([pki["ca"]], max_entries=0)  # type: ignore[list-item]


@settings(max_examples=60, deadline=None)
@given(
    moments=st.lists(
        st.one_of(
            st.floats(min_value=NOW - 3 * DAY, max_value=NOW + 40 * DAY),
            # around the ends of the window: the intermediate's period [NOW, NOW + 30 days]
            st.sampled_from([NOW - 1, NOW, NOW + 0.5, NOW + 1, NOW + 2]).map(float),
            st.integers(min_value=-3, max_value=3).map(lambda d: NOW + 30 * DAY + d),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_rfc5280_s6_1_cache_agrees_with_path_validation_at_every_moment(
    pki: dict[str, object], moments: list[float]
) -> None:
    cache = X5cChainCache([pki["ca"]])  # type: ignore[list-item]
    for moment in moments:
        cached = _outcome(lambda m=moment: cache.verify(pki["x5c"], now=m))
        direct = _outcome(lambda m=moment: verify_x5c(pki["x5c"], [pki["ca"]], now=m))  # type: ignore[list-item]
        assert cached == direct, moment
