"""Hostile and malformed image files for upload tests, built in memory.

Each generator returns bytes; ``catalogue()`` pairs them with a file name, the content type
a client would claim, and the status codes the upload endpoint may answer (413 too large,
415 not a PNG/JPEG by content, 422 a damaged image, 201 accepted after re-encoding).
``tests/e2e/test_upload_crafted_files.py`` runs the catalogue against
``/api/stubs/upload``; ``tests/unit/test_crafted_files.py`` proves each file is what it
claims to be.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

from PIL import Image

GPS_IFD = 0x8825
EXIF_MAKE = 0x010F
# Where the JPEG's EXIF says it was taken (Brandenburg Gate), to check it is stripped.
GPS_LATITUDE = (52.0, 30.0, 5.0)
GPS_LONGITUDE = (13.0, 22.0, 40.0)
HTML_PAYLOAD = b"<html><body><script>alert(document.cookie)</script></body></html>"


def png(width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def jpeg_with_gps() -> bytes:
    """A JPEG whose EXIF names the camera and the place it was taken."""
    exif = Image.Exif()
    exif[EXIF_MAKE] = "StubCam"
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = GPS_LATITUDE
    gps[3] = "E"
    gps[4] = GPS_LONGITUDE
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_with_huge_declared_size(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny file whose header claims ``width`` x ``height`` pixels (10 GP by default)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    pixels = zlib.compress(b"\x00" * 64)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def decompression_bomb_png(side: int = 12_000) -> bytes:
    """A valid, fully decodable 1-bit PNG of ``side``² pixels that compresses to ~20 KB.

    144 MP by default: over the 40 MP ``MAX_IMAGE_PIXELS`` default, and several hundred MB
    once decoded to RGB.
    """
    row = b"\x00" + b"\x00" * ((side + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(side)]
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", b"".join(parts))
        + _chunk(b"IEND", b"")
    )


def polyglot_png_html() -> bytes:
    """A valid PNG that is also an HTML page: script in a text chunk and after IEND."""
    image = png()
    end = image.rindex(b"IEND") - 4
    text = _chunk(b"tEXt", b"Comment\x00" + HTML_PAYLOAD)
    return image[:end] + text + image[end:] + HTML_PAYLOAD


def truncated(image: bytes, keep: float = 0.5) -> bytes:
    return image[: max(1, int(len(image) * keep))]


def truncated_png() -> bytes:
    return truncated(png(256, 256, (10, 200, 90)))


def truncated_jpeg() -> bytes:
    noisy = Image.effect_noise((256, 256), 64).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, "JPEG", quality=95)
    return truncated(buffer.getvalue())


def svg_with_script() -> bytes:
    return (
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" '
        b'height="10"><script>alert(document.domain)</script><rect width="10" height="10"/>'
        b"</svg>\n"
    )


def text_file() -> bytes:
    return b"this is a shopping list, not a ticket stub\n"


def gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (16, 16)).save(buffer, "GIF")
    return buffer.getvalue()


def oversized(size: int) -> bytes:
    """``size`` bytes that start like a PNG: only the size limit can refuse it early."""
    return PNG_SIGNATURE + b"\x00" * (size - len(PNG_SIGNATURE))


# File names that try to leave the upload folder or confuse a later reader. The stored
# name must be random; these must never reach the filesystem.
TRAVERSAL_NAMES = (
    "../../etc/passwd.png",
    "..\\..\\windows\\win.ini.png",
    "/etc/passwd.png",
    "stubs/../../../tmp/evil.png",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd.png",
    "ticket.png\x00.html",
    "....//....//etc/passwd.png",
)


@dataclass(frozen=True)
class CraftedFile:
    label: str
    filename: str
    content: bytes
    content_type: str
    # Status codes the upload endpoint may answer for this file.
    expected: frozenset[int]


def catalogue(max_upload_bytes: int = 10 * 1024 * 1024) -> tuple[CraftedFile, ...]:
    def item(label: str, name: str, content: bytes, content_type: str, *codes: int) -> CraftedFile:
        return CraftedFile(label, name, content, content_type, frozenset(codes))

    return (
        item("valid png", "stub.png", png(), "image/png", 201),
        item("valid jpeg", "stub.jpg", jpeg(), "image/jpeg", 201),
        item("jpeg with gps exif", "holiday.jpg", jpeg_with_gps(), "image/jpeg", 201),
        item("png+html polyglot", "stub.png", polyglot_png_html(), "image/png", 201, 415),
        item(
            "huge declared size", "stub.png", png_with_huge_declared_size(), "image/png", 413, 422
        ),
        item("decompression bomb", "stub.png", decompression_bomb_png(), "image/png", 413),
        item("zero bytes", "stub.png", b"", "image/png", 415, 422),
        item("text named .png", "stub.png", text_file(), "image/png", 415),
        item("svg named .png", "stub.png", svg_with_script(), "image/png", 415),
        item("gif named .jpg", "stub.jpg", gif(), "image/jpeg", 415),
        item("truncated png", "stub.png", truncated_png(), "image/png", 422),
        item("truncated jpeg", "stub.jpg", truncated_jpeg(), "image/jpeg", 422),
        item("too many bytes", "big.png", oversized(max_upload_bytes + 1), "image/png", 413),
        *(
            item(f"traversal name {name!r}", name, png(), "image/png", 201, 422)
            for name in TRAVERSAL_NAMES
        ),
    )
