"""The wallet file: encrypted at rest under a PIN-derived key, atomic writes, wrong-PIN counter, PIN change."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ssi.clock import FrozenClock
from ssi.errors import WalletError, WalletPinError
from wallet_sim.store import DB_NAME, FAST_KDF, FREE_ATTEMPTS, WalletStore, check_pin_policy

PIN = "246810"


def make(tmp_path: Path, clock: FrozenClock | None = None) -> WalletStore:
    return WalletStore.create(tmp_path, PIN, kdf=FAST_KDF, clock=clock or FrozenClock(1_800_000_000))


def test_create_open_and_rows_roundtrip(tmp_path: Path) -> None:
    with make(tmp_path) as store, store.transaction() as tx:
        tx.insert("credential", "c1", {"vct": "urn:test", "claims": {"family_name": "MUSTERMANN"}})
    with WalletStore.open(tmp_path, PIN) as store:
        row = store.get("credential", "c1")
        assert row is not None and row.data["claims"]["family_name"] == "MUSTERMANN"
        assert [r.id for r in store.rows("credential")] == ["c1"]


def test_nothing_personal_in_the_clear(tmp_path: Path) -> None:
    """Encrypted at rest: neither claim values nor names appear in the file bytes."""
    with make(tmp_path) as store, store.transaction() as tx:
        tx.insert("credential", "c1", {"claims": {"family_name": "MUSTERMANN", "issuer": "Stadt Köln"}})
    raw = (tmp_path / DB_NAME).read_bytes()
    for path in tmp_path.glob(DB_NAME + "*"):
        raw += path.read_bytes()
    assert b"MUSTERMANN" not in raw and "Köln".encode() not in raw and b"family_name" not in raw


def test_file_and_directory_permissions(tmp_path: Path) -> None:
    make(tmp_path / "w").close()
    assert (tmp_path / "w" / DB_NAME).stat().st_mode & 0o077 == 0
    assert (tmp_path / "w").stat().st_mode & 0o077 == 0


def test_wrong_pin_refused_and_counted_then_wait(tmp_path: Path) -> None:
    clock = FrozenClock(1_800_000_000)
    make(tmp_path, clock).close()
    for _ in range(FREE_ATTEMPTS):
        with pytest.raises(WalletPinError) as info:
            WalletStore.open(tmp_path, "999999", clock=clock)
        assert info.value.reason == "wrong_wallet_pin"
    # Locked now: even the right PIN waits.
    with pytest.raises(WalletPinError) as info:
        WalletStore.open(tmp_path, PIN, clock=clock)
    assert info.value.reason == "wallet_pin_locked"
    clock.advance(31)
    WalletStore.open(tmp_path, PIN, clock=clock).close()
    # A success resets the counter: FREE_ATTEMPTS more wrong ones are needed for the next wait.
    with pytest.raises(WalletPinError) as info:
        WalletStore.open(tmp_path, "999999", clock=clock)
    assert info.value.reason == "wrong_wallet_pin"
    WalletStore.open(tmp_path, PIN, clock=clock).close()


def test_wait_doubles_per_further_failure(tmp_path: Path) -> None:
    clock = FrozenClock(1_800_000_000)
    make(tmp_path, clock).close()
    for _ in range(FREE_ATTEMPTS):
        with pytest.raises(WalletPinError):
            WalletStore.open(tmp_path, "999999", clock=clock)
    clock.advance(31)
    with pytest.raises(WalletPinError):
        WalletStore.open(tmp_path, "999999", clock=clock)
    clock.advance(31)
    with pytest.raises(WalletPinError) as info:  # 60 s now
        WalletStore.open(tmp_path, PIN, clock=clock)
    assert info.value.reason == "wallet_pin_locked"
    clock.advance(30)
    WalletStore.open(tmp_path, PIN, clock=clock).close()


@pytest.mark.parametrize("pin", ["12345", "111111", "", "x" * 65])
def test_weak_pins_refused(pin: str, tmp_path: Path) -> None:
    with pytest.raises(WalletPinError) as info:
        check_pin_policy(pin)
    assert info.value.reason == "weak_wallet_pin"
    with pytest.raises(WalletPinError):
        WalletStore.create(tmp_path, pin, kdf=FAST_KDF)
    assert not WalletStore.exists(tmp_path)


def test_create_refuses_existing_and_open_missing(tmp_path: Path) -> None:
    make(tmp_path).close()
    with pytest.raises(WalletError) as info:
        WalletStore.create(tmp_path, PIN, kdf=FAST_KDF)
    assert info.value.reason == "wallet_exists"
    with pytest.raises(WalletError) as info:
        WalletStore.open(tmp_path / "nothing", PIN)
    assert info.value.reason == "wallet_not_found"


def test_change_pin(tmp_path: Path) -> None:
    with make(tmp_path) as store:
        with store.transaction() as tx:
            tx.insert("pending", "p1", {"x": 1})
        store.change_pin(PIN, "135790")
    with pytest.raises(WalletPinError):
        WalletStore.open(tmp_path, PIN)
    with WalletStore.open(tmp_path, "135790") as store:
        assert store.get("pending", "p1") is not None


def test_transaction_is_atomic(tmp_path: Path) -> None:
    """No half-stored credentials: an error inside the transaction rolls back every row written in it."""
    with make(tmp_path) as store:
        with pytest.raises(RuntimeError), store.transaction() as tx:
            tx.insert("credential", "c1", {"a": 1})
            tx.insert("instance", "i1", {"b": 2}, credential_id="c1", seq=0)
            raise RuntimeError("crash in the middle")
        assert store.count("credential") == 0 and store.count("instance") == 0


def test_sealed_row_moved_to_another_id_does_not_open(tmp_path: Path) -> None:
    with make(tmp_path) as store, store.transaction() as tx:
        tx.insert("credential", "c1", {"a": 1})
        tx.insert("credential", "c2", {"a": 2})
    db = sqlite3.connect(tmp_path / DB_NAME)
    (blob,) = db.execute("SELECT sealed FROM credential WHERE id = 'c1'").fetchone()
    db.execute("UPDATE credential SET sealed = ? WHERE id = 'c2'", (blob,))
    db.commit()
    db.close()
    with WalletStore.open(tmp_path, PIN) as store:
        with pytest.raises(WalletError) as info:
            store.get("credential", "c2")
        assert info.value.reason == "store_damaged"


def test_instance_rows_cascade_with_their_credential(tmp_path: Path) -> None:
    with make(tmp_path) as store:
        with store.transaction() as tx:
            tx.insert("credential", "c1", {})
            tx.insert("instance", "i1", {}, credential_id="c1", seq=0)
            tx.insert("instance", "i2", {}, credential_id="c1", seq=1)
        with store.transaction() as tx:
            assert tx.delete("credential", "c1")
        assert store.count("instance") == 0


def test_not_a_wallet_file(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(WalletError) as info:
        WalletStore.open(tmp_path, PIN)
    assert info.value.reason == "store_damaged"
