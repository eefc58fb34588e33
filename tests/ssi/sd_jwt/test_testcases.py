"""The sd-jwt-python end-to-end test cases, driven through OUR Issuer, Holder and Verifier.

Data: ``../shared/sdjwt-testcases`` relative to the repository root (see its SOURCE.md; data only, not copied into
this project). Each ``testcases/*/specification.yml`` gives ``user_claims`` with ``!sd`` marks, what the Holder
discloses, and the exact Processed SD-JWT Payload a Verifier must output (minus ``iss`` and ``cnf``, which the driver
adds). ``examples/*`` have no expected output: they are run issue → present everything → verify.

Mapping to our API: ``!sd`` on a mapping key → claim path to that member; on a list item → claim path to that index;
nested marks → nested (recursive) paths. ``holder_disclosed_claims``: ``True`` → disclose that path; a nested mapping
or list → recurse (positional for lists); ``False``/``None`` → withhold. Our Holder adds the ancestors' Disclosures
(RFC 9901 §7.2 step 2).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sdjwt_support import KidResolver, Sd, clock, holder_paths, strip_sd

from ssi.clock import FrozenClock
from ssi.errors import SsiError
from ssi.keys import PrivateKey, SoftwareSigner
from ssi.sd_jwt import ClaimPath, HeldSdJwt, VerificationPolicy, issue_sd_jwt, verify_sd_jwt

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA = (REPO_ROOT / ".." / "shared" / "sdjwt-testcases").resolve()
TESTCASES = DATA / "testcases"
EXAMPLES = DATA / "examples"

pytestmark = pytest.mark.skipif(
    not TESTCASES.is_dir(),
    reason=f"sd-jwt-python test case data not found at {DATA} (expected ../shared/sdjwt-testcases from the repo root)",
)


# --- YAML with the !sd tag ----------------------------------------------------------------------------------------


class _SdLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` plus the ``!sd`` tag (see SOURCE.md of the data)."""


def _construct_sd(loader: yaml.SafeLoader, node: yaml.Node) -> Sd:
    if isinstance(node, yaml.ScalarNode):
        # resolve the scalar's type as if it were untagged (``!sd 42`` is the int 42, ``!sd "13"`` the string "13")
        plain = node.style is None
        tag = loader.resolve(yaml.ScalarNode, node.value, (plain, not plain))
        untagged = yaml.ScalarNode(tag, node.value, node.start_mark, node.end_mark, node.style)
        return Sd(loader.construct_object(untagged, deep=True))
    if isinstance(node, yaml.SequenceNode):
        return Sd(loader.construct_sequence(node, deep=True))
    assert isinstance(node, yaml.MappingNode)
    return Sd(loader.construct_mapping(node, deep=True))


_SdLoader.add_constructor("!sd", _construct_sd)


def load_yaml(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_SdLoader)


# --- the driver -----------------------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    spec: dict[str, Any]
    settings: dict[str, Any]

    @property
    def key_settings(self) -> dict[str, Any]:
        base = dict(self.settings["key_settings"])
        override = self.spec.get("settings_override") or {}
        base.update(override.get("key_settings") or {})
        if "issuer_keys" in override:  # json_serialization_flattened puts it at the top of the override
            base["issuer_keys"] = override["issuer_keys"]
        return base

    @property
    def signers(self) -> list[SoftwareSigner]:
        return [SoftwareSigner(PrivateKey.from_jwk(k), k.get("kid")) for k in self.key_settings["issuer_keys"]]

    @property
    def holder(self) -> SoftwareSigner:
        return SoftwareSigner(PrivateKey.from_jwk(self.key_settings["holder_key"]))

    @property
    def issuer_id(self) -> str:
        return str(self.settings["identifiers"]["issuer"])

    @property
    def audience(self) -> str:
        return str(self.settings["identifiers"]["verifier"])

    @property
    def nonce(self) -> str:
        return str(self.settings["key_binding_nonce"])

    @property
    def key_binding(self) -> bool:
        return bool(self.spec.get("key_binding", False))

    @property
    def serialization(self) -> str:
        return str(self.spec.get("serialization_format", "compact"))


def load_cases(root: Path) -> Iterator[Case]:
    if not root.is_dir():
        return
    settings = load_yaml(root / "settings.yml")
    for spec_file in sorted(root.glob("*/specification.yml")):
        yield Case(spec_file.parent.name, load_yaml(spec_file), settings)


NOW = 1_700_000_000


@dataclass
class Outcome:
    claims: dict[str, Any]
    plain_claims: dict[str, Any]
    presentation: str


def run(case: Case, *, disclose: list[ClaimPath] | None = None) -> Outcome:
    """Issue with our Issuer, present with our Holder, verify with our Verifier (raises on refusal)."""
    plain, paths = strip_sd(case.spec["user_claims"])
    claims = dict(plain)
    claims.setdefault("iss", case.issuer_id)
    holder = case.holder
    if case.key_binding:
        claims.setdefault("cnf", {"jwk": holder.public_jwk})
    signers = case.signers
    json_form = case.serialization == "json"
    issued = issue_sd_jwt(
        claims,
        signers[0],
        disclosable=paths,
        header=case.spec.get("extra_header_parameters") or None,
        decoys=3 if case.spec.get("add_decoy_claims") else 0,
        serialization="json" if json_form else "compact",
        extra_signers=signers[1:],
    )
    held = HeldSdJwt.parse(issued.to_json() if json_form else issued.compact)
    selection = holder_paths(case.spec.get("holder_disclosed_claims")) if disclose is None else disclose
    if case.key_binding:
        text = held.present(selection, holder=holder, audience=case.audience, nonce=case.nonce, clock=clock(NOW))
    else:
        text = held.present(selection)
    policy = VerificationPolicy(
        require_key_binding=case.key_binding,
        audience=case.audience if case.key_binding else None,
        nonce=case.nonce if case.key_binding else None,
    )
    kids = {s.kid: s.public_key for s in signers if s.kid is not None}
    key = KidResolver(kids) if kids else signers[0].public_key
    presentation: Any = json.loads(text) if json_form else text
    result = verify_sd_jwt(presentation, key, policy, clock=FrozenClock(NOW))
    return Outcome(result.claims, claims, text)


TESTCASE_LIST = list(load_cases(TESTCASES))
EXAMPLE_LIST = list(load_cases(EXAMPLES))


def test_all_17_testcases_are_present() -> None:
    assert len(TESTCASE_LIST) == 17, [c.name for c in TESTCASE_LIST]


@pytest.mark.parametrize("case", [c for c in TESTCASE_LIST if c.name != "header_mod"], ids=lambda c: c.name)
def test_testcase(case: Case) -> None:
    """Our Issuer → Holder → Verifier output equals ``expect_verified_user_claims`` + iss (+ cnf with key binding)."""
    expected = dict(case.spec["expect_verified_user_claims"])
    expected["iss"] = case.issuer_id
    if case.key_binding:
        expected["cnf"] = {"jwk": case.holder.public_jwk}
    outcome = run(case)
    assert outcome.claims == expected
    if case.serialization == "json":
        assert json.loads(outcome.presentation)["payload"]
    else:
        assert outcome.presentation.count("~") >= 1


@pytest.mark.parametrize("case", [c for c in TESTCASE_LIST if c.name == "header_mod"], ids=lambda c: c.name)
def test_testcase_header_mod_non_string_kid_is_rejected(case: Case) -> None:
    """``header_mod`` puts ``kid: 42`` (a JSON number) into the Issuer-signed JWT header and expects a Verifier to
    accept it. RFC 7515 §4.1.4: "The kid value MUST be a case-sensitive string", and RFC 9901 §7.1 step 2.2 validates
    the JWS per RFC 7515 — so here the RFC wins over the test case: our Verifier MUST reject it (``malformed_kid``).
    With a string kid the same case passes."""
    assert case.spec["extra_header_parameters"] == {"kid": 42}
    with pytest.raises(SsiError) as info:
        run(case)
    assert info.value.reason == "malformed_kid"
    fixed = Case(case.name, {**case.spec, "extra_header_parameters": {"kid": "42"}}, case.settings)
    expected = {
        **case.spec["expect_verified_user_claims"],
        "iss": case.issuer_id,
        "cnf": {"jwk": case.holder.public_jwk},
    }
    assert run(fixed).claims == expected


@pytest.mark.parametrize("case", EXAMPLE_LIST, ids=lambda c: c.name)
def test_example_round_trip_disclosing_everything(case: Case) -> None:
    """``examples/``: no expected output; issue → present every claim → verify gives back all claims."""
    plain, _ = strip_sd(case.spec["user_claims"])
    everything: list[ClaimPath] = [(name,) for name in plain]
    outcome = run(case, disclose=everything)
    assert outcome.claims == outcome.plain_claims


@pytest.mark.parametrize("case", EXAMPLE_LIST, ids=lambda c: c.name)
def test_example_with_its_holder_selection(case: Case) -> None:
    """``examples/`` with their own ``holder_disclosed_claims``: the result is the plain claims restricted to what was
    disclosed — every verified value equals the issued value at the same place (arrays may lose hidden elements)."""
    outcome = run(case)
    _assert_sub_document(outcome.claims, outcome.plain_claims)


def _assert_sub_document(got: Any, full: Any) -> None:
    if isinstance(got, dict):
        assert isinstance(full, dict)
        for key, value in got.items():
            assert key in full, key
            _assert_sub_document(value, full[key])
    elif isinstance(got, list):
        assert isinstance(full, list)
        # verified arrays are the issued arrays with undisclosed elements removed, order kept
        remaining = iter(full)
        for item in got:
            for candidate in remaining:
                try:
                    _assert_sub_document(item, candidate)
                    break
                except AssertionError:
                    continue
            else:
                raise AssertionError(f"{item!r} is not an element of {full!r}")
    else:
        assert got == full


# --- the YAML mapping itself ---------------------------------------------------------------------------------------


def test_sd_tag_mapping() -> None:
    doc = yaml.load(
        '!sd a: 1\nb: [!sd "x", "y", !sd {c: !sd [!sd 2]}]\n!sd "13": null\nd: {!sd e: {!sd f: True}}\n',
        Loader=_SdLoader,
    )
    plain, paths = strip_sd(doc)
    assert plain == {"a": 1, "b": ["x", "y", {"c": [2]}], "13": None, "d": {"e": {"f": True}}}
    assert sorted(map(str, paths)) == sorted(
        map(
            str,
            [("a",), ("b", 0), ("b", 2), ("b", 2, "c"), ("b", 2, "c", 0), ("13",), ("d", "e"), ("d", "e", "f")],
        )
    )
    assert holder_paths({"a": True, "b": [False, None, {"c": [True]}], "d": {"e": {"f": False}}}) == [
        ("a",),
        ("b", 2, "c", 0),
    ]
