"""The Holder's selection shortcut decides like the rule it replaces (RFC 9901 §7.2 step 2: a selected claim brings
its ancestors and descendants, i.e. every Disclosure on one line with the requested path)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ssi.sd_jwt.present import _line_test, _on_one_line

_PATH_ITEMS = st.one_of(st.sampled_from(["a", "b", "address", "0"]), st.integers(min_value=0, max_value=3))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(_PATH_ITEMS, st.none()), max_size=4).map(tuple),
    st.lists(_PATH_ITEMS, max_size=4).map(tuple),
)
def test_s7_2_step_2_line_test_matches_on_one_line(requested: tuple, claim: tuple) -> None:  # type: ignore[type-arg]
    assert _line_test(requested)(claim) == _on_one_line(requested, claim)
