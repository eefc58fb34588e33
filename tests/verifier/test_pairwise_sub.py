"""Pairwise and transient ``sub`` (OpenID Connect Core 1.0 §8; verifier/oidc/subject.py; docs/privacy.md):
stable per portal, different across portals, transient when nothing identifying is disclosed — as properties of the
derivation (hypothesis) and through real logins."""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oidc_support import ERIKA, Login, OpEnv, op_env

from verifier.oidc import SubjectInput, normalise_name, pairwise_subject, transient_subject

SECRET = b"k" * 32
#: Names as on German eID cards and PIDs (letters with diacritics, ß, blanks, hyphens, apostrophes).
LETTERS = string.ascii_letters + "ÄÖÜäöüßÉéÈèÇçŁłŠšŽžØø"
names = st.text(alphabet=LETTERS + " -'", min_size=1, max_size=40).filter(lambda s: any(c in LETTERS for c in s))
dates = st.dates().map(lambda d: d.isoformat())
places = st.one_of(
    st.builds(lambda locality: {"locality": locality}, names),
    st.just({"no_place_info": True}),
)
sectors = st.text(alphabet=string.ascii_lowercase + ".-", min_size=1, max_size=40)


def identity(family: str, given_name: str, birthdate: str, place: dict) -> SubjectInput:
    subject = SubjectInput.from_claims(
        {"family_name": family, "given_name": given_name, "birthdate": birthdate, "place_of_birth": place}
    )
    assert subject is not None
    return subject


@given(names, names, dates, places, sectors)
def test_stable_for_one_portal_oidc_core_8_1(
    family: str, given_name: str, birthdate: str, place: dict, sector: str
) -> None:
    """§8.1: the same End-User gets the same pairwise sub at one sector, whatever the case, composition or spacing of
    the names on this PID copy."""
    first = pairwise_subject(SECRET, sector, identity(family, given_name, birthdate, place))
    variant = identity(
        "  " + unicodedata.normalize("NFD", family.upper()) + " ",
        given_name.replace(" ", "  ").lower(),
        birthdate,
        place,
    )
    assert pairwise_subject(SECRET, sector, variant) == first
    assert len(first) == 43 and set(first) <= set(string.ascii_letters + string.digits + "-_")


@given(names, names, dates, places, sectors, sectors)
def test_different_across_portals_oidc_core_8_1(
    family: str, given_name: str, birthdate: str, place: dict, sector_a: str, sector_b: str
) -> None:
    """§8.1: "a different sub value to each Client" — two sectors never share a value (HMAC-SHA-256 collisions
    aside)."""
    subject = identity(family, given_name, birthdate, place)
    if sector_a != sector_b:
        assert pairwise_subject(SECRET, sector_a, subject) != pairwise_subject(SECRET, sector_b, subject)


@given(names, names, dates, dates, places)
def test_different_people_differ(family: str, given_name: str, born_a: str, born_b: str, place: dict) -> None:
    a = pairwise_subject(SECRET, "portal", identity(family, given_name, born_a, place))
    b = pairwise_subject(SECRET, "portal", identity(family, given_name, born_b, place))
    assert (a == b) == (born_a == born_b)


@given(st.lists(names, min_size=4, max_size=4))
def test_field_boundaries_cannot_be_shifted(parts: list[str]) -> None:
    """The encoding is unambiguous: moving text from the family name into the given name changes the pseudonym."""
    family, given_name = parts[0] + " " + parts[1], parts[2]
    shifted = identity(parts[0], parts[1] + " " + parts[2], "1964-08-12", {"locality": parts[3]})
    original = identity(family, given_name, "1964-08-12", {"locality": parts[3]})
    assert pairwise_subject(SECRET, "p", shifted) != pairwise_subject(SECRET, "p", original)


@given(names)
def test_normalise_is_idempotent(value: str) -> None:
    once = normalise_name(value)
    assert normalise_name(once) == once and once == once.strip()


def test_eszett_and_ss_agree_and_the_secret_matters() -> None:
    a = identity("STRAßER", "ERIKA", "1964-08-12", {"locality": "KÖLN"})
    b = identity("STRASSER", "Erika", "1964-08-12", {"locality": "KÖLN"})
    assert pairwise_subject(SECRET, "p", a) == pairwise_subject(SECRET, "p", b)
    assert pairwise_subject(SECRET, "p", a) != pairwise_subject(b"z" * 32, "p", a)
    with pytest.raises(ValueError):
        pairwise_subject(b"short", "p", a)


def test_not_identifying_without_all_three_claims() -> None:
    assert SubjectInput.from_claims({"family_name": "X", "given_name": "Y"}) is None
    assert SubjectInput.from_claims({"age_equal_or_over": {"18": True}}) is None
    assert SubjectInput.from_claims({"family_name": "X", "given_name": " ", "birthdate": "1990-01-01"}) is None


@settings(max_examples=50)
@given(st.integers(min_value=2, max_value=20))
def test_transient_subjects_never_repeat(count: int) -> None:
    values = {transient_subject() for _ in range(count)}
    assert len(values) == count and all(v.startswith("t-") for v in values)


# --- through real logins ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpEnv]:
    with op_env(tmp_path_factory.mktemp("pairwise")) as env:
        yield env


def _sub(env: OpEnv, client_id: str, scope: str, claims: dict = ERIKA) -> str:
    redirect = f"https://{client_id}.example/cb"
    login = env.log_in(Login(client_id, redirect, scope), env.credential(claims))
    answer = env.redeem(login)
    assert answer.status_code == 200, answer.text
    return str(env.id_token_claims(answer.json()["id_token"])["sub"])


def test_logins_stable_per_portal_unlinkable_across_portals(env: OpEnv) -> None:
    """Two logins at portal A with two different PID copies (different holder keys, another status index) give the
    same sub; portal B gets another one; a different person gets a different one at A."""
    a1 = _sub(env, "portal-a", "openid pid_basic")
    a2 = _sub(env, "portal-a", "openid pid_basic age_over_18")  # more scopes, same pseudonym
    b1 = _sub(env, "portal-b", "openid pid_basic")
    assert a1 == a2
    assert b1 != a1
    other = {**ERIKA, "given_name": "ERIKA MARIA"}
    assert _sub(env, "portal-a", "openid pid_basic", other) != a1
    born_elsewhere = {**ERIKA, "place_of_birth": {"locality": "HAMBURG"}}
    assert _sub(env, "portal-a", "openid pid_basic", born_elsewhere) != a1


def test_anonymous_scope_is_transient_per_login(env: OpEnv) -> None:
    first = _sub(env, "portal-a", "openid age_over_18")
    second = _sub(env, "portal-a", "openid age_over_18")
    assert first.startswith("t-") and second.startswith("t-") and first != second
    assert first != _sub(env, "portal-a", "openid pid_basic")
