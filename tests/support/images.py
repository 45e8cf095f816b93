"""Realistic stub photos for tests: a printed stub drawn with a real font, encoded as PNG or
JPEG, optionally with the camera EXIF and GPS position a phone photo carries."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
STUB_LINES = (
    "PEARL JAM",
    "TEN TOUR",
    "MADISON SQUARE GARDEN, NEW YORK",
    "SUN APR 19 2009 8:00 PM",
    "SEC 112 ROW 14 SEAT 7",
    "PRICE $45.00",
)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONT_DIR / "DejaVuSans-Bold.ttf"
    if path.exists():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def render_stub(
    lines: tuple[str, ...] = STUB_LINES, *, size: tuple[int, int] = (900, 420)
) -> Image.Image:
    """A clean printed stub: big act name, then one fact per line."""
    image = Image.new("RGB", size, (250, 246, 235))
    draw = ImageDraw.Draw(image)
    y = 24
    for number, line in enumerate(lines):
        font = _font(52 if number == 0 else 30)
        draw.text((32, y), line, font=font, fill=(20, 20, 20))
        y += 72 if number == 0 else 50
    return image


def image_bytes(image: Image.Image, fmt: str = "PNG", **save: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def jpeg_with_gps(image: Image.Image, *, orientation: int | None = None) -> bytes:
    """A JPEG carrying camera EXIF with a GPS position (and optionally an orientation)."""
    exif = Image.Exif()
    exif[0x010F] = "StubCam"  # Make
    exif[0x0110] = "Model 7"  # Model
    if orientation is not None:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 31.0, 12.0)
    gps[3] = "E"
    gps[4] = (13.0, 24.0, 36.0)
    return image_bytes(image, "JPEG", exif=exif, quality=90)
