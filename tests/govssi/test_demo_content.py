"""What the demo shows about its test identities: the simulator's test citizens (wallet_sim/eid/citizens.json,
DESIGN.md §4) in the identities table, and their personal data as what the ledger explorer looks for on the chain
(DESIGN.md §1: the chain holds no personal data)."""

from __future__ import annotations

import json
from importlib import resources

from test_demo_explorer import _dev_signer

from govssi.demo.content import demo_identities, sensitive_values
from govssi.demo.explorer import ChainExplorer, personal_data_patterns
from ledger.client import ChainClient
from ledger.deploy import deploy_contracts
from ledger.did_ethr import EthrDidController
from ledger.node import LocalChain, LocalChainProvider
from wallet_sim.eid import load_citizens


def _records() -> list[dict]:
    text = resources.files("wallet_sim.eid").joinpath("citizens.json").read_text(encoding="utf-8")
    return list(json.loads(text)["citizens"])


def test_identities_are_the_simulators_test_cards_with_their_secrets() -> None:
    """DESIGN.md §4: ERIKA MUSTERMANN's sample card first, then the made-up citizens; each row carries the card's
    public test secrets (5-digit transport PIN, 6-digit CAN, 10-digit PUK) so a tester can use the card."""
    shown = demo_identities()
    citizens = load_citizens()
    assert [row["id"] for row in shown] == [c.id for c in citizens]
    erika = shown[0]
    assert erika["name"] == "ERIKA MUSTERMANN"
    for row, citizen in zip(shown, citizens, strict=True):
        assert row["transport_pin"] == citizen.transport_pin and len(row["transport_pin"]) == 5
        assert row["can"] == citizen.can and len(row["can"]) == 6
        assert row["puk"] == citizen.puk and len(row["puk"]) == 10
        assert row["pin"] == (citizen.pin or "")
        assert row["name"] == f"{citizen.identity.given_names} {citizen.identity.family_names}"


def test_sensitive_values_cover_every_personal_member_and_no_test_secret() -> None:
    """Names, birth names, dates and places of birth, addresses, document numbers, municipality keys of every test
    citizen are scanned for; the card's PINs are test secrets, not data about the person, and the simulator's ids and
    notes are not on the card at all."""
    values = set(sensitive_values())
    for record in _records():
        for key in ("family_names", "given_names", "document_number", "date_of_birth", "community_id"):
            assert record[key] in values, (record["id"], key)
        for key in ("birth_name", "place_of_birth", "academic_title", "residence_permit_i"):
            if record.get(key):
                assert record[key] in values, (record["id"], key)
        for part in record["address"].values():
            assert part in values
        for key in ("transport_pin", "can", "puk", "note"):
            assert record[key] not in values, (record["id"], key)


def test_patterns_match_whole_words_case_folded() -> None:
    """A postcode or a birth year is a digit string that turns up inside any hash or timestamp by chance: the scan
    matches whole words only; case folding finds "WEIß" written as "Weiss"."""
    patterns = dict(personal_data_patterns(["WEIß", "51147", "1980", "ab"]))
    assert set(patterns) == {"weiss", "51147", "1980"}  # shorter than 3 characters: not scanned

    def hits(text: str) -> set[str]:
        return {value for value, pattern in patterns.items() if pattern.search(text.casefold())}

    assert hits("Dr. Jürgen Weiss") == {"weiss"}
    assert hits("51147 KÖLN, born 1980") == {"51147", "1980"}
    assert hits("0xab51147cd0198012") == set()
    assert hits("validTo 1795198012") == set()


def test_explorer_finds_a_test_citizens_address_written_to_chain_and_nothing_in_hex_noise() -> None:
    """The demo's scan (the test citizens' values) is real: an ERC-1056 attribute carrying ERIKA MUSTERMANN's street
    is reported; an attribute whose bytes merely contain her postcode's digits in hex is not."""
    chain = LocalChain.in_memory()
    client = ChainClient(LocalChainProvider(chain))
    signer = _dev_signer()
    deployment = deploy_contracts(client, signer)
    controller = EthrDidController(client, deployment.did_registry, signer)
    controller.set_attribute("did/svc/Noise", bytes.fromhex("0051147000"))
    explorer = ChainExplorer(client)
    assert explorer.snapshot(sensitive=sensitive_values()).personal_data_hits == []
    controller.set_attribute("did/svc/Note", "Heidestraße 17".upper().replace("ß", "SS").encode())
    snap = explorer.snapshot(sensitive=sensitive_values())
    assert snap.personal_data_hits == ["DIDAttributeChanged: heidestrasse 17"]
