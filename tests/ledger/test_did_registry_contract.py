"""ERC-1056 EthereumDIDRegistry on an in-process EVM: every function, every revert path, the event chain.

Spec references: ERC-1056 "Specification" (Identity ownership, Delegate management, Attribute management, Events,
"Efficient lookup of events through linked identity events") and the did:ethr method spec ("Delete (Revoke)": owner
0x0 deactivates). The signed variants are checked against digests built by ``ledger.erc1056``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from eth_keys.datatypes import PrivateKey
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from ledger_support import RegistryChain, address_of, sign
from web3.types import Wei

from ledger import erc1056
from ledger.contracts import DID_REGISTRY, load_artifact

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
ZERO = "0x0000000000000000000000000000000000000000"
VERI_KEY = erc1056.bytes32("veriKey")
SIG_AUTH = erc1056.bytes32("sigAuth")
PUB_KEY = erc1056.bytes32("did/pub/Secp256k1/veriKey/hex")
PUB_KEY_VALUE = bytes.fromhex("02b97c30de767f084ce3080168ee293053ba33b235d7116a3263d29f1450936b71")
NEW_OWNER = to_checksum_address("0x" + "ab" * 20)
DELEGATE = to_checksum_address("0x" + "de" * 20)
VALIDITY = 86_400


# ---- one row per ERC-1056 state-changing function pair: direct call, signed digest, signed call, expected event ----


@dataclass(frozen=True)
class Operation:
    name: str
    direct: Callable[[Any, str], Any]
    digest: Callable[[str, int, str], bytes]
    signed: Callable[[Any, str, tuple[int, bytes, bytes]], Any]
    event: str

    def __str__(self) -> str:
        return self.name


OPERATIONS = [
    Operation(
        "changeOwner",
        lambda reg, identity: reg.functions.changeOwner(identity, NEW_OWNER),
        lambda registry, nonce, identity: erc1056.change_owner_digest(registry, nonce, identity, new_owner=NEW_OWNER),
        lambda reg, identity, sig: reg.functions.changeOwnerSigned(identity, *sig, NEW_OWNER),
        "DIDOwnerChanged",
    ),
    Operation(
        "addDelegate",
        lambda reg, identity: reg.functions.addDelegate(identity, VERI_KEY, DELEGATE, VALIDITY),
        lambda registry, nonce, identity: erc1056.add_delegate_digest(
            registry, nonce, identity, delegate_type=VERI_KEY, delegate=DELEGATE, validity=VALIDITY
        ),
        lambda reg, identity, sig: reg.functions.addDelegateSigned(identity, *sig, VERI_KEY, DELEGATE, VALIDITY),
        "DIDDelegateChanged",
    ),
    Operation(
        "revokeDelegate",
        lambda reg, identity: reg.functions.revokeDelegate(identity, VERI_KEY, DELEGATE),
        lambda registry, nonce, identity: erc1056.revoke_delegate_digest(
            registry, nonce, identity, delegate_type=VERI_KEY, delegate=DELEGATE
        ),
        lambda reg, identity, sig: reg.functions.revokeDelegateSigned(identity, *sig, VERI_KEY, DELEGATE),
        "DIDDelegateChanged",
    ),
    Operation(
        "setAttribute",
        lambda reg, identity: reg.functions.setAttribute(identity, PUB_KEY, PUB_KEY_VALUE, VALIDITY),
        lambda registry, nonce, identity: erc1056.set_attribute_digest(
            registry, nonce, identity, name=PUB_KEY, value=PUB_KEY_VALUE, validity=VALIDITY
        ),
        lambda reg, identity, sig: reg.functions.setAttributeSigned(identity, *sig, PUB_KEY, PUB_KEY_VALUE, VALIDITY),
        "DIDAttributeChanged",
    ),
    Operation(
        "revokeAttribute",
        lambda reg, identity: reg.functions.revokeAttribute(identity, PUB_KEY, PUB_KEY_VALUE),
        lambda registry, nonce, identity: erc1056.revoke_attribute_digest(
            registry, nonce, identity, name=PUB_KEY, value=PUB_KEY_VALUE
        ),
        lambda reg, identity, sig: reg.functions.revokeAttributeSigned(identity, *sig, PUB_KEY, PUB_KEY_VALUE),
        "DIDAttributeChanged",
    ),
]
by_name = pytest.mark.parametrize("op", OPERATIONS, ids=str)


def signed_call(
    chain: RegistryChain, op: Operation, identity: str, signer: PrivateKey, nonce: int | None = None
) -> Any:
    digest = op.digest(chain.address, chain.owner_nonce(identity) if nonce is None else nonce, identity)
    return op.signed(chain.registry, identity, sign(signer, digest))


# ---- interface ----


def test_abi_is_exactly_the_erc1056_interface() -> None:
    """ERC-1056 Specification: the functions, public mappings and events that resolvers and controllers call; nothing
    else."""
    abi = load_artifact(DID_REGISTRY).abi
    functions = {
        f"{e['name']}({','.join(i['type'] for i in e['inputs'])})": (
            [o["type"] for o in e["outputs"]],
            e["stateMutability"],
        )
        for e in abi
        if e["type"] == "function"
    }
    sig = "address,uint8,bytes32,bytes32"
    assert functions == {
        "identityOwner(address)": (["address"], "view"),
        "changeOwner(address,address)": ([], "nonpayable"),
        f"changeOwnerSigned({sig},address)": ([], "nonpayable"),
        "validDelegate(address,bytes32,address)": (["bool"], "view"),
        "addDelegate(address,bytes32,address,uint256)": ([], "nonpayable"),
        f"addDelegateSigned({sig},bytes32,address,uint256)": ([], "nonpayable"),
        "revokeDelegate(address,bytes32,address)": ([], "nonpayable"),
        f"revokeDelegateSigned({sig},bytes32,address)": ([], "nonpayable"),
        "setAttribute(address,bytes32,bytes,uint256)": ([], "nonpayable"),
        f"setAttributeSigned({sig},bytes32,bytes,uint256)": ([], "nonpayable"),
        "revokeAttribute(address,bytes32,bytes)": ([], "nonpayable"),
        f"revokeAttributeSigned({sig},bytes32,bytes)": ([], "nonpayable"),
        "owners(address)": (["address"], "view"),
        "delegates(address,bytes32,address)": (["uint256"], "view"),
        "changed(address)": (["uint256"], "view"),
        "nonce(address)": (["uint256"], "view"),
    }
    events = {
        e["name"]: [(i["type"], i["name"], i["indexed"]) for i in e["inputs"]] for e in abi if e["type"] == "event"
    }
    assert events == {
        "DIDOwnerChanged": [
            ("address", "identity", True),
            ("address", "owner", False),
            ("uint256", "previousChange", False),
        ],
        "DIDDelegateChanged": [
            ("address", "identity", True),
            ("bytes32", "delegateType", False),
            ("address", "delegate", False),
            ("uint256", "validTo", False),
            ("uint256", "previousChange", False),
        ],
        "DIDAttributeChanged": [
            ("address", "identity", True),
            ("bytes32", "name", False),
            ("bytes", "value", False),
            ("uint256", "validTo", False),
            ("uint256", "previousChange", False),
        ],
    }
    assert not any(e["type"] in {"constructor", "fallback", "receive"} for e in abi)


def test_event_topics_are_the_erc1056_signatures(chain: RegistryChain) -> None:
    """ERC-1056 Events: resolvers filter logs by these topic hashes and by the indexed identity (topic 1)."""
    identity = chain.accounts[1]
    ops = OPERATIONS[1:] + OPERATIONS[:1]  # owner change last, so the identity's key stays the sender
    receipts = [chain.send(op.direct(chain.registry, identity), identity) for op in ops]
    expected = {
        "DIDOwnerChanged": keccak(text="DIDOwnerChanged(address,address,uint256)"),
        "DIDDelegateChanged": keccak(text="DIDDelegateChanged(address,bytes32,address,uint256,uint256)"),
        "DIDAttributeChanged": keccak(text="DIDAttributeChanged(address,bytes32,bytes,uint256,uint256)"),
    }
    for op, receipt in zip(ops, receipts, strict=True):
        (log,) = receipt["logs"]
        assert bytes(log["topics"][0]) == expected[op.event]
        assert bytes(log["topics"][1]) == bytes(12) + bytes.fromhex(identity[2:])


# ---- identity ownership ----


def test_identity_owns_itself_by_default(chain: RegistryChain) -> None:
    """ERC-1056 Identity ownership: "By default an identity is owned by itself"; ``owners`` is unset."""
    identity = chain.accounts[1]
    assert chain.registry.functions.identityOwner(identity).call() == identity
    assert chain.registry.functions.owners(identity).call() == ZERO
    assert chain.changed(identity) == 0
    assert chain.registry.functions.nonce(identity).call() == 0


def test_change_owner_moves_control_to_the_new_owner(chain: RegistryChain) -> None:
    """ERC-1056 changeOwner: the new owner may change the identity, the identity's own key no longer may."""
    identity, new_owner, third = chain.accounts[1], chain.accounts[2], chain.accounts[3]
    receipt = chain.send(chain.registry.functions.changeOwner(identity, new_owner), identity)
    assert chain.events(receipt) == [
        ("DIDOwnerChanged", {"identity": identity, "owner": new_owner, "previousChange": 0})
    ]
    assert chain.registry.functions.identityOwner(identity).call() == new_owner
    assert chain.registry.functions.owners(identity).call() == new_owner
    assert chain.changed(identity) == receipt["blockNumber"]

    assert "bad_actor" in chain.revert_reason(chain.registry.functions.changeOwner(identity, third), identity)
    receipt2 = chain.send(chain.registry.functions.changeOwner(identity, third), new_owner)
    assert chain.events(receipt2)[0][1]["previousChange"] == receipt["blockNumber"]
    assert chain.registry.functions.identityOwner(identity).call() == third
    # handing it back to the identity's own key works like any other owner change
    chain.send(chain.registry.functions.changeOwner(identity, identity), third)
    assert chain.registry.functions.identityOwner(identity).call() == identity


def test_deactivation_is_final(chain: RegistryChain) -> None:
    """did:ethr Delete (Revoke): owner 0x0 "will indicate the identity has no owner"; afterwards no key (not even the
    identity's own) can change it, and its delegates are no longer valid."""
    identity = chain.accounts[1]
    chain.send(chain.registry.functions.addDelegate(identity, VERI_KEY, DELEGATE, VALIDITY), identity)
    assert chain.registry.functions.validDelegate(identity, VERI_KEY, DELEGATE).call()
    receipt = chain.send(chain.registry.functions.changeOwner(identity, ZERO), identity)
    assert chain.events(receipt)[0][1]["owner"] == ZERO
    assert chain.registry.functions.identityOwner(identity).call() == ZERO
    assert chain.registry.functions.owners(identity).call() == ZERO
    assert not chain.registry.functions.validDelegate(identity, VERI_KEY, DELEGATE).call()
    assert "bad_actor" in chain.revert_reason(chain.registry.functions.changeOwner(identity, identity), identity)


@by_name
def test_deactivated_identity_refuses_every_change(chain: RegistryChain, op: Operation) -> None:
    """did:ethr Delete (Revoke): after owner 0x0 every direct and signed change is refused (nonce of 0x0 untouched)."""
    key = chain.key()
    identity = address_of(key)
    chain.send(
        chain.registry.functions.changeOwnerSigned(
            identity, *sign(key, erc1056.change_owner_digest(chain.address, 0, identity, new_owner=ZERO)), ZERO
        ),
        chain.accounts[0],
    )
    before = chain.changed(identity)
    assert "bad_actor" in chain.revert_reason(op.direct(chain.registry, identity), chain.accounts[0])
    for nonce in (0, 1):  # the identity key's spent nonce and the next one
        assert "bad_signature" in chain.revert_reason(signed_call(chain, op, identity, key, nonce), chain.accounts[0])
    assert chain.changed(identity) == before
    assert chain.registry.functions.nonce(ZERO).call() == 0


# ---- every function: owner succeeds, anyone else is refused ----


@by_name
def test_owner_call_emits_event_and_advances_changed(chain: RegistryChain, op: Operation) -> None:
    """ERC-1056 Events: each successful change MUST emit its event; ``changed[identity]`` becomes the block number."""
    identity = chain.accounts[1]
    receipt = chain.send(op.direct(chain.registry, identity), identity)
    ((name, args),) = chain.events(receipt)
    assert name == op.event
    assert args["identity"] == identity
    assert args["previousChange"] == 0
    assert chain.changed(identity) == receipt["blockNumber"]


@by_name
def test_unauthorised_caller_is_refused(chain: RegistryChain, op: Operation) -> None:
    """ERC-1056: only the identity's owner may change it; a stranger's call reverts (``bad_actor``), no state moves."""
    identity, stranger = chain.accounts[1], chain.accounts[2]
    assert "bad_actor" in chain.revert_reason(op.direct(chain.registry, identity), stranger)
    assert chain.changed(identity) == 0
    assert chain.registry.functions.identityOwner(identity).call() == identity
    assert not chain.registry.functions.validDelegate(identity, VERI_KEY, DELEGATE).call()


@by_name
def test_previous_owner_is_refused_after_owner_change(chain: RegistryChain, op: Operation) -> None:
    """ERC-1056 changeOwner: control moves entirely; the old owner (the identity's own key) is a stranger now."""
    identity, owner = chain.accounts[1], chain.accounts[2]
    chain.send(chain.registry.functions.changeOwner(identity, owner), identity)
    assert "bad_actor" in chain.revert_reason(op.direct(chain.registry, identity), identity)
    chain.send(op.direct(chain.registry, identity), owner)


# ---- signed variants ----


@by_name
def test_signed_call_by_owner_is_relayed(chain: RegistryChain, op: Operation) -> None:
    """ERC-1056 *Signed: anyone may submit a change the owner signed; the owner's nonce is consumed."""
    key = chain.key()
    identity = address_of(key)
    relayer = chain.accounts[0]
    receipt = chain.send(signed_call(chain, op, identity, key), relayer)
    ((name, args),) = chain.events(receipt)
    assert (name, args["identity"], args["previousChange"]) == (op.event, identity, 0)
    assert chain.registry.functions.nonce(identity).call() == 1
    assert chain.changed(identity) == receipt["blockNumber"]


@by_name
def test_signature_of_a_stranger_is_refused(chain: RegistryChain, op: Operation) -> None:
    """ERC-1056 *Signed: a signature by any key but the owner's reverts with ``bad_signature``."""
    identity = address_of(chain.key())
    stranger = chain.key()
    assert "bad_signature" in chain.revert_reason(signed_call(chain, op, identity, stranger), chain.accounts[0])
    assert chain.changed(identity) == 0
    assert chain.registry.functions.nonce(address_of(stranger)).call() == 0


@by_name
def test_replayed_signature_is_refused(chain: RegistryChain, op: Operation) -> None:
    """ERC-1056 *Signed: the nonce is part of the signed message and consumed, so a signed call applies only once."""
    key = chain.key()
    identity = address_of(key)
    call = signed_call(chain, op, identity, key)
    first = chain.send(call, chain.accounts[0])
    assert "bad_signature" in chain.revert_reason(call, chain.accounts[1])
    assert chain.changed(identity) == first["blockNumber"]


def test_replay_is_stopped_by_the_nonce_alone(chain: RegistryChain) -> None:
    """ERC-1056 changeOwnerSigned with the identity as its own new owner: ownership does not change, so only the
    consumed nonce stops the replay."""
    key = chain.key()
    identity = address_of(key)
    call = chain.registry.functions.changeOwnerSigned(
        identity, *sign(key, erc1056.change_owner_digest(chain.address, 0, identity, new_owner=identity)), identity
    )
    chain.send(call, chain.accounts[0])
    assert chain.registry.functions.identityOwner(identity).call() == identity
    assert "bad_signature" in chain.revert_reason(call, chain.accounts[0])
    assert chain.registry.functions.nonce(identity).call() == 1


@by_name
@pytest.mark.parametrize("tamper", ["next nonce", "other registry", "other identity"])
def test_signature_over_other_message_is_refused(chain: RegistryChain, op: Operation, tamper: str) -> None:
    """ERC-1056 signed message: registry address, owner nonce and identity are all bound by the signature."""
    key = chain.key()
    identity = address_of(key)
    nonce, registry, signed_identity = 0, chain.address, identity
    if tamper == "next nonce":
        nonce = 1
    elif tamper == "other registry":
        registry = chain.accounts[5]
    else:
        signed_identity = address_of(chain.key())
    sig = sign(key, op.digest(registry, nonce, signed_identity))
    assert "bad_signature" in chain.revert_reason(op.signed(chain.registry, identity, sig), chain.accounts[0])
    assert chain.registry.functions.nonce(identity).call() == 0


@pytest.mark.parametrize("mangle", ["high s", "v 29", "v 0", "zero r", "flipped bit"])
def test_malformed_or_malleable_signature_is_refused(chain: RegistryChain, mangle: str) -> None:
    """Signed calls accept only canonical (v in {27, 28}, low-s) signatures: the high-s twin of a valid signature, which
    ``ecrecover`` would accept, is refused too; ``ecrecover`` failures (0x0) never count as the owner."""
    key = chain.key()
    identity = address_of(key)
    v, r, s = sign(key, erc1056.change_owner_digest(chain.address, 0, identity, new_owner=NEW_OWNER))
    if mangle == "high s":
        v, s = (55 - v), (SECP256K1_N - int.from_bytes(s, "big")).to_bytes(32, "big")
    elif mangle == "v 29":
        v = 29
    elif mangle == "v 0":
        v = 0
    elif mangle == "zero r":
        r = bytes(32)
    else:
        r = bytes([r[0] ^ 1]) + r[1:]
    call = chain.registry.functions.changeOwnerSigned(identity, v, r, s, NEW_OWNER)
    assert "bad_signature" in chain.revert_reason(call, chain.accounts[0])
    assert chain.registry.functions.identityOwner(identity).call() == identity


def test_nonce_belongs_to_the_current_owner(chain: RegistryChain) -> None:
    """ERC-1056 v1 nonce tracking (as did:ethr controllers sign): the digest uses ``nonce[identityOwner(identity)]`` and
    the signer's nonce is consumed; after a signed owner change the old key's signatures no longer count."""
    old_key, new_key = chain.key(), chain.key()
    identity, new_owner = address_of(old_key), address_of(new_key)
    relayer = chain.accounts[0]
    chain.send(
        chain.registry.functions.changeOwnerSigned(
            identity,
            *sign(old_key, erc1056.change_owner_digest(chain.address, 0, identity, new_owner=new_owner)),
            new_owner,
        ),
        relayer,
    )
    assert chain.registry.functions.nonce(identity).call() == 1
    assert chain.registry.functions.nonce(new_owner).call() == 0
    assert chain.owner_nonce(identity) == 0

    add = OPERATIONS[1]
    assert "bad_signature" in chain.revert_reason(signed_call(chain, add, identity, old_key, nonce=1), relayer)
    chain.send(signed_call(chain, add, identity, new_key), relayer)
    assert chain.registry.functions.nonce(new_owner).call() == 1
    assert chain.registry.functions.validDelegate(identity, VERI_KEY, DELEGATE).call()

    # one owner of two identities: one nonce sequence, and a signature names its identity
    other_key = chain.key()
    other = address_of(other_key)
    chain.send(
        chain.registry.functions.changeOwnerSigned(
            other,
            *sign(other_key, erc1056.change_owner_digest(chain.address, 0, other, new_owner=new_owner)),
            new_owner,
        ),
        relayer,
    )
    sig = sign(new_key, add.digest(chain.address, 1, identity))
    assert "bad_signature" in chain.revert_reason(add.signed(chain.registry, other, sig), relayer)
    chain.send(add.signed(chain.registry, identity, sig), relayer)
    assert chain.registry.functions.nonce(new_owner).call() == 2


# ---- delegates ----


def test_add_delegate_records_valid_to(chain: RegistryChain) -> None:
    """ERC-1056 addDelegate: valid for ``validity`` seconds; ``delegates[identity][keccak256(type)][delegate]`` holds
    validTo; only the exact (type, delegate) pair is valid."""
    identity = chain.accounts[1]
    receipt = chain.send(chain.registry.functions.addDelegate(identity, SIG_AUTH, DELEGATE, VALIDITY), identity)
    valid_to = chain.timestamp(receipt["blockNumber"]) + VALIDITY
    assert chain.events(receipt) == [
        (
            "DIDDelegateChanged",
            {
                "identity": identity,
                "delegateType": SIG_AUTH,
                "delegate": DELEGATE,
                "validTo": valid_to,
                "previousChange": 0,
            },
        )
    ]
    assert chain.registry.functions.delegates(identity, keccak(SIG_AUTH), DELEGATE).call() == valid_to
    assert chain.registry.functions.validDelegate(identity, SIG_AUTH, DELEGATE).call()
    assert not chain.registry.functions.validDelegate(identity, VERI_KEY, DELEGATE).call()
    assert not chain.registry.functions.validDelegate(identity, SIG_AUTH, chain.accounts[2]).call()
    assert not chain.registry.functions.validDelegate(chain.accounts[2], SIG_AUTH, DELEGATE).call()


def test_delegate_expires_at_valid_to(chain: RegistryChain) -> None:
    """ERC-1056 addDelegate: "after which it will no longer be a delegate" — valid strictly before validTo."""
    identity = chain.accounts[1]
    receipt = chain.send(chain.registry.functions.addDelegate(identity, VERI_KEY, DELEGATE, 1_000), identity)
    valid_to = chain.timestamp(receipt["blockNumber"]) + 1_000
    chain.tester.time_travel(valid_to - 1)
    chain.tester.mine_blocks(1)
    assert chain.timestamp(chain.w3.eth.block_number) == valid_to - 1
    assert chain.registry.functions.validDelegate(identity, VERI_KEY, DELEGATE).call()
    chain.tester.time_travel(valid_to)
    chain.tester.mine_blocks(1)
    assert chain.timestamp(chain.w3.eth.block_number) == valid_to
    assert not chain.registry.functions.validDelegate(identity, VERI_KEY, DELEGATE).call()


def test_revoke_delegate_ends_validity_in_its_block(chain: RegistryChain) -> None:
    """ERC-1056 revokeDelegate: the delegate's validTo becomes the revoking block's time (announced in the event)."""
    identity = chain.accounts[1]
    added = chain.send(chain.registry.functions.addDelegate(identity, VERI_KEY, DELEGATE, VALIDITY), identity)
    revoked = chain.send(chain.registry.functions.revokeDelegate(identity, VERI_KEY, DELEGATE), identity)
    now = chain.timestamp(revoked["blockNumber"])
    assert chain.events(revoked) == [
        (
            "DIDDelegateChanged",
            {
                "identity": identity,
                "delegateType": VERI_KEY,
                "delegate": DELEGATE,
                "validTo": now,
                "previousChange": added["blockNumber"],
            },
        )
    ]
    assert chain.registry.functions.delegates(identity, keccak(VERI_KEY), DELEGATE).call() == now
    assert not chain.registry.functions.validDelegate(identity, VERI_KEY, DELEGATE).call()


def test_delegate_validity_overflow_reverts(chain: RegistryChain) -> None:
    """A validity that overflows block time + validity reverts (Solidity 0.8 checked arithmetic, panic 0x11)."""
    identity = chain.accounts[1]
    call = chain.registry.functions.addDelegate(identity, VERI_KEY, DELEGATE, 2**256 - 1)
    reason = chain.revert_reason(call, identity)
    assert "bad_actor" not in reason
    assert chain.changed(identity) == 0


def test_delegate_added_by_signature_is_valid(chain: RegistryChain) -> None:
    """ERC-1056 addDelegateSigned / revokeDelegateSigned change what ``validDelegate`` answers."""
    key = chain.key()
    identity = address_of(key)
    chain.send(signed_call(chain, OPERATIONS[1], identity, key), chain.accounts[0])
    assert chain.registry.functions.validDelegate(identity, VERI_KEY, DELEGATE).call()
    chain.send(signed_call(chain, OPERATIONS[2], identity, key), chain.accounts[0])
    assert not chain.registry.functions.validDelegate(identity, VERI_KEY, DELEGATE).call()
    assert chain.registry.functions.nonce(identity).call() == 2


# ---- attributes ----


def test_set_and_revoke_attribute_events(chain: RegistryChain) -> None:
    """ERC-1056 setAttribute ("valid for validity seconds") and revokeAttribute (validTo 0): attributes exist only as
    events, with the value passed through byte for byte."""
    identity = chain.accounts[1]
    service = erc1056.bytes32("did/svc/LinkedDomains")
    endpoint = b"https://issuer.example.org/.well-known/did-configuration.json"
    set_receipt = chain.send(chain.registry.functions.setAttribute(identity, service, endpoint, VALIDITY), identity)
    revoke_receipt = chain.send(chain.registry.functions.revokeAttribute(identity, service, endpoint), identity)
    assert chain.events(set_receipt) == [
        (
            "DIDAttributeChanged",
            {
                "identity": identity,
                "name": service,
                "value": endpoint,
                "validTo": chain.timestamp(set_receipt["blockNumber"]) + VALIDITY,
                "previousChange": 0,
            },
        )
    ]
    assert chain.events(revoke_receipt) == [
        (
            "DIDAttributeChanged",
            {
                "identity": identity,
                "name": service,
                "value": endpoint,
                "validTo": 0,
                "previousChange": set_receipt["blockNumber"],
            },
        )
    ]


@pytest.mark.parametrize("size", [0, 1, 32, 33, 1024])
def test_attribute_values_of_any_length(chain: RegistryChain, size: int) -> None:
    """ERC-1056 ``bytes value``: any length, including empty, round-trips through the event and the signed digest."""
    key = chain.key()
    identity = address_of(key)
    value = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    digest = erc1056.set_attribute_digest(chain.address, 0, identity, name=PUB_KEY, value=value, validity=VALIDITY)
    receipt = chain.send(
        chain.registry.functions.setAttributeSigned(identity, *sign(key, digest), PUB_KEY, value, VALIDITY),
        chain.accounts[0],
    )
    assert chain.events(receipt)[0][1]["value"] == value


# ---- the linked event chain resolvers walk ----


def walk_history(chain: RegistryChain, identity: str) -> list[tuple[int, str, dict[str, Any]]]:
    """ERC-1056 "Efficient lookup of events": start at ``changed[identity]``, fetch the identity's events in that
    block only, continue at their ``previousChange`` (as did:ethr resolvers do). Returns (block, event, args), oldest
    first."""
    history: list[tuple[int, str, dict[str, Any]]] = []
    topic = "0x" + bytes(12).hex() + identity[2:].lower()
    block = chain.changed(identity)
    while block:
        logs = chain.w3.eth.get_logs(
            {"address": chain.registry.address, "fromBlock": block, "toBlock": block, "topics": [None, topic]}
        )
        assert logs, f"previousChange points at block {block} without events"
        in_block = []
        for log in logs:
            for name in ("DIDOwnerChanged", "DIDDelegateChanged", "DIDAttributeChanged"):
                event = getattr(chain.registry.events, name)()
                if bytes(log["topics"][0]) == keccak(text=event.abi_element_identifier):
                    in_block.append((block, name, dict(event.process_log(log)["args"])))
        history = in_block + history
        links = {args["previousChange"] for _, _, args in in_block}
        earlier = [link for link in links if link < block]
        assert len(earlier) <= 1
        block = earlier[0] if earlier else 0
    return history


def test_previous_change_links_form_the_full_history(chain: RegistryChain) -> None:
    """ERC-1056 linked identity events: every event's ``previousChange`` is the block of the identity's previous change
    (0 for the first); walking back from ``changed`` finds every change, in order, and none of another identity's."""
    identity, other = chain.accounts[1], chain.accounts[2]
    sent = []
    for op in OPERATIONS[1:] + OPERATIONS[:1]:  # owner change last, so the identity's key stays the sender
        chain.send(op.direct(chain.registry, other), other)  # interleaved changes of another identity
        sent.append((chain.send(op.direct(chain.registry, identity), identity)["blockNumber"], op.event))
    history = walk_history(chain, identity)
    assert [(block, name) for block, name, _ in history] == sent
    assert [args["previousChange"] for _, _, args in history] == [0] + [block for block, _ in sent[:-1]]
    assert all(args["identity"] == identity for _, _, args in history)


def test_several_changes_in_one_block_link_to_that_block(chain: RegistryChain) -> None:
    """ERC-1056 linked events within one block: the later event points at its own block; the walk still reaches the
    earlier blocks and terminates. (Two senders: the identity itself, and a relayer with the identity's signature.)"""
    key = chain.key()
    identity = address_of(key)
    chain.tester.add_account(key.to_hex())
    chain.w3.eth.send_transaction({"from": chain.accounts[0], "to": identity, "value": Wei(10**18)})
    first = chain.send(OPERATIONS[3].direct(chain.registry, identity), identity)["blockNumber"]
    chain.tester.disable_auto_mine_transactions()
    try:
        txs = [
            OPERATIONS[1].direct(chain.registry, identity).transact({"from": identity, "gas": 200_000}),
            signed_call(chain, OPERATIONS[4], identity, key).transact({"from": chain.accounts[2], "gas": 200_000}),
        ]
        chain.tester.mine_blocks(1)
    finally:
        chain.tester.enable_auto_mine_transactions()
    receipts = [chain.w3.eth.get_transaction_receipt(tx) for tx in txs]
    block = receipts[0]["blockNumber"]
    assert [r["blockNumber"] for r in receipts] == [block, block]
    assert [chain.events(r)[0][1]["previousChange"] for r in receipts] == [first, block]
    assert chain.changed(identity) == block
    assert [(b, name) for b, name, _ in walk_history(chain, identity)] == [
        (first, "DIDAttributeChanged"),
        (block, "DIDDelegateChanged"),
        (block, "DIDAttributeChanged"),
    ]
