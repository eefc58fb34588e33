"""Reading a credential offer from a photo or screenshot of its QR code (PNG or JPEG), with zxing-cpp.

OpenID4VCI 1.0 §4.1: the offer is shown "as a QR code ... that the End-User can scan in a wallet". A real wallet
scans with the camera; the simulator takes the image file. Images are untrusted input: only PNG and JPEG by their
magic bytes, bounded in bytes and pixels before decoding, exactly one QR code.
"""

from __future__ import annotations

import io
from typing import Final

import zxingcpp
from PIL import Image, UnidentifiedImageError

from ssi.errors import WalletError

__all__ = ["MAX_IMAGE_BYTES", "MAX_IMAGE_PIXELS", "decode_qr_image", "image_kind"]

MAX_IMAGE_BYTES: Final = 10 * 1024 * 1024
#: A 40-megapixel photo decodes to 40 MB of grey levels; anything bigger is refused before decoding.
MAX_IMAGE_PIXELS: Final = 40_000_000
_PNG: Final = b"\x89PNG\r\n\x1a\n"
_JPEG: Final = b"\xff\xd8\xff"


def image_kind(data: bytes) -> str | None:
    """``"png"`` or ``"jpeg"`` by the file's magic bytes; ``None`` for anything else."""
    if data.startswith(_PNG):
        return "png"
    if data.startswith(_JPEG):
        return "jpeg"
    return None


def decode_qr_image(data: bytes) -> str:
    """The text of the one QR code in a PNG or JPEG image (``WalletError`` with a reason otherwise:
    ``unsupported_image``, ``image_too_large``, ``malformed_image``, ``no_qr_code``, ``several_qr_codes``)."""
    kind = image_kind(data)
    if kind is None:
        raise WalletError("the file is not a PNG or JPEG image", reason="unsupported_image")
    if len(data) > MAX_IMAGE_BYTES:
        raise WalletError(f"the image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MiB", reason="image_too_large")
    try:
        with Image.open(io.BytesIO(data), formats=["PNG" if kind == "png" else "JPEG"]) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise WalletError("the image has too many pixels", reason="image_too_large")
            grey = image.convert("L")
    except WalletError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise WalletError("the image cannot be read (damaged or truncated)", reason="malformed_image") from None
    results = zxingcpp.read_barcodes(grey, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    texts = sorted({r.text for r in results if r.valid and r.text})
    if not texts:
        raise WalletError("no readable QR code was found in the image", reason="no_qr_code")
    if len(texts) > 1:
        raise WalletError("the image shows more than one QR code; crop it to the offer's", reason="several_qr_codes")
    return texts[0]
