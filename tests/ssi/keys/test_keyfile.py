"""Key files: plain private JWK or scrypt (RFC 7914) + AES-256-GCM encrypted, mode 0600, never overwritten."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from ssi.encoding import b64url_decode, b64url_encode
from ssi.errors import KeyError_, KeyFileError, SsiError
from ssi.keys import (
    ALGORITHMS,
    PrivateKey,
    decrypt_private_jwk,
    encrypt_private_jwk,
    is_encrypted,
    load_private_key,
    read_jwk_file,
    write_key_file,
)

FAST_N = 2**14  # the smallest N a key file may use; keeps the suite fast
PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="module")
def key() -> PrivateKey:
    return PrivateKey.generate("ES256")


@pytest.fixture(scope="module")
def encrypted(key: PrivateKey) -> dict[str, Any]:
    return encrypt_private_jwk(key, PASSPHRASE, kid="key-1", n=FAST_N)


def _copy(doc: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(doc))


def _flip(b64: str, index: int = 0) -> str:
    raw = bytearray(b64url_decode(b64))
    raw[index] ^= 0x01
    return b64url_encode(bytes(raw))


# --- round trips ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_encrypted_round_trip(alg: str) -> None:
    key = PrivateKey.generate(alg)
    doc = encrypt_private_jwk(key, PASSPHRASE, kid="k", n=FAST_N)
    assert is_encrypted(doc)
    assert doc["alg"] == alg
    assert doc["public_jwk"] == key.public_key.jwk
    assert key.private_jwk()["d"] not in json.dumps(doc)
    assert decrypt_private_jwk(doc, PASSPHRASE).private_jwk() == key.private_jwk()


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_file_round_trip_plain_and_encrypted(tmp_path: Path, alg: str) -> None:
    key = PrivateKey.generate(alg)
    plain, locked = tmp_path / "plain.jwk", tmp_path / "locked.jwk"
    write_key_file(plain, key, kid="k1")
    assert read_jwk_file(plain)["kid"] == "k1"
    assert load_private_key(plain).private_jwk() == key.private_jwk()
    doc = encrypt_private_jwk(key, PASSPHRASE, kid="k1", n=FAST_N)
    locked.write_text(json.dumps(doc))
    assert load_private_key(locked, PASSPHRASE).private_jwk() == key.private_jwk()


def test_write_key_file_encrypted_default_parameters(tmp_path: Path, key: PrivateKey) -> None:
    path = tmp_path / "k.json"
    write_key_file(path, key, passphrase=PASSPHRASE, kid="k")
    doc = read_jwk_file(path)
    assert doc["kdf"]["name"] == "scrypt"
    assert doc["kdf"]["n"] >= 2**15
    assert doc["cipher"]["name"] == "A256GCM"
    assert load_private_key(path, PASSPHRASE).public_key == key.public_key


def test_fresh_salt_and_nonce_for_every_encryption(key: PrivateKey) -> None:
    a = encrypt_private_jwk(key, PASSPHRASE, n=FAST_N)
    b = encrypt_private_jwk(key, PASSPHRASE, n=FAST_N)
    assert a["kdf"]["salt"] != b["kdf"]["salt"]
    assert a["cipher"]["nonce"] != b["cipher"]["nonce"]
    assert a["ciphertext"] != b["ciphertext"]


# --- wrong passphrase and tampering: one indistinguishable error ----------------------------------------------------


def _tamperings(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    other = PrivateKey.generate("ES256").public_key.jwk
    cases: dict[str, dict[str, Any]] = {}

    def case(name: str, edit: Any) -> None:
        copy = _copy(doc)
        edit(copy)
        cases[name] = copy

    case("ciphertext bit", lambda d: d.update(ciphertext=_flip(d["ciphertext"], 3)))
    case("tag bit", lambda d: d.update(ciphertext=_flip(d["ciphertext"], -1)))
    case("ciphertext truncated", lambda d: d.update(ciphertext=d["ciphertext"][:-4]))
    case("ciphertext empty", lambda d: d.update(ciphertext=""))
    case("kid", lambda d: d.update(kid="attacker"))
    case("kid removed", lambda d: d.update(kid=None))
    case("alg", lambda d: d.update(alg="EdDSA"))
    case("public_jwk", lambda d: d.update(public_jwk=other))
    case("extra header member", lambda d: d.update(note="x"))
    case("salt", lambda d: d["kdf"].update(salt=_flip(d["kdf"]["salt"])))
    case("kdf n", lambda d: d["kdf"].update(n=2**15 if d["kdf"]["n"] != 2**15 else 2**14))
    # r has a single allowed value (8); changing it is refused as out of range (see the parameter test below)
    case("kdf p", lambda d: d["kdf"].update(p=2))
    case("kdf n not a power of two", lambda d: d["kdf"].update(n=2**14 + 2))
    case("nonce", lambda d: d["cipher"].update(nonce=_flip(d["cipher"]["nonce"])))
    case("nonce shorter", lambda d: d["cipher"].update(nonce=b64url_encode(b64url_decode(d["cipher"]["nonce"])[:8])))
    case("nonce empty", lambda d: d["cipher"].update(nonce=""))
    return cases


def test_wrong_passphrase_and_tampering_give_the_same_error(encrypted: dict[str, Any]) -> None:
    """No oracle: a wrong passphrase and any tampering with header, KDF parameters or ciphertext fail alike."""
    with pytest.raises(KeyFileError) as wrong:
        decrypt_private_jwk(_copy(encrypted), "wrong passphrase")
    seen = {(type(wrong.value), wrong.value.reason, wrong.value.description)}
    for name, doc in _tamperings(encrypted).items():
        with pytest.raises(KeyFileError) as info:
            decrypt_private_jwk(doc, PASSPHRASE)
        seen.add((type(info.value), info.value.reason, info.value.description))
        assert len(seen) == 1, name
    assert seen == {(KeyFileError, "decrypt_failed", "wrong passphrase or tampered key file")}


def test_tampered_key_file_on_disk_gives_key_file_error(tmp_path: Path, encrypted: dict[str, Any]) -> None:
    for i, doc in enumerate(_tamperings(encrypted).values()):
        path = tmp_path / f"{i}.json"
        path.write_text(json.dumps(doc))
        with pytest.raises(KeyFileError):
            load_private_key(path, PASSPHRASE)


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("n", 2**13),
        ("n", 2**18),
        ("n", 2**21),
        ("n", 0),
        ("n", -(2**15)),
        ("n", True),
        ("n", "32768"),
        ("n", 32768.0),
        ("n", None),
        ("r", 7),
        ("r", 9),
        ("r", 17),
        ("r", 2**30),
        ("p", 0),
        ("p", 3),
        ("p", 5),
        ("p", 2**20),
    ],
)
def test_rfc7914_scrypt_parameters_out_of_range_are_refused(encrypted: dict[str, Any], member: str, value: Any) -> None:
    """RFC 7914 §2 parameters bound the work a key file can demand (128·N·r bytes of memory; at most 128 MiB):
    out-of-range values are refused, not run."""
    doc = _copy(encrypted)
    doc["kdf"][member] = value
    with pytest.raises(KeyFileError) as info:
        decrypt_private_jwk(doc, PASSPHRASE)
    assert info.value.reason == "unknown_format"


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.pop("kdf"),
        lambda d: d.pop("cipher"),
        lambda d: d.pop("ciphertext"),
        lambda d: d.update(kdf=[]),
        lambda d: d.update(kdf="scrypt"),
        lambda d: d["kdf"].pop("salt"),
        lambda d: d["kdf"].update(salt=7),
        lambda d: d["kdf"].update(salt="a+b="),
        lambda d: d["kdf"].update(name="pbkdf2"),
        lambda d: d["cipher"].update(name="A128GCM"),
        lambda d: d["cipher"].update(nonce=None),
        lambda d: d.update(ciphertext=["x"]),
        lambda d: d.update(ciphertext="not base64!"),
        lambda d: d.update(version=2),
        lambda d: d.update(version=True),
        lambda d: d.update(format="other"),
    ],
)
def test_malformed_key_file_is_a_key_file_error(encrypted: dict[str, Any], edit: Any) -> None:
    doc = _copy(encrypted)
    edit(doc)
    with pytest.raises(KeyFileError):
        decrypt_private_jwk(doc, PASSPHRASE)


@pytest.mark.parametrize("doc", [None, [], "govssi-keyfile", {"format": "govssi-keyfile"}])
def test_non_key_file_is_refused(doc: Any) -> None:
    with pytest.raises(KeyFileError):
        decrypt_private_jwk(doc, PASSPHRASE)


def test_lone_surrogate_in_tampered_header_is_a_key_file_error(tmp_path: Path, encrypted: dict[str, Any]) -> None:
    """A header member that is not Unicode text (escaped lone surrogate) must fail cleanly, not crash."""
    text = json.dumps(encrypted).replace('"kid": "key-1"', '"kid": "\\ud800"')
    assert "\\ud800" in text
    path = tmp_path / "k.json"
    path.write_text(text)
    with pytest.raises(KeyFileError):
        load_private_key(path, PASSPHRASE)


# --- writing --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("passphrase", [None, PASSPHRASE])
def test_key_file_is_created_with_mode_0600(tmp_path: Path, key: PrivateKey, passphrase: str | None) -> None:
    old = os.umask(0)  # even with a permissive umask the file is private
    try:
        path = tmp_path / "k.json"
        write_key_file(path, key, passphrase=passphrase)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_refuses_to_overwrite(tmp_path: Path, key: PrivateKey) -> None:
    path = tmp_path / "k.json"
    path.write_text("precious")
    with pytest.raises(KeyFileError) as info:
        write_key_file(path, key)
    assert info.value.reason == "exists"
    assert path.read_text() == "precious"


def test_refuses_to_follow_a_symlink(tmp_path: Path, key: PrivateKey) -> None:
    target = tmp_path / "elsewhere"
    link = tmp_path / "k.json"
    link.symlink_to(target)
    with pytest.raises(KeyFileError):
        write_key_file(link, key)
    assert not target.exists()


def test_unwritable_location_is_a_key_file_error(tmp_path: Path, key: PrivateKey) -> None:
    with pytest.raises(KeyFileError) as info:
        write_key_file(tmp_path / "missing" / "k.json", key)
    assert info.value.reason == "io"


def test_empty_passphrase_is_refused(tmp_path: Path, key: PrivateKey) -> None:
    with pytest.raises(KeyFileError) as info:
        encrypt_private_jwk(key, "", n=FAST_N)
    assert info.value.reason == "empty_passphrase"
    path = tmp_path / "k.json"
    with pytest.raises(KeyFileError):
        write_key_file(path, key, passphrase="")
    assert not path.exists()


def test_passphrase_that_is_not_unicode_text_is_refused(key: PrivateKey) -> None:
    """E.g. undecodable bytes in $GOVSSI_KEY_PASSPHRASE arrive as surrogate escapes; refuse, do not crash."""
    with pytest.raises(KeyFileError):
        encrypt_private_jwk(key, "pass\udcffword", n=FAST_N)
    with pytest.raises(KeyFileError):
        decrypt_private_jwk(encrypt_private_jwk(key, PASSPHRASE, n=FAST_N), "pass\udcffword")


@pytest.mark.parametrize("n", [2**10, 2**21, 2**14 + 1, 0, True])
def test_encrypt_refuses_parameters_that_decrypt_would_refuse(key: PrivateKey, n: Any) -> None:
    """Never write a key file that can never be opened again."""
    with pytest.raises(KeyFileError):
        encrypt_private_jwk(key, PASSPHRASE, n=n)


# --- reading --------------------------------------------------------------------------------------------------------


def test_encrypted_file_needs_a_passphrase(tmp_path: Path, encrypted: dict[str, Any]) -> None:
    path = tmp_path / "k.json"
    path.write_text(json.dumps(encrypted))
    with pytest.raises(KeyFileError) as info:
        load_private_key(path)
    assert info.value.reason == "passphrase_required"


def test_public_jwk_file_is_not_a_private_key(tmp_path: Path, key: PrivateKey) -> None:
    path = tmp_path / "pub.json"
    path.write_text(json.dumps(key.public_key.jwk))
    with pytest.raises(KeyError_):
        load_private_key(path)


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b"[1,2]", b'"jwk"', b'{"a":1,"a":2}', b"\xff\xfe", b"{" * 100_000, b" " * (64 * 1024 + 1)],
)
def test_unreadable_files_are_key_file_errors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "k.json"
    path.write_bytes(content)
    with pytest.raises(KeyFileError):
        read_jwk_file(path)
    with pytest.raises(SsiError):
        load_private_key(path, PASSPHRASE)


def test_missing_file_and_directory_are_key_file_errors(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError):
        read_jwk_file(tmp_path / "absent.json")
    with pytest.raises(KeyFileError):
        read_jwk_file(tmp_path)


def test_plain_file_with_bad_private_key_is_an_ssi_error(tmp_path: Path, key: PrivateKey) -> None:
    path = tmp_path / "k.json"
    other = PrivateKey.generate("ES256")
    path.write_text(json.dumps({**key.public_key.jwk, "d": other.private_jwk()["d"]}))
    with pytest.raises(KeyError_):
        load_private_key(path)


def test_concurrent_writers_of_one_key_file_one_wins_and_the_file_is_whole(tmp_path: Path) -> None:
    """Two processes of one service creating the same key at the same moment (the issuer's two workers on a fresh
    data directory): exactly one write succeeds, the other is refused as ``exists``, and whoever reads the file
    never sees a half-written key — it is written under a temporary name and linked into place."""
    import threading

    path = tmp_path / "k.json"
    keys = [PrivateKey.generate("ES256") for _ in range(8)]
    barrier = threading.Barrier(len(keys))
    outcomes: list[str] = []
    loaded: list[PrivateKey] = []

    def write(key: PrivateKey) -> None:
        barrier.wait()
        try:
            write_key_file(path, key, passphrase="pw", kid="k")
            outcomes.append("written")
        except KeyFileError as error:
            outcomes.append(error.reason)
        loaded.append(load_private_key(path, "pw"))  # never a partial file

    threads = [threading.Thread(target=write, args=(k,)) for k in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["exists"] * 7 + ["written"]
    winner = load_private_key(path, "pw").public_key.jwk
    assert winner in [k.public_key.jwk for k in keys]
    assert all(k.public_key.jwk == winner for k in loaded)
    assert [p.name for p in tmp_path.iterdir()] == ["k.json"]  # no temporary file left behind
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
