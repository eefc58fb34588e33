"""``c_nonce`` (OpenID4VCI 1.0 §7, §8.3.1.2, §13.5): computed when issued (a MAC over time and 128 random bits, bound
to the authority — nothing is stored), accepted for ``c_nonce_ttl`` seconds, and single-use: consuming one records
it, in the credential request's transaction on PostgreSQL; a replay, another authority's or a forged nonce is
``invalid_nonce``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from issuer_support import make_issuer
from protocol_support import InProcessWallet

from infra.db import create_engine, sqlite_url
from infra.ephemeral import SqlEphemeralStore
from issuer import Issuer
from issuer.nonces import C_NONCE_NS, CNonces
from ssi.clock import FrozenClock
from ssi.encoding import b64url_decode, b64url_encode
from ssi.errors import InvalidNonce
from ssi.keys import SoftwareSigner

SECRET = bytes(range(32))


class CountingStore(SqlEphemeralStore):
    """A SQL store that counts the operations made on it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[str] = []

    def put(self, ns: str, key: str, value: Any, ttl: float) -> None:
        self.calls.append(f"put {ns}")
        super().put(ns, key, value, ttl)

    def remember_once(self, ns: str, key: str, ttl: float) -> bool:
        self.calls.append(f"remember_once {ns}")
        return super().remember_once(ns, key, ttl)


@pytest.fixture
def store(tmp_path: Path, clock: FrozenClock) -> CountingStore:
    return CountingStore(create_engine(sqlite_url(tmp_path / "n.db")), clock=clock)


@pytest.fixture
def nonces(store: CountingStore, clock: FrozenClock) -> CNonces:
    return CNonces(store, SECRET, ttl=300, clock=clock)


def test_section_7_issuing_stores_nothing_and_is_unpredictable(nonces: CNonces, store: CountingStore) -> None:
    issued = {nonces.issue(1) for _ in range(200)}
    assert len(issued) == 200 and store.calls == []
    assert all(len(b64url_decode(n)) == 40 for n in issued)  # time 8, random 16, MAC 16


def test_section_13_5_single_use(nonces: CNonces, store: CountingStore) -> None:
    nonce = nonces.issue(1)
    nonces.consume({nonce}, 1)
    assert store.calls == [f"remember_once {C_NONCE_NS}"]
    with pytest.raises(InvalidNonce) as err:
        nonces.consume({nonce}, 1)
    assert err.value.code == "invalid_nonce" and err.value.reason == "used_c_nonce"


def test_used_nonce_is_remembered_until_it_expires(nonces: CNonces, clock: FrozenClock) -> None:
    nonce = nonces.issue(1)
    clock.advance(299)
    nonces.consume({nonce}, 1)
    with pytest.raises(InvalidNonce) as err:  # still refused as used while it would be accepted
        nonces.consume({nonce}, 1)
    assert err.value.reason == "used_c_nonce"
    clock.advance(10)
    with pytest.raises(InvalidNonce) as err:
        nonces.consume({nonce}, 1)
    assert err.value.reason == "expired_c_nonce"


def test_expired_and_future_nonces(nonces: CNonces, clock: FrozenClock) -> None:
    old = nonces.issue(1)
    clock.advance(301)
    with pytest.raises(InvalidNonce) as err:
        nonces.consume({old}, 1)
    assert err.value.reason == "expired_c_nonce"
    ahead = CNonces(nonces._store, SECRET, ttl=300, clock=lambda: clock() + 60).issue(1)  # a clock far ahead
    with pytest.raises(InvalidNonce) as err:
        nonces.consume({ahead}, 1)
    assert err.value.reason == "expired_c_nonce"


def test_other_authority_other_secret_and_forgeries(nonces: CNonces, store: CountingStore, clock: FrozenClock) -> None:
    nonce = nonces.issue(1)
    raw = bytearray(b64url_decode(nonce))
    raw[10] ^= 1  # a random byte changed
    forged_time = bytearray(b64url_decode(nonce))
    forged_time[7] ^= 1  # the time changed
    foreign = CNonces(store, bytes(32), ttl=300, clock=clock).issue(1)
    for bad in (
        nonce[:-1],
        nonce + "A",
        b64url_encode(bytes(raw)),
        b64url_encode(bytes(forged_time)),
        foreign,
        "not-issued-here",
        "",
        "!" * 54,
    ):
        with pytest.raises(InvalidNonce) as err:
            nonces.consume({bad}, 1)
        assert err.value.reason == "unknown_c_nonce", bad
    with pytest.raises(InvalidNonce) as err:
        nonces.consume({nonce}, 2)  # issued for authority 1
    assert err.value.reason == "unknown_c_nonce"
    assert store.calls == []  # nothing remembered for refused nonces
    nonces.consume({nonce}, 1)  # the genuine one is still good


def test_short_secret_refused(store: CountingStore) -> None:
    with pytest.raises(ValueError):
        CNonces(store, b"short")


def test_instances_sharing_the_database_share_nonces(tmp_path: Path, clock: FrozenClock) -> None:
    """A second instance on the same database accepts the first's nonce once (secret from the database)."""
    first = make_issuer(tmp_path, clock=clock)
    second = make_issuer(tmp_path, clock=clock)
    nonce = first.context.c_nonces.issue(1)
    second.context.c_nonces.consume({nonce}, 1)
    with pytest.raises(InvalidNonce):
        first.context.c_nonces.consume({nonce}, 1)


@pytest.fixture
def pg_issuer(tmp_path: Path, clock: FrozenClock, postgres_url: str) -> Iterator[Issuer]:
    built = make_issuer(tmp_path, clock=clock, database_url=postgres_url)
    yield built
    built.context.storage.engine.dispose()


def test_section_13_5_replay_at_the_credential_endpoint_postgresql(pg_issuer: Issuer, clock: FrozenClock) -> None:
    """One key proof (one c_nonce) sent with two access tokens at once: exactly one credential; the replay is
    ``invalid_nonce`` (the nonce is recorded in the request transaction; the second waits for its commit)."""
    wallet = InProcessWallet(pg_issuer, clock)
    nonce = wallet.c_nonce()
    proof = wallet.proofs([SoftwareSigner.generate()], nonce)
    tokens = []
    for _ in range(2):
        offer = wallet.offer()
        tokens.append(wallet.token(offer, offer.tx_code))
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def request(token: Any) -> None:
        body = {"credential_configuration_id": "bewohnerparkausweis", "proofs": {"jwt": proof}}
        other = InProcessWallet(pg_issuer, clock)
        other.dpop_key = wallet.dpop_key
        barrier.wait()
        try:
            other.credential(token, body)
            outcomes.append("issued")
        except InvalidNonce:
            outcomes.append("invalid_nonce")

    threads = [threading.Thread(target=request, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["invalid_nonce", "issued"]


def test_nonce_kept_usable_when_the_request_fails_postgresql(
    pg_issuer: Issuer, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that fails for another reason than a protocol error rolls back: its c_nonce was not used."""
    wallet = InProcessWallet(pg_issuer, clock)
    nonce = wallet.c_nonce()
    holder = SoftwareSigner.generate()
    offer = wallet.offer()
    token = wallet.token(offer, offer.tx_code)
    body = {"credential_configuration_id": "bewohnerparkausweis", "proofs": {"jwt": wallet.proofs([holder], nonce)}}
    endpoint = pg_issuer.credentials
    real = endpoint._sign  # signing precedes the recording on both paths (issuer.pg_requests, request transaction)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("signing key went away")

    monkeypatch.setattr(endpoint, "_sign", broken)
    with pytest.raises(RuntimeError):
        wallet.credential(token, body)
    monkeypatch.setattr(endpoint, "_sign", real)
    assert wallet.credential(token, body).credentials
    second = wallet.offer()
    with pytest.raises(InvalidNonce):  # now it is used
        wallet.credential(wallet.token(second, second.tx_code), body)
