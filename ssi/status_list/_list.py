"""The Status List itself: status types, the compressed byte array and its JSON form.

draft-ietf-oauth-status-list-20 (Token Status List, in the RFC Editor queue):

- §4.1 step 1: "The Status Issuer MUST define a number of bits (`bits`) of either 1,2,4 or 8";
- §4.1 step 3: each index identifies "a contiguous block of bits in the byte array, with the blocks being packed into
  bytes from the least significant bit ("0") to the most significant bit ("7")" — index 0 sits in the low bits of
  byte 0 (§11.1: bits are indexed right to left, bytes in their natural order);
- §4.1 step 4: "compresses the byte array using DEFLATE [RFC1951] with the ZLIB [RFC1950] data format.
  Implementations are RECOMMENDED to use the highest compression level available";
- §4.2: ``bits`` (REQUIRED, 1, 2, 4 or 8), ``lst`` (REQUIRED, base64url of the compressed byte array),
  ``aggregation_uri`` (OPTIONAL, a string);
- §7.1: status types VALID 0x00, INVALID 0x01, SUSPENDED 0x02; 0x03 and 0x0C-0x0F are application specific.

Decoding is strict and bounded: canonical base64url only, exactly one complete ZLIB stream (no trailing bytes, no
truncation, no preset dictionary) and a limit on the decompressed size, enforced while inflating (zip bombs).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from ssi.encoding import b64url_decode, b64url_encode
from ssi.errors import EncodingError, StatusListError
from ssi.status_list._uri import check_uri

# §7.1 Status Types Values
VALID = 0x00
"""§7.1: "The status of the Referenced Token is valid, correct or legal." """
INVALID = 0x01
"""§7.1: "The status of the Referenced Token is revoked, annulled, taken back, recalled or cancelled." """
SUSPENDED = 0x02
"""§7.1: "The status of the Referenced Token is temporarily invalid, hanging, debarred from privilege." """
APPLICATION_SPECIFIC = 0x03
"""§7.1: 0x03 is "permanently reserved as application specific" (see also ``APPLICATION_SPECIFIC_STATUSES``)."""
APPLICATION_SPECIFIC_STATUSES = frozenset({0x03, 0x0C, 0x0D, 0x0E, 0x0F})
"""§7.1: "The Status Type value 0x03 and Status Type values in the range 0x0C until 0x0F are permanently reserved as
application specific." """

ALLOWED_BITS = (1, 2, 4, 8)
"""§4.1 step 1 / §4.2: the only allowed values of ``bits``."""
COMPRESSION_LEVEL = 9
"""§4.1 step 4: the highest ZLIB compression level."""
DEFAULT_MAX_DECOMPRESSED_SIZE = 16 * 1024 * 1024
"""Decompressed byte arrays larger than this are refused (16 MiB: 134 million 1-bit or 16 million 8-bit entries)."""


def _check_bits(bits: Any) -> int:
    # §4.1 step 1: "a number of bits (`bits`) of either 1,2,4 or 8"; a JSON Integer (§4.2), so no booleans/floats.
    if isinstance(bits, bool) or not isinstance(bits, int) or bits not in ALLOWED_BITS:
        raise StatusListError("'bits' must be one of 1, 2, 4 or 8 (§4.1)", reason="unsupported_bits")
    return bits


def compress_status_bytes(data: bytes | bytearray) -> bytes:
    """§4.1 step 4: DEFLATE in the ZLIB format at the highest compression level."""
    return zlib.compress(bytes(data), COMPRESSION_LEVEL)


def decompress_status_bytes(data: bytes | bytearray, *, max_size: int = DEFAULT_MAX_DECOMPRESSED_SIZE) -> bytes:
    """Inflate exactly one complete ZLIB stream (RFC 1950) of at most ``max_size`` decompressed bytes.

    §8.3 step 5: "Decompress the Status List with a decompressor that is compatible with DEFLATE and ZLIB". The
    output limit is enforced while inflating, so a small input cannot make us allocate more than ``max_size + 1``
    bytes. Bytes after the end of the stream and truncated streams are refused: one input, one meaning.
    """
    if max_size < 0:
        raise ValueError("max_size must not be negative")
    inflater = zlib.decompressobj(wbits=15)  # 15: the ZLIB container only (no gzip, no raw DEFLATE)
    try:
        out = inflater.decompress(bytes(data), max_size + 1)
    except zlib.error:
        raise StatusListError(
            "status list is not a valid ZLIB/DEFLATE stream (§4.1)", reason="bad_compression"
        ) from None
    if len(out) > max_size or inflater.unconsumed_tail:
        raise StatusListError(
            f"decompressed status list exceeds the limit of {max_size} bytes", reason="decompressed_too_large"
        )
    if not inflater.eof:
        raise StatusListError("status list ZLIB stream is truncated", reason="truncated_compression")
    if inflater.unused_data:
        raise StatusListError("status list has bytes after the end of its ZLIB stream", reason="trailing_data")
    return out


class StatusList:
    """A Token Status List (§4): ``bits`` per entry, packed least significant bits first.

    Issuers create a writable list with ``StatusList(size, bits)`` (or :meth:`from_bytes` to load a stored byte
    array) and set entries; relying parties get a read-only list from :meth:`from_json` (a cached list must not be
    changed behind the cache's back; use :meth:`copy` for a writable copy).

    ``size`` is the number of entries the byte array holds. §4.1 step 2 asks for a byte array of "number of Referenced
    Tokens * `bits` / 8 or greater", so a requested size is rounded up to whole bytes (§13.4 recommends sizes whose
    bit count is divisible by 8).
    """

    __slots__ = ("_bits", "_data", "aggregation_uri")

    def __init__(self, size: int, bits: int = 1, *, default: int = VALID, aggregation_uri: str | None = None) -> None:
        self._bits = _check_bits(bits)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise StatusListError("status list size must be a non-negative integer", reason="bad_size")
        self._check_status(default)
        per_byte = 8 // bits
        # §13.3: initialise with a default value; replicate it into every slot of a byte.
        fill = 0
        for slot in range(per_byte):
            fill |= default << (slot * bits)
        self._data: bytes | bytearray = bytearray([fill]) * (-(-size // per_byte))
        self.aggregation_uri = _check_aggregation_uri(aggregation_uri)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray, bits: int, *, aggregation_uri: str | None = None) -> StatusList:
        """A writable list over a copy of an uncompressed byte array (e.g. the issuer's stored state)."""
        status_list = cls(0, bits, aggregation_uri=aggregation_uri)
        status_list._data = bytearray(data)
        return status_list

    @classmethod
    def from_json(cls, obj: Any, *, max_decompressed_size: int = DEFAULT_MAX_DECOMPRESSED_SIZE) -> StatusList:
        """Decode the JSON ``StatusList`` object of §4.2 strictly into a read-only list."""
        if not isinstance(obj, Mapping):
            raise StatusListError("status list must be a JSON object (§4.2)", reason="malformed_status_list")
        if "bits" not in obj:
            raise StatusListError("status list lacks the REQUIRED 'bits' (§4.2)", reason="missing_bits")
        bits = _check_bits(obj["bits"])
        lst = obj.get("lst")
        if lst is None:
            raise StatusListError("status list lacks the REQUIRED 'lst' (§4.2)", reason="missing_lst")
        if not isinstance(lst, str):
            raise StatusListError("'lst' must be a JSON string (§4.2)", reason="malformed_lst")
        aggregation_uri = obj.get("aggregation_uri")
        if "aggregation_uri" in obj and not isinstance(aggregation_uri, str):
            raise StatusListError("'aggregation_uri' must be a JSON string (§4.2)", reason="malformed_aggregation_uri")
        try:
            compressed = b64url_decode(lst)
        except EncodingError:
            # §4.2: "The value MUST be the base64url-encoded compressed byte array"
            raise StatusListError("'lst' is not canonical unpadded base64url (§4.2)", reason="malformed_lst") from None
        status_list = cls(0, bits, aggregation_uri=aggregation_uri)
        status_list._data = decompress_status_bytes(compressed, max_size=max_decompressed_size)
        return status_list

    @property
    def bits(self) -> int:
        return self._bits

    @property
    def size(self) -> int:
        """Number of entries the byte array holds."""
        return len(self._data) * 8 // self._bits

    def __len__(self) -> int:
        return self.size

    @property
    def writable(self) -> bool:
        return isinstance(self._data, bytearray)

    def _check_status(self, status: Any) -> int:
        # §7: "Status Types MUST have a numeric value between 0 and 255"; and it must fit into `bits`.
        if isinstance(status, bool) or not isinstance(status, int) or not 0 <= status < (1 << self._bits):
            raise StatusListError(
                f"status value must be an integer that fits into {self._bits} bit(s)", reason="status_out_of_range"
            )
        return status

    def _locate(self, idx: Any) -> tuple[int, int]:
        if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
            raise StatusListError("status index must be a non-negative integer", reason="malformed_idx")
        if idx >= self.size:
            # §8.3 step 6: "If the provided index is out of bounds of the Status List, no statement about the
            # status of the Referenced Token can be made and the Referenced Token MUST be rejected."
            raise StatusListError(
                "status index is out of bounds of the status list (§8.3)", reason="index_out_of_range"
            )
        per_byte = 8 // self._bits
        return idx // per_byte, (idx % per_byte) * self._bits

    def get(self, idx: int) -> int:
        """The status value at ``idx`` (§4.1 step 3 bit order)."""
        byte, shift = self._locate(idx)
        return (self._data[byte] >> shift) & ((1 << self._bits) - 1)

    def set(self, idx: int, status: int) -> None:
        """Set the status value at ``idx`` (issuer side)."""
        byte, shift = self._locate(idx)
        self._check_status(status)
        data = self._data
        if not isinstance(data, bytearray):
            raise StatusListError("this status list is read-only; use copy()", reason="read_only")
        mask = ((1 << self._bits) - 1) << shift
        data[byte] = (data[byte] & ~mask & 0xFF) | (status << shift)

    def __getitem__(self, idx: int) -> int:
        return self.get(idx)

    def __setitem__(self, idx: int, status: int) -> None:
        self.set(idx, status)

    def copy(self) -> StatusList:
        """A writable copy."""
        return StatusList.from_bytes(self._data, self._bits, aggregation_uri=self.aggregation_uri)

    def to_bytes(self) -> bytes:
        """The uncompressed byte array (§4.1 steps 2-3)."""
        return bytes(self._data)

    def compressed(self) -> bytes:
        """The compressed byte array (§4.1 step 4)."""
        return compress_status_bytes(self._data)

    def encode(self) -> str:
        """The ``lst`` value: base64url of the compressed byte array (§4.2)."""
        return b64url_encode(self.compressed())

    def to_json(self) -> dict[str, Any]:
        """The JSON ``StatusList`` object (§4.2)."""
        obj: dict[str, Any] = {"bits": self._bits, "lst": self.encode()}
        if self.aggregation_uri is not None:
            obj["aggregation_uri"] = self.aggregation_uri
        return obj

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, StatusList)
            and self._bits == other._bits
            and self._data == other._data
            and self.aggregation_uri == other.aggregation_uri
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"StatusList(size={self.size}, bits={self._bits}, writable={self.writable})"


def _check_aggregation_uri(value: str | None) -> str | None:
    if value is None:
        return None
    # §4.2: "JSON String that contains a URI to retrieve the Status List Aggregation"
    return check_uri(value, "aggregation_uri")
