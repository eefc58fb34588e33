"""The offer form generated from a credential type and the way back to claims (issuer/web/forms.py): every shipped
type round-trips (hypothesis), optional objects with nothing given are left out, each problem names its field; and
the UI's sessions and accounts on PostgreSQL and Redis, shared by two instances."""

from __future__ import annotations

import datetime
import string
from pathlib import Path
from typing import Any

import pytest
from admin_ui_support import CLERK, add_staff, browser, ui_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from issuer_support import make_issuer

from infra.ephemeral import RedisEphemeralStore
from issuer.credential_type import ClaimRule, CredentialType, shipped_credential_types
from issuer.web.forms import claim_fields, display_name, parse_claims

TYPES = shipped_credential_types()
TEXT = (
    st.text(alphabet=string.ascii_letters + string.digits + "ÄÖÜäöüß -.,/", min_size=1, max_size=40)
    .map(str.strip)
    .filter(bool)
)


def value_for(rule: ClaimRule) -> st.SearchStrategy[Any]:
    if rule.type == "date":
        return st.dates(datetime.date(1900, 1, 1), datetime.date(2199, 12, 31)).map(datetime.date.isoformat)
    if rule.type == "integer":
        return st.integers(-(2**53) + 1, 2**53 - 1)
    if rule.type == "boolean":
        return st.booleans()
    return TEXT.map(lambda s: s[: rule.max_length].strip()).filter(bool)


@st.composite
def claims_of(draw: st.DrawFn, ctype: CredentialType) -> dict[str, Any]:
    """Valid claims of the type: every mandatory claim, optional ones sometimes."""
    claims: dict[str, Any] = {}
    for rule in ctype.claims:
        parent_present = len(rule.path) == 1 or _get(claims, rule.path[:-1]) is not None
        if not parent_present or (not rule.mandatory and not draw(st.booleans())):
            continue
        target = claims
        for part in rule.path[:-1]:
            target = target[part]
        target[rule.path[-1]] = {} if rule.type == "object" else draw(value_for(rule))
    return claims


def _get(claims: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = claims
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def as_form(claims: dict[str, Any], prefix: str = "claims") -> dict[str, str]:
    form: dict[str, str] = {}
    for name, value in claims.items():
        if isinstance(value, dict):
            form.update(as_form(value, f"{prefix}.{name}"))
        elif isinstance(value, bool):
            form[f"{prefix}.{name}"] = "true" if value else "false"
        else:
            form[f"{prefix}.{name}"] = str(value)
    return form


@pytest.mark.parametrize("type_id", sorted(TYPES))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_form_round_trip(type_id: str, data: st.DataObject) -> None:
    ctype = TYPES[type_id]
    claims = data.draw(claims_of(ctype))
    parsed = parse_claims(ctype, as_form(claims))
    assert parsed.errors == {}
    assert parsed.claims == claims
    assert ctype.check_claims(parsed.claims) == claims


def test_every_claim_has_a_labelled_field_in_both_languages() -> None:
    for ctype in TYPES.values():
        for lang in ("de", "en"):
            fields = claim_fields(ctype, lang)
            flat: list[Any] = []
            stack = list(fields)
            while stack:
                item = stack.pop()
                flat.append(item)
                stack.extend(item.children)
            assert {f.rule.path for f in flat} == {r.path for r in ctype.claims}
            assert all(f.label and f.id.startswith("f-claims-") for f in flat)
            assert len({f.id for f in flat}) == len(flat)
    assert display_name(TYPES["bewohnerparkausweis"], "en") == "Residential parking permit"
    assert display_name(TYPES["bewohnerparkausweis"], "de") == "Bewohnerparkausweis"


def test_optional_member_left_out_and_mandatory_named() -> None:
    ctype = TYPES["meldebescheinigung"]
    form = {
        "claims.family_name": "MUSTERMANN",
        "claims.given_name": " ERIKA ",
        "claims.birthdate": "1964-08-12",
        "claims.address.street_address": "HEIDESTRASSE 17",
        "claims.address.postal_code": "51147",
        "claims.address.locality": "KÖLN",
        "claims.address.country": "",
        "claims.move_in_date": "2019-04-01",
    }
    parsed = parse_claims(ctype, form)
    assert parsed.errors == {}
    assert "country" not in parsed.claims["address"] and parsed.claims["given_name"] == "ERIKA"
    missing = parse_claims(ctype, {**form, "claims.address.locality": "", "claims.birthdate": "1964-02-30"})
    assert missing.errors == {"claims.address.locality": "err_required", "claims.birthdate": "err_date"}


def test_problems_per_field() -> None:
    ctype = TYPES["bewohnerparkausweis"]
    parsed = parse_claims(ctype, {"claims.license_plate": "K-EM 1964 TOO LONG", "claims.valid_until": "2099-6-30"})
    assert parsed.errors["claims.license_plate"] == "err_too_long"
    assert parsed.errors["claims.valid_until"] == "err_date"
    assert parsed.errors["claims.family_name"] == "err_required"
    assert parsed.errors["claims.address"] == "err_required"  # the group, when nothing of it is given
    assert "claims.address.locality" not in parsed.errors
    # Fields that are not claims of the type are ignored (the type's own check would refuse them anyway).
    assert "evil" not in parse_claims(ctype, {"claims.evil": "x"}).claims


# -- shared state: PostgreSQL and Redis, two instances -------------------------------------------------------------


def test_sessions_and_accounts_on_postgres_and_redis_shared_by_two_instances(
    tmp_path: Path, postgres_url: str, redis_prefix: tuple[str, str]
) -> None:
    url, prefix = redis_prefix
    first = make_issuer(tmp_path / "a", database_url=postgres_url, store=RedisEphemeralStore(url, prefix=prefix))
    second = make_issuer(tmp_path / "b", database_url=postgres_url, store=RedisEphemeralStore(url, prefix=prefix))
    try:
        app_a, app_b = ui_app(first, tmp_path / "a"), ui_app(second, tmp_path / "b")
        add_staff(app_a, first)
        a, b = browser(app_a), browser(app_b)
        a.login(CLERK)
        b.client.cookies.set("__Host-govssi-admin", a.client.cookies["__Host-govssi-admin"])
        assert b.get("/offers").status_code == 200  # the session lives in Redis, not in one process
        for _ in range(5):
            a.post("/login", {"username": CLERK[0], "password": "wrong-password-1"}, page="/login")
        # The login limit is shared as well.
        fresh = browser(app_b)
        assert fresh.post("/login", {"username": CLERK[0], "password": CLERK[1]}, page="/login").status_code == 429
    finally:
        first.context.storage.engine.dispose()
        second.context.storage.engine.dispose()
