"""Uploaded images: decoded to prove what they are, then re-encoded clean.

The bytes are judged by decoding them, never by a file name or a client's content type.
Dimensions are checked from the header before any pixel is decompressed, so a small file
that unpacks to gigapixels (a decompression bomb) is refused cheaply. The stored image is a
fresh encoding of the pixels with the EXIF orientation applied: no EXIF (GPS, camera serial),
XMP, ICC or text chunks survive.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from stubcollector.domain.errors import PayloadTooLarge, UnsupportedMedia, ValidationFailed

ACCEPTED_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}
THUMBNAIL_SIZE = (480, 480)
JPEG_QUALITY = 88
# Photos of a stub need no more than this for reading or display.
MAX_STORED_SIDE = 4096


@dataclass(frozen=True)
class PreparedImage:
    data: bytes
    content_type: str
    suffix: str
    width: int
    height: int
    thumbnail: bytes
    thumbnail_content_type: str = "image/jpeg"


def prepare_upload(data: bytes, *, max_bytes: int, max_pixels: int) -> PreparedImage:
    """Check ``data`` is a PNG or JPEG within limits and return a clean re-encoding."""
    if not data:
        raise ValidationFailed("image", "the file is empty")
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"the image is larger than {max_bytes // (1024 * 1024)} MiB")
    image = _open_checked(data, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PayloadTooLarge(f"the image has more than {max_pixels:,} pixels") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ValidationFailed("image", "the image data is corrupt or truncated") from None
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or (
        upright.mode == "P" and "transparency" in upright.info
    )
    pixels = _clean_pixels(upright, keep_alpha=has_alpha)
    if max(pixels.size) > MAX_STORED_SIDE:
        pixels.thumbnail((MAX_STORED_SIDE, MAX_STORED_SIDE), Image.Resampling.LANCZOS)
    if has_alpha:
        stored, content_type, suffix = _encode(pixels, "PNG"), "image/png", ".png"
    else:
        stored, content_type, suffix = _encode(pixels, "JPEG"), "image/jpeg", ".jpg"
    return PreparedImage(
        data=stored,
        content_type=content_type,
        suffix=suffix,
        width=pixels.width,
        height=pixels.height,
        thumbnail=make_thumbnail(pixels),
    )


def _open_checked(data: bytes, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Only the header is read here; formats= stops Pillow trying every other parser.
            image = Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PayloadTooLarge(f"the image has more than {max_pixels:,} pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise UnsupportedMedia("the file is not a PNG or JPEG image") from None
    width, height = image.size
    if width < 1 or height < 1:
        raise ValidationFailed("image", "the image has no pixels")
    if width * height > max_pixels:
        raise PayloadTooLarge(
            f"the image is {width}x{height} pixels; at most {max_pixels:,} pixels are accepted"
        )
    return image


def _clean_pixels(image: Image.Image, *, keep_alpha: bool) -> Image.Image:
    """A new image holding only the pixels (metadata is left behind with the original)."""
    target = "RGBA" if keep_alpha else ("L" if image.mode in ("1", "L", "I;16", "I") else "RGB")
    if image.mode in ("I;16", "I"):
        # 16-bit greyscale: scale to 8 bits rather than clip.
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    converted = image.convert(target)
    clean = Image.new(target, converted.size)
    clean.paste(converted)
    return clean


def _encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def make_thumbnail(image: Image.Image) -> bytes:
    thumb = image.copy()
    thumb.thumbnail(THUMBNAIL_SIZE, Image.Resampling.LANCZOS)
    if thumb.mode in ("RGBA", "LA"):
        background = Image.new("RGB", thumb.size, "white")
        background.paste(thumb, mask=thumb.getchannel("A"))
        thumb = background
    elif thumb.mode != "L":
        thumb = thumb.convert("RGB")
    buffer = io.BytesIO()
    thumb.save(buffer, "JPEG", quality=80, optimize=True)
    return buffer.getvalue()
