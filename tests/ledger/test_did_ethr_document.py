"""Building did:ethr documents from registry events (did:ethr method spec, "Read (Resolve)", "Public Keys",
"Service Endpoints", "id properties of entries", "Delete (Revoke)", "JSON-LD Context Definition").

Pure: events are made here, no chain. The spec's examples are used as test vectors.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.did_ethr import (
    AttributeChanged,
    DelegateChanged,
    OwnerChanged,
    RegistryEvent,
    build_document,
    compromise_mark,
    ld_context,
    parse_ethr_did,
)
from ssi.did import DidDocument
from ssi.keys import PrivateKey

SPEC_DID = "did:ethr:0xf3beac30c498d9e26865f34fcaa57dbb935b0d74"
DID = "did:ethr:0x539:0xf3beac30c498d9e26865f34fcaa57dbb935b0d74"
IDENTITY = "0xF3beAC30C498D9E26865F34fCAa57dBB935b0D74"
T0 = 1_700_000_000
NOW = T0 + 1000
FAR = NOW + 10**6
DELEGATE = "0x12345678c498D9e26865F34FCaa57Dbb935B0d74"
OTHER = "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"
ZERO = "0x0000000000000000000000000000000000000000"
BASE_CONTEXT = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/secp256k1recovery-2020/v2"]
JWK_TERM = {"publicKeyJwk": {"@id": "https://w3id.org/security#publicKeyJwk", "@type": "@json"}}


def attribute(block: int, name: str, value: bytes, valid_to: int = FAR, *, log: int = 0) -> AttributeChanged:
    return AttributeChanged(
        block_number=block, log_index=log, block_timestamp=T0 + block, previous_change=0, name=name, value=value,
        valid_to=valid_to,
    )  # fmt: skip


def delegate(block: int, kind: str, address: str = DELEGATE, valid_to: int = FAR) -> DelegateChanged:
    return DelegateChanged(
        block_number=block, log_index=0, block_timestamp=T0 + block, previous_change=0, delegate_type=kind,
        delegate=address, valid_to=valid_to,
    )  # fmt: skip


def owner(block: int, address: str) -> OwnerChanged:
    return OwnerChanged(block_number=block, log_index=0, block_timestamp=T0 + block, previous_change=0, owner=address)


def build(history: list[RegistryEvent], did: str = DID, *, now: int = NOW, height: int | None = None, **kw: Any) -> Any:
    return build_document(
        parse_ethr_did(did), history, 1337 if ":0x539:" in did else 1, block_height=height, now=now, **kw
    )


def methods(version: Any) -> dict[str, dict[str, Any]]:
    return {vm["id"].split("#")[1]: vm for vm in version.document["verificationMethod"]}


def fragments(refs: list[str]) -> list[str]:
    return [ref.split("#")[1] for ref in refs]


# -- "Create (Register)": the default document ------------------------------------------------------------------------


def test_default_document_is_the_spec_example() -> None:
    """Spec: "The default DID document for an did:ethr<Ethereum address> on mainnet [...] with no transactions to the
    ERC1056 registry" (blockchainAccountId "MAY be represented using the mixed case checksum")."""
    version = build([], SPEC_DID)
    assert version.document == {
        "@context": BASE_CONTEXT,
        "id": SPEC_DID,
        "verificationMethod": [
            {
                "id": f"{SPEC_DID}#controller",
                "type": "EcdsaSecp256k1RecoveryMethod2020",
                "controller": SPEC_DID,
                "blockchainAccountId": f"eip155:1:{IDENTITY}",
            }
        ],
        "authentication": [f"{SPEC_DID}#controller"],
        "assertionMethod": [f"{SPEC_DID}#controller"],
    }
    assert (version.deactivated, version.version_id, version.next_version_id) == (False, 0, None)
    assert version.valid_until == math.inf


def test_public_key_did_has_controller_key_as_jwk() -> None:
    """Spec: "if the identifier is a public key, this public key MUST be listed with the ID ${did}#controllerKey in all
    locations where #controller appears [...] type EcdsaSecp256k1VerificationKey2019 with the publicKeyJwk"
    (the spec's minimal public-key document)."""
    did = "did:ethr:0x0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    version = build([], did)
    key = methods(version)["controllerKey"]
    assert key == {
        "id": f"{did}#controllerKey",
        "type": "EcdsaSecp256k1VerificationKey2019",
        "controller": did,
        "publicKeyJwk": {
            "crv": "secp256k1",
            "kty": "EC",
            "x": "eb5mfvncu6xVoGKVzocLBwKb_NstzijZWfKBWxb4F5g",
            "y": "SDradyajxGVdpPv8DhEIqP0XtEimhVQZnEfQj_sQ1Lg",
        },
    }
    assert fragments(version.document["authentication"]) == ["controller", "controllerKey"]
    assert fragments(version.document["assertionMethod"]) == ["controller", "controllerKey"]
    assert version.document["@context"] == [*BASE_CONTEXT, "https://w3id.org/security/v2", JWK_TERM]


def test_controller_key_leaves_when_the_owner_changes_and_returns_with_it() -> None:
    """Spec: "if the controller (owner) address is different from the corresponding address of the publicKey, then the
    #controllerKey entry [...] MUST be omitted" — and only then (compared case-insensitively)."""
    did = "did:ethr:0x0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    own = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
    assert "controllerKey" not in methods(build([owner(5, OTHER)], did))
    assert "controllerKey" in methods(build([owner(5, OTHER), owner(6, own)], did))


# -- controller changes ------------------------------------------------------------------------------------------------


def test_owner_change_updates_controller() -> None:
    """Spec: "The event data MUST be used to update the #controller entry in the verificationMethod array"."""
    version = build([owner(5, OTHER)])
    assert methods(version)["controller"]["blockchainAccountId"] == f"eip155:1337:{OTHER}"
    assert version.version_id == 5


def test_deactivation_empties_the_document() -> None:
    """Spec: "Delete (Revoke)": owner 0x0 — "all preexisting keys and services MUST be considered revoked"; the
    result has the spec's shape (empty sets) and nothing after the deactivation is applied."""
    history = [attribute(3, "did/svc/X", b"https://example.com"), delegate(4, "veriKey"), owner(5, ZERO)]
    history.append(delegate(9, "veriKey", OTHER))  # unreachable with govssi's registry; ignored anyway
    version = build(history)
    assert version.deactivated
    assert version.document == {
        "id": DID,
        "verificationMethod": [],
        "authentication": [],
        "assertionMethod": [],
        "@context": BASE_CONTEXT,
    }
    assert version.version_id == 5 and version.valid_until == math.inf
    assert not build(history, height=4).deactivated  # the version before


# -- delegates ---------------------------------------------------------------------------------------------------------


def test_delegates() -> None:
    """``veriKey``: EcdsaSecp256k1RecoveryMethod2020 in assertionMethod; ``sigAuth``: in authentication too
    (a key that authenticates also asserts); other delegate types are not published."""
    version = build([delegate(3, "veriKey"), delegate(4, "sigAuth", OTHER), delegate(5, "enc")])
    found = methods(version)
    assert found["delegate-1"] == {
        "id": f"{DID}#delegate-1",
        "type": "EcdsaSecp256k1RecoveryMethod2020",
        "controller": DID,
        "blockchainAccountId": f"eip155:1337:{DELEGATE}",
    }
    assert found["delegate-2"]["blockchainAccountId"] == f"eip155:1337:{OTHER}"
    assert set(found) == {"controller", "delegate-1", "delegate-2"}
    assert fragments(version.document["authentication"]) == ["controller", "delegate-2"]
    assert fragments(version.document["assertionMethod"]) == ["controller", "delegate-1", "delegate-2"]


def test_valid_to_is_compared_with_now_inclusively() -> None:
    """Spec: "Only events with a validTo [...] greater or equal to the current time should be included"."""
    assert "delegate-1" in methods(build([delegate(3, "veriKey", valid_to=NOW)]))
    assert "delegate-1" not in methods(build([delegate(3, "veriKey", valid_to=NOW - 1)]))
    assert build([delegate(3, "veriKey", valid_to=NOW)]).valid_until == NOW + 1


def test_revoked_delegate_leaves() -> None:
    """ERC-1056 ``revokeDelegate`` sets validTo to the block time: the delegate is gone afterwards."""
    version = build([delegate(3, "sigAuth"), delegate(4, "sigAuth", valid_to=T0 + 4)])
    assert set(methods(version)) == {"controller"}
    assert version.document["authentication"] == [f"{DID}#controller"]


# -- attributes: public keys ("Known Key Types" and the spec's examples) ----------------------------------------------

SECP256K1_EXAMPLE = bytes.fromhex("02b97c30de767f084ce3080168ee293053ba33b235d7116a3263d29f1450936b71")
# The spec's example prints x "uXww3nZ_CE7DMICBuD3ZWehwc5fNFJJDmpSfv7IpC24", which is not the x of its own value (an
# erratum: only the first 9 bytes agree); these are the coordinates of 0x02b97c…6b71, as ethers' computePublicKey
# (what ethr-did-resolver uses) computes them too.
SECP256K1_EXAMPLE_JWK = {
    "kty": "EC",
    "crv": "secp256k1",
    "x": "uXww3nZ_CEzjCAFo7ikwU7ozsjXXEWoyY9KfFFCTa3E",
    "y": "Eo3YCZAgmRvnzQFA2p1y7gwQrnu4abZgVJKO41t2OeQ",
}
BLS_G2_EXAMPLE = bytes.fromhex(
    "eb01b3bac1c8cfd6dde4ebf2f900070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e0e7eef5fc030a11181f"
    "262d343b424950575e656c737a81888f969da4abb2b9c0c7ced5dce3eaf1f8ff060d141b222930373e454c"
)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        pytest.param(
            "did/pub/Secp256k1/veriKey",
            SECP256K1_EXAMPLE,
            {"type": "EcdsaSecp256k1VerificationKey2019", "publicKeyJwk": SECP256K1_EXAMPLE_JWK},
            id="Example Secp256k1 Verification Key",
        ),
        pytest.param(
            "did/pub/Secp256k1/veriKey/hex",
            SECP256K1_EXAMPLE,
            {"type": "EcdsaSecp256k1VerificationKey2019", "publicKeyJwk": SECP256K1_EXAMPLE_JWK},
            id="Secp256k1: publicKeyJwk regardless of the encoding hint",
        ),
        pytest.param(
            "did/pub/CustomKeyType/veriKey/hex",
            SECP256K1_EXAMPLE,
            {"type": "CustomKeyType", "publicKeyHex": SECP256K1_EXAMPLE.hex()},
            id="Example Hex encoded Custom Verification Key type",
        ),
        pytest.param(
            "did/pub/Ed25519/veriKey",
            bytes.fromhex("c642b35757cc36906fa75fa0338bf33e5210c5bce4769324801fd64276d69d07"),
            {
                "type": "Ed25519VerificationKey2020",
                "publicKeyMultibase": "z6MksoBm2hUcoKLLHsUQ77iA5YXxwNskXJ9fs7V7z8edniop",
            },
            id="Example Ed25519 Verification Key",
        ),
        pytest.param(
            "did/pub/X25519/enc",
            bytes.fromhex("118557777ffb078774371a52b00fed75561dcf975e61c47553e664a617661052"),
            {
                "type": "X25519KeyAgreementKey2020",
                "publicKeyMultibase": "z6LScra2Lg8mSU6TkMX1AKJSn6ApwneQkfXgJZpj48hCp3N1",
            },
            id="Example X25519 Encryption Key",
        ),
        pytest.param(
            "did/pub/Multikey/veriKey",
            BLS_G2_EXAMPLE,
            {
                "type": "Multikey",
                "publicKeyMultibase": "zUC7JkTsCUqQiiKUJeoAXPxS8sidWURud3191d4g4WZPgvGHKQTuXrS7GiJLuyii948C8KLhb5AxQY"
                "pCKQNJikPpwjHRZvJpv8YbwaisLPNhhSSUzfCjNnGuyqSkm53jHXa7Gwu",
            },
            id="Example BLS12-381 G2 Verification Key via Multikey",
        ),
        pytest.param(
            "did/pub/Multikey/veriKey",
            b"\xe7\x01" + SECP256K1_EXAMPLE,
            {"type": "Multikey", "publicKeyMultibase": "zQ3shZtr1sUnrETvXPDa4gYSNE3gpJhdTkVmpYoWBuAiBsJ4G"},
            id="Example Multikey Verification Key",
        ),
    ],
)
def test_public_key_examples(name: str, value: bytes, expected: dict[str, Any]) -> None:
    """The spec's "Public Keys" examples, entry for entry (with our DID)."""
    found = methods(build([attribute(3, name, value)]))["delegate-1"]
    assert found == {"id": f"{DID}#delegate-1", "controller": DID, **expected}


@pytest.mark.parametrize(
    ("encoding", "member", "encoded"),
    [
        ("", "publicKeyHex", "0102ff"),
        ("/hex", "publicKeyHex", "0102ff"),
        ("/base64", "publicKeyBase64", "AQL/"),
        ("/base58", "publicKeyBase58", "LiA"),
        ("/pem", "value", "0102ff"),
    ],
)
def test_unknown_key_types_follow_the_encoding_hint(encoding: str, member: str, encoded: str) -> None:
    """Spec: "When the resolver encounters an unknown key algorithm, it MUST present it verbatim as the verification
    method type with publicKeyHex as the default key encoding, or with a publicKey encoding that follows the encoding
    hint"."""
    found = methods(build([attribute(3, f"did/pub/Unknown/veriKey{encoding}", b"\x01\x02\xff")]))["delegate-1"]
    assert found["type"] == "Unknown" and found[member] == encoded


def test_key_purposes() -> None:
    """Spec: "Key purposes": veriKey → assertionMethod; sigAuth → authentication (and assertionMethod); enc →
    keyAgreement; no purpose → assertionMethod."""
    key = bytes(range(32))
    version = build(
        [
            attribute(3, "did/pub/Ed25519/veriKey", key),
            attribute(4, "did/pub/Ed25519/sigAuth", key),
            attribute(5, "did/pub/X25519/enc", key),
            attribute(6, "did/pub/Ed25519", key[::-1]),
        ]
    )
    assert fragments(version.document["assertionMethod"]) == ["controller", "delegate-1", "delegate-2", "delegate-4"]
    assert fragments(version.document["authentication"]) == ["controller", "delegate-2"]
    assert fragments(version.document["keyAgreement"]) == ["delegate-3"]


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (SECP256K1_EXAMPLE, True),  # compressed
        (bytes.fromhex("04") + bytes(64), False),  # (0, 0) is not on the curve
        (bytes(33), False),
        (b"\x05" + SECP256K1_EXAMPLE[1:], False),
        (bytes(range(32)), False),  # 32 bytes: a private key to ethr-did-resolver; refused here (README)
    ],
)
def test_secp256k1_values_that_are_no_key_are_skipped_but_counted(value: bytes, valid: bool) -> None:
    """An attribute whose value is no secp256k1 point yields no entry; it still counts for later ids."""
    version = build(
        [attribute(3, "did/pub/Secp256k1/veriKey", value), attribute(4, "did/pub/Ed25519/veriKey", bytes(32))]
    )
    assert ("delegate-1" in methods(version)) is valid
    assert "delegate-2" in methods(version)


def test_secp256k1_uncompressed_and_raw_points() -> None:
    key = PrivateKey.generate("ES256K").public_key
    uncompressed = key.raw_bytes(compressed=False)
    for value in (uncompressed, uncompressed[1:]):
        assert (
            methods(build([attribute(3, "did/pub/Secp256k1/veriKey", value)]))["delegate-1"]["publicKeyJwk"] == key.jwk
        )


def test_revoked_attribute_leaves() -> None:
    """ERC-1056 ``revokeAttribute`` (validTo 0) removes the key with the same name and value, and its references."""
    key = bytes(range(32))
    version = build([attribute(3, "did/pub/Ed25519/sigAuth", key), attribute(4, "did/pub/Ed25519/sigAuth", key, 0)])
    assert set(methods(version)) == {"controller"}
    assert version.document["authentication"] == [f"{DID}#controller"]
    other = build([attribute(3, "did/pub/Ed25519/sigAuth", key), attribute(4, "did/pub/Ed25519/sigAuth", key[::-1], 0)])
    assert "delegate-1" in methods(other)  # another value: not this key


def test_names_match_like_javascript() -> None:
    """``^did/(pub|svc)/(\\w+)(/(\\w+))?(/(\\w+))?$`` with JavaScript's ASCII ``\\w`` and ``$``: no Unicode letters,
    no trailing newline — such names publish nothing but still count."""
    key = bytes(32)
    for name in ("did/pub/Ed25519é/veriKey", "did/pub/Ed25519/veriKey\n", "did/pub/Ed25519/veriKey/hex/x"):
        version = build([attribute(3, name, key), attribute(4, "did/pub/Ed25519/veriKey", key[::-1] or b"\x01")])
        assert set(methods(version)) == {"controller", "delegate-2"}, name


# -- services ----------------------------------------------------------------------------------------------------------


def test_service_example() -> None:
    """Spec: "Service Endpoints" example: did/svc/HubService with https://hubs.uport.me."""
    version = build([attribute(3, "did/svc/HubService", bytes.fromhex("68747470733a2f2f687562732e75706f72742e6d65"))])
    assert version.document["service"] == [
        {"id": f"{DID}#service-1", "type": "HubService", "serviceEndpoint": "https://hubs.uport.me"}
    ]


def test_service_endpoint_json_and_revocation() -> None:
    endpoint = b'{"uri": "https://example.com/inbox", "accept": ["didcomm/v2"]}'
    version = build([attribute(3, "did/svc/Messaging", endpoint), attribute(4, "did/svc/Hub", b"https://a.example")])
    assert version.document["service"][0]["serviceEndpoint"] == {
        "uri": "https://example.com/inbox",
        "accept": ["didcomm/v2"],
    }
    revoked = build(
        [attribute(3, "did/svc/Hub", b"https://a.example"), attribute(4, "did/svc/Hub", b"https://a.example", 0)]
    )
    assert "service" not in revoked.document


def test_services_that_did_core_cannot_represent_are_left_out() -> None:
    """Not UTF-8: no service (the registry used for something else). Not a URI, map or set of them (a number, plain
    text): DID Core §5.4 refuses it, so the entry is left out (ethr-did-resolver would emit it). The count moves on."""
    history = [
        attribute(3, "did/svc/A", b"\xff\xfe"),
        attribute(4, "did/svc/B", b"42"),
        attribute(5, "did/svc/C", b"not a uri"),
        attribute(6, "did/svc/D", b"NaN"),
        attribute(7, "did/svc/E", b"https://e.example"),
    ]
    assert build(history).document["service"] == [
        {"id": f"{DID}#service-5", "type": "E", "serviceEndpoint": "https://e.example"}
    ]


# -- "id properties of entries" ----------------------------------------------------------------------------------------


def test_ids_are_event_indices_as_in_the_spec_example() -> None:
    """The spec's example: add key → #delegate-1; add another key → #delegate-2; add delegate → #delegate-3; add
    service → #service-1; revoke first key → #delegate-1 removed; add another delegate → #delegate-5 ("earlier
    revocation is counted as an event"); first delegate expires → #delegate-3 removed, #delegate-5 remains."""
    key1, key2 = bytes(range(32)), bytes(range(1, 33))
    expiry = NOW + 50
    history = [
        attribute(1, "did/pub/Ed25519/veriKey", key1),
        attribute(2, "did/pub/Ed25519/veriKey", key2),
        delegate(3, "veriKey", DELEGATE, valid_to=expiry),
        attribute(4, "did/svc/HubService", b"https://hubs.uport.me"),
        attribute(5, "did/pub/Ed25519/veriKey", key1, 0),
        delegate(6, "veriKey", OTHER),
    ]
    before = build(history)
    assert list(methods(before)) == ["controller", "delegate-2", "delegate-3", "delegate-5"]
    assert before.document["service"][0]["id"] == f"{DID}#service-1"
    assert before.valid_until == expiry + 1
    after = build(history, now=expiry + 1)
    assert list(methods(after)) == ["controller", "delegate-2", "delegate-5"]


def test_republishing_a_key_gives_it_a_new_id_in_its_old_place() -> None:
    """A second event for the same key replaces its entry (new event index) without moving it, as JavaScript object
    keys behave; a key that was removed and comes back goes to the end."""
    key1, key2 = bytes(range(32)), bytes(range(1, 33))
    history = [attribute(1, "did/pub/Ed25519/veriKey", key1), attribute(2, "did/pub/Ed25519/veriKey", key2)]
    assert list(methods(build([*history, attribute(3, "did/pub/Ed25519/veriKey", key1)]))) == [
        "controller",
        "delegate-3",
        "delegate-2",
    ]
    history += [attribute(3, "did/pub/Ed25519/veriKey", key1, 0), attribute(4, "did/pub/Ed25519/veriKey", key1)]
    assert list(methods(build(history))) == ["controller", "delegate-2", "delegate-4"]


# -- versions ----------------------------------------------------------------------------------------------------------


def test_version_at_a_block() -> None:
    """Spec: "When resolving an older version (using versionId [...]), the validTo entry MUST be compared to the
    timestamp of the block of versionId height"; later events are the next version."""
    history = [delegate(3, "veriKey", valid_to=T0 + 3 + 100), attribute(7, "did/svc/Hub", b"https://a.example")]
    at_5 = build(history, height=5, now=T0 + 5)
    assert (at_5.version_id, at_5.next_version_id) == (3, 7)
    assert "delegate-1" in methods(at_5) and "service" not in at_5.document
    at_2 = build(history, height=2, now=T0 + 2)
    assert (at_2.version_id, at_2.next_version_id) == (0, 3)
    latest = build(history, now=T0 + 500)
    assert (latest.version_id, latest.next_version_id) == (7, None)
    assert "delegate-1" not in methods(latest)  # expired by then


def test_events_stamped_after_now_are_the_next_version() -> None:
    """Blocks whose time is after ``now`` (local chains may run ahead of the clock) are not applied yet."""
    history = [delegate(3, "veriKey"), delegate(9, "sigAuth", OTHER)]
    version = build(history, now=T0 + 5)
    assert (version.version_id, version.next_version_id) == (3, 9)
    assert "delegate-2" not in methods(version)
    assert version.valid_until == T0 + 9


# -- @context ----------------------------------------------------------------------------------------------------------


def test_context_per_key_type() -> None:
    """Spec: "JSON-LD Context Definition" and the "Known Key Types" table: the base contexts always; each type adds its
    context; publicKeyJwk/publicKeyHex/publicKeyBase64 get inline term definitions; publicKeyBase58 security/v2."""
    key = bytes(range(32))
    version = build(
        [
            attribute(1, "did/pub/Secp256k1/veriKey", SECP256K1_EXAMPLE),
            attribute(2, "did/pub/Ed25519/veriKey", key),
            attribute(3, "did/pub/X25519/enc", key),
            attribute(4, "did/pub/Multikey/veriKey", b"\xed\x01" + key),
            attribute(5, "did/pub/Other/veriKey", key),
            attribute(6, "did/pub/Other/veriKey/base64", key),
        ]
    )
    assert version.document["@context"] == [
        *BASE_CONTEXT,
        "https://w3id.org/security/v2",
        "https://w3id.org/security/suites/ed25519-2020/v1",
        "https://w3id.org/security/suites/x25519-2020/v1",
        "https://w3id.org/security/multikey/v1",
        {
            "publicKeyHex": "https://w3id.org/security#publicKeyHex",
            **JWK_TERM,
            "publicKeyBase64": "https://w3id.org/security#publicKeyBase64",
        },
    ]
    base58 = {"verificationMethod": [{"type": "Other", "publicKeyBase58": "x"}]}
    assert ld_context(base58) == [*BASE_CONTEXT, "https://w3id.org/security/v2"]


# -- compromise marks --------------------------------------------------------------------------------------------------


def test_hidden_keys_leave_with_their_references() -> None:
    key = PrivateKey.generate("ES256").public_key
    other = PrivateKey.generate("ES256").public_key
    history = [
        attribute(1, "did/pub/Multikey/sigAuth", b"\x80\x24" + key.raw_bytes()),
        attribute(2, "did/pub/Multikey/veriKey", b"\x80\x24" + other.raw_bytes()),
    ]
    version = build(history, hidden_keys={key.thumbprint()})
    assert set(methods(version)) == {"controller", "delegate-2"}
    assert version.document["authentication"] == [f"{DID}#controller"]
    name, value = compromise_mark(key)
    assert (name, len(value)) == ("did/compromised/jkt", 32)
    assert "did/compromised" not in str(build([*history, attribute(3, name, value)]).document)  # ignored by builders


# -- properties --------------------------------------------------------------------------------------------------------

_NAMES = st.sampled_from(
    [
        "did/pub/Ed25519/veriKey",
        "did/pub/Secp256k1/sigAuth/hex",
        "did/pub/X25519/enc",
        "did/pub/Multikey/veriKey",
        "did/pub/Custom/veriKey/base58",
        "did/svc/Hub",
        "did/compromised/jkt",
        "other",
    ]
)
_VALUES = st.one_of(st.binary(max_size=70), st.sampled_from([b"https://x.example", b'{"a": 1}', SECP256K1_EXAMPLE]))
_ADDRESSES = st.sampled_from([DELEGATE, OTHER, IDENTITY])


@st.composite
def histories(draw: st.DrawFn) -> list[RegistryEvent]:
    events: list[RegistryEvent] = []
    for block in range(1, draw(st.integers(0, 12)) + 1):
        valid_to = draw(st.sampled_from([0, T0 + block, NOW, FAR]))
        kind = draw(st.integers(0, 9))
        if kind == 0:
            events.append(owner(block, draw(st.sampled_from([OTHER, IDENTITY, ZERO]))))
        elif kind < 4:
            events.append(
                delegate(block, draw(st.sampled_from(["veriKey", "sigAuth", "x"])), draw(_ADDRESSES), valid_to)
            )
        else:
            events.append(attribute(block, draw(_NAMES), draw(_VALUES), valid_to))
    return events


@settings(max_examples=200, deadline=None)
@given(histories(), st.one_of(st.none(), st.integers(0, 13)))
def test_any_history_gives_a_valid_did_document(history: list[RegistryEvent], height: int | None) -> None:
    """Whatever the events, the result is a DID Core document (unique ids, references that resolve) for the DID."""
    version = build(history, height=height)
    document = {name: value for name, value in version.document.items() if value != []}
    parsed = DidDocument.from_json(document)
    assert parsed.id == DID
    assert version.deactivated or parsed.verification_method[0].id == f"{DID}#controller"
