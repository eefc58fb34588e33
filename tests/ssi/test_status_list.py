"""Token Status List: the list, its compressed encoding and the Referenced Token's reference.

draft-ietf-oauth-status-list-20 §4 (Status List), §6.2 (Referenced Token in JOSE), §7 (Status Types) and the
decoding rules of §8.3 steps 5-6. Examples and Appendix C vectors are in test_status_list_vectors.py; Status List
Tokens and the Relying Party's verifier in test_status_list_token.py.
"""

from __future__ import annotations

import contextlib
import gzip
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ssi.status_list as sl
from ssi.encoding import b64url_encode
from ssi.errors import SsiError, StatusListError
from ssi.status_list import (
    ALLOWED_BITS,
    APPLICATION_SPECIFIC,
    APPLICATION_SPECIFIC_STATUSES,
    DEFAULT_MAX_DECOMPRESSED_SIZE,
    INVALID,
    SUSPENDED,
    VALID,
    StatusList,
    StatusListReference,
    compress_status_bytes,
    decompress_status_bytes,
)

URI = "https://example.com/statuslists/1"


def _reason(exc_info: pytest.ExceptionInfo[StatusListError]) -> str:
    return exc_info.value.reason


def _lst(raw: bytes) -> str:
    return b64url_encode(raw)


# --- public API -----------------------------------------------------------------------------------------------------


def test_public_api_is_deliberate() -> None:
    """The package exports exactly its documented names, and each exists."""
    assert sorted(sl.__all__) == sorted(set(sl.__all__))
    for name in sl.__all__:
        assert hasattr(sl, name)
    assert "StatusList" in sl.__all__ and "StatusListVerifier" in sl.__all__
    assert not any(name.startswith("_") for name in sl.__all__)


# --- §7.1 Status Types ----------------------------------------------------------------------------------------------


def test_section_7_1_status_type_values() -> None:
    """§7.1: VALID 0x00, INVALID 0x01, SUSPENDED 0x02; 0x03 and 0x0C-0x0F application specific."""
    assert (VALID, INVALID, SUSPENDED) == (0x00, 0x01, 0x02)
    assert APPLICATION_SPECIFIC == 0x03
    assert frozenset({0x03, 0x0C, 0x0D, 0x0E, 0x0F}) == APPLICATION_SPECIFIC_STATUSES


# --- §4.1 step 1: bits ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [0, 3, 5, 6, 7, 16, -1, True, 1.0, "1", None])
def test_section_4_1_step_1_bits_must_be_1_2_4_or_8_on_create(bits: Any) -> None:
    """§4.1 step 1: "a number of bits (`bits`) of either 1,2,4 or 8"."""
    with pytest.raises(StatusListError) as exc_info:
        StatusList(8, bits)
    assert _reason(exc_info) == "unsupported_bits"


@pytest.mark.parametrize("bits", [0, 3, 5, 16, 256, -1, True, 1.0, "1", None, [1]])
def test_section_4_2_bits_must_be_1_2_4_or_8_on_decode(bits: Any) -> None:
    """§4.2: ``bits`` is a JSON Integer; "The allowed values for `bits` are 1, 2, 4, and 8"."""
    with pytest.raises(StatusListError) as exc_info:
        StatusList.from_json({"bits": bits, "lst": "eNrbuRgAAhcBXQ"})
    assert _reason(exc_info) == "unsupported_bits"


def test_allowed_bits() -> None:
    assert ALLOWED_BITS == (1, 2, 4, 8)


# --- §4.1 steps 2 and 3: size and bit order -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "bits", "nbytes"), [(16, 1, 2), (10, 1, 2), (12, 2, 3), (3, 4, 2), (3, 8, 3), (0, 1, 0)]
)
def test_section_4_1_step_2_byte_array_size(size: int, bits: int, nbytes: int) -> None:
    """§4.1 step 2: a byte array of "number of Referenced Tokens * `bits` / 8 or greater" (whole bytes)."""
    status_list = StatusList(size, bits)
    assert len(status_list.to_bytes()) == nbytes
    assert status_list.size == nbytes * 8 // bits >= size


@pytest.mark.parametrize("size", [-1, True, 1.5, "8"])
def test_size_must_be_a_non_negative_integer(size: Any) -> None:
    with pytest.raises(StatusListError) as exc_info:
        StatusList(size, 1)
    assert _reason(exc_info) == "bad_size"


@pytest.mark.parametrize(
    ("bits", "idx", "expected"),
    [
        (1, 0, bytes([0x01, 0x00])),
        (1, 7, bytes([0x80, 0x00])),
        (1, 8, bytes([0x00, 0x01])),
        (2, 0, bytes([0x03, 0x00])),
        (2, 3, bytes([0xC0, 0x00])),
        (2, 4, bytes([0x00, 0x03])),
        (4, 0, bytes([0x0F, 0x00])),
        (4, 1, bytes([0xF0, 0x00])),
        (4, 2, bytes([0x00, 0x0F])),
        (8, 0, bytes([0xFF, 0x00])),
        (8, 1, bytes([0x00, 0xFF])),
    ],
)
def test_section_4_1_step_3_blocks_are_packed_from_the_least_significant_bit(
    bits: int, idx: int, expected: bytes
) -> None:
    """§4.1 step 3: blocks "packed into bytes from the least significant bit ("0") to the most significant bit"."""
    status_list = StatusList(16 // bits, bits)
    status_list.set(idx, (1 << bits) - 1)
    assert status_list.to_bytes() == expected
    assert status_list.get(idx) == (1 << bits) - 1


def test_section_4_1_step_3_a_status_is_read_from_its_own_block_only() -> None:
    """§4.1 step 3 / §11.1: a neighbouring block never leaks into the value read at an index."""
    status_list = StatusList.from_bytes(bytes([0b10_01_11_00]), 2)
    assert [status_list.get(i) for i in range(4)] == [0b00, 0b11, 0b01, 0b10]


# --- §7: status values must fit ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bits", "status"), [(1, 2), (2, 4), (4, 16), (8, 256), (8, -1), (1, True), (2, 1.0), (1, "1")]
)
def test_section_7_status_value_must_fit_bits(bits: int, status: Any) -> None:
    """§7: "the whole value of bits MUST describe one value", between 0 and 255 — it must fit into ``bits``."""
    status_list = StatusList(8, bits)
    with pytest.raises(StatusListError) as exc_info:
        status_list.set(0, status)
    assert _reason(exc_info) == "status_out_of_range"
    assert status_list.to_bytes() == bytes(len(status_list.to_bytes()))


def test_section_13_3_default_value_initialises_every_entry() -> None:
    """§13.3: the byte array is initialised "with a default value" (here SUSPENDED with bits=2 -> 0b10101010)."""
    status_list = StatusList(8, 2, default=SUSPENDED)
    assert status_list.to_bytes() == bytes([0xAA, 0xAA])
    assert all(status_list.get(i) == SUSPENDED for i in range(8))
    with pytest.raises(StatusListError):
        StatusList(8, 1, default=SUSPENDED)


# --- §8.3 step 6: index bounds --------------------------------------------------------------------------------------


def test_section_8_3_step_6_index_out_of_bounds_is_rejected() -> None:
    """§8.3 step 6: "If the provided index is out of bounds of the Status List ... MUST be rejected"."""
    status_list = StatusList(16, 1)
    assert status_list.get(15) == VALID
    for idx in (16, 17, 2**64):
        with pytest.raises(StatusListError) as exc_info:
            status_list.get(idx)
        assert _reason(exc_info) == "index_out_of_range"
    with pytest.raises(StatusListError) as exc_info:
        status_list.set(16, INVALID)
    assert _reason(exc_info) == "index_out_of_range"


@pytest.mark.parametrize("idx", [-1, True, 1.0, "0", None])
def test_index_must_be_a_non_negative_integer(idx: Any) -> None:
    with pytest.raises(StatusListError) as exc_info:
        StatusList(16, 1).get(idx)
    assert _reason(exc_info) == "malformed_idx"


# --- §4.1 step 4: compression -------------------------------------------------------------------------------------


def test_section_4_1_step_4_zlib_format_at_the_highest_level() -> None:
    """§4.1 step 4: DEFLATE in the ZLIB format (RFC 1950), "the highest compression level available"."""
    raw = bytes(range(256)) * 8
    compressed = compress_status_bytes(raw)
    cmf, flg = compressed[0], compressed[1]
    assert cmf & 0x0F == 8  # RFC 1950 §2.2: CM = 8, DEFLATE
    assert (cmf << 8 | flg) % 31 == 0  # FCHECK
    assert flg >> 6 == 3  # FLEVEL 3: "compressor used maximum compression, slowest algorithm"
    assert compressed == zlib.compress(raw, 9)
    assert StatusList.from_bytes(raw, 8).compressed() == compressed


@pytest.mark.parametrize("level", [0, 1, 6])
def test_section_8_3_step_5_any_zlib_stream_decompresses(level: int) -> None:
    """§8.3 step 5: a decompressor "compatible with DEFLATE and ZLIB" — other levels decode too."""
    raw = bytes([0xB9, 0xA3]) * 100
    status_list = StatusList.from_json({"bits": 1, "lst": _lst(zlib.compress(raw, level))})
    assert status_list.to_bytes() == raw


def test_raw_deflate_and_gzip_containers_are_rejected() -> None:
    """§4.1 step 4: the ZLIB data format only (no raw DEFLATE, no gzip, no preset dictionary)."""
    raw = bytes([0xB9, 0xA3])
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw_deflate = deflater.compress(raw) + deflater.flush()
    dictionary = zlib.compressobj(9, zlib.DEFLATED, 15, zdict=b"\xb9\xa3")  # RFC 1950 FDICT: a preset dictionary
    with_dictionary = dictionary.compress(raw) + dictionary.flush()
    for data in (raw_deflate, gzip.compress(raw), with_dictionary):
        with pytest.raises(StatusListError) as exc_info:
            decompress_status_bytes(data)
        assert _reason(exc_info) == "bad_compression"


def test_trailing_garbage_after_the_zlib_stream_is_rejected() -> None:
    """One stream, one meaning: bytes after the end of the ZLIB stream are refused."""
    compressed = zlib.compress(bytes([0xB9, 0xA3]), 9)
    for tail in (b"\x00", b"garbage", compressed):
        with pytest.raises(StatusListError) as exc_info:
            StatusList.from_json({"bits": 1, "lst": _lst(compressed + tail)})
        assert _reason(exc_info) == "trailing_data"


def test_truncated_zlib_stream_is_rejected() -> None:
    compressed = zlib.compress(bytes(range(200)), 9)
    for cut in (len(compressed) - 1, len(compressed) - 4, 2):
        with pytest.raises(StatusListError) as exc_info:
            decompress_status_bytes(compressed[:cut])
        assert _reason(exc_info) in {"truncated_compression", "bad_compression"}
    with pytest.raises(StatusListError) as exc_info:
        StatusList.from_json({"bits": 1, "lst": ""})
    assert _reason(exc_info) == "truncated_compression"


def test_corrupted_checksum_is_rejected() -> None:
    """RFC 1950 §2.2: the ADLER32 check value must match."""
    compressed = bytearray(zlib.compress(bytes([0xB9, 0xA3]) * 10, 9))
    compressed[-1] ^= 0x01
    with pytest.raises(StatusListError) as exc_info:
        decompress_status_bytes(bytes(compressed))
    assert _reason(exc_info) == "bad_compression"


def test_decompression_limit_defends_against_zip_bombs() -> None:
    """A small input must not inflate beyond the configured limit (checked while inflating)."""
    bomb = zlib.compress(bytes(1024 * 1024), 9)  # 1 MiB of zeros in about 1 KiB
    assert len(bomb) < 2048
    with pytest.raises(StatusListError) as exc_info:
        StatusList.from_json({"bits": 1, "lst": _lst(bomb)}, max_decompressed_size=1024)
    assert _reason(exc_info) == "decompressed_too_large"
    assert len(decompress_status_bytes(bomb, max_size=1024 * 1024)) == 1024 * 1024  # the limit itself is allowed
    with pytest.raises(StatusListError) as exc_info:
        decompress_status_bytes(bomb, max_size=1024 * 1024 - 1)
    assert _reason(exc_info) == "decompressed_too_large"


def test_default_decompression_limit() -> None:
    big = zlib.compress(bytes(DEFAULT_MAX_DECOMPRESSED_SIZE + 1), 9)
    with pytest.raises(StatusListError) as exc_info:
        decompress_status_bytes(big)
    assert _reason(exc_info) == "decompressed_too_large"


# --- §4.2: JSON structure -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ([1, "eNrbuRgAAhcBXQ"], "malformed_status_list"),
        ("eNrbuRgAAhcBXQ", "malformed_status_list"),
        (None, "malformed_status_list"),
        ({"lst": "eNrbuRgAAhcBXQ"}, "missing_bits"),
        ({"bits": 1}, "missing_lst"),
        ({"bits": 1, "lst": None}, "missing_lst"),
        ({"bits": 1, "lst": 5}, "malformed_lst"),
        ({"bits": 1, "lst": ["eNrbuRgAAhcBXQ"]}, "malformed_lst"),
        ({"bits": 1, "lst": "eNrbuRgAAhcBXQ=="}, "malformed_lst"),  # padding
        ({"bits": 1, "lst": "eNrbuRgAAhcBXR"}, "malformed_lst"),  # non-canonical trailing bits
        ({"bits": 1, "lst": "eNrbuRgAAhcB+Q"}, "malformed_lst"),  # standard, not URL-safe, alphabet
        ({"bits": 1, "lst": "eNrbuRgAAhcB XQ"}, "malformed_lst"),  # whitespace
        ({"bits": 1, "lst": "eNrbuRgAAhcBXQ\n"}, "malformed_lst"),
        ({"bits": 1, "lst": "e"}, "malformed_lst"),  # impossible length
        ({"bits": 1, "lst": "eNrbuRgAAhcBXQ", "aggregation_uri": 7}, "malformed_aggregation_uri"),
        ({"bits": 1, "lst": "eNrbuRgAAhcBXQ", "aggregation_uri": None}, "malformed_aggregation_uri"),
        ({"bits": 1, "lst": "eNrbuRgAAhcBXQ", "aggregation_uri": "/relative"}, "malformed_aggregation_uri"),
    ],
)
def test_section_4_2_malformed_status_list_json(obj: Any, reason: str) -> None:
    """§4.2: ``bits`` and ``lst`` REQUIRED; ``lst`` "MUST be the base64url-encoded compressed byte array"."""
    with pytest.raises(StatusListError) as exc_info:
        StatusList.from_json(obj)
    assert _reason(exc_info) == reason


def test_section_4_2_aggregation_uri_round_trip() -> None:
    """§4.2 / §9.2: the OPTIONAL ``aggregation_uri`` is carried through encode and decode."""
    status_list = StatusList(16, 1, aggregation_uri="https://example.com/statuslists")
    obj = status_list.to_json()
    assert obj["aggregation_uri"] == "https://example.com/statuslists"
    assert StatusList.from_json(obj) == status_list
    assert "aggregation_uri" not in StatusList(16, 1).to_json()
    with pytest.raises(StatusListError) as exc_info:
        StatusList(16, 1, aggregation_uri="not a uri")
    assert _reason(exc_info) == "malformed_aggregation_uri"


def test_unknown_status_list_members_are_ignored() -> None:
    """§4.2 defines three members; others are extensions, not errors."""
    status_list = StatusList.from_json({"bits": 1, "lst": "eNrbuRgAAhcBXQ", "x-future": True})
    assert status_list.to_bytes() == bytes([0xB9, 0xA3])


def test_decoded_list_is_read_only_and_copy_is_writable() -> None:
    """A Relying Party's (possibly cached) list cannot be changed in place."""
    decoded = StatusList.from_json({"bits": 1, "lst": "eNrbuRgAAhcBXQ"})
    assert not decoded.writable
    with pytest.raises(StatusListError) as exc_info:
        decoded.set(1, INVALID)
    assert _reason(exc_info) == "read_only"
    copy = decoded.copy()
    copy[1] = INVALID
    assert copy[1] == INVALID and decoded[1] == VALID
    assert len(copy) == 16


def test_from_bytes_copies_its_input() -> None:
    raw = bytearray([0x00])
    status_list = StatusList.from_bytes(raw, 1)
    raw[0] = 0xFF
    assert status_list.get(0) == VALID


# --- §6.2: the Referenced Token's status claim ----------------------------------------------------------------------


def test_section_6_2_status_claim_parses() -> None:
    reference = StatusListReference.from_status_claim({"status_list": {"idx": 42, "uri": URI}, "other": {}})
    assert (reference.idx, reference.uri) == (42, URI)
    assert StatusListReference.from_claims({"status": reference.to_status_claim()}) == reference
    assert StatusListReference.from_status_claim({"status_list": {"idx": 2**70, "uri": URI}}).idx == 2**70


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (None, "malformed_status"),
        ([], "malformed_status"),
        ("https://example.com/statuslists/1", "malformed_status"),
        ({}, "missing_status_list"),
        ({"other_mechanism": {}}, "missing_status_list"),
        ({"status_list": []}, "malformed_status_list_reference"),
        ({"status_list": "x"}, "malformed_status_list_reference"),
        ({"status_list": {"uri": URI}}, "missing_idx"),
        ({"status_list": {"idx": 0}}, "missing_uri"),
        ({"status_list": {"idx": -1, "uri": URI}}, "malformed_idx"),
        ({"status_list": {"idx": True, "uri": URI}}, "malformed_idx"),
        ({"status_list": {"idx": 0.0, "uri": URI}}, "malformed_idx"),
        ({"status_list": {"idx": "0", "uri": URI}}, "malformed_idx"),
        ({"status_list": {"idx": None, "uri": URI}}, "malformed_idx"),
        ({"status_list": {"idx": 0, "uri": 1}}, "malformed_uri"),
        ({"status_list": {"idx": 0, "uri": None}}, "malformed_uri"),
        ({"status_list": {"idx": 0, "uri": ""}}, "malformed_uri"),
        ({"status_list": {"idx": 0, "uri": "/statuslists/1"}}, "malformed_uri"),
        ({"status_list": {"idx": 0, "uri": "//example.com/statuslists/1"}}, "malformed_uri"),
        ({"status_list": {"idx": 0, "uri": "https://example.com/status lists/1"}}, "malformed_uri"),
        ({"status_list": {"idx": 0, "uri": "https://example.com/%zz"}}, "malformed_uri"),
        ({"status_list": {"idx": 0, "uri": "https://example.com/a#b#c"}}, "malformed_uri"),
        ({"status_list": {"idx": 0, "uri": "https://exämple.com/1"}}, "malformed_uri"),
        ({"status_list": {"idx": 0, "uri": "1https://example.com/"}}, "malformed_uri"),
    ],
)
def test_section_6_2_malformed_status_claims(status: Any, reason: str) -> None:
    """§6.2: ``status`` an object, ``status_list`` an object, ``idx`` a non-negative Integer, ``uri`` a URI."""
    with pytest.raises(StatusListError) as exc_info:
        StatusListReference.from_status_claim(status)
    assert _reason(exc_info) == reason


def test_section_8_3_step_1_missing_status_claim() -> None:
    """§8.3 step 1: "Check for the existence of a `status` claim"."""
    with pytest.raises(StatusListError) as exc_info:
        StatusListReference.from_claims({"iss": "https://example.com"})
    assert _reason(exc_info) == "missing_status"


@pytest.mark.parametrize("uri", ["https://example.com/statuslists/1?x=%41#frag", "urn:example:statuslist:1"])
def test_section_6_2_valid_uris(uri: str) -> None:
    assert StatusListReference(idx=0, uri=uri).uri == uri


# --- properties -----------------------------------------------------------------------------------------------------


@st.composite
def _status_lists(draw: st.DrawFn) -> tuple[int, list[int]]:
    bits = draw(st.sampled_from(ALLOWED_BITS))
    statuses = draw(st.lists(st.integers(0, (1 << bits) - 1), max_size=300))
    return bits, statuses


@settings(max_examples=200, deadline=None)
@given(_status_lists(), st.none() | st.just("https://example.com/agg"))
def test_property_encode_decode_round_trip(case: tuple[int, list[int]], aggregation_uri: str | None) -> None:
    """§4: for every bits value and any statuses, JSON encode then decode gives back every status."""
    bits, statuses = case
    status_list = StatusList(len(statuses), bits, aggregation_uri=aggregation_uri)
    for idx, status in enumerate(statuses):
        status_list.set(idx, status)
    decoded = StatusList.from_json(status_list.to_json())
    assert decoded == status_list
    assert [decoded.get(i) for i in range(len(statuses))] == statuses
    assert all(decoded.get(i) == VALID for i in range(len(statuses), decoded.size))
    assert decompress_status_bytes(status_list.compressed()) == status_list.to_bytes()


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ALLOWED_BITS), st.data())
def test_property_set_changes_exactly_one_entry(bits: int, data: st.DataObject) -> None:
    """§4.1 step 3: setting one index never changes another (model: a plain Python list)."""
    size = data.draw(st.integers(1, 64))
    status_list = StatusList(size, bits)
    model = [0] * status_list.size
    for _ in range(data.draw(st.integers(1, 40))):
        idx = data.draw(st.integers(0, status_list.size - 1))
        status = data.draw(st.integers(0, (1 << bits) - 1))
        status_list.set(idx, status)
        model[idx] = status
        assert [status_list.get(i) for i in range(status_list.size)] == model


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512))
def test_property_arbitrary_bytes_to_decompressor_raise_only_status_list_error(data: bytes) -> None:
    with contextlib.suppress(StatusListError):
        decompress_status_bytes(data, max_size=4096)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.data())
def test_property_mutated_zlib_streams_raise_only_status_list_error(raw: bytes, data: st.DataObject) -> None:
    """Fuzz closer to valid input: flip, cut or extend a valid ZLIB stream."""
    compressed = bytearray(zlib.compress(raw, 9))
    pos = data.draw(st.integers(0, len(compressed) - 1))
    compressed[pos] ^= data.draw(st.integers(1, 255))
    cut = data.draw(st.integers(0, len(compressed)))
    mutated = bytes(compressed[:cut]) + data.draw(st.binary(max_size=4))
    with contextlib.suppress(StatusListError):
        StatusList.from_json({"bits": 1, "lst": _lst(mutated)}, max_decompressed_size=4096)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["bits", "lst", "aggregation_uri", "x"]),
        _json_values | st.sampled_from([1, 2, 4, 8]) | st.text(alphabet="eNrbuRgAAhcBXQ-_=+/ ", max_size=40),
    )
    | _json_values
)
def test_property_arbitrary_json_to_status_list_decoder_raises_only_ssi_errors(obj: Any) -> None:
    with contextlib.suppress(SsiError):
        StatusList.from_json(obj, max_decompressed_size=4096)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.sampled_from([1, 2, 4, 8]))
def test_property_arbitrary_lst_strings_raise_only_status_list_error(lst: str, bits: int) -> None:
    with contextlib.suppress(StatusListError):
        StatusList.from_json({"bits": bits, "lst": lst}, max_decompressed_size=4096)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["status_list", "other"]),
        st.dictionaries(st.sampled_from(["idx", "uri", "x"]), _json_values | st.integers(-5, 2**70)) | _json_values,
    )
    | _json_values
)
def test_property_arbitrary_status_claims_raise_only_status_list_error(status: Any) -> None:
    try:
        reference = StatusListReference.from_status_claim(status)
    except StatusListError:
        return
    assert isinstance(reference.idx, int) and not isinstance(reference.idx, bool) and reference.idx >= 0
    assert isinstance(reference.uri, str)
